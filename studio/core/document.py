"""The editable document: a project, its undo history, and change notifications.

Every user edit is one ``Command`` pushed on the document (a drag, a paste, a delete of ten
nodes: one command each). Views never change the project directly: they push commands and
redraw when the document tells them what changed. "Modified" is "the history is not at the
point where it was last saved". Pure Python (no Qt), so editing is testable without a window.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

from studio.core.params import Arg, ParamError
from studio.core.project import Edge, Graph, Node, Project, ProjectError
from studio.core.registry import get_block


@dataclass
class Change:
    """What an edit touched, so views update only that: graph key, node ids, and whether wires
    or the set of graphs changed."""

    graphs: set = field(default_factory=set)
    nodes: set = field(default_factory=set)  # (graph key, node id)
    wires: bool = False
    structure: bool = False  # networks added or removed, or a whole graph replaced


class Command:
    """One undoable edit. ``apply`` and ``revert`` must restore each other exactly."""

    text = "edit"

    def apply(self, doc: Document) -> Change:
        raise NotImplementedError

    def revert(self, doc: Document) -> Change:
        raise NotImplementedError

    def merge(self, other: Command) -> bool:
        """Absorb ``other`` (the next edit) into this one; True if merged (a drag, a typing
        burst on one field)."""
        return False


class Document:
    """A project with an undo/redo history and change subscribers."""

    def __init__(self, project: Project | None = None, path=None):
        self.project = project or Project()
        self.path = path
        self._undo: list[Command] = []
        self._redo: list[Command] = []
        self._clean_index: int | None = 0  # len(_undo) at the last save; None: unreachable
        self._listeners: list[Callable[[Change], None]] = []
        self._merge_open = False

    # notifications ----------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``callback(change)`` after every edit, undo and redo; returns an unsubscribe."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _notify(self, change: Change) -> None:
        for cb in list(self._listeners):
            cb(change)

    # history ------------------------------------------------------------------------------------
    def push(self, command: Command, merge: bool = False) -> Change:
        """Apply ``command`` and record it. With ``merge``, fold it into the previous command
        when that one accepts (consecutive drags of the same nodes, edits of one field)."""
        change = command.apply(self)
        if merge and self._merge_open and self._undo and len(self._undo) != self._clean_index \
                and self._undo[-1].merge(command):
            pass
        else:
            if self._clean_index is not None and self._clean_index > len(self._undo):
                self._clean_index = None
            self._undo.append(command)
        self._redo.clear()
        self._merge_open = merge
        self._notify(change)
        return change

    def end_merge(self) -> None:
        """Close the current merge run (mouse released, field left)."""
        self._merge_open = False

    def undo(self) -> Change | None:
        if not self._undo:
            return None
        command = self._undo.pop()
        change = command.revert(self)
        self._redo.append(command)
        self._merge_open = False
        self._notify(change)
        return change

    def redo(self) -> Change | None:
        if not self._redo:
            return None
        command = self._redo.pop()
        change = command.apply(self)
        self._undo.append(command)
        self._merge_open = False
        self._notify(change)
        return change

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_text(self) -> str:
        return self._undo[-1].text if self._undo else ""

    @property
    def redo_text(self) -> str:
        return self._redo[-1].text if self._redo else ""

    @property
    def modified(self) -> bool:
        return self._clean_index != len(self._undo)

    def mark_saved(self, path=None) -> None:
        if path is not None:
            self.path = path
        self._clean_index = len(self._undo)
        self._merge_open = False

    # lookups ------------------------------------------------------------------------------------
    def graph(self, key: str) -> Graph:
        if key == "training":
            return self.project.training
        try:
            return self.project.networks[key]
        except KeyError:
            raise ProjectError(f"no network named {key!r}") from None


# ------------------------------------------------------------------------------------------------
# the basic edits
# ------------------------------------------------------------------------------------------------

def _change(graph: str, nodes=(), wires=False) -> Change:
    return Change({graph}, {(graph, n) for n in nodes}, wires)


class AddNode(Command):
    """Add one block (parameters checked now: a bad value is refused, not stored)."""

    def __init__(self, graph: str, block: str, pos=(0.0, 0.0), params: dict | None = None,
                 title: str = "", node_id: str | None = None, shares: str | None = None):
        self.graph_key, self.block, self.pos = graph, block, tuple(pos)
        self.params, self.title, self.node_id, self.shares = dict(params or {}), title, node_id, \
            shares
        self.text = f"add {block}"

    def apply(self, doc):
        g = doc.graph(self.graph_key)
        ref = g.add(self.block, title=self.title, id=self.node_id, pos=self.pos,
                    shares=self.shares, **self.params)
        self.node_id = str(ref)  # redo recreates the same id
        return _change(self.graph_key, [self.node_id], wires=False)

    def revert(self, doc):
        doc.graph(self.graph_key).remove(self.node_id)
        return _change(self.graph_key, [self.node_id], wires=True)


class RemoveNodes(Command):
    """Delete nodes and every wire touching them; undo restores nodes, wires and order."""

    def __init__(self, graph: str, node_ids):
        self.graph_key, self.node_ids = graph, list(node_ids)
        self.text = f"delete {len(self.node_ids)} node{'s' if len(self.node_ids) != 1 else ''}"
        self._saved: tuple | None = None

    def apply(self, doc):
        g = doc.graph(self.graph_key)
        missing = [n for n in self.node_ids if n not in g.nodes]
        if missing:
            raise ProjectError(f"no node {missing[0]!r} to delete")
        self._saved = (list(g.nodes.items()), list(g.edges))
        for n in self.node_ids:
            g.remove(n)
        return _change(self.graph_key, self.node_ids, wires=True)

    def revert(self, doc):
        g = doc.graph(self.graph_key)
        nodes, edges = self._saved
        g.nodes.clear()
        g.nodes.update(nodes)
        g.edges[:] = edges
        return _change(self.graph_key, self.node_ids, wires=True)


class Connect(Command):
    """Add a wire from an output port to an input port."""

    def __init__(self, graph: str, src: str, src_port: str, dst: str, dst_port: str):
        self.graph_key = graph
        self.edge = Edge(src, src_port, dst, dst_port)
        self.text = "connect"

    def apply(self, doc):
        g = doc.graph(self.graph_key)
        for end in (self.edge.src, self.edge.dst):
            if end not in g.nodes:
                raise ProjectError(f"no node {end!r} to wire")
        g.edges.append(self.edge)
        return _change(self.graph_key, [self.edge.src, self.edge.dst], wires=True)

    def revert(self, doc):
        g = doc.graph(self.graph_key)
        for i in range(len(g.edges) - 1, -1, -1):
            if g.edges[i] == self.edge:
                del g.edges[i]
                break
        return _change(self.graph_key, [self.edge.src, self.edge.dst], wires=True)


class Disconnect(Command):
    """Remove wires (by value); undo puts each back at its old position (multi-port order)."""

    def __init__(self, graph: str, edges):
        self.graph_key, self.edges = graph, list(edges)
        self.text = "disconnect"
        self._positions: list[tuple[int, Edge]] = []

    def apply(self, doc):
        g = doc.graph(self.graph_key)
        self._positions = []
        for edge in self.edges:
            index = g.edges.index(edge)
            self._positions.append((index, edge))
            del g.edges[index]
        nodes = {e.src for e in self.edges} | {e.dst for e in self.edges}
        return _change(self.graph_key, nodes, wires=True)

    def revert(self, doc):
        g = doc.graph(self.graph_key)
        for index, edge in reversed(self._positions):
            g.edges.insert(index, edge)
        nodes = {e.src for e in self.edges} | {e.dst for e in self.edges}
        return _change(self.graph_key, nodes, wires=True)


class MoveNodes(Command):
    """Move nodes to new positions; consecutive moves of the same nodes merge (one drag)."""

    text = "move"

    def __init__(self, graph: str, positions: dict):
        self.graph_key = graph
        self.after = {k: tuple(v) for k, v in positions.items()}
        self.before: dict = {}

    def apply(self, doc):
        g = doc.graph(self.graph_key)
        self.before = self.before or {n: g.nodes[n].pos for n in self.after}
        for n, pos in self.after.items():
            g.nodes[n].pos = pos
        return _change(self.graph_key, self.after)

    def revert(self, doc):
        g = doc.graph(self.graph_key)
        for n, pos in self.before.items():
            g.nodes[n].pos = pos
        return _change(self.graph_key, self.before)

    def merge(self, other):
        if isinstance(other, MoveNodes) and other.graph_key == self.graph_key and \
                set(other.after) == set(self.after):
            self.after = other.after
            return True
        return False


class SetParams(Command):
    """Change parameters of one node; values are validated first (a bad one is refused).
    Consecutive edits of the same node's same fields merge (a typing burst, a spin box)."""

    def __init__(self, graph: str, node_id: str, values: dict):
        self.graph_key, self.node_id, self.values = graph, node_id, dict(values)
        self.before: dict = {}
        self.text = f"set {', '.join(values)}"

    def apply(self, doc):
        node = doc.graph(self.graph_key).nodes[self.node_id]
        spec = get_block(node.block)
        checked = {}
        for name, value in self.values.items():
            try:
                prm = spec.param(name)
            except KeyError:
                raise ProjectError(f"{node.block} has no parameter {name!r}") from None
            try:
                checked[name] = value if isinstance(value, Arg) else prm.validate(value)
            except ParamError as err:
                raise ProjectError(f"{self.node_id}: {name}: {err}") from None
        if not self.before:
            self.before = {k: copy.deepcopy(node.params.get(k)) for k in checked}
        node.params.update(checked)
        return _change(self.graph_key, [self.node_id])

    def revert(self, doc):
        node = doc.graph(self.graph_key).nodes[self.node_id]
        node.params.update(copy.deepcopy(self.before))
        return _change(self.graph_key, [self.node_id])

    def merge(self, other):
        if isinstance(other, SetParams) and (other.graph_key, other.node_id) == (
                self.graph_key, self.node_id) and set(other.values) == set(self.values):
            self.values = other.values
            return True
        return False


class SetTitle(Command):
    def __init__(self, graph: str, node_id: str, title: str):
        self.graph_key, self.node_id, self.title = graph, node_id, title
        self.before = None
        self.text = "rename"

    def apply(self, doc):
        if "\n" in self.title or len(self.title) > 200:
            raise ProjectError("a title is one line of at most 200 characters")
        node = doc.graph(self.graph_key).nodes[self.node_id]
        if self.before is None:
            self.before = node.title
        node.title = self.title
        return _change(self.graph_key, [self.node_id])

    def revert(self, doc):
        doc.graph(self.graph_key).nodes[self.node_id].title = self.before
        return _change(self.graph_key, [self.node_id])


class Macro(Command):
    """Several commands as one undo step (paste, delete-and-reconnect, make network)."""

    def __init__(self, text: str, commands):
        self.text = text
        self.commands = list(commands)
        self._done = 0

    def apply(self, doc):
        change = Change()
        self._done = 0
        try:
            for c in self.commands:
                _join(change, c.apply(doc))
                self._done += 1
        except Exception:
            for c in reversed(self.commands[:self._done]):
                c.revert(doc)
            raise
        return change

    def revert(self, doc):
        change = Change()
        for c in reversed(self.commands):
            _join(change, c.revert(doc))
        return change


def _join(into: Change, other: Change) -> None:
    into.graphs |= other.graphs
    into.nodes |= other.nodes
    into.wires = into.wires or other.wires
    into.structure = into.structure or other.structure


__all__ = ["AddNode", "Change", "Command", "Connect", "Disconnect", "Document", "Macro",
           "MoveNodes", "Node", "RemoveNodes", "SetParams", "SetTitle"]
