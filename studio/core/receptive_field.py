"""Which input pixels one unit of a feature map can see: its theoretical receptive field.

The analysis composes the blocks' receptive-field rules (``BlockSpec.rf``) from the dataset to
every node (``inference.initial_rf``, ``_step_rf``): a window size, the input pixels between
neighbouring units and where the first unit's window starts. A unit at row ``i``, column ``j``
of a node's map therefore sees the input window starting at ``start + i * jump`` of that size.
What the unit actually responds to (its effective field, the gradient of the unit with respect
to the input) is measured in the training process (``engine/receptive_field.py``); this module
holds what both sides need without torch: the window and why a node has none.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.project import upstream_of
from studio.core.registry import is_data_source


@dataclass(frozen=True)
class Window:
    """A unit's theoretical receptive field: rows ``top`` .. ``bottom`` - 1 and columns
    ``left`` .. ``right`` - 1 of the input (beyond its edges where padding reaches out)."""

    top: int
    bottom: int
    left: int
    right: int

    @property
    def size(self) -> tuple:
        return self.bottom - self.top, self.right - self.left

    def clipped(self, height: int, width: int) -> Window:
        """The part of the window that lies on a ``height`` x ``width`` input."""
        return Window(max(self.top, 0), min(self.bottom, height), max(self.left, 0),
                      min(self.right, width))


def window(rf, row: int, column: int) -> Window:
    """The input window of the unit at (``row``, ``column``) of a map whose receptive field
    is ``rf`` (sizes, jumps, starts)."""
    (height, width), (down, across), (top, left) = rf
    return Window(top + row * down, top + row * down + height,
                  left + column * across, left + column * across + width)


def node_row(analysis, key_path: tuple, port: str | None = None):
    """The analysis row of the node a probe key names (its path from the training graph
    down through network instances, ``NodeKey.path``), or None."""
    path = "/".join(key_path)
    for row in analysis.rows:
        if row.path == path and row.ok and (port is None or port in row.outputs):
            return row
    return None


def image_source(project, analysis, key_path: tuple):
    """(dataset node, port) of the picture the node at ``key_path`` is computed from: the
    first dataset upstream of it (of the instance that runs it) whose output is channels x
    height x width; None when the network's input is not an image."""
    graph = project.training
    upstream = upstream_of(graph, key_path[0]) if key_path else set()
    for node_id in graph.nodes:
        node = graph.nodes[node_id]
        if node_id not in upstream or not is_data_source(node.block):
            continue
        row = node_row(analysis, (node_id,))
        for port, kind in (row.outputs.items() if row is not None else ()):
            if kind.kind == "tensor" and kind.dtype == "float" and kind.rank == 3:
                return node, port
    return None


def field_refusal(project, analysis, key_path: tuple, port: str | None = None) -> str | None:
    """Why the node at ``key_path`` has no receptive field on an input image, a sentence
    naming it (a node's name keeps its case); None when it has one."""
    name = "/".join(key_path) + (f":{port}" if port else "")
    row = node_row(analysis, key_path, port)
    if row is None:
        return f"{name} has no analysed output (fix the problems the graph shows first)"
    kind = row.outputs.get(port) if port else next(iter(row.outputs.values()), None)
    if kind is None or kind.kind != "tensor" or kind.rank != 3:
        shape = kind.describe() if kind is not None else "nothing"
        return (f"{name} gives {shape}, not a spatial map (channels x height x width): "
                "select a convolution, pooling or activation before the network flattens")
    if image_source(project, analysis, key_path) is None:
        return f"The network's input is not an image, so {name}'s units have no window on it"
    rf = row.rf
    if rf == "global" or not isinstance(rf, tuple) or len(rf) != 3 or len(rf[0]) != 2:
        return (f"Every unit of {name} sees the whole input (a layer before it mixes all "
                "positions: a flatten, a dense layer or a global pooling)")
    return None
