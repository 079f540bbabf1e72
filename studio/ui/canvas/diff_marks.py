"""How the canvas marks a graph compared with another project (``ui/comparison.py``).

A node added since the other project gets a green ring and a "+" badge, a changed one (its
parameters, block or wires) an amber ring and a "Δ" badge; a removed node is not in the graph,
so a dashed red ghost with a "−" badge stands where the other project had it. Colour is never
the only sign: each mark has its symbol. The ring and badge grow when zoomed out so that they
stay a few pixels wide on screen; the node draws its mark in its own cached paint, so marking
repaints only the marked nodes. The ghost is ``ghost_item.GhostItem``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPen

from studio.core.diff import ADDED, CHANGED, REMOVED
from studio.ui import theme

SYMBOLS = {ADDED: "+", CHANGED: "\u0394", REMOVED: "\u2212"}
MARGIN = 26.0  # room a marked item's bounds keep around it for the ring and the badge


@dataclass(frozen=True)
class Mark:
    """What a marked node shows: its status and a sentence for its tooltip."""

    status: str  # core.diff's ADDED or CHANGED (a removed node is a Ghost)
    note: str


@dataclass(frozen=True)
class Ghost:
    """A node of the other project that the current graph does not have, where it stood."""

    node_id: str
    block: str
    pos: tuple
    height: float
    note: str


def ring_width(lod: float, box: bool = False) -> float:
    """About 3 pixels on screen; zoomed out to boxes, up to what ``MARGIN`` leaves beside the
    gap that parts the ring from a box of the same colour."""
    return min(max(3.0, 2.8 / max(lod, 0.01)), MARGIN - ring_gap(lod) if box else 8.0)


def ring_gap(lod: float) -> float:
    return min(1.2 / max(lod, 0.01), 6.0)


def badge_radius(lod: float) -> float:
    return min(max(8.0, 7.0 / max(lod, 0.01)), 14.0)


@cache
def _badge_font(px: int) -> QFont:
    font = QFont()
    font.setPixelSize(px)
    font.setBold(True)
    return font


def paint_mark(painter, rect: QRectF, status: str, lod: float, radius: float,
               box: bool = False, dashed: bool = False) -> None:
    """The ring just outside ``rect`` (a rounded one of ``radius``; ``box``: zoomed so far out
    that the node is a box, and the ring alone marks it) and the badge on its top left corner."""
    t = theme.current()
    colour = t.diff_colour(status)
    ring = ring_width(lod, box)
    out = (ring_gap(lod) if box else 1.0) + ring / 2
    pen = QPen(colour, ring)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    outer = rect.adjusted(-out, -out, out, out)
    if box:
        painter.drawRect(outer)
        return
    painter.drawRoundedRect(outer, radius + out, radius + out)
    r = badge_radius(lod)
    centre = QPointF(rect.left() + 2, rect.top() + 2)
    painter.setPen(QPen(t.node, max(1.5, 1.2 / max(lod, 0.01))))
    painter.setBrush(colour)
    painter.drawEllipse(centre, r, r)
    painter.setFont(_badge_font(round(1.5 * r)))
    painter.setPen(QColor("white"))
    painter.drawText(QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r),
                     Qt.AlignmentFlag.AlignCenter, SYMBOLS[status])

