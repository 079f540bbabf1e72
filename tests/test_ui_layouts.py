"""The window fits its screen, from 1280x800 up, in every layout, with every plot tiled and
training news drawn; it never grows by itself; Reset Panels brings back the default layout and
size. (A real X server check of the same: scripts/check_window_fit.py.)"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, QSize
from PySide6.QtWidgets import QToolButton

from studio.core.document import Document
from studio.core.fileformat import load
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig, Runner
from studio.ui.layouts import LAYOUTS, MIN_CANVAS, default_size
from studio.ui.testing import open_window
from tests.helpers import EXAMPLES

SCREENS = [QRect(0, 0, 1280, 800), QRect(0, 0, 1600, 1000)]
READABLE_WIDTH = 240  # a panel of sentences (Problems) at least this wide when shown


def lenet_run_events() -> list:
    """What a LeNet run sends: curves, statistics, histograms, feature maps, predictions."""
    events: list = []
    rates = ProbeRates(stats_every=5, activations_every=10, histograms_every=10, budget=None)
    Runner(load(EXAMPLES / "lenet.studio"), RunConfig(steps=30, probes=rates,
                                                       watch=("training/conv2",)),
           events.append).run()
    return events


def on_screen(widget) -> bool:
    """Shown and not hidden behind a tab or scrolled out of its panel."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def inside_window(window, widget) -> bool:
    top_left = widget.mapTo(window, widget.rect().topLeft())
    return window.rect().contains(QRect(top_left, widget.size()))


def button_of(panel, action) -> QToolButton:
    return next(b for b in panel.findChildren(QToolButton) if b.defaultAction() is action)


@pytest.mark.parametrize("screen", SCREENS, ids=lambda r: f"{r.width()}x{r.height()}")
def test_every_layout_fits_the_screen_while_training(qtbot, tmp_path, screen):
    window = open_window(qtbot, tmp_path)
    window.set_document(Document(load(EXAMPLES / "lenet.studio")))
    window.layouts.reset(available=screen)
    qtbot.wait(20)
    size = window.size()
    assert size == default_size(screen)
    dash = window.dashboard
    dash.store.new_run()
    dash.store.apply(lenet_run_events())
    dash.features.set_node("training/conv2")
    dash.gradients.set_node("training/conv2")
    panel = dash.panel
    for name in [*LAYOUTS, "tile"]:
        if name == "tile":
            dash.tile_views()
        else:
            window.layouts.apply(name)
        dash.refresh_all()
        qtbot.wait(20)
        assert window.size() == size, name  # never grown by what the docks hold
        assert screen.contains(window.frameGeometry()), name
        canvas = window.tabs
        assert canvas.width() >= MIN_CANVAS.width() and canvas.height() >= MIN_CANVAS.height(), \
            (name, canvas.size())
        if on_screen(window.problems):
            assert window.problems_dock.width() >= READABLE_WIDTH, name
        if name != "editing":  # the training panel's buttons stay in sight while training
            for action in (panel.pause_action, panel.stop_action, panel.train_action):
                button = button_of(panel, action)
                assert on_screen(button) and inside_window(window, button), (name, action.text())
    # Tile Training Plots shows every plot this project has at once
    for attr in dash.relevant_views():
        assert on_screen(dash.docks[attr]), attr
        assert dash.docks[attr].height() >= 150, attr


def test_reset_panels_brings_back_the_default_size_and_layout(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    screen = SCREENS[1]
    window.layouts.reset(available=screen)
    default = window.size()
    window.dashboard.tile_views()
    window.code_dock.hide()
    window.resize(1801, 900)
    window.layouts.reset(available=screen)
    assert window.size() == default and screen.contains(window.frameGeometry())
    assert window.layouts.current == "editing" and on_screen(window.code_dock)
    assert on_screen(window.inspector_dock) and on_screen(window.dashboard.panel_dock)


def test_the_default_size_is_chosen_from_the_screen():
    assert default_size(QRect(0, 0, 1600, 1000)) == QSize(1400, 900)
    small = default_size(QRect(0, 28, 1280, 772))  # a 1280x800 screen with a top bar
    assert small.width() <= 1280 and small.height() <= 772 - 30
    assert default_size(QRect(0, 0, 2560, 1440)).width() > 2000
