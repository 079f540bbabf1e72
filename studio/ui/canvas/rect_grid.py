"""Rectangles by key in square cells: "what meets this area" looks at a few cells, not at every
rectangle, and a moved rectangle is put again rather than the whole grid rebuilt (a drag step
moves one node among thousands)."""

from __future__ import annotations

from PySide6.QtCore import QRectF


class RectGrid:
    def __init__(self, cell: float):
        self.cell = cell
        self._cells: dict = {}  # (column, row) -> {key: rect}
        self._rects: dict = {}  # key -> rect

    def _span(self, rect: QRectF) -> list:
        c = self.cell
        rows = range(int(rect.top() // c), int(rect.bottom() // c) + 1)
        return [(gx, gy) for gx in range(int(rect.left() // c), int(rect.right() // c) + 1)
                for gy in rows]

    def put(self, key, rect: QRectF) -> None:
        self.drop(key)
        self._rects[key] = rect
        for cell in self._span(rect):
            self._cells.setdefault(cell, {})[key] = rect

    def drop(self, key) -> None:
        rect = self._rects.pop(key, None)
        if rect is not None:
            for cell in self._span(rect):
                self._cells[cell].pop(key, None)

    def meeting(self, area: QRectF, exclude=()) -> list[QRectF]:
        """The rectangles that meet ``area`` (but those whose key is in ``exclude``)."""
        seen, out = set(exclude), []
        for cell in self._span(area):
            for key, rect in self._cells.get(cell, {}).items():
                if key not in seen and rect.intersects(area):
                    seen.add(key)
                    out.append(rect)
        return out

    def meets(self, area: QRectF) -> bool:
        cells = self._cells
        return any(rect.intersects(area) for cell in self._span(area) if cell in cells
                   for rect in cells[cell].values())
