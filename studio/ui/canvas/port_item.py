"""A port: a small circle on a node's edge where wires start and end."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from studio.ui import theme

RADIUS = 5.0
HIT = 9.0  # hit area radius: easier to grab than to see
DRAWN_FROM = 0.45  # the zoom from which ports are drawn (below it they are too small to see)


class PortItem(QGraphicsItem):
    """One input or output port of a node. ``side`` is "input" or "output"."""

    def __init__(self, node_item, name: str, side: str, kind: str = "tensor", multi: bool = False,
                 optional: bool = False, help: str = ""):
        super().__init__(node_item)
        self.node_item = node_item
        self.name, self.side, self.kind, self.multi, self.optional = name, side, kind, multi, optional
        self.connected = False
        self.highlight = None  # None, "ok", "taken" or "bad" while a wire is dragged over it
        self.drag_state = None  # while a wire is dragged: "open" (would take it) or "refused"
        self.setAcceptHoverEvents(True)
        self.setZValue(2)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)  # panning blits it
        self.setCursor(Qt.CursorShape.CrossCursor)
        what = "input" if side == "input" else "output"
        extra = []
        if multi:
            extra.append("takes several wires")
        if optional:
            extra.append("optional")
        self.setToolTip(f"{what} '{name}'" + (f" ({', '.join(extra)})" if extra else "") +
                        (f": {help}" if help else "") +
                        ("\nDrag to an input port to wire it." if side == "output" else
                         "\nDrag to an output port, or drop a wire here."))

    @property
    def node_id(self) -> str:
        return self.node_item.node_id

    def boundingRect(self) -> QRectF:
        return QRectF(-HIT, -HIT, 2 * HIT, 2 * HIT)

    def paint(self, painter, option: QStyleOptionGraphicsItem, widget=None):
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < DRAWN_FROM:
            return
        t = theme.current()
        color = t.wire_loss if self.kind == "loss" else t.category(self.node_item.category)
        fill = color if self.connected else t.port
        if self.kind == "gone":  # an output the node no longer has, with its wire kept
            fill = color = t.error
        if self.highlight == "ok":
            fill, color = t.selected, t.selected
        elif self.highlight == "taken":
            fill = color = t.health_colour("dead")  # amber: it would replace a wire
        elif self.highlight == "bad":
            fill, color = t.error, t.error
        painter.setPen(QPen(color, 1.6))
        painter.setBrush(QBrush(fill))
        r = RADIUS + (1.5 if self.highlight else 0)
        painter.drawEllipse(QRectF(-r, -r, 2 * r, 2 * r))
        if self.drag_state == "open" and not self.highlight:
            painter.setPen(QPen(t.selected, 1.4))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(QRectF(-r - 3, -r - 3, 2 * r + 6, 2 * r + 6))

    def set_drawn(self, drawn: bool) -> None:
        """Zoomed out, a port draws nothing: marking it so spares the view asking it to paint
        (thousands of calls a frame); it can still be hit."""
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, not drawn)

    def set_drag_state(self, state: str | None) -> None:
        """Mark the port while a wire is dragged: a port that would refuse it is dimmed, one
        that would take it gets a ring; None when the drag ends."""
        if state != self.drag_state:
            self.drag_state = state
            self.setOpacity(0.25 if state == "refused" else 1.0)
            self.update()

    def hoverEnterEvent(self, event):
        self.setScale(1.25)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event):
        self.setScale(1.0)
        super().hoverLeaveEvent(event)
