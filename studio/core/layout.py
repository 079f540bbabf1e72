"""Automatic layout: layers left to right by longest path from the sources, spread vertically.

A long chain is wrapped into bands, like lines of text: layers 0..k-1 on the first band, the next
k below it, and so on, with the band width chosen so the whole graph fits a wide screen area at
the largest zoom. Fifteen layers of LeNet in one row fit a window only at a zoom where no text
is readable; in three bands of five they fit at one where it is.

Used when a project is built in code (examples, templates) and by the editor's auto-layout.
"""

from __future__ import annotations

from studio.core.inference import topological_order
from studio.core.project import Graph, Project

COLUMN = 240.0
ROW = 120.0

# The size the editor draws a node at, a node's position being its top-left corner. Layout places
# nodes on a grid of COLUMN x ROW cells, larger than a node, so laid-out nodes never overlap.
NODE_WIDTH = 180.0
NODE_HEIGHT = 80.0

SCREEN = (16.0, 9.0)  # the shape of the area a graph is shown in
NO_WRAP = 6  # a graph with at most this many layers stays on one band
MIN_BAND = 3  # layers on a band, at least
BAND_GAP = 60.0  # room between two bands, on top of a row, for the wires turning back
WRAP_GAIN = 1.25  # wrap only when the graph then fits at this much more zoom
NEAR_BEST = 0.85  # a band width whose zoom is this close to the best counts as good as it


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
    spans = {col: (len(members) - 1) * ROW for col, members in columns.items()}
    width = band_width(spans)
    top = 0.0
    for start in range(0, max(columns, default=-1) + 1, width):
        band = [c for c in range(start, start + width) if c in columns]
        span = max((spans[c] for c in band), default=0.0)
        centre = top + span / 2
        for col in band:
            for n in columns[col]:
                graph.nodes[n].pos = ((col - start) * COLUMN, centre + row_of[n] * ROW)
        top += span + ROW + BAND_GAP


def band_width(spans: dict) -> int:
    """How many layers go on a band: the number that lets the graph fit a ``SCREEN``-shaped area
    at the largest zoom (all of them when wrapping gains little). ``spans``: layer -> the height
    of its column of nodes, from the first node's top to the last one's."""
    n = max(spans, default=-1) + 1
    if n <= NO_WRAP:
        return max(n, 1)

    def zoom(width: int) -> float:
        bands = range(0, n, width)
        height = sum(max(spans.get(c, 0.0) for c in range(b, min(n, b + width))) + NODE_HEIGHT
                     for b in bands) + (len(bands) - 1) * (ROW - NODE_HEIGHT + BAND_GAP)
        return min(SCREEN[0] / ((width - 1) * COLUMN + NODE_WIDTH), SCREEN[1] / height)

    best = max(zoom(w) for w in range(MIN_BAND, n + 1))
    if best < zoom(n) * WRAP_GAIN:
        return n
    # the widest band within reach of the best zoom: fewer turns back for the wires
    return max(w for w in range(MIN_BAND, n + 1) if zoom(w) >= best * NEAR_BEST)


def layout_project(project: Project) -> None:
    for _, graph in project.graphs():
        layout_graph(graph)
