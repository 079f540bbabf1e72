"""All the wires of a scene drawn as one item when zoomed out.

Below ``BOX_ZOOM`` a wire is a one-pixel line without its label: thousands of wires each painted
by its own item cost thousands of calls a frame, while the same lines gathered into one path per
colour are drawn in a few. The wire items stay (they are hit and selected as before); only their
drawing moves here. The paths are gathered again after a wire is routed, added, removed,
selected or changes kind, the first time they are drawn.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem

from studio.ui import theme
from studio.ui.canvas.node_item import BOX_ZOOM


class WireOverview(QGraphicsItem):
    def __init__(self, wires):
        super().__init__()
        self._wires = wires  # a callable: the scene's wire items now
        self._paths = None  # (normal, loss, selected) paths, gathered when first drawn
        self._rect = QRectF()
        self.items_draw = True  # whether the wire items draw themselves (zoomed in)
        self.setZValue(0)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def invalidate(self) -> None:
        self._paths = None
        if not self.items_draw:  # zoomed in, nothing of it shows: no repaint of the view
            self.update()

    def cover(self, rect: QRectF) -> None:
        """The area the wires may take (the scene's rectangle)."""
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = QRectF(rect)

    def set_items_draw(self, drawn: bool) -> None:
        if drawn != self.items_draw:
            self.items_draw = drawn
            self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def shape(self) -> QPainterPath:
        return QPainterPath()  # never under the mouse: the wire items are

    def _gather(self) -> tuple:
        normal, loss, selected = QPainterPath(), QPainterPath(), QPainterPath()
        for w in self._wires():
            target = selected if w.isSelected() else loss if w.kind == "loss" else normal
            target.addPath(w.path())
        return normal, loss, selected

    def paint(self, painter, option, widget=None):
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod >= BOX_ZOOM and self.items_draw:
            return  # each wire draws itself, with its label
        if self._paths is None:
            self._paths = self._gather()
        t = theme.current()
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for path, color in zip(self._paths, (t.wire, t.wire_loss, t.selected)):
            if not path.isEmpty():
                pen = QPen(color, 1.0)
                pen.setCosmetic(True)
                painter.setPen(pen)
                painter.drawPath(path)
