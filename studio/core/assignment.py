"""An assignment a teacher sets: a project with locks, a restricted palette and goals.

A lock keeps a node as the teacher left it: a whole node (its block, every parameter, its
position, frozen and linked state, and the wires between it and other wholly locked nodes), or
only some of its parameters. The palette lists the block types a student may add; a node of
another type is allowed only where the teacher's project has it (same graph, id and block).
The goals (``goals.py``) say what the work must achieve.

The reference a lock is checked against is the project the assignment was bound to
(``bind``): the teacher's when grading, the file as opened in the editor (whose edits
``violations`` then guards, see ``Document.push``). Stored in the project file under
``"assignment"`` (format 3); a project without one is written as before.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

from studio.core.goals import Facts, GoalError, GoalState, Trained, goal_from_json
from studio.core.inference import Analysis
from studio.core.project import INPUT, INSTANCE, NODE_ID, OUTPUT, Project
from studio.core.registry import get_block

MAX_TEXT = 20_000
LOCKED = "locked by the assignment"
ALWAYS_ALLOWED = (INSTANCE, INPUT, OUTPUT)  # a network's plumbing: its own nodes are checked


class AssignmentError(GoalError):
    """An assignment a file cannot hold; ``location`` is the field's path inside it."""


@dataclass(frozen=True)
class Lock:
    graph: str  # "training" or a network's name
    node: str
    params: tuple = ()  # the locked parameters; empty: the whole node

    @property
    def whole(self) -> bool:
        return not self.params

    def to_json(self) -> dict:
        out = {"graph": self.graph, "node": self.node}
        if self.params:
            out["params"] = list(self.params)
        return out


@dataclass
class Assignment:
    title: str = ""
    text: str = ""  # the instructions, Markdown
    locks: tuple = ()
    palette: tuple | None = None  # allowed block types; None: every block
    goals: tuple = ()
    _nodes: dict = field(default_factory=dict, repr=False, compare=False)  # (graph, id) -> Node
    _wires: dict = field(default_factory=dict, repr=False, compare=False)  # graph -> edges

    # the reference ------------------------------------------------------------------------------
    def bind(self, project: Project) -> Assignment:
        """Take ``project``'s nodes as what the locks and the palette are checked against."""
        self._nodes = {(key, n.id): copy.deepcopy(n) for key, g in project.graphs()
                       for n in g.nodes.values()}
        whole = self._whole_locked()
        self._wires = {key: {e for e in g.edges if (key, e.src) in whole and (key, e.dst) in whole}
                       for key, g in project.graphs()}
        return self

    def _whole_locked(self) -> set:
        return {(lock.graph, lock.node) for lock in self.locks if lock.whole}

    def lock_of(self, graph: str, node_id: str) -> Lock | None:
        return next((k for k in self.locks if k.graph == graph and k.node == node_id), None)

    def locked_params(self, graph: str, node_id: str) -> set:
        """The parameter names of a node that cannot change (all of them for a whole lock)."""
        lock = self.lock_of(graph, node_id)
        if lock is None:
            return set()
        if lock.whole:
            ref = self._nodes.get((graph, node_id))
            return set(ref.params) if ref else set()
        return set(lock.params)

    def allows(self, block: str) -> bool:
        """Whether a student may add a ``block``."""
        return self.palette is None or block in self.palette or block in ALWAYS_ALLOWED

    # checking -----------------------------------------------------------------------------------
    def violations(self, project: Project, positions: bool = True) -> list[str]:
        """Every way ``project`` breaks a lock or the palette, one sentence each naming the
        node; ``positions``: a locked node moved counts too (the editor; grading ignores it)."""
        graphs = dict(project.graphs())
        out = []
        for lock in self.locks:
            out += self._lock_violations(lock, graphs, positions)
        whole = self._whole_locked()
        for key, kept in self._wires.items():
            graph = graphs.get(key)
            edges = set(graph.edges) if graph is not None else set()
            for e in sorted(kept - edges, key=str):
                out.append(f"{LOCKED}: the wire {e.src}.{e.src_port} \u2192 {e.dst}.{e.dst_port} "
                           "between locked nodes cannot be removed")
            for e in sorted(edges - kept, key=str):
                if (key, e.src) in whole and (key, e.dst) in whole:
                    out.append(f"{LOCKED}: no wire can be added between {e.src} and {e.dst}")
        if self.palette is not None:
            for key, graph in graphs.items():
                for node in graph.nodes.values():
                    ref = self._nodes.get((key, node.id))
                    if not self.allows(node.block) and (ref is None or ref.block != node.block):
                        out.append(f"the assignment allows only "
                                   f"{', '.join(self.palette) or 'the blocks it has'}: "
                                   f"{node.id} is a {node.block}")
        return out

    def _lock_violations(self, lock: Lock, graphs: dict, positions: bool) -> list[str]:
        ref = self._nodes.get((lock.graph, lock.node))
        if ref is None:
            return []
        name = lock.node if lock.graph == "training" else f"{lock.graph}/{lock.node}"
        graph = graphs.get(lock.graph)
        node = graph.nodes.get(lock.node) if graph is not None else None
        if node is None:
            return [f"{LOCKED}: {name} cannot be deleted"]
        if node.block != ref.block:
            return [f"{LOCKED}: {name} must stay a {ref.block}"]
        out = [f"{LOCKED}: {name}'s {p} cannot change ({_value(ref.params.get(p))}, not "
               f"{_value(node.params.get(p))})" for p in (lock.params or ref.params)
               if node.params.get(p) != ref.params.get(p)]
        if lock.whole:
            if node.frozen != ref.frozen:
                out.append(f"{LOCKED}: {name} cannot be {'frozen' if node.frozen else 'unfrozen'}")
            if node.shares != ref.shares:
                out.append(f"{LOCKED}: what {name} links to cannot change")
            if positions and tuple(node.pos) != tuple(ref.pos):
                out.append(f"{LOCKED}: {name} cannot be moved")
        return out

    def evaluate(self, project: Project, analysis: Analysis, unknown: int = 0,
                 trained: Trained | None = None) -> list[GoalState]:
        facts = Facts(project, analysis, unknown, trained)
        return [goal.evaluate(facts) for goal in self.goals]

    @property
    def needs_training(self) -> bool:
        return any(goal.needs_training for goal in self.goals)

    # the file ----------------------------------------------------------------------------------
    def to_json(self) -> dict:
        out = {"title": self.title}
        if self.text:
            out["text"] = self.text
        out["locks"] = [lock.to_json() for lock in self.locks]
        if self.palette is not None:
            out["palette"] = list(self.palette)
        out["goals"] = [goal.to_json() for goal in self.goals]
        return out


def assignment_from_json(data, project: Project,
                         fail: Callable[[str, str], None] | None = None) -> Assignment:
    """The assignment a file holds, bound to ``project`` (the file's own). A bad lock, block
    name or goal is passed to ``fail(location, message)`` and left out; without ``fail`` the
    first raises AssignmentError. Locations are relative to the assignment object."""

    def bad(location: str, message: str) -> None:
        if fail is None:
            raise AssignmentError(location, message)
        fail(location, message)

    if not isinstance(data, dict):
        raise AssignmentError("", "expected an assignment object")
    title, text = data.get("title", ""), data.get("text", "")
    for key, value, limit in (("title", title, 200), ("text", text, MAX_TEXT)):
        if not isinstance(value, str) or len(value) > limit:
            raise AssignmentError(key, f"expected a text of at most {limit:,} characters")
    graphs = dict(project.graphs())
    locks = []
    for i, entry in enumerate(_list(data, "locks")):
        try:
            locks.append(_lock(entry, graphs))
        except AssignmentError as err:
            bad(f"locks[{i}]{'.' + err.location if err.location else ''}", err.message)
    palette = None
    if "palette" in data:
        palette = []
        for i, block in enumerate(_list(data, "palette")):
            try:
                palette.append(get_block(block).id if isinstance(block, str) else None)
            except KeyError:
                palette.append(None)
            if palette[-1] is None:
                palette.pop()
                bad(f"palette[{i}]", f"unknown block type {str(block)[:60]!r}")
    goals = []
    for i, entry in enumerate(_list(data, "goals")):
        try:
            goals.append(goal_from_json(entry))
        except GoalError as err:
            bad(f"goals[{i}]{'.' + err.location if err.location else ''}", err.message)
    assignment = Assignment(title, text, tuple(locks),
                            tuple(palette) if palette is not None else None, tuple(goals))
    return assignment.bind(project)


def _list(data: dict, key: str) -> list:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise AssignmentError(key, "expected a list")
    return value


def _lock(entry, graphs: dict) -> Lock:
    if not isinstance(entry, dict):
        raise AssignmentError("", "expected a lock object")
    graph, node, params = entry.get("graph", "training"), entry.get("node"), entry.get("params", [])
    if not isinstance(graph, str) or graph not in graphs:
        raise AssignmentError("graph", f"no graph {str(graph)[:60]!r} in this project")
    if not isinstance(node, str) or not NODE_ID.match(node) or node not in graphs[graph].nodes:
        raise AssignmentError("node", f"locks node {str(node)[:60]!r}, which {graph} does not "
                              "have")
    names = set(graphs[graph].nodes[node].params)
    if not isinstance(params, list) or not all(isinstance(p, str) and p in names for p in params):
        raise AssignmentError("params", f"expected a list of {node}'s parameter names")
    return Lock(graph, node, tuple(dict.fromkeys(params)))


def _value(value) -> str:
    return repr(value) if isinstance(value, str) else str(value)
