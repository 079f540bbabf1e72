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
        left, top, right, bottom = rect.getCoords()  # one call: this runs for every label
        x0, x1, y0, y1 = int(left // c), int(right // c), int(top // c), int(bottom // c)
        if x0 == x1 and y0 == y1:
            return [(x0, y0)]  # most rectangles (labels, nodes) lie in one cell
        return [(gx, gy) for gx in range(x0, x1 + 1) for gy in range(y0, y1 + 1)]

    def put(self, key, rect: QRectF) -> None:
        self.drop(key)
        self._rects[key] = rect
        for cell in self._span(rect):
            self._cells.setdefault(cell, {})[key] = rect

    def rect_of(self, key) -> QRectF | None:
        return self._rects.get(key)

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
        for cell in self._span(area):
            rects = cells.get(cell)
            if rects:
                for rect in rects.values():
                    if rect.intersects(area):
                        return True
        return False
