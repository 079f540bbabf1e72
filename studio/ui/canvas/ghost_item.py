"""A node of the other project that the compared graph no longer has (``diff_marks``)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem

from studio.core.diff import REMOVED
from studio.ui import theme
from studio.ui.canvas.diff_marks import MARGIN, Ghost, paint_mark
from studio.ui.canvas.node_item import HEADER, RADIUS, WIDTH, Fonts, detail_mode


class GhostItem(QGraphicsItem):
    """A removed node: a dashed outline with its name, behind the graph's own items, taking no
    clicks (the canvas edits the current graph only)."""

    def __init__(self, ghost: Ghost):
        super().__init__()
        self.ghost = ghost
        self.node_id = ghost.node_id
        self._rect = QRectF(0, 0, WIDTH, ghost.height)
        self.setPos(QPointF(*ghost.pos))
        self.setZValue(-1)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setToolTip(ghost.note)

    def rect(self) -> QRectF:
        return self._rect

    def scene_rect(self) -> QRectF:
        return self._rect.translated(self.pos())

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)

    def paint(self, painter, option, widget=None):
        t = theme.current()
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        fill = QColor(t.diff_colour(REMOVED))
        fill.setAlpha(28)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(self._rect, RADIUS, RADIUS)
        mode = detail_mode(lod)
        if mode != "box":
            f = Fonts.get()
            painter.setPen(t.text_dim)
            if mode == "far":
                font, metrics = Fonts.far(lod)
                painter.setFont(font)
                painter.drawText(self._rect.adjusted(6, 0, -6, 0), Qt.AlignmentFlag.AlignCenter,
                                 metrics.elidedText(self.node_id, Qt.TextElideMode.ElideRight,
                                                    WIDTH - 12))
            else:
                painter.setFont(f["title"])
                head = QRectF(12, 0, WIDTH - 20, HEADER)
                painter.drawText(head, Qt.AlignmentFlag.AlignVCenter, f["m_title"].elidedText(
                    self.node_id, Qt.TextElideMode.ElideRight, head.width()))
                painter.setFont(f["small"])
                painter.drawText(self._rect.adjusted(12, HEADER, -8, -4),
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                                 f"removed ({self.ghost.block})")
        paint_mark(painter, self._rect, REMOVED, lod, RADIUS, box=mode == "box", dashed=True)
