"""The marks drawn over a node's content: the training health dot (and the ring where the run
failed), the problem badge, the re-initialized badge and the frozen badge. The diff mark is
``diff_marks.py``'s.

Kept apart from ``node_item.py``, which lays out and draws the node's own content; these take
the values they draw (the node's rectangle, its health, fonts), not the item.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPen

FRESH_SYMBOL = "\u21ba"  # the re-initialized mark: started again
FRESH_COLOUR = QColor("#1a73e8")
FROZEN_SYMBOL = "\u2744"  # a frozen node: its weights do not train
FROZEN_COLOUR = QColor("#4aa3c8")
DOT = 4.5  # radius of the health dot at full size
DOT_RIGHT = 12.0  # its centre's distance from a full-width node's right end
BOX_LOD = 0.22  # below it the node is a coloured box, and the dot sits inside it


def dot_radius(lod: float, height: float, header: float) -> float:
    """About the same size on screen when zoomed out, as big as the header allows."""
    if lod < BOX_LOD:
        return min(DOT / max(lod, 0.01) * 1.2, height * 0.35)
    return min(DOT / min(lod, 1.0), header / 2 - 1.5)


def paint_health(painter, t, lod: float, health, rect: QRectF, header: float,
                 corner: float) -> None:
    """The health indicator: a dot right in the header (clear of the problem badge, which
    sits on the corner), and a ring around the node where the run failed."""
    if health is None:
        return
    colour = t.health_colour(health.level)
    r = dot_radius(lod, rect.height(), header)
    if health.level == "error":
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if lod < BOX_LOD:  # inside the box: white, then red, so it shows on a red box too
            w = min(2.0 / max(lod, 0.01), 12.0)
            painter.setPen(QPen(t.node, w))
            painter.drawRect(rect.adjusted(w / 2, w / 2, -w / 2, -w / 2))
            painter.setPen(QPen(colour, w))
            painter.drawRect(rect.adjusted(1.5 * w, 1.5 * w, -1.5 * w, -1.5 * w))
        else:  # outside the border, within the bounding rectangle
            ring = min(2.0 / min(lod, 1.0), 4.0)
            out = 1 + ring / 2
            painter.setPen(QPen(colour, ring))
            painter.drawRoundedRect(rect.adjusted(-out, -out, out, out), corner + out,
                                    corner + out)
    if lod < BOX_LOD:
        center = QPointF(rect.width() - r - 4, r + 4)
    else:
        center = QPointF(rect.width() - DOT_RIGHT + DOT - r, header / 2)
    painter.setPen(QPen(t.node, max(1.2, 1.2 / max(lod, 0.01)) if lod < 0.45 else 1.2))
    painter.setBrush(colour)
    painter.drawEllipse(center, r, r)


def paint_fresh_badge(painter, t, height: float, font) -> None:
    """The re-initialized mark: a small blue disc with "\u21ba" on the bottom left corner
    (within the bounds the problem badge keeps; apart from it and the diff badge)."""
    _badge(painter, t, QRectF(-4, height - 11, 15, 15), FRESH_COLOUR, FRESH_SYMBOL, font)


def paint_frozen_badge(painter, t, width: float, height: float, font) -> None:
    """The frozen mark: an ice-blue disc with "\u2744" on the bottom right corner (its weights
    do not train)."""
    _badge(painter, t, QRectF(width - 11, height - 11, 15, 15), FROZEN_COLOUR, FROZEN_SYMBOL,
           font)


def paint_problem_badge(painter, t, width: float, font) -> None:
    """A red disc with "!" on the top right corner."""
    _badge(painter, t, QRectF(width - 9, -7, 16, 16), t.error, "!", font)


def _badge(painter, t, disc: QRectF, colour, symbol: str, font) -> None:
    """A disc of ``colour`` ringed in the node's colour, with ``symbol`` in white."""
    painter.setPen(QPen(t.node, 1.5))
    painter.setBrush(QBrush(colour))
    painter.drawEllipse(disc)
    painter.setPen(QColor("white"))
    painter.setFont(font)
    painter.drawText(disc, Qt.AlignmentFlag.AlignCenter, symbol)
