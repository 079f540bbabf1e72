"""What the probes send of the node selected on the canvas beyond its feature maps: the
histogram of the values an activation receives over the whole probe batch, with the share in
its flat region (``FlatRegion``: ReLU's dead side, the sigmoid's saturated tails), and a
convolution's kernels.

Both ride on the activations probe (``probe_sender.py``), so they run at its rate, within its
time budget, and when the selection changes; both send counts or weights, never the
activations themselves: 48 counts per histogram, at most 64 x 64 kernels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from studio.core.project import INSTANCE, node_ports
from studio.core.registry import spec_of
from studio.core.roles import FlatRegion
from studio.engine.events import Kernels, PreActivations
from studio.engine.node_keys import NodeKey, node_key

HIST_BINS = 48
MAX_KERNEL_CHANNELS = 64  # output and input channels drawn, each
MAX_KERNEL_SIDE = 16


@dataclass(frozen=True)
class Counted:
    """For one watched node: whose output is counted (``source``) and the activation that
    receives it (``activation``, its block and flat region), if any."""

    source: str
    activation: str | None = None
    block: str = ""
    flat: FlatRegion | None = None


def value_histogram(values: torch.Tensor, bins: int = HIST_BINS):
    """(counts int64, edges float64) of the finite values over [min, max] in ``bins`` equal
    bins, the last one closed, as ``numpy.histogram`` counts them; None without finite values.
    Counted where the values are (a GPU's tensor never leaves it whole)."""
    v = values.detach().reshape(-1)
    v = (v.cpu() if v.device.type == "mps" else v).double()  # MPS has no float64
    v = v[torch.isfinite(v)]
    if v.numel() == 0:
        return None
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5  # numpy's range for one repeated value
    index = ((v - lo) * (bins / (hi - lo))).floor().long().clamp_(0, bins - 1)
    counts = torch.bincount(index, minlength=bins)
    return counts.cpu().numpy().astype(np.int64), np.linspace(lo, hi, bins + 1)


def flat_share(values: torch.Tensor, flat: FlatRegion) -> float:
    """The share of the finite values in ``flat``: at or below its ``below``, at or above its
    ``above``."""
    v = values.detach().reshape(-1).float()
    v = v[torch.isfinite(v)]
    if v.numel() == 0:
        return 0.0
    inside = torch.zeros_like(v, dtype=torch.bool)
    if flat.below is not None:
        inside |= v <= flat.below
    if flat.above is not None:
        inside |= v >= flat.above
    return float(inside.float().mean())


def kernel_weights(modules) -> np.ndarray | None:
    """A convolution's kernels as (out, in, kh, kw) float32 (a transposed convolution's
    turned to the same order), at most ``MAX_KERNEL_CHANNELS`` of each and kernels of at most
    ``MAX_KERNEL_SIDE``; None for a node whose parameters are not one 2-D convolution's."""
    if len(modules) != 1:
        return None
    weight = getattr(modules[0], "weight", None)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 4:
        return None
    w = weight.detach()
    if isinstance(modules[0], torch.nn.modules.conv._ConvTransposeNd):
        w = w.transpose(0, 1)
    w = w[:MAX_KERNEL_CHANNELS, :MAX_KERNEL_CHANNELS, :MAX_KERNEL_SIDE, :MAX_KERNEL_SIDE]
    return np.array(w.float().cpu().numpy(), copy=True)  # not a view of the live weight


class WatchedNodeProbe:
    """Works out, per watched key, what to count, and makes the events from what the
    recorder captured."""

    def __init__(self, project, groups: dict):
        self.project = project
        self.groups = groups  # node key -> its parameter modules (probes.parameter_nodes)
        self._counted: dict = {}

    def counted(self, key: str) -> Counted | None:
        if key not in self._counted:
            self._counted[key] = counted_for(self.project, key)
        return self._counted[key]

    def sources(self, watch) -> set:
        """The keys whose whole output the recorder must keep for ``watch``."""
        return {c.source for c in map(self.counted, watch) if c is not None}

    def events(self, step: int, watch, whole: dict) -> list:
        out = []
        for key in sorted(watch):
            counted = self.counted(key)
            values = whole.get(counted.source) if counted is not None else None
            hist = value_histogram(values) if values is not None else None
            if hist is not None:
                out.append(PreActivations(
                    step=step, node=key, source=counted.source, counts=hist[0],
                    edges=hist[1].astype(np.float32), total=int(hist[0].sum()),
                    samples=int(values.shape[0]) if values.dim() else 1,
                    activation=counted.activation, block=counted.block,
                    flat=(counted.flat.below, counted.flat.above) if counted.flat else None,
                    word=counted.flat.word if counted.flat else "",
                    share=flat_share(values, counted.flat) if counted.flat else None))
            modules = self.groups.get(key)
            kernels = kernel_weights(modules) if modules else None
            if kernels is not None:
                full = modules[0].weight.shape
                transposed = isinstance(modules[0], torch.nn.modules.conv._ConvTransposeNd)
                out.append(Kernels(step=step, node=key, weights=kernels,
                                   shape=(int(full[1]), int(full[0])) + tuple(full[2:])
                                   if transposed else tuple(int(v) for v in full)))
        return out


def counted_for(project, key: str) -> Counted | None:
    """What the histogram for ``key`` counts: a selected activation with a flat region counts
    what it receives (the output of the node wired into it); any other node its own output,
    with the flat region of an activation it feeds, if one declares it. None when the key
    names no node of the project or an activation's input is not one node's single output."""
    found = _locate(project, key)
    if found is None:
        return None
    graph, node, parent = found
    flat = spec_of(node.block).flat if node.block != INSTANCE else None
    if flat is not None:
        wires = [e for e in graph.edges if e.dst == node.id]
        if len(wires) != 1 or len(node_ports(graph, wires[0].src, "output")) != 1:
            return None
        return Counted(_key(parent, wires[0].src), key, node.block, flat)
    if NodeKey.parse(key).port is None and len(node_ports(graph, node.id, "output")) != 1:
        return None
    for wire in graph.edges:
        if wire.src == node.id:
            user = graph.nodes[wire.dst]
            user_flat = spec_of(user.block).flat if user.block != INSTANCE else None
            if user_flat is not None:
                return Counted(key, _key(parent, user.id), user.block, user_flat)
    return Counted(key)


def _key(parent: tuple, node_id: str) -> str:
    return node_key(*parent, node_id)


def _locate(project, key: str):
    """(graph, node, ids of the instances on the way) for ``key``; None if there is none."""
    path = NodeKey.parse(key).path
    graph = project.training
    for instance in path[:-1]:
        node = graph.nodes.get(instance)
        if node is None or node.block != INSTANCE:
            return None
        graph = project.networks.get(node.params.get("network"))
        if graph is None:
            return None
    node = graph.nodes.get(path[-1]) if path else None
    return None if node is None else (graph, node, path[:-1])

