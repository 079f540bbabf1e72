"""An assignment's goals: what a submission must achieve, each judged met, not met or unknown
until trained, with one sentence saying why.

A goal reads the project, its analysis (shapes, parameter and multiply-add counts) and, for
the accuracy goal, what a training run measured (``Trained``). Goals are data: each kind has a
JSON form (``goal_from_json``, ``Goal.to_json``) kept in the project file's assignment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from studio.core.inference import Analysis
from studio.core.project import NODE_ID, Project, predecessors, upstream_of
from studio.core.registry import ROLES, measures_accuracy, role_of

MET, NOT_MET, UNKNOWN = "met", "not met", "unknown"
MAX_COUNT = 10**15


class GoalError(ValueError):
    """A goal a file cannot hold; ``location`` names the field inside the goal."""

    def __init__(self, location: str, message: str):
        super().__init__(f"{location}: {message}" if location else message)
        self.location, self.message = location, message


@dataclass(frozen=True)
class Trained:
    """What a run measured: (epochs trained, held-out accuracy as a fraction) at each
    evaluation, in order."""

    accuracy: tuple = ()


@dataclass(frozen=True)
class Facts:
    """What the goals are judged on: the project, its analysis, how many nodes have an unknown
    cost (the totals leave them out), and the training run, if there was one."""

    project: Project
    analysis: Analysis
    unknown: int = 0
    trained: Trained | None = None


@dataclass(frozen=True)
class GoalState:
    goal: Goal
    state: str  # MET, NOT_MET or UNKNOWN
    why: str

    @property
    def met(self) -> bool:
        return self.state == MET

    def as_json(self) -> dict:
        return {"goal": self.goal.describe(), "state": self.state, "why": self.why}


class Goal:
    kind = ""
    needs_training = False

    def describe(self) -> str:
        raise NotImplementedError

    def evaluate(self, facts: Facts) -> GoalState:
        raise NotImplementedError

    def to_json(self) -> dict:
        raise NotImplementedError


def _count(value, location: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise GoalError(location, f"expected a whole number from 0 to {MAX_COUNT:,}, got "
                        f"{value!r}"[:120])
    return value


def _totals_state(goal, total: int, unknown: int, what: str) -> GoalState:
    """At most ``goal.limit`` of ``what``: a count that leaves out unknown nodes can only
    say 'not met' (it is already too many) or 'unknown'."""
    if total > goal.limit:
        return GoalState(goal, NOT_MET, f"{total:,} {what}, more than the {goal.limit:,} "
                         "allowed")
    if unknown:
        return GoalState(goal, UNKNOWN, f"{total:,} {what} counted, but {unknown} node"
                         f"{'s' if unknown != 1 else ''} of unknown shape left out")
    return GoalState(goal, MET, f"{total:,} {what}, within the {goal.limit:,} allowed")


@dataclass(frozen=True)
class Budget(Goal):
    """At most ``limit`` of a total the analysis counts (parameters, multiply-adds)."""

    limit: int
    noun = ""
    per = ""

    def describe(self) -> str:
        return f"At most {self.limit:,} {self.noun}{self.per}"

    def total(self, analysis: Analysis) -> int:
        raise NotImplementedError

    def evaluate(self, facts: Facts) -> GoalState:
        return _totals_state(self, self.total(facts.analysis), facts.unknown, self.noun)

    def to_json(self) -> dict:
        return {"goal": self.kind, "limit": self.limit}

    @classmethod
    def from_json(cls, data: dict) -> Budget:
        return cls(_count(data.get("limit"), "limit"))


class MaxParams(Budget):
    kind, noun = "max_params", "parameters"

    def total(self, analysis: Analysis) -> int:
        return analysis.total_params


class MaxMacs(Budget):
    kind, noun, per = "max_macs", "multiply-adds", " per sample"

    def total(self, analysis: Analysis) -> int:
        return analysis.total_macs


@dataclass(frozen=True)
class OutputShape(Goal):
    """The per-sample shape (no batch dimension) of a node's output (its first, or ``port``)."""

    graph: str
    node: str
    shape: tuple
    port: str = ""
    kind = "output_shape"

    def describe(self) -> str:
        where = f"{self.node}.{self.port}" if self.port else self.node
        return f"Output of {where} is {_shape_text(self.shape)}"

    def evaluate(self, facts: Facts) -> GoalState:
        row = facts.analysis.result(self.graph, self.node)
        if row is None:
            place = "the training graph" if self.graph == "training" else f"network {self.graph}"
            return GoalState(self, NOT_MET, f"{place} has no node {self.node}")
        outputs = row.outputs
        port = self.port or next(iter(outputs), "")
        found = outputs.get(port)
        if found is None:
            return GoalState(self, UNKNOWN, f"the shape of {self.node} is unknown (see Problems)")
        shape = tuple(found.shape)
        if shape == tuple(self.shape):
            return GoalState(self, MET, f"{self.node} gives {_shape_text(shape)}")
        return GoalState(self, NOT_MET, f"{self.node} gives {_shape_text(shape)}, not "
                         f"{_shape_text(self.shape)}")

    def to_json(self) -> dict:
        out = {"goal": self.kind, "graph": self.graph, "node": self.node,
               "shape": list(self.shape)}
        if self.port:
            out["port"] = self.port
        return out

    @classmethod
    def from_json(cls, data: dict) -> OutputShape:
        graph, node, port = data.get("graph", "training"), data.get("node"), data.get("port", "")
        for name, value in (("graph", graph), ("node", node)):
            if not isinstance(value, str) or not NODE_ID.match(value):
                raise GoalError(name, f"expected a name, got {value!r}"[:120])
        if not isinstance(port, str) or port and not NODE_ID.match(port):
            raise GoalError("port", f"expected a port name, got {port!r}"[:120])
        shape = data.get("shape")
        if not isinstance(shape, list) or len(shape) > 8 or not all(
                isinstance(d, int) and not isinstance(d, bool) and 0 < d <= MAX_COUNT
                for d in shape):
            raise GoalError("shape", f"expected a list of sizes, got {shape!r}"[:120])
        return cls(graph, node, tuple(shape), port)


@dataclass(frozen=True)
class Accuracy(Goal):
    """At least ``percent`` held-out accuracy at some evaluation within the first ``epochs``."""

    percent: float
    epochs: int
    kind = "accuracy"
    needs_training = True

    def describe(self) -> str:
        return (f"At least {_percent(self.percent)} held-out accuracy within {self.epochs} "
                f"epoch{'s' if self.epochs != 1 else ''}")

    def evaluate(self, facts: Facts) -> GoalState:
        if not any(measures_accuracy(n.block) for n in facts.project.training.nodes.values()):
            return GoalState(self, NOT_MET, "no loss measures accuracy (a classifier's loss "
                             "on class scores)")
        epochs = f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        if facts.trained is None:
            return GoalState(self, UNKNOWN, f"not trained yet: train for {epochs} to check")
        within = [(e, a) for e, a in facts.trained.accuracy if e <= self.epochs + 1e-9]
        if not within:
            return GoalState(self, UNKNOWN, f"the run measured no held-out accuracy within "
                             f"{epochs}: train for {epochs} to check")
        epoch, best = max(within, key=lambda p: p[1])
        reached = f"{_percent(100 * best)} held-out accuracy after {_epochs_text(epoch)}"
        if 100 * best + 1e-9 >= self.percent:
            return GoalState(self, MET, f"{reached}, at least the {_percent(self.percent)} "
                             "needed")
        return GoalState(self, NOT_MET, f"{reached}, less than the {_percent(self.percent)} "
                         "needed")

    def to_json(self) -> dict:
        return {"goal": self.kind, "percent": self.percent, "epochs": self.epochs}

    @classmethod
    def from_json(cls, data: dict) -> Accuracy:
        percent = data.get("percent")
        if isinstance(percent, bool) or not isinstance(percent, (int, float)) \
                or not math.isfinite(percent) or not 0 <= percent <= 100:
            raise GoalError("percent", f"expected a number from 0 to 100, got {percent!r}"[:120])
        epochs = data.get("epochs")
        if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= 10**6:
            raise GoalError("epochs", f"expected a whole number of epochs, got {epochs!r}"[:120])
        return cls(float(percent), epochs)


@dataclass(frozen=True)
class SkipConnection(Goal):
    """Some layer merges two of its inputs where one input's source lies upstream of the
    other's: the shorter path skips the layers of the longer one (``find_skip``)."""

    kind = "skip_connection"

    def describe(self) -> str:
        return "Use a skip connection"

    def evaluate(self, facts: Facts) -> GoalState:
        found = find_skip(facts.project)
        if found is None:
            return GoalState(self, NOT_MET, "no layer takes both a node's output and the output "
                             "of a layer after that node")
        graph, merge, early, late = found
        where = "" if graph == "training" else f" (in network {graph})"
        return GoalState(self, MET, f"{merge} takes {early} and {late}, which comes after "
                         f"{early}{where}")

    def to_json(self) -> dict:
        return {"goal": self.kind}

    @classmethod
    def from_json(cls, data: dict) -> SkipConnection:
        return cls()


GOALS = {cls.kind: cls for cls in (MaxParams, MaxMacs, OutputShape, Accuracy, SkipConnection)}


def goal_from_json(data) -> Goal:
    if not isinstance(data, dict):
        raise GoalError("", f"expected a goal object, got {type(data).__name__}")
    kind = data.get("goal")
    cls = GOALS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise GoalError("goal", f"unknown goal {kind!r}; one of {', '.join(GOALS)}"[:200])
    return cls.from_json(data)


def _is_layer(block: str) -> bool:
    """A block that plays no part in training's plumbing (no data, loss, optimizer, plot...)."""
    try:
        return all(role_of(block, role) is None for role in ROLES)
    except KeyError:
        return False


def find_skip(project: Project):
    """(graph key, merging node, early source, late source) of the first skip connection: a
    layer with two wired inputs whose sources differ and one of which is upstream of the other
    (``x`` and ``f(x)`` into an Add or a Concat); None if there is none."""
    for key, graph in project.graphs():
        preds = predecessors(graph)
        for node in graph.nodes.values():
            sources = list(dict.fromkeys(preds.get(node.id, [])))
            if len(sources) < 2 or not _is_layer(node.block):
                continue
            for late in sources:
                upstream = upstream_of(graph, late, preds)
                for early in sources:
                    if early != late and early in upstream:
                        return key, node.id, early, late
    return None


def _shape_text(shape) -> str:
    return " x ".join(str(d) for d in shape) or "a scalar"


def _percent(value: float) -> str:
    return f"{value:.1f}%".replace(".0%", "%")


def _epochs_text(epoch: float) -> str:
    whole = abs(epoch - round(epoch)) < 1e-6
    text = f"{round(epoch)}" if whole else f"{epoch:.1f}"
    return f"{text} epoch{'' if whole and round(epoch) == 1 else 's'}"
