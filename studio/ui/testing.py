"""Driving the editor as a user does, for tests and scripts: real drop events from the palette,
real mouse drags between ports and of nodes, typing into the inspector's widgets."""

from __future__ import annotations

import warnings

from PySide6.QtCore import QByteArray, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QSpinBox

from studio.ui.palette import BLOCK_MIME

LEFT = Qt.MouseButton.LeftButton
NONE = Qt.KeyboardModifier.NoModifier


def drop_block(view, payload: str, scene_pos: QPointF) -> str | None:
    """Drop a palette payload (a block id, or ``network:Name``) on the view at ``scene_pos``
    with a real QDropEvent; the new node's id (it is selected after a drop)."""
    mime = QMimeData()
    mime.setData(BLOCK_MIME, QByteArray(payload.encode("utf-8")))
    at = view.mapFromScene(scene_pos)
    copy = Qt.DropAction.CopyAction
    with warnings.catch_warnings():  # the QPoint constructors are the ones PySide offers
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(at, copy, mime, LEFT, NONE)
        move = QDragMoveEvent(at, copy, mime, LEFT, NONE)
    for event in (enter, move, QDropEvent(QPointF(at), copy, mime, LEFT, NONE)):
        QApplication.sendEvent(view.viewport(), event)
    ids = view.scene().selected_ids()
    return ids[0] if len(ids) == 1 else None


def drop_files(widget, paths, at: QPoint = QPoint(200, 200)) -> bool:
    """Drag files (as a file manager does: their URLs) onto ``widget`` and drop them there with
    real events; whether the widget took the drop (False: it refused the drag on entering)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    copy = Qt.DropAction.CopyAction
    with warnings.catch_warnings():  # the QPoint constructor is the one PySide offers
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(at, copy, mime, LEFT, NONE)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(QPointF(at), copy, mime, LEFT, NONE)
    QApplication.sendEvent(widget, drop)
    return drop.isAccepted()


def show_points(view, *scene_points) -> None:
    """Scroll (and zoom out if needed) so every point is inside the viewport."""
    xs = [p.x() for p in scene_points]
    ys = [p.y() for p in scene_points]
    from PySide6.QtCore import QRectF

    rect = QRectF(min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1)
    vp = view.viewport().rect()
    if rect.width() * view.zoom() > vp.width() - 80 or rect.height() * view.zoom() > vp.height() - 80:
        view.fit_rect(rect, 1.0)
    else:
        view.centerOn(rect.center())
    QApplication.processEvents()


def mouse_drag(view, start: QPointF, end: QPointF, steps: int = 4, modifiers=NONE,
               before_release=None) -> None:
    """Press at ``start``, move in steps, release at ``end`` (scene points), with real events;
    ``modifiers`` held on the release (Shift to replace a wire); ``before_release()`` is called
    with the mouse still down over ``end`` (to look at what the drag shows there)."""
    show_points(view, start, end)
    vp = view.viewport()
    a, b = view.mapFromScene(start), view.mapFromScene(end)
    QTest.mousePress(vp, LEFT, NONE, a)
    for i in range(1, steps + 1):
        t = i / steps
        _move(vp, QPoint(round(a.x() + (b.x() - a.x()) * t), round(a.y() + (b.y() - a.y()) * t)))
    QApplication.processEvents()
    if before_release is not None:
        before_release()
    QTest.mouseRelease(vp, LEFT, modifiers, b)
    QApplication.processEvents()


def _move(widget, at: QPoint) -> None:
    """A mouse move with the left button held (QTest.mouseMove sends none pressed)."""
    from PySide6.QtGui import QMouseEvent

    event = QMouseEvent(QMouseEvent.Type.MouseMove, QPointF(at), QPointF(widget.mapToGlobal(at)),
                        Qt.MouseButton.NoButton, LEFT, NONE)
    QApplication.sendEvent(widget, event)


def drag_wire(view, src: str, src_port: str, dst: str, dst_port: str, modifiers=NONE,
              before_release=None) -> None:
    """Drag from an output port to an input port with the mouse."""
    scene = view.scene()
    a = scene.nodes[src].port("output", src_port)
    b = scene.nodes[dst].port("input", dst_port)
    mouse_drag(view, a.scenePos(), b.scenePos(), modifiers=modifiers,
               before_release=before_release)


def drag_wire_to_canvas(view, src: str, src_port: str, scene_pos: QPointF) -> None:
    """Drag a wire from an output port and let it go on empty canvas at ``scene_pos``."""
    a = view.scene().nodes[src].port("output", src_port)
    mouse_drag(view, a.scenePos(), scene_pos)


def click_node(view, node_id: str, modifiers=NONE) -> None:
    item = view.scene().nodes[node_id]
    center = item.scene_rect().center()
    show_points(view, center)
    QTest.mouseClick(view.viewport(), LEFT, modifiers, view.mapFromScene(center))
    QApplication.processEvents()


def type_into(widget, text: str) -> None:
    """Replace a field's text by typing it, then press Enter (the end of the edit)."""
    widget.setFocus()
    if isinstance(widget, QSpinBox):
        widget.lineEdit().selectAll()
        QTest.keyClicks(widget.lineEdit(), text)
        QTest.keyClick(widget.lineEdit(), Qt.Key.Key_Return)
    elif isinstance(widget, QLineEdit):
        widget.selectAll()
        QTest.keyClicks(widget, text)
        QTest.keyClick(widget, Qt.Key.Key_Return)
    else:
        raise TypeError(f"cannot type into a {type(widget).__name__}")
    QApplication.processEvents()


def open_window(qtbot, folder):
    """A shown main window with its own settings file and recovery folder under ``folder``."""
    from pathlib import Path

    from PySide6.QtCore import QSettings

    from studio.ui.collector import keep_collection_on_ui_thread
    from studio.ui.main_window import MainWindow

    keep_collection_on_ui_thread(QApplication.instance())
    folder = Path(folder)
    settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, recovery_folder=folder / "recovery")
    # closing at the end of a test asks nothing: what the test changed counts as saved
    # and a training run still going is ended without asking
    qtbot.addWidget(window, before_close_func=_closing_quietly)
    window.show()
    qtbot.waitExposed(window)
    return window


def _closing_quietly(window) -> None:
    window.session.doc.mark_saved()
    window.dashboard.controller.shutdown()
