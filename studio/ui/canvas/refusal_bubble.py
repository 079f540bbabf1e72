"""Why a wire was refused, said on the canvas beside the port: a bubble drawn at the screen's
size whatever the zoom, kept inside the view and clear of the minimap, gone after a few seconds.

``RefusalNote`` is the one bubble a scene shows and its timer; the wire drag asks it to show a
reason or to hide, and the minimap's picture is drawn without it.
"""

from __future__ import annotations

import textwrap
from contextlib import contextmanager

from PySide6.QtCore import QObject, QPoint, QPointF, QRect, QRectF, QTimer
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsSimpleTextItem

from studio.ui import theme
from studio.ui.canvas.node_item import Fonts

SHOWN_MS = 5000  # a bubble disappears by itself after this long


class RefusalBubble(QGraphicsSimpleTextItem):
    """A short-lived note on the canvas saying why a wire was refused: drawn at the screen's
    size whatever the zoom, wrapped into lines, and kept inside the view."""

    WRAP = 64  # characters a line

    def __init__(self):
        super().__init__()
        self._message = ""
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)

    def set_message(self, message: str) -> None:
        self._message = message
        self.setText(textwrap.fill(message, self.WRAP))

    def text(self) -> str:
        """The whole message (the lines it is drawn in joined again)."""
        return self._message

    def boundingRect(self) -> QRectF:
        return super().boundingRect().adjusted(-7, -5, 7, 5)  # the frame painted around the text

    def place(self, view, at: QPointF) -> None:
        """Beside the scene point ``at``, moved left or above it where it would leave the view."""
        r = self.boundingRect().adjusted(-6, -4, 6, 4)
        w, h = round(r.width()), round(r.height())
        vp = view.viewport().rect()
        p = view.mapFromScene(at)
        minimap = getattr(view, "minimap", None)
        covered = minimap.geometry() if minimap is not None and minimap.isVisible() else QRect()
        best = None
        for x, y in ((p.x() + 16, p.y() + 12), (p.x() + 16, p.y() - 12 - h),
                     (p.x() - 16 - w, p.y() + 12), (p.x() - 16 - w, p.y() - 12 - h)):
            x = max(8, min(x, vp.right() - w - 8))
            y = max(8, min(y, vp.bottom() - h - 8))
            if not QRect(x - 6, y - 4, w, h).intersects(covered):
                best = (x, y)
                break
            best = best or (x, y)
        self.setPos(view.mapToScene(QPoint(*best)))

    def paint(self, painter, option, widget=None):
        t = theme.current()
        bg = QColor(t.node)
        painter.setPen(QPen(t.error, 1.2))
        painter.setBrush(bg)
        painter.drawRoundedRect(super().boundingRect().adjusted(-6, -4, 6, 4), 5, 5)
        super().paint(painter, option, widget)


class RefusalNote(QObject):
    """The refusal bubble of one scene, made when first needed (again after the scene is
    cleared) and hidden by a timer."""

    def __init__(self, scene: QGraphicsScene):
        super().__init__(scene)
        self._scene = scene
        self._bubble: RefusalBubble | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)

    @property
    def bubble(self) -> RefusalBubble | None:
        """The bubble in the scene now (None before the first refusal or after a clear)."""
        b = self._bubble
        return b if b is not None and b.scene() is self._scene else None

    def forget(self) -> None:
        """The scene dropped every item: the next refusal makes a new bubble."""
        self._bubble = None

    def show(self, text: str, at: QPointF) -> None:
        """``text`` beside the scene point ``at`` for a few seconds."""
        if self.bubble is None:
            self._bubble = RefusalBubble()
            self._bubble.setZValue(10)
            self._bubble.setFont(Fonts.get()["body"])
            self._scene.addItem(self._bubble)
        self._bubble.setBrush(theme.current().error)
        self._bubble.set_message(text)
        views = self._scene.views()
        if views:
            self._bubble.place(views[0], at)
        else:
            self._bubble.setPos(at + QPointF(14, 10))
        self._bubble.show()
        self._timer.start(SHOWN_MS)

    def hide(self) -> None:
        if self.bubble is not None:
            self._bubble.hide()

    @contextmanager
    def hidden(self):
        """The bubble out of sight for a moment (the minimap's picture is drawn without it)."""
        bubble = self.bubble
        shown = bubble is not None and bubble.isVisible()
        if shown:
            bubble.hide()
        try:
            yield
        finally:
            if shown:
                bubble.show()
