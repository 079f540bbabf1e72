"""A minimap in the canvas corner: the whole graph in small, the visible part outlined.

It appears when the graph does not fit in the view. Clicking or dragging on it moves the view
there. The picture is redrawn at low detail (coloured boxes) once the scene has stopped changing
for a moment: drawing a thousand nodes takes tens of milliseconds, which a drag or a burst of
typing should not pay at each step. Moving the view only moves the outline.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QWidget

from studio.ui import theme

SIZE = (190, 118)  # at most; on a small canvas a fifth of its width
MARGIN = 12
SHARE = 0.2
SETTLE_MS = 300  # the scene unchanged this long: its picture is drawn again


class Minimap(QWidget):
    def __init__(self, view):
        super().__init__(view)
        self.view = view
        self.setFixedSize(*SIZE)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Minimap: click or drag to move the view")
        self._pixmap: QPixmap | None = None
        self._source = QRectF()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(120)
        self._timer.timeout.connect(self.refresh)
        self._settling = QTimer(self)  # restarted by each change of the scene
        self._settling.setSingleShot(True)
        self._settling.setInterval(SETTLE_MS)
        self._settling.timeout.connect(self.refresh)
        self._dirty = True
        self._bounds: QRectF | None = None  # what the graph covers, measured when drawn
        self.hide()

    def attach(self, scene) -> None:
        scene.changed.connect(self._scene_changed)

    def _scene_changed(self, _regions) -> None:
        self._dirty = True
        self._settling.start()

    def refresh_soon(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def place(self) -> None:
        """In the canvas's bottom right corner, a fifth of its width at most (a small window's
        canvas keeps most of its room for the graph)."""
        vp = self.view.viewport().geometry()
        w = max(110, min(SIZE[0], round(vp.width() * SHARE)))
        h = round(w * SIZE[1] / SIZE[0])
        if (w, h) != (self.width(), self.height()):
            self.setFixedSize(w, h)
            self._dirty = True
            self.refresh_soon()
        self.move(vp.right() - w - MARGIN, vp.bottom() - h - MARGIN)

    def _needed(self, bounds: QRectF) -> bool:
        if bounds.isNull():
            return False
        visible = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
        return not visible.contains(bounds)

    def refresh(self) -> None:
        scene = self.view.scene()
        if scene is None:
            return
        settled = not self._settling.isActive()
        if self._bounds is None or self._dirty and settled:
            self._bounds = scene.content_rect()
        bounds = self._bounds
        if not self._needed(bounds):
            self.hide()
            return
        if self._dirty and settled or self._pixmap is None:
            self._render(scene, bounds.adjusted(-40, -40, 40, 40))
        self.place()
        self.show()
        self.raise_()
        self.update()

    def _render(self, scene, source: QRectF) -> None:
        w, h = self.width(), self.height()
        scale = min((w - 8) / source.width(), (h - 8) / source.height())
        target = QRectF(0, 0, source.width() * scale, source.height() * scale)
        target.moveCenter(QPointF(w / 2, h / 2))
        pix = QPixmap(w, h)
        pix.fill(Qt.GlobalColor.transparent)
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        scene.render_overview(p, target, source)
        p.end()
        self._pixmap, self._source, self._target = pix, source, target
        self._dirty = False

    def paintEvent(self, event):
        t = theme.current()
        p = QPainter(self)
        bg = QColor(t.node)
        bg.setAlpha(225)
        p.setPen(QPen(t.node_border, 1))
        p.setBrush(bg)
        p.drawRoundedRect(QRectF(0.5, 0.5, self.width() - 1, self.height() - 1), 6, 6)
        if self._pixmap is not None:
            p.drawPixmap(0, 0, self._pixmap)
            visible = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
            p.setPen(QPen(t.selected, 1.5))
            fill = QColor(t.selected)
            fill.setAlpha(30)
            p.setBrush(fill)
            p.drawRect(self._to_map(visible).intersected(QRectF(1, 1, self.width() - 2,
                                                                self.height() - 2)))
        p.end()

    def _to_map(self, r: QRectF) -> QRectF:
        s = self._target.width() / self._source.width()
        return QRectF(self._target.left() + (r.left() - self._source.left()) * s,
                      self._target.top() + (r.top() - self._source.top()) * s,
                      r.width() * s, r.height() * s)

    def _to_scene(self, pt: QPointF) -> QPointF:
        s = self._source.width() / self._target.width()
        return QPointF(self._source.left() + (pt.x() - self._target.left()) * s,
                       self._source.top() + (pt.y() - self._target.top()) * s)

    def mousePressEvent(self, event):
        self.view.user_moved()
        if self._pixmap is not None:
            self.view.centerOn(self._to_scene(event.position()))
            self.update()
        event.accept()

    def mouseMoveEvent(self, event):
        if event.buttons() & Qt.MouseButton.LeftButton and self._pixmap is not None:
            self.view.centerOn(self._to_scene(event.position()))
            self.update()
        event.accept()
