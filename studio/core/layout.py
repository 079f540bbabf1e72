"""Automatic layout: layers left to right by longest path from the sources, spread vertically.

Used when a project is built in code (examples, templates) and by the editor's auto-layout.
"""

from __future__ import annotations

from studio.core.inference import topological_order
from studio.core.project import Graph, Project

COLUMN = 230.0
ROW = 120.0

# The size the editor draws a node at, a node's position being its top-left corner. Layout places
# nodes on a grid of COLUMN x ROW cells, larger than a node, so laid-out nodes never overlap.
NODE_WIDTH = 180.0
NODE_HEIGHT = 80.0


def layout_graph(graph: Graph) -> None:
    order, cyclic = topological_order(graph)
    layer: dict[str, int] = {}
    preds: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for e in graph.edges:
        if e.dst in preds and e.src in graph.nodes:
            preds[e.dst].append(e.src)
    for n in order + cyclic:
        layer[n] = 1 + max((layer.get(p, 0) for p in preds[n] if p in layer), default=-1)
    columns: dict[int, list[str]] = {}
    for n in graph.nodes:
        columns.setdefault(layer[n], []).append(n)
    # order each column by the mean row of its predecessors, to limit crossings
    row_of: dict[str, float] = {}
    for col in sorted(columns):
        members = columns[col]
        members.sort(key=lambda n: (sum(row_of[p] for p in preds[n] if p in row_of) /
                                    max(1, len([p for p in preds[n] if p in row_of]))
                                    if any(p in row_of for p in preds[n]) else 0.0))
        offset = (len(members) - 1) / 2
        for i, n in enumerate(members):
            row_of[n] = i - offset
            graph.nodes[n].pos = (col * COLUMN, (i - offset) * ROW)


def layout_project(project: Project) -> None:
    for _, graph in project.graphs():
        layout_graph(graph)
