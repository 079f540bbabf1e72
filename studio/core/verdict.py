"""One verdict per analysis: what every panel and ``studio check`` say about a project.

The analysis finds the errors of the graph; the verdict adds what stops training though the
code can be written (no loss yet), what may go wrong although it can train (more memory than
the device has), and the totals, counting the nodes whose cost is unknown rather than reading 0.
Problems, the code view's banner, the Training panel, the status bar and ``studio check`` all
read this one object, so they cannot disagree.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from functools import cache
from operator import attrgetter

from studio.core.inference import ERROR, NOT_READY, WARNING, Analysis, Problem
from studio.core.project import INPUT, INSTANCE, OUTPUT, Project, upstream_of
from studio.core.registry import spec_of

FLOAT_BYTES = 4  # weights, gradients and optimizer state are float32, also under mixed precision
HALF_BYTES = 2  # activations under mixed precision (bf16, fp16)
RAM_DEVICES = ("cpu", "auto", "mps")  # trained in the machine's memory (mps: unified memory)


@cache
def machine_memory() -> int | None:
    """Bytes of physical memory of this machine, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def size_text(n: float) -> str:
    """Bytes as a person reads them: '244 KB', '3.1 MB', '13 TB'."""
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            if unit == "bytes":
                return f"{int(n)} bytes"
            return f"{n:.3g} {unit}" if n < 100 else f"{n:.0f} {unit}"
        n /= 1000
    return f"{n:.0f} PB"


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes one training step holds, from the shapes and the declarations (no torch)."""

    weights: int
    gradients: int
    optimizer_state: int
    activations: int
    batch_size: int
    device: str
    available: int | None  # the device's memory when it can be known without torch
    largest: str | None = None  # the node holding most of it
    largest_params: int = 0

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer_state + self.activations

    @property
    def exceeds(self) -> bool:
        return self.available is not None and self.total > self.available

    @property
    def breakdown(self) -> str:
        return (f"weights {size_text(self.weights)}, gradients {size_text(self.gradients)}, "
                f"optimizer state {size_text(self.optimizer_state)}, activations "
                f"{size_text(self.activations)} for a batch of {self.batch_size:,}")

    @property
    def compared(self) -> str:
        """What the estimate is measured against, in words."""
        if self.available is not None:
            where = "this machine's memory" if self.device != "auto" else \
                "this machine's memory (auto may pick a GPU)"
            return f"{where}: {size_text(self.available)}"
        if self.device in RAM_DEVICES:
            return "this machine does not say how much memory it has"
        return f"{self.device} memory cannot be read without torch: compare with your GPU's"

    def describe(self) -> str:
        return f"about {size_text(self.total)} ({self.breakdown}); {self.compared}"

    def as_json(self) -> dict:
        return {"total_bytes": self.total, "weights_bytes": self.weights,
                "gradients_bytes": self.gradients, "optimizer_state_bytes": self.optimizer_state,
                "activations_bytes": self.activations, "batch_size": self.batch_size,
                "device": self.device, "available_bytes": self.available,
                "exceeds": self.exceeds, "text": self.describe()}


def estimate_memory(project: Project, analysis: Analysis, available: int | None = None
                    ) -> MemoryEstimate:
    """Weights, gradients, optimizer state and one batch's activations of the training graph.

    ``available`` overrides the device's memory (tests); by default it is this machine's RAM
    for cpu, auto and mps, and unknown for cuda.
    """
    tally = _RowTally()
    tally.update(analysis)
    return _memory(project, analysis, tally, available, {})


class _RowTally:
    """What the memory estimate and the unknown count read from an analysis's rows: the
    training graph's top rows, the activation values the rows hold, and which nodes of each
    counted graph have a known cost. Kept up to date from one analysis to the next: an edit's
    analysis reuses the row objects of every node it did not analyse again, so only the rows
    that came or went (compared by identity) are looked at."""

    def __init__(self):
        self.rows: dict | None = {}  # id(row) -> (row, its activation values)
        self.values = 0
        self.top: dict = {}  # training node id -> its row
        self.params = 0  # of the top rows
        self.blocks: dict[str, int] = {}  # block type -> top rows of it
        self._ok: dict[str, set] = {"training": set()}  # graph key -> nodes of known cost
        self._depth0: dict[str, int] = {}  # graph key -> its top rows

    def update(self, analysis: Analysis) -> None:
        now = dict(zip(map(id, analysis.rows), analysis.rows))
        if len(now) != len(analysis.rows) or self.rows is None:
            self.__init__()  # counted from nothing
            if len(now) != len(analysis.rows):  # a row listed twice: counted as often
                for r in analysis.rows:
                    self._add(r)
                self.rows = None  # not comparable with the next analysis's rows
                return
        for key in self.rows.keys() - now.keys():
            self._drop(*self.rows.pop(key))
        for key in now.keys() - self.rows.keys():
            self.rows[key] = (now[key], self._add(now[key]))

    def _add(self, r) -> int:
        values = _activation_values(r)
        self.values += values
        if r.depth == 0:
            if r.graph == "training":
                self.top[r.node.id] = r
                self.params += r.params
                self.blocks[r.node.block] = self.blocks.get(r.node.block, 0) + 1
            self._depth0[r.graph] = self._depth0.get(r.graph, 0) + 1
            if r.ok:
                self._ok.setdefault(r.graph, set()).add(r.node.id)
        return values

    def _drop(self, r, values: int) -> None:
        self.values -= values
        if r.depth == 0:
            if r.graph == "training" and self.top.get(r.node.id) is r:
                del self.top[r.node.id]
                self.params -= r.params
                self.blocks[r.node.block] -= 1
            self._depth0[r.graph] -= 1
            if r.ok:
                self._ok[r.graph].discard(r.node.id)

    def counted(self) -> dict[str, set]:
        """Graph key -> the nodes of known cost, for each graph the totals count."""
        return {key: ok for key, ok in self._ok.items()
                if key == "training" or self._depth0.get(key)}

    def largest(self, rows: list):
        """The training graph's top row with the most parameters (the first such)."""
        most = max(map(attrgetter("params"), self.top.values()), default=None)
        if most is None:
            return None
        return next(r for r in rows if r.params == most and r.depth == 0 and
                    r.graph == "training")


def _activation_values(r) -> int:
    """Values a row's outputs hold per sample (0 outside the training graph's networks, and for
    the structure nodes, which hold none of their own)."""
    if r.graph != "training" and r.depth == 0 or r.node.block in (INSTANCE, INPUT, OUTPUT):
        return 0
    return sum(_numel(t.shape) for t in r.outputs.values() if t.kind == "tensor")


def _memory(project: Project, analysis: Analysis, tally: _RowTally, available: int | None,
            upstream: dict) -> MemoryEstimate:
    settings = project.training.settings
    batch = int(settings.get("batch_size", 1))
    device = str(settings.get("device", "auto"))
    if available is None and device in RAM_DEVICES:
        available = machine_memory()
    top = tally.top
    params = tally.params
    optimizers = {b for b, n in tally.blocks.items() if n and _optimizer_of(b)}
    state = sum(_optimizer_state(project, top, r, upstream) for r in top.values()
                if r.node.block in optimizers)
    act_bytes = HALF_BYTES if settings.get("amp", "off") != "off" else FLOAT_BYTES
    largest = tally.largest(analysis.rows)
    return MemoryEstimate(
        weights=params * FLOAT_BYTES, gradients=params * FLOAT_BYTES,
        optimizer_state=state * FLOAT_BYTES, activations=tally.values * batch * act_bytes,
        batch_size=batch, device=device, available=available,
        largest=largest.node.id if largest is not None and largest.params else None,
        largest_params=largest.params if largest is not None else 0)


def _optimizer_of(block: str):
    spec = spec_of(block)
    return spec.optimizer if spec is not None else None


def _numel(shape) -> int:
    n = 1
    for d in shape:
        if not isinstance(d, int):
            return 0  # a symbolic size: not a concrete graph
        n *= d
    return n


def _optimizer_state(project: Project, top: dict, row, upstream: dict) -> int:
    """Values an optimizer keeps: its slots per parameter times the parameters it updates
    (those it names, else every node upstream of its loss). ``upstream`` keeps the nodes
    upstream of each optimizer ("nodes") while the wires are the same ("wires")."""
    if row.values is None or row.node.block == INSTANCE:
        return 0
    optimizer = _optimizer_of(row.node.block)
    if optimizer is None:
        return 0
    chosen = _updated_rows(project, top, row, upstream)
    return optimizer.state_slots(row.values) * sum(map(attrgetter("params"), chosen))


def _updated_rows(project: Project, top: dict, row, upstream: dict) -> list:
    """The training graph's rows an optimizer updates: those it names, else every node
    upstream of its loss."""
    names = tuple(getattr(row.values, "updates", ()) or ())
    if names:
        return [r for r in top.values() if {r.node.id, r.node.title,
                                            r.node.params.get("network")} & set(names)]
    graph = project.training
    wires = tuple(graph.edges)
    if upstream.get("wires") != wires:
        upstream.update(wires=wires, nodes={})
    nodes = upstream["nodes"]
    if row.node.id not in nodes:
        nodes[row.node.id] = upstream_of(graph, row.node.id)
    return [r for r in map(top.get, nodes[row.node.id]) if r is not None]


def _any_frozen(project: Project) -> bool:
    graphs = [project.training, *project.networks.values()]
    return any(node.frozen for graph in graphs for node in graph.nodes.values())


def _frozen_optimizers(project: Project, analysis: Analysis, top: dict, upstream: dict) -> list:
    """A problem for each optimizer whose every layer with weights is frozen: its parameter
    list would be empty, so it has nothing to train (checked only when a node is frozen)."""
    if not _any_frozen(project):
        return []
    instances = {r.path: r.node for r in analysis.rows if r.node.block == INSTANCE}
    problems = []
    for row in top.values():
        if row.values is None or row.node.block == INSTANCE or not _optimizer_of(row.node.block):
            continue
        chosen = {r.node.id for r in _updated_rows(project, top, row, upstream)}
        trains = frozen = 0
        for r in analysis.rows:
            parts = r.path.split("/")
            if parts[0] not in chosen or r.node.block == INSTANCE or not r.params:
                continue
            along = [instances.get("/".join(parts[:k])) for k in range(1, len(parts))]
            if r.node.frozen or any(node is not None and node.frozen for node in along):
                frozen += r.params
            else:
                trains += r.params
        if frozen and not trains:
            problems.append(Problem(
                "training", row.node.id, None, f"every layer it would update is frozen "
                f"({frozen:,} parameters), so it has nothing to train: unfreeze a layer, or "
                "remove the optimizer", severity=NOT_READY))
    return problems


@dataclass(frozen=True)
class Verdict:
    """What the project is fit for, and why not: read by every view that says so."""

    problems: tuple  # errors first, then what stops training, then warnings
    total_params: int
    total_macs: int
    unknown: int  # nodes whose shape and cost are unknown (their counts are left out)
    memory: MemoryEstimate | None = None
    code_refusal: str | None = field(default=None)

    # what it is fit for --------------------------------------------------------------------------
    @property
    def errors(self) -> list:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def can_generate(self) -> bool:
        return not self.errors

    @property
    def can_train(self) -> bool:
        return all(p.severity == WARNING for p in self.problems)

    @property
    def train_blocker(self) -> str | None:
        """Why it cannot train, in one sentence naming the node (None: it can)."""
        blocking = [p for p in self.problems if p.severity != WARNING]
        if not blocking:
            return None
        more = len(blocking) - 1
        return f"{blocking[0]}" + (f" (and {more} more in Problems)" if more else "")

    # what a user reads -------------------------------------------------------------------------
    @property
    def summary(self) -> str:
        """'no problems', '2 problems', '1 problem, 1 warning'."""
        n = len(self.problems) - len(self.warnings)
        w = len(self.warnings)
        parts = [f"{n} problem{'s' if n != 1 else ''}"] if n else []
        if w:
            parts.append(f"{w} warning{'s' if w != 1 else ''}")
        return ", ".join(parts) or "no problems"

    @property
    def params_text(self) -> str:
        """'61,550 parameters (1 node unknown)'."""
        text = f"{self.total_params:,} parameters"
        if self.unknown:
            text += f" ({self.unknown} node{'s' if self.unknown != 1 else ''} unknown)"
        return text

    @property
    def memory_text(self) -> str:
        """The memory estimate in words, saying what it leaves out."""
        if self.memory is None:
            return ""
        text = self.memory.describe()
        if self.unknown:
            text += f"; {self.unknown} node{'s' if self.unknown != 1 else ''} of unknown shape not counted"
        return text

    @property
    def training_status(self) -> str:
        """The Training panel's line before a run."""
        if not self.can_train:
            return f"Cannot train yet: {self.train_blocker}"
        if self.warnings:
            w = len(self.warnings)
            return f"Ready to train ({w} warning{'s' if w != 1 else ''} in Problems)"
        return "Ready to train"

    @property
    def code_status(self) -> str | None:
        """The code view's banner: why the code shown is not the current graph's (None: it is)."""
        if self.can_generate:
            return None
        these = "this" if len(self.errors) == 1 else f"these {len(self.errors)}"
        return f"The code below is from the last version without problems. Fix {these} to update it:"

    def with_code_refusal(self, message: str) -> Verdict:
        """The verdict once the code generator refused for a reason the analysis did not see."""
        node, text = None, message
        match = re.match(r"^training/([A-Za-z_][A-Za-z0-9_\-]*): (.*)$", message, re.S)
        if match:
            node, text = match.group(1), match.group(2)
        problem = Problem("training", node, None, text)
        return replace(self, problems=(problem,) + tuple(self.problems), code_refusal=message)


def judge(project: Project, analysis: Analysis, available: int | None = None) -> Verdict:
    """The verdict on ``project`` from its analysis (one per edit)."""
    return Judge()(project, analysis, available)


class Judge:
    """Verdicts on the successive analyses of one project (the editor's session keeps one).

    An analysis brought up to date after an edit reuses the rows of every node it did not
    analyse again (``core.incremental``), so what a row adds to the memory estimate is worked
    out once per row, and the nodes upstream of an optimizer once per wiring: a verdict then
    costs a lookup per row besides what the edit changed. Equal to ``judge``
    (``tests/test_incremental.py`` checks it on random edits)."""

    def __init__(self):
        self._tally = _RowTally()
        self._upstream: dict = {}  # the nodes upstream of each optimizer: see _optimizer_state

    def __call__(self, project: Project, analysis: Analysis, available: int | None = None
                 ) -> Verdict:
        tally = self._tally
        tally.update(analysis)
        problems = [p for p in analysis.problems]
        if not _has_loss(project):
            problems.append(Problem("training", None, None, "the training graph has no loss to "
                                    "train: add a loss and an optimizer", severity=NOT_READY))
        for name in _unused_networks(project):
            problems.append(Problem(name, None, None, f"network {name} is used nowhere, so it "
                                    "is left out of the code: its layer sizes come from the "
                                    "shapes wired into an instance. Drag it into the training "
                                    "graph and wire it", severity=WARNING))
        problems += _frozen_optimizers(project, analysis, tally.top, self._upstream)
        memory = _memory(project, analysis, tally, available, self._upstream)
        if memory.exceeds:
            problems.append(_memory_warning(memory))
        return Verdict(tuple(problems), analysis.total_params, analysis.total_macs,
                       _unknown(project, tally), memory)


def _unused_networks(project: Project) -> list[str]:
    """Networks no instance reaches from the training graph (directly or through networks)."""
    if not project.networks:
        return []
    used: set[str] = set()
    graphs = [project.training]
    while graphs:
        for node in graphs.pop().nodes.values():
            name = node.params.get("network") if node.block == INSTANCE else None
            if name in project.networks and name not in used:
                used.add(name)
                graphs.append(project.networks[name])
    return [name for name in project.networks if name not in used]


def _has_loss(project: Project) -> bool:
    blocks = {node.block for node in project.training.nodes.values()} - {INSTANCE}
    return any(spec.category == "loss" for spec in map(spec_of, blocks) if spec is not None)


def _memory_warning(memory: MemoryEstimate) -> Problem:
    text = (f"training needs about {size_text(memory.total)} of memory ({memory.breakdown}), "
            f"more than {memory.compared}")
    if memory.largest and memory.weights * 2 > memory.activations:
        text += (f"; {memory.largest} alone has {memory.largest_params:,} parameters: make it "
                 "smaller")
    else:
        text += "; lower the batch size or make the activations smaller"
    return Problem("training", memory.largest, None, text, severity=WARNING)


def _unknown(project: Project, tally: _RowTally) -> int:
    """Nodes of the graphs the totals count (the training graph, unused networks) whose cost
    could not be computed: they failed, or sit on or after a cycle or a failed node."""
    unknown = 0
    for key, ok in tally.counted().items():
        graph = project.training if key == "training" else project.networks.get(key)
        if graph is not None:
            unknown += len(graph.nodes.keys() - ok)
    return unknown


__all__ = ["Judge", "MemoryEstimate", "Verdict", "estimate_memory", "judge", "machine_memory", "size_text"]
