"""Measured time per layer beside the counted multiply-adds (the conv-costs lesson), torch-free:
the report that the measurement (``layer_timing_run.py``, torch) gives, ``studio lab timing``
prints and the window (through ``layer_timing_process.py``) shows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from studio.engine.node_keys import NodeKey, node_key

DEFAULT_REPEATS = 15


class LayerTimingError(ValueError):
    """The project cannot be timed (the message says why, naming the node where there is one)."""

    def __init__(self, message: str, node: tuple | None = None):
        super().__init__(message)
        self.node = node  # (graph key, node id) to show, or None


@dataclass(frozen=True)
class LayerTime:
    """One node's module: its counted multiply-adds per sample and its measured forward time
    for the whole batch, per call (the median of the repeats; averaged over the calls when one
    forward runs it more than once: a GAN's discriminator on real and made images, or a
    linked duplicate calling the original's module)."""

    key: str  # node key, ``training/conv1`` (node_keys.py)
    block: str
    macs: int  # counted by the block's cost rule, per sample and call (as the canvas shows)
    ms: float  # per call
    calls: int = 1  # in one forward of the networks
    backward_ms: float | None = None  # per call, when measured (and it needs a gradient)

    @property
    def node(self) -> str:
        """The key without the leading ``training/``: ``conv1``, ``resnet/layer1_0/conv1``."""
        return NodeKey.parse(self.key).label

    @property
    def label(self) -> str:
        """The node, with ``×2`` when one forward runs it twice."""
        return f"{self.node} \u00d7{self.calls}" if self.calls > 1 else self.node

    @property
    def forward_ms(self) -> float:
        """Its time in one forward: every call."""
        return self.ms * self.calls

    def backward_cells(self) -> tuple[str, str]:
        """Its backward ms per call and how many times its forward's that is, as a table
        shows them ("-" when nothing in it needs a gradient)."""
        if self.backward_ms is None:
            return ("-", "-")
        return (f"{self.backward_ms:.3f}", f"{self.backward_ms / self.ms:.1f}\u00d7")


@dataclass
class TimingReport:
    """Every timed node of the project's networks, and the networks' whole forward timed the
    same way (its batch, threads and device), so the rest (functional nodes: ReLU, a mean, an
    add; Python between the calls) is the difference."""

    project: str
    device: str
    threads: int
    batch: int
    repeats: int
    layers: list = field(default_factory=list)  # LayerTime, in the order the forward runs them
    networks: dict = field(default_factory=dict)  # network attribute -> whole forward, ms
    networks_backward: dict = field(default_factory=dict)  # the same for its backward, if asked

    @property
    def backward(self) -> bool:
        """Whether backward times were measured."""
        return bool(self.networks_backward)

    @property
    def forward_ms(self) -> float:
        return sum(self.networks.values())

    @property
    def backward_ms(self) -> float:
        """The whole networks' backward (0 when not measured)."""
        return sum(self.networks_backward.values())

    @property
    def layers_ms(self) -> float:
        return sum(layer.forward_ms for layer in self.layers)

    @property
    def rest_ms(self) -> float:
        """The forward's time outside the timed modules (never below zero: the two are medians
        of separate repeats)."""
        return max(0.0, self.forward_ms - self.layers_ms)

    def rest_text(self) -> str:
        """What the layers' sum says against the whole forward, in a sentence."""
        if self.layers_ms >= self.forward_ms:
            return (f"the layers add up to {self.layers_ms:.3f} ms, as much as the whole forward "
                    "within the noise of timing them apart: the nodes without a module (ReLU, "
                    "pooling by a mean, adds) cost little here")
        return (f"the layers take {self.layers_ms:.3f} ms of it; the rest, {self.rest_ms:.3f} ms, "
                "is the nodes without a module (ReLU, pooling by a mean, adds) and Python "
                "between the calls")

    def share(self, layer: LayerTime) -> float:
        """``layer``'s part of the whole forward's time."""
        return layer.forward_ms / self.forward_ms if self.forward_ms > 0 else 0.0

    def macs_share(self, layer: LayerTime) -> float:
        """``layer``'s part of the counted multiply-adds of all the timed layers."""
        total = sum(other.macs * other.calls for other in self.layers)
        return layer.macs * layer.calls / total if total else 0.0

    def macs_per_second(self, layer: LayerTime) -> float:
        """Multiply-adds achieved: the counted ones for the whole batch over the measured time."""
        return layer.macs * self.batch / (layer.ms / 1000) if layer.ms > 0 else 0.0

    def as_json(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k != "layers"}
        out["layers"] = [{"node": layer.node, "block": layer.block, "macs": layer.macs,
                          "ms": layer.ms, "calls": layer.calls, "backward_ms": layer.backward_ms,
                          "macs_per_s": self.macs_per_second(layer),
                          "share": self.share(layer), "macs_share": self.macs_share(layer)}
                         for layer in self.layers]
        out.update(forward_ms=self.forward_ms, layers_ms=self.layers_ms, rest_ms=self.rest_ms,
                   backward_ms=self.backward_ms if self.backward else None)
        return out

    @classmethod
    def from_json(cls, data: dict) -> TimingReport:
        layers = [LayerTime(node_key(*row["node"].split("/")), row["block"], row["macs"], row["ms"],
                            row["calls"], row["backward_ms"]) for row in data["layers"]]
        return cls(data["project"], data["device"], data["threads"], data["batch"],
                   data["repeats"], layers, dict(data["networks"]),
                   dict(data["networks_backward"]))


@dataclass(frozen=True)
class TimingOptions:
    batch: int | None = None  # None: the project's batch size
    repeats: int = DEFAULT_REPEATS
    threads: int | None = None  # None: the threads a training run would start with
    backward: bool = False  # also time each layer's backward, as a training step runs it
    data_root: str | None = None  # relative dataset paths resolve here (the project's folder)
