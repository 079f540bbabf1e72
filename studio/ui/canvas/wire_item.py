"""A wire from an output port to an input port, labelled with the tensor shape it carries.

Wires are smooth curves. A wire whose curve would pass behind other nodes (a label skipping a
chain of layers to reach the loss) is routed around them instead: down or up to a free lane, along
it, and back. ``route`` is plain geometry, so it is testable without a scene.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from studio.ui import theme
from studio.ui.canvas.node_item import BOX_ZOOM, LOD_SLACK, Fonts, detail_zoom

LANE_GAP = 16.0  # distance kept from a node's edge by a routed wire
NO_BRUSH = QBrush(Qt.BrushStyle.NoBrush)
TURN = 46.0  # horizontal room a routed wire takes to change lanes


def _curve(path: QPainterPath, a: QPointF, b: QPointF) -> None:
    d = max(24.0, abs(b.x() - a.x()) * 0.5)
    path.cubicTo(QPointF(a.x() + d, a.y()), QPointF(b.x() - d, b.y()), b)


def _blocked(path: QPainterPath, obstacles) -> bool:
    for i in range(1, 24):
        pt = path.pointAtPercent(i / 24)
        for r in obstacles:
            if r.contains(pt):
                return True
    return False


class Route(NamedTuple):
    path: QPainterPath
    labels: list  # where the label may go, best first
    lane: tuple | None  # (y, x0, x1) of a routed wire's horizontal run


LANE_STEP = 12.0  # distance between two routed wires sharing a stretch


def route(p0: QPointF, p1: QPointF, obstacles=(), ends=(), lanes=()) -> Route:
    """The path of a wire from ``p0`` (an output) to ``p1`` (an input) avoiding ``obstacles``
    (node rectangles) and the horizontal runs of other routed wires (``lanes``), with the places
    its label may go. ``ends`` are the rectangles of the two nodes it joins (a wire going
    backwards loops below them)."""
    path = QPainterPath(p0)
    if p1.x() - p0.x() >= 12:
        _curve(path, p0, p1)
        span = [r.adjusted(-4, -4, 4, 4) for r in obstacles
                if r.right() > p0.x() and r.left() < p1.x()]
        if not span or not _blocked(path, span) or p1.x() - p0.x() < 2 * TURN + 20:
            return Route(path, [path.pointAtPercent(t) for t in (0.5, 0.38, 0.62, 0.26, 0.74)],
                         None)
        xa, xb = p0.x() + TURN, p1.x() - TURN
        near = [ln for ln in lanes if ln[1] < xb and ln[2] > xa]
        lane = _free_lane(span, p0.y(), p1.y(), near)
        path = QPainterPath(p0)
        _curve(path, p0, QPointF(xa, lane))
        path.lineTo(xb, lane)
        _curve(path, QPointF(xb, lane), p1)
        return Route(path, _along(xa + 30, xb - 30, lane), (lane, xa, xb))
    # backwards (or nearly vertical): through the free space between the two ends when the
    # input is lower down (a graph wrapped into bands: from a band's end to the next one's
    # start), else loop below both ends and anything in between
    lo, hi = min(p0.x(), p1.x()) - TURN, max(p0.x(), p1.x()) + TURN
    in_range = [r for r in list(ends) + list(obstacles) if r.right() > lo and r.left() < hi]
    near = [ln for ln in lanes if ln[1] < hi and ln[2] > lo]
    lane = None
    if len(ends) == 2 and ends[1].top() - ends[0].bottom() > 2 * LANE_GAP:
        mid = (ends[0].bottom() + ends[1].top()) / 2
        free = _free_lane(in_range, mid, mid, near)
        if ends[0].bottom() + LANE_GAP <= free <= ends[1].top() - LANE_GAP:
            lane = free
    if lane is None:
        lane = max([r.bottom() for r in in_range] + [p0.y(), p1.y()]) + LANE_GAP + 8
        while any(abs(lane - ln[0]) < LANE_STEP for ln in near):
            lane += LANE_STEP
    path.cubicTo(QPointF(p0.x() + 48, p0.y()), QPointF(p0.x() + 48, lane), QPointF(p0.x() + 20, lane))
    path.lineTo(p1.x() - 20, lane)
    path.cubicTo(QPointF(p1.x() - 48, lane), QPointF(p1.x() - 48, p1.y()), p1)
    return Route(path, _along(p1.x(), p0.x(), lane), (lane, p1.x() - 20, p0.x() + 20))


def _along(x0: float, x1: float, y: float) -> list:
    """Label places on a horizontal run: its middle first, then outwards."""
    mid = (x0 + x1) / 2
    out = [QPointF(mid, y)]
    step = 70.0
    k = 1
    while mid - k * step >= x0 or mid + k * step <= x1:
        for x in (mid - k * step, mid + k * step):
            if x0 <= x <= x1:
                out.append(QPointF(x, y))
        k += 1
    return out


def _free_lane(rects, y0: float, y1: float, lanes=()) -> float:
    """The y nearest to ``y0`` and ``y1`` that keeps clear of ``rects`` and of other lanes."""
    blocked = [(r.top() - LANE_GAP + 1, r.bottom() + LANE_GAP - 1) for r in rects]
    blocked += [(ln[0] - LANE_STEP + 0.5, ln[0] + LANE_STEP - 0.5) for ln in lanes]
    blocked.sort()
    merged: list = []
    for lo, hi in blocked:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    candidates = [y0, y1, (y0 + y1) / 2]
    for lo, hi in merged:
        candidates += [lo - 0.5, hi + 0.5]

    def free(y):
        for lo, hi in merged:
            if lo < y < hi:
                return False
            if lo > y:
                break
        return True

    return min((y for y in candidates if free(y)), key=lambda y: (abs(y - y0) + abs(y - y1), y))


@lru_cache(maxsize=4096)
def _label_size(text: str) -> tuple[float, float]:
    """A shape label's box (a few dozen distinct shapes label thousands of wires)."""
    m = Fonts.get()["m_label"]
    return (m.horizontalAdvance(text) + 6, m.height() + 2)


def _reaches_device(painter, rect: QRectF) -> bool:
    """Whether ``rect`` (with its border) shows on what is painted: a long wire reaches into
    the view far from its label, whose text is not laid out for nothing."""
    shown = painter.worldTransform().mapRect(rect.adjusted(-1, -1, 1, 1))
    return shown.intersects(QRectF(painter.viewport()))


class WireItem(QGraphicsItem):
    """One edge of the document. ``label`` is the shape it carries (set from the analysis)."""

    def __init__(self, edge, src_port, dst_port):
        super().__init__()
        self.edge = edge
        self.src_port, self.dst_port = src_port, dst_port
        self.label = ""
        self.kind = src_port.kind if src_port is not None else "tensor"
        self._path = QPainterPath()
        self._shape = QPainterPath()
        self._label_at = QPointF()
        self.label_places: list = []
        self.lane = None
        self._label_rect = QRectF()
        self._bounds = QRectF()
        self._path_bounds = QRectF(-3, -3, 6, 6)  # the path's, with room for its pen
        self.hovered = False
        self._look = None  # what the pen was made for
        self._pen_made = None
        self._label_zoom = detail_zoom() - LOD_SLACK
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(0)
        self._tooltip_stale = True

    def endpoints(self) -> tuple[QPointF, QPointF]:
        return self.src_port.scenePos(), self.dst_port.scenePos()

    def set_route(self, r: Route) -> None:
        self.prepareGeometryChange()
        self._path = r.path
        self.label_places = list(r.labels)
        self.lane = r.lane
        self._label_at = self.label_places[0] if self.label_places else r.path.pointAtPercent(0.5)
        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        self._shape = stroker.createStroke(r.path)
        self._path_bounds = r.path.boundingRect().adjusted(-3, -3, 3, 3)
        self._layout_label()

    def label_size(self) -> tuple[float, float]:
        return _label_size(self.label) if self.label else (0.0, 0.0)

    def place_label(self, taken) -> QRectF:
        """Put the label on the first of its places that ``taken(rect)`` says is free (else the
        first place); returns the label's rectangle."""
        w, h = self.label_size()
        rect = None
        for pt in self.label_places:
            tried = QRectF(pt.x() - w / 2, pt.y() - h / 2, w, h)
            if not taken(tried):
                at, rect = pt, tried
                break
        if rect is None:
            at = self.label_places[0] if self.label_places else self._label_at
            rect = QRectF(at.x() - w / 2, at.y() - h / 2, w, h)
        if rect != self._label_rect:
            self.prepareGeometryChange()  # else the bounds stay (the same size, same place)
        self._label_at = at
        if self.label:  # the rectangle _layout_label would make again
            self._label_rect = rect
            self._bounds = self._path_bounds.united(rect.adjusted(-1, -1, 1, 1))
        else:
            self._layout_label()
        return self._label_rect

    def keep_label(self, held: QRectF, free) -> bool:
        """Lay the label out where it stands if it fits in ``held`` (the room it had, which no
        other label may take) and ``free(rect)`` (no node covers it); False: place it again.
        (A wire routed again has its label placed again, so ``held`` is on its route.)"""
        w, h = self.label_size()
        at = self._label_at
        rect = QRectF(at.x() - w / 2, at.y() - h / 2, w, h)
        if not held.contains(rect) or not free(rect):
            return False
        if rect != self._label_rect:
            self.prepareGeometryChange()
        self._label_rect = rect
        self._bounds = self._path_bounds.united(rect.adjusted(-1, -1, 1, 1))
        return True

    def set_label(self, text: str, loss: bool = False, placed_next: bool = False) -> bool:
        """Show ``text`` (a shape) on the wire; True if it changed. ``placed_next``: the caller
        places the label next (``place_label``), which lays it out."""
        if text == self.label and (self.kind == "loss") == loss:
            return False
        laid_out_now = not (placed_next and text)  # else place_label lays it out
        if laid_out_now:
            self.prepareGeometryChange()
        self.label = text
        self.kind = "loss" if loss else "tensor"
        self._tooltip_stale = True
        if laid_out_now:
            self._layout_label()
        self.update()
        return True

    def toolTip(self) -> str:  # noqa: N802 (Qt's name)
        self._refresh_tooltip()
        return super().toolTip()

    def _refresh_tooltip(self) -> None:
        """Written when it may be read (hovering, or asked), not on each edit of hundreds of
        wires' labels."""
        if self._tooltip_stale:
            self._tooltip_stale = False
            e = self.edge
            self.setToolTip(f"{e.src}.{e.src_port} \u2192 {e.dst}.{e.dst_port}" +
                            (f": {self.label}" if self.label else "") +
                            "\nClick to select; Delete removes the wire.")

    def _layout_label(self) -> None:
        if self.label:
            w, h = self.label_size()
            at = self._label_at
            self._label_rect = QRectF(at.x() - w / 2, at.y() - h / 2, w, h)
            self._bounds = self._path_bounds.united(self._label_rect.adjusted(-1, -1, 1, 1))
        else:
            self._label_rect = QRectF()
            self._bounds = QRectF(self._path_bounds)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        return self._shape

    def label_rect(self) -> QRectF:
        """Where the label is drawn, in scene coordinates (tests check it is readable)."""
        return self._label_rect

    def fonts_drawn(self, lod: float) -> list:
        """The fonts ``paint`` draws text in at this level of detail: the shape label's, from
        the zoom where it is readable (``detail_zoom``); zoomed out further it is left out."""
        return [Fonts.get()["label"]] if self.label and lod >= detail_zoom() - LOD_SLACK else []

    def _pen(self, t) -> tuple[QPen, QColor]:
        """The wire's pen and colour, made again only when its look changes (a paint of
        hundreds of wires should not build a pen each)."""
        selected = self.isSelected()
        look = (t, self.kind, selected, self.hovered)
        if look != self._look:
            color = t.wire_loss if self.kind == "loss" else t.wire
            width = 1.6
            if selected:
                color, width = t.selected, 2.6
            elif self.hovered:
                width = 2.4
            pen = QPen(color, width)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            self._look, self._pen_made = look, (pen, color)
        return self._pen_made

    def path(self) -> QPainterPath:
        return self._path

    def set_drawn(self, drawn: bool) -> None:
        """Zoomed out the scene's ``WireOverview`` draws every wire at once; the item, still
        hit and selected, is not asked to paint."""
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, not drawn)

    def paint(self, painter, option: QStyleOptionGraphicsItem, widget=None):
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < BOX_ZOOM:
            return  # drawn by the scene's WireOverview
        t = theme.current()
        pen, color = self._pen(t)
        painter.setPen(pen)
        painter.setBrush(NO_BRUSH)
        painter.drawPath(self._path)
        # never text under MIN_TEXT_PX on screen, nor a label out of sight
        if self.label and lod >= self._label_zoom and _reaches_device(painter, self._label_rect):
            bg = QColor(t.label_bg)
            bg.setAlpha(235)
            painter.setBrush(bg)
            painter.setPen(QPen(color, 1.0))
            painter.drawRoundedRect(self._label_rect, 7, 7)
            painter.setFont(Fonts.get()["label"])
            painter.setPen(t.text if not self.isSelected() else t.selected)
            painter.drawText(self._label_rect, Qt.AlignmentFlag.AlignCenter, self.label)

    def hoverEnterEvent(self, event):
        self._refresh_tooltip()  # before the view asks for the tooltip
        self.hovered = True
        self.update()

    def hoverLeaveEvent(self, event):
        self.hovered = False
        self.update()


class DragWire(QGraphicsItem):
    """The wire following the mouse while the user drags from a port."""

    def __init__(self, start: QPointF, from_output: bool):
        super().__init__()
        self.start, self.end, self.from_output = start, start, from_output
        self.ok = True
        self._path = QPainterPath(start)
        self.setZValue(5)

    def move_to(self, end: QPointF, ok: bool = True) -> None:
        self.prepareGeometryChange()
        self.end, self.ok = end, ok
        a, b = (self.start, end) if self.from_output else (end, self.start)
        self._path = QPainterPath(a)
        _curve(self._path, a, b)

    def boundingRect(self) -> QRectF:
        return self._path.controlPointRect().adjusted(-4, -4, 4, 4)

    def paint(self, painter, option, widget=None):
        t = theme.current()
        pen = QPen(t.selected if self.ok else t.error, 2.0, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
