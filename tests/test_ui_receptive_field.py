"""The receptive-field lesson from the window: it opens from the Lessons menu with the Feature
Maps view in front; with Receptive field down, clicking a unit of a map shows its theoretical
window and its effective field on the input, while the run trains (answered by the run) and
after it (answered from the trained state in a process of its own)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt

from studio.core.document import Document
from studio.core.fileformat import load
from studio.core.lessons import lessons
from studio.ui.testing import click_node
from tests.test_ui_lessons import choose_from_menu_bar, in_front

WAIT_MS = 60_000


def click_unit(qtbot, view, channel: int, row: int, column: int) -> None:
    """Click the pixel (row, column) of channel ``channel``'s tile in the mosaic."""
    canvas = view.canvas
    rect = canvas.image_rect()
    _rows, columns, _th, tw, pad, _count = canvas.grid
    th = canvas.grid[2]
    scale = rect.width() / canvas.pixels.shape[1]
    r, c = divmod(channel, columns)
    x = rect.left() + (pad + c * (tw + pad) + column + 0.5) * scale
    y = rect.top() + (pad + r * (th + pad) + row + 0.5) * scale
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=QPoint(int(x), int(y)))


def shown_field(view, node: str, unit: tuple, trained: bool):
    event = view.field_panel.shown
    if event is None or event.node != node or event.unit != unit:
        return None
    return event if (event.step is None) == trained else None


def test_clicking_a_unit_shows_its_receptive_field_during_and_after_training(qtbot, window):
    lesson = next(item for item in lessons() if item.id == "receptive-field")
    choose_from_menu_bar(qtbot, window, "Lessons", lesson.title)
    dash = window.dashboard
    qtbot.waitUntil(lambda: in_front(dash.docks["features"]), timeout=WAIT_MS)
    assert window.lessons.panel.lesson.id == "receptive-field"
    project = load(lesson.project)  # the lesson's project, trained for a few steps only
    project.training.configure(steps=30)
    window.set_document(Document(project))
    click_node(window.view("training"), "conv3")
    view = dash.features
    assert view.field_button.isVisible()
    qtbot.mouseClick(view.field_button, Qt.MouseButton.LeftButton)
    assert view.field_panel.isVisible() and "Click a unit" in view.field_panel.caption.text()

    assert dash.panel.train()
    qtbot.waitUntil(lambda: "training/conv3" in dash.store.current.activations,
                    timeout=WAIT_MS)
    dash.controller.pause()
    qtbot.waitUntil(lambda: dash.controller.state == "paused", timeout=WAIT_MS)
    dash.docks["features"].raise_()  # Train brought the curves to the front
    qtbot.waitUntil(lambda: in_front(dash.docks["features"]), timeout=WAIT_MS)
    view.refresh({"all"})
    assert view.mode == "maps"
    click_unit(qtbot, view, 2, 8, 5)  # conv3's map is 16 x 16: shown whole
    qtbot.waitUntil(lambda: shown_field(view, "training/conv3", (2, 8, 5), False) is not None,
                    timeout=WAIT_MS)
    event = view.field_panel.shown
    assert event.window == (12, 22, 6, 16)  # 10 x 10: start -4, 2 pixels a unit
    outside = event.gradient.copy()
    outside[12:22, 6:16] = 0
    assert event.gradient.sum() > 0 and not outside.any() and event.inside == 1.0
    caption = view.field_panel.caption
    assert "window <b>10\u00d710</b>" in caption.text() and "100%" in caption.text()
    assert "10\u00d710</b> pixels, rows 12\u201321, columns 6\u201315" in caption.toolTip()
    assert view.focus is None  # the click asked for a field; it did not enlarge the channel

    dash.controller.resume()
    qtbot.waitUntil(lambda: dash.controller.state == "finished", timeout=WAIT_MS)
    assert dash.controller.trained_checkpoint() is not None
    view.refresh({"all"})
    click_unit(qtbot, view, 0, 0, 0)  # the corner: the window runs off the image
    qtbot.waitUntil(lambda: shown_field(view, "training/conv3", (0, 0, 0), True) is not None,
                    timeout=WAIT_MS)
    event = view.field_panel.shown
    assert event.window == (-4, 6, -4, 6)
    assert np.count_nonzero(event.gradient[6:, :]) == 0 == np.count_nonzero(event.gradient[:, 6:])
    assert "trained state" in view.field_panel.caption.text()
    assert "(6\u00d76 on the image)" in view.field_panel.caption.text()
    assert "6\u00d76 of it on the 32\u00d732 input" in view.field_panel.caption.toolTip()
    qtbot.waitUntil(lambda: dash.field_asker.session is None, timeout=WAIT_MS)

    click_node(window.view("training"), "scores")  # a vector: no map, no field
    qtbot.waitUntil(lambda: "not a spatial map" in view.field_panel.caption.text(),
                    timeout=WAIT_MS)
