"""One analysis per edit, re-analysing only what the edit can change.

A node's shapes, costs and problems depend on its block, its parameters (or those of the node it
is linked to), the wires into it and what flows along them: so after an edit of the training
graph only the nodes whose own state or incoming wires changed, and everything downstream of
them, are analysed again; every other node's share of the last analysis is reused. What changed
is found by comparing the graph with a snapshot of it, so it does not rest on each command
naming what it touched. An edit of a network, or of the set of networks, is analysed whole.
The result equals ``analyze(project)`` (``tests/test_incremental.py`` checks random edits).
"""

from __future__ import annotations

from studio.core.document import Change
from studio.core.inference import Analysis, Record, analyze_reusing
from studio.core.project import Graph, Project


class Analyzer:
    """The analysis of one project, kept up to date by ``update`` after each edit."""

    def __init__(self, project: Project):
        self.project = project
        self.analysis: Analysis | None = None
        self._record: Record | None = None
        self._nodes: dict = {}  # training node id -> (node, its state as the analysis saw it)
        self._incoming: dict = {}  # training node id -> the wires into it, in order
        self.update()

    def update(self, change: Change | None = None) -> Analysis:
        """Bring the analysis up to date after ``change`` (None: analyse everything)."""
        graph = self.project.training
        nodes, incoming = _node_states(graph), _incoming(graph)
        dirty = self._dirty(change, graph, nodes, incoming)
        reuse = None
        if dirty is not None:
            old = self._record
            reuse = Record({n: s for n, s in old.segments.items() if n not in dirty}, old.broken,
                           old.used, old.tail)
        before, old_record = self.analysis, self._record
        self.analysis, self._record = analyze_reusing(self.project, reuse)
        self._nodes, self._incoming = nodes, incoming
        if dirty is not None:
            self.analysis.follows = before.serial
            self.analysis.changed = frozenset(_changed(dirty, old_record, self._record, before,
                                                       self.analysis))
        return self.analysis

    def _dirty(self, change, graph: Graph, nodes: dict, incoming: dict) -> set | None:
        """The training nodes to analyse again, or None for all of the project."""
        if self._record is None or change is None or change.structure or \
                change.graphs - {"training"}:
            return None
        seeds = {n for g, n in change.nodes if g == "training"}
        for node_id in nodes.keys() | self._nodes.keys():
            now, then = nodes.get(node_id), self._nodes.get(node_id)
            if now is None or then is None or now[0] is not then[0] or now[1] != then[1]:
                seeds.add(node_id)
        for node_id in incoming.keys() | self._incoming.keys():
            if incoming.get(node_id) != self._incoming.get(node_id):
                seeds.add(node_id)
        return _downstream(seeds, graph, self._incoming, incoming)


def _node_states(graph: Graph) -> dict:
    """What a node's analysis depends on, of the node itself (the parameter dict is copied:
    edits replace values, they do not change them in place)."""
    return {n: (node, (node.block, node.shares, dict(node.params))) for n, node in
            graph.nodes.items()}


def _incoming(graph: Graph) -> dict:
    out: dict = {}
    for e in graph.edges:
        out.setdefault(e.dst, []).append(e)
    return out


def _downstream(seeds: set, graph: Graph, *incomings) -> set:
    """``seeds``, every node downstream of them by the wires before or after the edit, and every
    linked duplicate of any of those (it reads its original's parameters), closed under both."""
    succ: dict = {}
    for incoming in incomings:
        for wires in incoming.values():
            for e in wires:
                succ.setdefault(e.src, set()).add(e.dst)
    for node in graph.nodes.values():
        if node.shares:
            succ.setdefault(node.shares, set()).add(node.id)
    out, todo = set(seeds), list(seeds)
    while todo:
        for nxt in succ.get(todo.pop(), ()):
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
