"""Commands run as a user runs them: from the menu, by the shortcut key on the window and from the
canvas's context menu. An action's ``triggered`` flag never reaches a command as an argument."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit, QMenu

from studio.ui.testing import click_node

UI = Path(__file__).resolve().parents[1] / "studio" / "ui"


def _name_the_network(name: str) -> None:
    """Type ``name`` into the Make Network dialog once it shows, and press Enter."""
    def answer():
        box = QApplication.activeModalWidget()
        if isinstance(box, QInputDialog):
            line = box.findChildren(QLineEdit)[0]
            line.selectAll()
            QTest.keyClicks(line, name)
            QTest.keyClick(line, Qt.Key.Key_Return)
            return
        QTimer.singleShot(20, answer)
    QTimer.singleShot(20, answer)


def _select_chain(window) -> None:
    view = window.view("training")
    click_node(view, "conv1")
    click_node(view, "tanh1", Qt.KeyboardModifier.ControlModifier)
    click_node(view, "pool1", Qt.KeyboardModifier.ControlModifier)
    assert sorted(view.scene().selected_ids()) == ["conv1", "pool1", "tanh1"]


def _made(window, name: str) -> None:
    assert name in window.session.project.networks
    instance = window.scene("training").selected_ids()
    assert len(instance) == 1
    node = window.session.project.training.nodes[instance[0]]
    assert node.params.get("network") == name
    assert window.session.analysis.problems == []


def test_make_network_from_the_graph_menu(lenet):
    _select_chain(lenet)
    graph_menu = next(m for m in lenet.menuBar().findChildren(QMenu)
                      if m.title().replace("&", "") == "Graph")
    action = next(a for a in graph_menu.actions() if a.text().replace("&", "") == "Make Network")
    _name_the_network("Stem")
    action.trigger()  # what clicking the menu entry does
    _made(lenet, "Stem")
    lenet.actions.undo.trigger()
    assert "Stem" not in lenet.session.project.networks


def test_make_network_by_ctrl_g_on_the_window(lenet):
    _select_chain(lenet)
    _name_the_network("Stem")
    QTest.keyClick(lenet.view("training"), Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    _made(lenet, "Stem")


def test_make_network_from_the_context_menu(lenet):
    _select_chain(lenet)
    view = lenet.view("training")
    at = view.mapFromScene(view.scene().nodes["tanh1"].scene_rect().center())
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, at, view.viewport().mapToGlobal(at))
    QApplication.sendEvent(view.viewport(), event)
    menu = next(m for m in QApplication.topLevelWidgets() if isinstance(m, QMenu) and m.isVisible())
    action = next(a for a in menu.actions() if a.text().replace("&", "") == "Make Network")
    _name_the_network("Stem")
    action.trigger()
    menu.close()
    _made(lenet, "Stem")


def test_add_block_action_opens_quick_add_at_the_pointer(lenet):
    view = lenet.view("training")
    view.setFocus()
    QTest.mouseMove(view.viewport(), QPoint(120, 90))
    lenet.actions.add_block.trigger()
    assert lenet.quick_add.isVisible()
    QTest.keyClick(lenet.quick_add.edit, Qt.Key.Key_Escape)
    assert not lenet.quick_add.isVisible()


def test_no_action_hands_its_checked_flag_to_a_command():
    """Every ``triggered`` in the UI goes to a slot that takes no command argument: through
    ``Actions.on`` or a lambda that drops the flag (a regression guard over the source)."""
    bad = []
    for path in UI.rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            m = re.search(r"\.triggered\.connect\((.*)\)", line)
            if m and not m.group(1).startswith(("lambda _", "lambda:")):
                bad.append(f"{path.relative_to(UI)}:{n}: {line.strip()}")
    assert bad == []
