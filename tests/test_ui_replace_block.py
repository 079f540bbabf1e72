"""Right-click a node > Replace With > another block of its kind: the node keeps its id, wires
and the parameters the new block has, in one undo step (the lessons ask for it: average for
blur pooling, Tanh for ReLU, Adam for SGD)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu

WAIT_MS = 10_000


def open_context_menu(qtbot, view, node_id: str) -> QMenu:
    at = view.mapFromScene(view.scene().nodes[node_id].scene_rect().center())
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, at, view.viewport().mapToGlobal(at))
    QApplication.sendEvent(view.viewport(), event)

    def shown() -> list:
        return [m for m in QApplication.topLevelWidgets() if isinstance(m, QMenu) and m.isVisible()]

    qtbot.waitUntil(lambda: bool(shown()), timeout=WAIT_MS)
    return shown()[0]


def choose_replacement(qtbot, menu: QMenu, block: str) -> list[str]:
    """Hover Replace With (its submenu opens), click ``block``; the entries it offered."""
    sub = menu.findChild(QMenu, "replace_with_menu")
    QTest.mouseMove(menu, menu.actionGeometry(sub.menuAction()).center())
    qtbot.waitUntil(sub.isVisible, timeout=WAIT_MS)
    offered = [a.text() for a in sub.actions()]
    entry = next(a for a in sub.actions() if a.text() == block)
    QTest.mouseClick(sub, Qt.MouseButton.LeftButton, pos=sub.actionGeometry(entry).center())
    qtbot.waitUntil(lambda: not menu.isVisible(), timeout=WAIT_MS)
    return offered


def test_replace_a_pooling_block_and_undo_it(qtbot, lenet):
    view = lenet.view("training")
    graph = lenet.session.project.training
    wires = [e for e in graph.edges if "pool1" in (e.src, e.dst)]
    offered = choose_replacement(qtbot, open_context_menu(qtbot, view, "pool1"), "MaxPool2d")
    assert "BlurPool2d" in offered and "AvgPool2d" not in offered
    graph = lenet.session.project.training
    node = graph.nodes["pool1"]
    assert node.block == "MaxPool2d" and node.params["kernel_size"] == 2
    assert [e for e in graph.edges if "pool1" in (e.src, e.dst)] == wires
    assert lenet.session.analysis.rows and not lenet.session.verdict.errors
    QTest.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert lenet.session.project.training.nodes["pool1"].block == "AvgPool2d"


def test_an_optimizer_is_replaced_by_another_optimizer(qtbot, lenet):
    view = lenet.view("training")
    offered = choose_replacement(qtbot, open_context_menu(qtbot, view, "adam"), "SGD")
    assert "Conv2d" not in offered
    adam = lenet.session.project.training.nodes["adam"]
    assert adam.block == "SGD" and adam.params["lr"] == 1e-3  # the rate it had
