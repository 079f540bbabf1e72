"""The editable document: a project, its undo history, and change notifications.

Every user edit is one ``Command`` pushed on the document (a drag, a paste, a delete of ten
nodes: one command each). Views never change the project directly: they push commands and
redraw when the document tells them what changed. "Modified" is "the history is not at the
point where it was last saved". Pure Python (no Qt), so editing is testable without a window.
"""

from __future__ import annotations

import copy
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from studio.core.params import Arg, Name, ParamError, kind_from_json, kind_to_json
from studio.core.project import (
    TRAINING_SETTINGS,
    ArgDecl,
    Edge,
    Graph,
    Network,
    Node,
    Project,
    ProjectError,
)
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
        self.uid = uuid.uuid4().hex  # stable for the document's life: names its recovery file
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
        when that one accepts (consecutive drags of the same nodes, edits of one field).
        An edit that breaks the project's assignment (a locked node, the palette) is taken
        back and refused with ProjectError, so the history holds only allowed edits."""
        assignment = self.project.assignment
        before = assignment.violations(self.project) if assignment is not None else []
        change = command.apply(self)
        if assignment is not None:
            broken = [v for v in assignment.violations(self.project) if v not in before]
            if broken:
                command.revert(self)
                raise ProjectError(broken[0])
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

    def mark_modified(self) -> None:
        """Make the document count as modified until the next save, whatever undo does (a
        recovered document, a file loaded with issues that were repaired)."""
        self._clean_index = None

    @property
    def undo_depth(self) -> int:
        """Number of commands that undo can take back (tests and the history view)."""
        return len(self._undo)

    @property
    def redo_depth(self) -> int:
        return len(self._redo)

    # lookups ------------------------------------------------------------------------------------
    def graph(self, key: str) -> Graph:
        if key == "training":
            return self.project.training
        try:
            return self.project.networks[key]
        except KeyError:
            raise ProjectError(f"no network named {key!r}") from None

    def key_of(self, graph) -> str:
        """The key of a graph given as a key or as the Graph object itself."""
        if isinstance(graph, str):
            self.graph(graph)
            return graph
        if graph is self.project.training:
            return "training"
        for name, net in self.project.networks.items():
            if net is graph:
                return name
        raise ProjectError("that graph is not part of this document")


# ------------------------------------------------------------------------------------------------
# the basic edits
# ------------------------------------------------------------------------------------------------

def _change(graph: str, nodes=(), wires=False) -> Change:
    return Change({graph}, {(graph, n) for n in nodes}, wires)


def _node(doc: Document, graph: str, node_id: str) -> Node:
    g = doc.graph(graph)
    try:
        return g.nodes[node_id]
    except (KeyError, TypeError):
        where = "the training graph" if graph == "training" else f"network {graph}"
        raise ProjectError(f"no node {node_id!r} in {where}") from None


def check_position(pos) -> tuple:
    """A node position as a tuple of two finite floats (what a file can hold), or ProjectError."""
    try:
        x, y = pos
    except (TypeError, ValueError):
        raise ProjectError(f"a position is two numbers (x, y), not {pos!r}") from None
    for v in (x, y):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or abs(v) >= 1e9:
            raise ProjectError(f"a position is two finite numbers below 1e9 in size, not {pos!r}")
    return (float(x), float(y))


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
        self.pos = check_position(self.pos)
        try:
            get_block(self.block)
        except KeyError:
            raise ProjectError(f"unknown block type {self.block!r}") from None
        if self.shares is not None:
            original = g.nodes.get(self.shares)
            if original is None:
                raise ProjectError(f"cannot link to {self.shares!r}: no such node in this graph")
            if original.block != self.block:
                raise ProjectError(f"cannot link a {self.block} to {self.shares}, a "
                                   f"{original.block}; a linked duplicate has the same block")
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
        self.graph_key, self.node_ids = graph, list(dict.fromkeys(node_ids))
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
        for edge in set(self.edges):
            have, want = g.edges.count(edge), self.edges.count(edge)
            if have < want:
                raise ProjectError(f"no wire {edge.src}.{edge.src_port} -> {edge.dst}."
                                   f"{edge.dst_port} to remove")
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
        for n in self.after:
            _node(doc, self.graph_key, n)
        self.after = {n: check_position(p) for n, p in self.after.items()}
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
        node = _node(doc, self.graph_key, self.node_id)
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


class SetNodeField(Command):
    """One of a node's own values besides its parameters (``field``: its title, whether it is
    frozen), as one undoable step."""

    field = ""

    def __init__(self, graph: str, node_id: str, value, text: str):
        self.graph_key, self.node_id, self.value, self.text = graph, node_id, value, text
        self.before = None

    def check(self) -> None:
        """Raise ProjectError when ``value`` cannot be the field's."""

    def apply(self, doc):
        self.check()
        node = _node(doc, self.graph_key, self.node_id)
        if self.before is None:
            self.before = getattr(node, self.field)
        setattr(node, self.field, self.value)
        return _change(self.graph_key, [self.node_id])

    def revert(self, doc):
        setattr(doc.graph(self.graph_key).nodes[self.node_id], self.field, self.before)
        return _change(self.graph_key, [self.node_id])


class SetTitle(SetNodeField):
    field = "title"

    def __init__(self, graph: str, node_id: str, title: str):
        super().__init__(graph, node_id, title, "rename")

    def check(self) -> None:
        title = self.value
        if not isinstance(title, str) or "\n" in title or "\r" in title or len(title) > 200:
            raise ProjectError("a title is one line of at most 200 characters")


class SetFrozen(SetNodeField):
    field = "frozen"

    def __init__(self, graph: str, node_id: str, frozen: bool):
        super().__init__(graph, node_id, bool(frozen), "freeze" if frozen else "unfreeze")


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


class SetGraphContents(Command):
    """Replace a graph's nodes and wires with given ones (a restructuring edit: delete and
    reconnect, insert on a wire, paste, make network, explode). Undo puts back the very same node
    objects and wire list, so the document is restored exactly, order included.

    ``nodes`` is the complete new node mapping in order: a node that is the graph's own object
    (when the command is first applied) is kept as it stands at each apply, any other is a
    template whose fresh copy is put in on each apply (so a redo never brings back a stale
    object). ``edges`` is the complete new wire list in order."""

    def __init__(self, graph: str, nodes, edges, text: str = "edit"):
        self.graph_key = graph
        items = nodes.values() if isinstance(nodes, dict) else nodes
        self.after = {n.id: n for n in items}
        self.after_edges = list(edges)
        self.text = text
        self._kept: set | None = None
        self.before: dict | None = None
        self.before_edges: list | None = None

    def apply(self, doc):
        g = doc.graph(self.graph_key)
        for e in self.after_edges:
            for end in (e.src, e.dst):
                if end not in self.after:
                    raise ProjectError(f"the wire {e.src}.{e.src_port} -> {e.dst}.{e.dst_port} "
                                       f"connects {end!r}, which the graph would not have")
        if self._kept is None:
            self._kept = {n for n, node in self.after.items() if g.nodes.get(n) is node}
            self.after = {n: node if n in self._kept else copy.deepcopy(node)
                          for n, node in self.after.items()}
        missing = [n for n in self._kept if n not in g.nodes]
        if missing:
            raise ProjectError(f"node {missing[0]!r} is no longer in the graph")
        new = {n: g.nodes[n] if n in self._kept else copy.deepcopy(node)
               for n, node in self.after.items()}
        self.before, self.before_edges = dict(g.nodes), list(g.edges)
        g.nodes.clear()
        g.nodes.update(new)
        g.edges = list(self.after_edges)
        return self._change(self.before, self.before_edges, new, self.after_edges)

    def revert(self, doc):
        g = doc.graph(self.graph_key)
        now, now_edges = dict(g.nodes), list(g.edges)
        g.nodes.clear()
        g.nodes.update(self.before)
        g.edges = list(self.before_edges)
        return self._change(now, now_edges, self.before, self.before_edges)

    def _change(self, nodes_a, edges_a, nodes_b, edges_b) -> Change:
        touched = {n for n in set(nodes_a) | set(nodes_b) if nodes_a.get(n) is not nodes_b.get(n)}
        wires = edges_a != edges_b
        if wires:
            changed = set(edges_a).symmetric_difference(edges_b) or set(edges_a)
            for e in changed:
                touched |= {e.src, e.dst}
        return _change(self.graph_key, touched, wires=wires)


def _structure(*graphs) -> Change:
    return Change(set(graphs), set(), True, True)


class AddNetwork(Command):
    """Add a reusable network (a new, empty one, or a given ``Network`` object) at the end of
    the project's network list."""

    def __init__(self, name: str, network: Network | None = None):
        self.name = name
        self.network = network
        self.text = f"add network {name}"

    def apply(self, doc):
        try:
            Name().validate(self.name)
        except ParamError as err:
            raise ProjectError(f"network name: {err}") from None
        project = doc.project
        if self.name in project.networks:
            raise ProjectError(f"a network named {self.name!r} already exists; choose another name")
        if self.network is None:
            self.network = Network(self.name)
        self.network.name = self.name
        self.network.project = project
        project.networks[self.name] = self.network
        return _structure(self.name)

    def revert(self, doc):
        del doc.project.networks[self.name]
        return _structure(self.name)


class RemoveNetwork(Command):
    """Remove a network definition (the caller checks that no instance uses it); undo puts it back
    at its old place in the list."""

    def __init__(self, name: str):
        self.name = name
        self.text = f"remove network {name}"
        self._index = 0
        self._network = None

    def apply(self, doc):
        nets = doc.project.networks
        if self.name not in nets:
            raise ProjectError(f"no network named {self.name!r} to remove")
        self._index = list(nets).index(self.name)
        self._network = nets.pop(self.name)
        return _structure(self.name)

    def revert(self, doc):
        items = list(doc.project.networks.items())
        items.insert(self._index, (self.name, self._network))
        doc.project.networks.clear()
        doc.project.networks.update(items)
        return _structure(self.name)


class RenameNetwork(Command):
    """Rename a network definition in place (its place in the list kept). Instances naming it
    are updated by separate SetParams commands in the same Macro (see ``edits.rename_network``)."""

    def __init__(self, old: str, new: str):
        self.old, self.new = old, new
        self.text = f"rename network {old} to {new}"

    def _rename(self, doc, old, new):
        nets = doc.project.networks
        items = [((new if k == old else k), v) for k, v in nets.items()]
        nets.clear()
        nets.update(items)
        nets[new].name = new
        return _structure(old, new)

    def apply(self, doc):
        try:
            Name().validate(self.new)
        except ParamError as err:
            raise ProjectError(f"network name: {err}") from None
        nets = doc.project.networks
        if self.old not in nets:
            raise ProjectError(f"no network named {self.old!r} to rename")
        if self.new in nets and self.new != self.old:
            raise ProjectError(f"a network named {self.new!r} already exists; choose another name")
        return self._rename(doc, self.old, self.new)

    def revert(self, doc):
        return self._rename(doc, self.new, self.old)


class SetSettings(Command):
    """Change training settings (batch size, epochs, seed, ...), validated first: a bad value is
    refused with the setting's name. Consecutive edits of the same settings merge."""

    def __init__(self, values: dict):
        self.values = dict(values)
        self.before: dict = {}
        self.text = f"set {', '.join(self.values)}"

    def apply(self, doc):
        settings = doc.project.training.settings
        checked = {}
        for name, value in self.values.items():
            prm = next((p for p in TRAINING_SETTINGS if p.name == name), None)
            if prm is None:
                raise ProjectError(f"no training setting {name!r} (settings: "
                                   f"{', '.join(p.name for p in TRAINING_SETTINGS)})")
            try:
                checked[name] = prm.validate(value)
            except ParamError as err:
                raise ProjectError(f"training setting {name}: {err}") from None
        if not self.before:
            self.before = {k: settings[k] for k in checked}
        settings.update(checked)
        return Change({"training"}, set(), False, False)

    def revert(self, doc):
        doc.project.training.settings.update(self.before)
        return Change({"training"}, set(), False, False)

    def merge(self, other):
        if isinstance(other, SetSettings) and set(other.values) == set(self.values):
            self.values = other.values
            return True
        return False


class SetNetworkArgs(Command):
    """Replace the arguments a network declares (``ArgDecl`` list, in order), each checked: a
    valid and unique name, a kind a file can hold (int, float, bool) and a default it accepts.
    Blocks and instances referring to an argument that is gone are reported by analysis."""

    def __init__(self, network: str, args):
        self.network = network
        self.after = list(args)
        self.before: dict | None = None
        self.text = f"arguments of {network}"

    def apply(self, doc):
        net = doc.graph(self.network)
        if not isinstance(net, Network):
            raise ProjectError("only a network declares arguments; the training graph does not")
        new = {}
        for decl in self.after:
            if not isinstance(decl, ArgDecl):
                raise ProjectError(f"an argument is declared with a name, kind and default, not "
                                   f"{decl!r}")
            where = f"argument {decl.name!r} of {self.network}"
            try:
                Name().validate(decl.name)
                kind_from_json(kind_to_json(decl.kind))
                default = decl.kind.validate(decl.default)
            except ParamError as err:
                raise ProjectError(f"{where}: {err}") from None
            if decl.name in new:
                raise ProjectError(f"{where} is declared twice")
            if not isinstance(decl.help, str) or len(decl.help) > 200 or "\n" in decl.help:
                raise ProjectError(f"{where}: help is one line of at most 200 characters")
            new[decl.name] = ArgDecl(decl.name, decl.kind, default, decl.help)
        self.before = net.args
        net.args = new
        return Change({self.network}, set(), False, False)

    def revert(self, doc):
        doc.graph(self.network).args = self.before
        return Change({self.network}, set(), False, False)


def _join(into: Change, other: Change) -> None:
    into.graphs |= other.graphs
    into.nodes |= other.nodes
    into.wires = into.wires or other.wires
    into.structure = into.structure or other.structure


__all__ = ["AddNetwork", "AddNode", "Change", "Command", "Connect", "Disconnect", "Document",
           "Macro", "MoveNodes", "Node", "RemoveNetwork", "RemoveNodes", "RenameNetwork",
           "SetGraphContents", "SetNetworkArgs", "SetParams", "SetSettings", "SetTitle",
           "check_position"]
