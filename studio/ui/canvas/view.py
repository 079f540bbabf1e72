"""The view on a graph scene: wheel zoom, middle-button or space-drag pan, rubber-band selection,
drops from the palette, fit to view, a grid background and a minimap for large graphs."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QFrame, QGraphicsView

from studio.ui import theme
from studio.ui.canvas.minimap import Minimap
from studio.ui.canvas.node_item import HEADER, WIDTH, detail_zoom
from studio.ui.palette import BLOCK_MIME, parse_block_payload

MIN_ZOOM, MAX_ZOOM = 0.04, 4.0
FIT_MARGIN = 24.0  # scene units left around a fitted graph


class GraphView(QGraphicsView):
    zoom_changed = Signal(float)

    def __init__(self, scene, parent=None):
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        # the grid is drawn once into a pixmap the size of the view (again when the zoom or the
        # theme changes): a repaint after an edit or a pan copies it rather than drawing lines
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip("")
        self.setWhatsThis("The canvas: drag blocks here from the palette (or press Tab), drag from "
                          "an output port to an input port to wire them. Wheel zooms, middle-drag "
                          "or Space-drag pans, F fits the graph.")
        self._pan = None
        self._space = False
        # the opening view (``show_graph``) is kept through resizes (a tab shown for the first
        # time, docks settling, the window resized) until the user zooms, pans or clicks
        self._auto_view = False
        self._shown_for = None
        self.minimap = Minimap(self)
        self.minimap.attach(scene)
        self.zoom_changed.connect(lambda _z: self.minimap.refresh_soon())
        self.zoom_changed.connect(lambda z: self.scene().set_view_zoom(z))

    @property
    def graph_key(self) -> str:
        return self.scene().graph_key

    # zoom and pan ---------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, z: float, anchor: QPointF | None = None) -> None:
        self._auto_view = False
        z = max(MIN_ZOOM, min(MAX_ZOOM, z))
        factor = z / self.zoom()
        if anchor is not None:
            old = self.transformationAnchor()
            self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
            before = self.mapToScene(anchor.toPoint())
            self.scale(factor, factor)
            after = self.mapToScene(anchor.toPoint())
            self.translate_scene(after - before)
            self.setTransformationAnchor(old)
        else:
            self.scale(factor, factor)
        self.zoom_changed.emit(self.zoom())

    def user_moved(self) -> None:
        """The user moved the view (the minimap, a click): resizes no longer refit it."""
        self._auto_view = False

    def translate_scene(self, delta: QPointF) -> None:
        """Shift the visible area so a scene point moves by ``delta`` on screen."""
        center = self.mapToScene(self.viewport().rect().center())
        self.centerOn(center - delta)

    def pan_by(self, dx: float, dy: float) -> None:
        """Pan by screen pixels."""
        self._auto_view = False
        z = self.zoom()
        self.translate_scene(QPointF(dx / z, dy / z))
        self.minimap.refresh_soon()

    def zoom_in(self):
        self.set_zoom(self.zoom() * 1.25)

    def zoom_out(self):
        self.set_zoom(self.zoom() / 1.25)

    def fit_all(self, max_zoom: float = 1.25) -> None:
        """Fit the whole graph (F)."""
        self._auto_view = False
        rect = self.scene().content_rect()
        if rect.isNull():
            self.resetTransform()
            self.centerOn(0, 0)
            self.zoom_changed.emit(self.zoom())
            return
        self.fit_rect(rect, max_zoom)

    def show_graph(self, readable: float | None = None) -> None:
        """The view a graph opens with: all of it when every text is then readable (the zoom
        ``detail_zoom``), else its start (the data sources, top left) at that zoom, with the
        minimap showing the rest."""
        readable = detail_zoom() if readable is None else readable
        self._auto_view = True
        self._shown_for = self.viewport().size()
        rect = self.scene().content_rect()
        if rect.isNull():
            self.fit_all()
            self._auto_view = True
            return
        vp = self.viewport().rect()
        padded = rect.adjusted(-FIT_MARGIN, -FIT_MARGIN, FIT_MARGIN, FIT_MARGIN)
        z = min(vp.width() / padded.width(), vp.height() / padded.height(), 1.0)
        if z >= readable:
            self.fit_rect(rect, 1.0)
            return
        self.resetTransform()
        self.scale(readable, readable)
        half_w, half_h = vp.width() / readable / 2, vp.height() / readable / 2
        y = rect.center().y() if padded.height() * readable <= vp.height() else \
            padded.top() + half_h
        self.centerOn(QPointF(padded.left() + half_w, y))
        self.zoom_changed.emit(self.zoom())
        self.minimap.refresh_soon()

    def fit_rect(self, rect: QRectF, max_zoom: float = 1.25) -> None:
        rect = rect.adjusted(-FIT_MARGIN, -FIT_MARGIN, FIT_MARGIN, FIT_MARGIN)
        self.scene().grow_scene_rect()
        vp = self.viewport().rect()
        z = min(vp.width() / max(rect.width(), 1), vp.height() / max(rect.height(), 1), max_zoom)
        z = max(MIN_ZOOM, z)
        self.resetTransform()
        self.scale(z, z)
        self.centerOn(rect.center())
        self.zoom_changed.emit(self.zoom())

    def center_on_node(self, node_id: str) -> None:
        item = self.scene().nodes.get(node_id)
        if item is not None:
            self._auto_view = False
            self.ensureVisible(item.scene_rect(), 60, 60)

    def wheelEvent(self, event):
        delta = event.angleDelta().y() or event.angleDelta().x()
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier and not event.angleDelta().x():
            self.pan_by(-delta, 0)
            return
        if delta:
            self.set_zoom(self.zoom() * (1.0015 ** delta), event.position())
        event.accept()

    def mousePressEvent(self, event):
        self._auto_view = False  # the user is at work here: resizes no longer refit the view
        if event.button() == Qt.MouseButton.MiddleButton or (
                event.button() == Qt.MouseButton.LeftButton and self._space):
            self._pan = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event):
        if self._pan is not None:
            d = event.position() - self._pan
            self._pan = event.position()
            self.pan_by(d.x(), d.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event):
        if self._pan is not None:
            self._pan = None
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if self._space
                                      else Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event):
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setDragMode(QGraphicsView.DragMode.NoDrag)
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.scene().cancel_drag()
            self.scene().clearSelection()
            event.accept()
            return
        step = 60
        arrows = {Qt.Key.Key_Left: (step, 0), Qt.Key.Key_Right: (-step, 0),
                  Qt.Key.Key_Up: (0, step), Qt.Key.Key_Down: (0, -step)}
        if event.key() in arrows and not self.scene().selectedItems():
            self.pan_by(*arrows[event.key()])
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event):
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
            self.viewport().setCursor(Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusNextPrevChild(self, next):
        return False  # Tab belongs to "add block" on the canvas

    # drops from the palette -----------------------------------------------------------------------
    def dragEnterEvent(self, event):
        if event.mimeData().hasFormat(BLOCK_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event):
        if event.mimeData().hasFormat(BLOCK_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event):
        self._auto_view = False
        if not event.mimeData().hasFormat(BLOCK_MIME):
            super().dropEvent(event)
            return
        payload = bytes(event.mimeData().data(BLOCK_MIME)).decode("utf-8")
        scene_pos = self.mapToScene(event.position().toPoint())
        if self.drop_block(payload, scene_pos) is not None:
            event.acceptProposedAction()
            self.setFocus()

    def drop_block(self, payload: str, scene_pos: QPointF):
        """What a drop from the palette does (the drop handler calls it; so do tests): add the
        block centred under the pointer, or insert it into the wire under the pointer."""
        block, network = parse_block_payload(payload)
        scene = self.scene()
        wire = scene.wire_at(scene_pos)
        pos = scene.snapped((scene_pos.x() - WIDTH / 2, scene_pos.y() - HEADER / 2))
        node_id = scene.editor.drop_block(self.graph_key, block, pos, network=network,
                                          on_wire=wire.edge if wire is not None else None)
        if node_id is not None and node_id in scene.nodes:
            scene.select_nodes([node_id])
        return node_id

    def add_wired(self, payload: str, scene_pos: QPointF, src: str, src_port: str, port: str):
        """A block chosen for a wire let go on empty canvas: add it under the pointer and wire
        ``src.src_port`` into its input ``port``, in one undo step; it is selected."""
        block, network = parse_block_payload(payload)
        scene = self.scene()
        pos = scene.snapped((scene_pos.x(), scene_pos.y() - HEADER / 2))
        node_id = scene.editor.add_wired(self.graph_key, block, pos, src, src_port, port,
                                         network=network)
        if node_id is not None and node_id in scene.nodes:
            scene.select_nodes([node_id])
        return node_id

    # painting ---------------------------------------------------------------------------------------
    def drawBackground(self, painter, rect):
        t = theme.current()
        painter.fillRect(rect, t.canvas)
        z = self.zoom()
        if z < 0.3:
            return
        step = 20.0
        left = int(rect.left() // step) * step
        top = int(rect.top() // step) * step
        minor, major = [], []
        x = left
        while x < rect.right():
            (major if int(round(x / step)) % 5 == 0 else minor).append((x, True))
            x += step
        y = top
        while y < rect.bottom():
            (major if int(round(y / step)) % 5 == 0 else minor).append((y, False))
            y += step
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # level lines: crisp
        for lines, color in ((minor, t.grid_minor), (major, t.grid_major)):
            if z < 0.6 and lines is minor:
                continue
            painter.setPen(QPen(color, 0))
            painter.drawLines([QLineF(v, rect.top(), v, rect.bottom()) if vertical else
                               QLineF(rect.left(), v, rect.right(), v) for v, vertical in lines])
        painter.restore()

    def changeEvent(self, event):  # noqa: N802 (Qt's name)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.resetCachedContent()  # the theme changed: the grid's colours with it
        super().changeEvent(event)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.minimap.place()
        if self._auto_view and self.viewport().size() != self._shown_for:
            self.show_graph()

    def scrollContentsBy(self, dx, dy):
        super().scrollContentsBy(dx, dy)
        self.minimap.refresh_soon()
