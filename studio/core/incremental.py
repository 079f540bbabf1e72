"""One analysis per edit, re-analysing only what the edit can change.

A node's shapes, costs and problems depend on its block, its parameters (or those of the node it
is linked to), the wires into it and what flows along them: so after an edit of the training
graph only the nodes the edit touched, those added or replaced, those whose incoming wires
changed, and everything downstream of them are analysed again; every other node's share of the
last analysis is reused. Nodes and wires are compared with a snapshot of the graph (parameters
are taken as changed on the nodes the edit names: only ``SetParams`` changes them in place). An
edit of a network, or of the set of networks, is analysed whole. The result equals
``analyze(project)`` (``tests/test_incremental.py`` checks it on random edits).
"""

from __future__ import annotations

from itertools import chain, compress
from operator import is_not

from studio.core.document import Change
from studio.core.inference import Analysis, Record, analyze_reusing
from studio.core.project import Graph, Project


class Analyzer:
    """The analysis of one project, kept up to date by ``update`` after each edit."""

    def __init__(self, project: Project):
        self.project = project
        self.analysis: Analysis | None = None
        self._record: Record | None = None
        self._nodes: dict = {}  # the training graph's node objects, as last analysed
        self._wiring = None  # (edges list, its length, node ids): to see if wires may differ
        self._wires = _Wires({})
        self.update()

    def update(self, change: Change | None = None) -> Analysis:
        """Bring the analysis up to date after ``change`` (None: analyse everything)."""
        graph = self.project.training
        wiring = (graph.edges, len(graph.edges), tuple(graph.nodes))
        rewired = change is None or change.wires or self._wiring is None or \
            wiring[0] is not self._wiring[0] or wiring[1:] != self._wiring[1:]
        wires = _Wires.of(graph) if rewired else self._wires
        dirty = self._dirty(change, graph, wires)
        reuse = None
        if dirty is not None:
            old = self._record
            unchanged = wires.incoming == self._wires.incoming and wiring[2] == self._wiring[2]
            reuse = Record({n: s for n, s in old.segments.items() if n not in dirty},
                           old.outputs, old.used, old.tail, old.order if unchanged else None,
                           old.resolved, wires.incoming, wires.outgoing, old.broken)
        before, old_record = self.analysis, self._record
        self.analysis, self._record = analyze_reusing(self.project, reuse)
        self._nodes, self._wiring, self._wires = dict(graph.nodes), wiring, wires
        if dirty is not None:
            self.analysis.follows = before.serial
            self.analysis.changed = frozenset(_changed(dirty, old_record, self._record, before,
                                                       self.analysis))
        return self.analysis

    def _dirty(self, change, graph: Graph, wires: _Wires) -> set | None:
        """The training nodes to analyse again, or None for all of the project."""
        if self._record is None or change is None or change.structure or \
                change.graphs - {"training"}:
            return None
        seeds = {n for g, n in change.nodes if g == "training"}
        if list(graph.nodes) == list(self._nodes):  # the same ids in order: compare by pairs
            seeds.update(compress(graph.nodes, map(is_not, graph.nodes.values(),
                                                   self._nodes.values())))
        else:
            seeds.update(n for n, node in graph.nodes.items() if self._nodes.get(n) is not node)
            seeds.update(n for n in self._nodes if n not in graph.nodes)
        if wires is not self._wires:
            for node_id in wires.incoming.keys() | self._wires.incoming.keys():
                if wires.incoming.get(node_id) != self._wires.incoming.get(node_id):
                    seeds.add(node_id)
        return _downstream(seeds, graph, wires.succ)


class _Wires:
    """The training graph's wires by node, worked out again only when the wiring changed."""

    def __init__(self, incoming: dict):
        self.incoming = incoming  # node id -> the wires into it, in order
        self.outgoing: dict = {}  # node id -> the wires out of it, in order
        self.succ: dict = {}  # node id -> the nodes it feeds
        for wires in incoming.values():
            for e in wires:
                self.outgoing.setdefault(e.src, []).append(e)
                self.succ.setdefault(e.src, set()).add(e.dst)

    @classmethod
    def of(cls, graph: Graph) -> _Wires:
        incoming: dict = {}
        for e in graph.edges:
            incoming.setdefault(e.dst, []).append(e)
        return cls(incoming)


def _downstream(seeds: set, graph: Graph, succ: dict) -> set:
    """``seeds``, every node downstream of them, and every linked duplicate of any of those (it
    reads its original's parameters), closed under both. (A node that was downstream only by a
    wire now gone had that wire, or one on the way to it, go from its inputs: it is a seed.)"""
    twins: dict = {}
    for node in graph.nodes.values():
        if node.shares:
            twins.setdefault(node.shares, set()).add(node.id)
    out, todo = set(seeds), list(seeds)
    while todo:
        n = todo.pop()
        for nxt in chain(succ.get(n, ()), twins.get(n, ())):
            if nxt not in out:
                out.add(nxt)
                todo.append(nxt)
    return out


def _changed(dirty: set, old: Record, new: Record, before: Analysis, after: Analysis) -> set:
    """The (graph key, node id) whose rows or problems may differ between two analyses: the
    re-analysed nodes with the networks' nodes they reach, and any node whose problems differ
    (a loss that lost the optimizer it fed, a wire broken)."""
    out = {("training", n) for n in dirty}
    for record in (old, new):
        for node_id in dirty:
            segment = record.segments.get(node_id)
            if segment is not None:
                out.update((r.graph, r.node.id) for r in segment.rows)
                out.update((p.graph, p.node) for p in segment.problems)
    if old.used != new.used:  # the networks not used are analysed anew
        for record in (old, new):
            out.update((r.graph, r.node.id) for r in record.tail[0])
    out.update(_problem_changes(before, after))
    return out


def _problem_changes(before: Analysis, after: Analysis) -> set:
    def by_node(analysis):
        out: dict = {}
        for p in analysis.problems:
            out.setdefault((p.graph, p.node), []).append(str(p))
        return out

    a, b = by_node(before), by_node(after)
    return {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


__all__ = ["Analyzer"]
