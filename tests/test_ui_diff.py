"""Comparing the current graph with another project in the window: the Diff panel lists each
change with its effect (direction explicit: added means in the current graph only), the canvas
marks added and changed nodes and shows removed ones as ghosts, a row leads to its node, the
diff follows the user's edits, and closing the panel clears the marks."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

import studio.core.diff as core_diff
import studio.ui.comparison as comparison_module
from studio.core.diff import ADDED, CHANGED
from studio.core.fileformat import dumps, load
from studio.ui import theme
from studio.ui.testing import drop_block, type_into
from tests.helpers import EXAMPLES

LENET = EXAMPLES / "lenet.studio"
WAIT_MS = 5000


def _row_texts(panel) -> dict:
    return {row.text(0).split("\u00a0", 1)[1]: (row.text(0), row.text(1), row.text(2))
            for row in panel.node_rows()}


def _click_row(panel, row) -> None:
    tree = panel.tree
    tree.scrollToItem(row)
    at = tree.visualItemRect(row).center()
    QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     at)
    QApplication.processEvents()


def _has_colour_near(image, x: int, y: int, colour: QColor, reach: int = 6) -> bool:
    for dx in range(-reach, reach + 1):
        for dy in range(-reach, reach + 1):
            c = image.pixelColor(x + dx, y + dy)
            if abs(c.red() - colour.red()) + abs(c.green() - colour.green()) + \
                    abs(c.blue() - colour.blue()) < 40:
                return True
    return False


def _widen_conv1_and_add_a_node(window) -> str:
    """Out channels 6 -> 16 typed in the inspector, and a ReLU dropped from the palette."""
    scene = window.scene()
    scene.select_nodes(["conv1"])
    type_into(window.inspector.editors["out_channels"].widget, "16")
    below = scene.nodes["fc3"].scene_rect().bottomLeft() + QPointF(0, 120)
    return drop_block(window.view(), "ReLU", below)


def test_the_panel_lists_marks_and_leads_to_each_change_and_follows_edits(lenet, qtbot):
    added = _widen_conv1_and_add_a_node(lenet)
    assert added
    assert lenet.comparison.compare_with_file(LENET)
    panel, scene = lenet.comparison.panel, lenet.scene()
    assert lenet.comparison.dock.isVisible()
    assert "current vs lenet.studio" in lenet.comparison.dock.windowTitle()
    assert "(lenet.studio \u2192 current)" in panel.heading.text()  # the direction, in words
    assert "only in current" in panel.heading.text()
    rows = _row_texts(panel)
    # 5x5 kernels over one channel: 26 parameters per output channel, 28x28 outputs each
    assert rows["conv1"][1] == "out_channels 6 \u2192 16"
    assert rows["conv1"][2].splitlines()[:2] == ["params +260", "multiply-adds +196,000"]
    assert "6\u00d728\u00d728 \u2192 16\u00d728\u00d728" in rows["conv1"][2]
    assert rows[added][0].startswith("+") and "added (ReLU)" in rows[added][1]
    assert rows["conv2"][1] == "moved by the changes above"  # wider input: 10 x 25 x 16 more
    assert "params +4,000" in rows["conv2"][2]
    assert "Parameters 61,706 \u2192 65,966 (+4,260)" in panel.totals.text()

    # the canvas: the changed node and the added one are marked, nothing else
    assert scene.nodes["conv1"].diff_mark.status == CHANGED
    assert scene.nodes[added].diff_mark.status == ADDED
    assert "out_channels 6 \u2192 16" in scene.nodes["conv1"].toolTip()
    assert {n for n, item in scene.nodes.items() if item.diff_mark} == {"conv1", added}
    view = lenet.view()
    view.centerOn(scene.nodes["conv1"].scene_rect().center())
    QApplication.processEvents()
    corner = view.mapFromScene(scene.nodes["conv1"].scene_rect().topLeft())
    amber = theme.current().diff_colour(CHANGED)
    assert _has_colour_near(view.viewport().grab().toImage(), corner.x(), corner.y(), amber)

    # a row leads to its node: its graph in front, the node selected and in view
    scene.select_nodes([])
    _click_row(panel, panel.row_for("training", "conv1"))
    assert scene.selected_ids() == ["conv1"]
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    assert shown.contains(scene.nodes["conv1"].scene_rect().center())

    # undoing both edits makes the graphs equal: the diff empties, the marks go
    lenet.actions.undo.trigger()
    lenet.actions.undo.trigger()
    qtbot.waitUntil(lambda: lenet.comparison.diff.empty, timeout=WAIT_MS)
    assert panel.node_rows() == []
    assert panel.tree.topLevelItem(0).text(0) == "No differences"
    assert not any(item.diff_mark for item in scene.nodes.values())

    # an edit after that is listed and marked again, a moment later
    lenet.actions.redo.trigger()
    qtbot.waitUntil(lambda: scene.nodes["conv1"].diff_mark is not None, timeout=WAIT_MS)
    assert list(_row_texts(panel)) == ["conv1", "tanh1", "pool1", "conv2"]

    # another project opened: its graph is compared and marked in its new tabs
    assert lenet.open_path(LENET, ask=False)
    qtbot.waitUntil(lambda: lenet.comparison.diff.empty, timeout=WAIT_MS)
    scene = lenet.scene()
    lenet.editor.set_params("training", "conv1", {"out_channels": 16})
    qtbot.waitUntil(lambda: scene.nodes["conv1"].diff_mark is not None, timeout=WAIT_MS)

    # closing the panel clears the marks and stops following the edits
    lenet.comparison.dock.close()
    assert not lenet.comparison.active
    assert not any(item.diff_mark for item in scene.nodes.values())
    lenet.actions.undo.trigger()
    QTest.qWait(400)
    assert not any(item.diff_mark for item in scene.nodes.values())


def test_a_node_only_in_the_other_project_is_a_ghost_and_its_row_centres_it(lenet):
    other = load(LENET)
    other.training.add("ReLU", id="extra_relu", pos=(3000.0, 2000.0))
    diff = lenet.compare_with(other, "run 3")
    assert [(c.node, c.status) for c in diff.nodes] == [("extra_relu", "removed")]
    assert "\u2212" in lenet.comparison.panel.node_rows()[0].text(0)
    scene = lenet.scene()
    ghost = scene.ghosts["extra_relu"]
    assert ghost.scene_rect().topLeft() == QPointF(3000.0, 2000.0)
    assert "only in run 3" in ghost.toolTip()
    assert "extra_relu" not in scene.nodes  # nothing added to the graph being edited
    _click_row(lenet.comparison.panel, lenet.comparison.panel.row_for("training", "extra_relu"))
    view = lenet.view()
    assert view.mapToScene(view.viewport().rect()).boundingRect().contains(
        ghost.scene_rect().center())
    scene.rebuild()  # a graph built again (a network added or removed) keeps its marks
    assert set(scene.ghosts) == {"extra_relu"}
    lenet.comparison.stop()
    assert scene.ghosts == {} and not lenet.comparison.dock.isVisible()


def test_marking_repaints_only_the_marked_nodes(lenet):
    other = load(LENET)
    other.training.nodes["conv2"].params["out_channels"] = 20
    other.training.nodes["fc1"].params["out_features"] = 100
    scene = lenet.scene()
    lenet.compare_with(other, "run 1")
    marks = dict(scene.diff_marks)
    assert set(marks) == {"conv2", "fc1"}
    assert scene.show_diff(marks, ()) == 0  # the same marks again: no item touched
    del marks["fc1"]
    assert scene.show_diff(marks, ()) == 1  # one mark less: one item repainted


def test_a_malformed_file_is_named_and_nothing_is_lost(lenet, tmp_path):
    other = load(LENET)
    other.training.nodes["conv1"].params["out_channels"] = 8
    lenet.compare_with(other, "run 2")
    bad = tmp_path / "broken.studio"
    bad.write_text(dumps(load(LENET))[:200])
    before = dumps(lenet.session.project)
    assert not lenet.comparison.compare_with_file(bad)
    assert str(bad) in lenet.last_error and "Nothing was changed" in lenet.last_error
    assert dumps(lenet.session.project) == before and not lenet.session.doc.modified
    # the comparison shown before is still shown
    assert lenet.comparison.title == "run 2"
    assert lenet.scene().nodes["conv1"].diff_mark.status == CHANGED


def _view_menu_entry(window, text: str):
    """The View menu's entry with this text, as the menu bar shows it."""
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    return next(a for a in menu.actions() if a.text().replace("&", "") == text)


def test_the_diff_panel_is_hidden_and_shown_from_the_view_menu(lenet):
    entry = _view_menu_entry(lenet, "Diff")
    assert not entry.isEnabled()  # nothing compared yet: nothing to show
    other = load(LENET)
    other.training.nodes["conv1"].params["out_channels"] = 8
    lenet.compare_with(other, "run 2")
    comparison, scene = lenet.comparison, lenet.scene()
    assert entry.isEnabled() and entry.isChecked()
    # hidden from the menu: the panel and the marks go, as when the panel is closed
    entry.trigger()
    assert not comparison.dock.isVisible() and not entry.isChecked()
    assert not comparison.active and scene.nodes["conv1"].diff_mark is None
    # shown again: the same comparison, listed and marked
    entry.trigger()
    assert comparison.dock.isVisible() and entry.isChecked()
    assert comparison.title == "run 2" and [c.node for c in comparison.diff.nodes] == ["conv1"]
    assert "current vs run 2" in comparison.dock.windowTitle()
    assert scene.nodes["conv1"].diff_mark.status == CHANGED
    # the panel's own Stop Comparing unchecks the entry too
    comparison.stop()
    assert not entry.isChecked() and not comparison.active


def test_a_refresh_analyses_neither_project(lenet, qtbot, monkeypatch):
    """The other project is analysed once, when the comparison opens; a refresh after an edit
    uses that and the session's analysis of the current graph (kept up to date anyway)."""
    analysed = []
    for module in (core_diff, comparison_module):
        real = module.analyze
        monkeypatch.setattr(module, "analyze",
                            lambda project, real=real: analysed.append(project) or real(project))
    other = load(LENET)
    lenet.compare_with(other, "run 1")
    assert analysed == [other]
    before = lenet.comparison.diff
    lenet.editor.set_params("training", "conv1", {"out_channels": 16})
    qtbot.waitUntil(lambda: lenet.comparison.diff is not before, timeout=WAIT_MS)
    assert [c.node for c in lenet.comparison.diff.nodes] == ["conv1"]
    # nor does showing the panel again after hiding it
    lenet.comparison.view_action.trigger()
    lenet.comparison.view_action.trigger()
    assert lenet.comparison.active and [c.node for c in lenet.comparison.diff.nodes] == ["conv1"]
    assert analysed == [other]
