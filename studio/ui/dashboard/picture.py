"""The Qt side of the dashboard's images: numpy RGB to ``QImage``, and a widget that shows one
mosaic enlarged with nearest-neighbour pixels.

Kept apart from ``images.py`` so the pixel arithmetic stays Qt-free. A ``QImage`` made from a
numpy buffer does not own the memory, so the array is kept next to the image for as long as the
image is shown.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget


def qimage(rgb: np.ndarray):
    """(H, W, 3) uint8 as a ``QImage`` sharing the array's memory; returns (image, array) and
    the caller keeps the array alive while the image is in use."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"qimage wants (H, W, 3) uint8, not shape {rgb.shape}")
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888), rgb


def rgb_of(colour) -> tuple:
    """A ``QColor`` as an (r, g, b) tuple for numpy."""
    return colour.red(), colour.green(), colour.blue()


def fit_scale(width: int, height: int, room_w: float, room_h: float) -> float:
    """The scale that fits a ``width`` x ``height`` image in the room. Enlarging, a whole
    number where that costs at most a fifth of the size, so every source pixel becomes an equal
    square block; otherwise (1.9, say) the fraction itself, a bigger picture being worth pixel
    blocks that differ by one screen pixel."""
    if width <= 0 or height <= 0 or room_w <= 0 or room_h <= 0:
        return 0.0
    scale = min(room_w / width, room_h / height)
    if scale >= 1 and math.floor(scale) >= 0.8 * scale:
        return float(math.floor(scale))
    return scale


class ImageCanvas(QWidget):
    """One RGB mosaic, as large as fits (nearest neighbour, see ``fit_scale``), centred across
    and at the top.

    With ``grid`` (rows, columns, tile height, tile width, pad, count) the canvas knows where
    the tiles are: ``row_labels`` are written left of the tile rows, a click on a tile emits
    ``tile_clicked(index)``, and ``tile_tip(index)`` (if set) gives the tooltip over a tile.
    Nothing is computed while painting but the target rectangle."""

    tile_clicked = Signal(int)
    cell_clicked = Signal(int, int, int)  # tile index, row and column of the pixel in the tile

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pixels: np.ndarray | None = None  # backs ``image``; kept alive with it
        self.image = None
        self.grid: tuple | None = None
        self.row_labels: list[str] = []
        self.tile_tip: Callable[[int], str] | None = None
        self.clickable = False  # shows the pointing hand over a grid: clicks mean something
        self.setMinimumSize(96, 72)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_pixels(self, rgb: np.ndarray | None, grid: tuple | None = None,
                   row_labels=()) -> None:
        if rgb is None:
            self.image, self.pixels = None, None
        else:
            self.image, self.pixels = qimage(rgb)
        self.grid = grid
        self.row_labels = list(row_labels)
        self.setCursor(Qt.CursorShape.PointingHandCursor if grid and self.clickable
                       else Qt.CursorShape.ArrowCursor)
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(320, 240)

    # geometry ----------------------------------------------------------------------------------
    def _label_room(self) -> int:
        if not self.row_labels:
            return 0
        metrics = self.fontMetrics()
        return max(metrics.horizontalAdvance(text) for text in self.row_labels) + 8

    def image_rect(self) -> QRectF:
        """Where the image is drawn, in widget coordinates (empty without an image)."""
        if self.pixels is None:
            return QRectF()
        h, w = self.pixels.shape[:2]
        room = self._label_room()
        scale = fit_scale(w, h, self.width() - 2 * room, self.height())  # centred: room each side
        sw, sh = w * scale, h * scale
        return QRectF(round((self.width() - sw) / 2), 0, sw, sh)  # at the top: under its caption

    def tile_at(self, pos: QPointF) -> int | None:
        """The index of the tile under ``pos`` (widget coordinates), or None."""
        cell = self.cell_at(pos)
        return cell[0] if cell is not None else None

    def cell_at(self, pos: QPointF) -> tuple | None:
        """(tile index, row, column) of the tile's pixel under ``pos``, or None."""
        if self.grid is None or self.pixels is None:
            return None
        rect = self.image_rect()
        if rect.isEmpty() or not rect.contains(pos):
            return None
        rows, columns, th, tw, pad, count = self.grid
        scale = rect.width() / self.pixels.shape[1]
        x = (pos.x() - rect.left()) / scale - pad
        y = (pos.y() - rect.top()) / scale - pad
        c, r = int(x // (tw + pad)), int(y // (th + pad))
        if not (0 <= c < columns and 0 <= r < rows):
            return None
        if x - c * (tw + pad) >= tw or y - r * (th + pad) >= th:
            return None  # on the padding
        index = r * columns + c
        if index >= count:
            return None
        return index, int(y - r * (th + pad)), int(x - c * (tw + pad))

    # events ------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.image is None:
            return
        rect = self.image_rect()
        if rect.isEmpty():
            return
        painter = QPainter(self)
        enlarged = rect.width() >= self.pixels.shape[1]
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not enlarged)
        painter.drawImage(rect, self.image)
        if self.row_labels and self.grid is not None:
            rows, _columns, th, _tw, pad, _count = self.grid
            scale = rect.width() / self.pixels.shape[1]
            painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
            room = self._label_room()
            for r, text in enumerate(self.row_labels[:rows]):
                middle = rect.top() + (pad + r * (th + pad) + th / 2) * scale
                painter.drawText(QRectF(rect.left() - room, middle - 10, room - 6, 20),
                                 Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                                 text)
        painter.end()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.button() == Qt.MouseButton.LeftButton:
            cell = self.cell_at(event.position())
            if cell is not None:
                self.cell_clicked.emit(*cell)
                self.tile_clicked.emit(cell[0])
                return
        super().mouseReleaseEvent(event)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip and self.tile_tip is not None:
            index = self.tile_at(QPointF(event.pos()))
            if index is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), self.tile_tip(index), self)
            return True
        return super().event(event)
