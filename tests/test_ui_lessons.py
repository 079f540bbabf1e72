"""Lessons > a lesson, as a user chooses it from the menu bar: its project opens as an unsaved
copy, its text shows in the Lesson panel beside the canvas, and the views it names come to the
front; another project hides the panel, View > Lesson shows it again, and unsaved work is
asked about first."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMenu, QMessageBox

from studio.core.lessons import lessons
from tests.helpers import EXAMPLES

WAIT_MS = 10_000


def choose_from_menu_bar(qtbot, window, menu_title: str, entry: str) -> None:
    """Click the menu bar's menu, then its entry whose text contains ``entry``."""
    bar = window.menuBar()
    top = next(a for a in bar.actions() if a.text().replace("&", "") == menu_title)
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(top).center())
    menu: QMenu = top.menu()
    qtbot.waitUntil(menu.isVisible, timeout=WAIT_MS)
    action = next(a for a in menu.actions() if entry in a.text().replace("&", ""))
    QTest.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
    qtbot.waitUntil(lambda: not menu.isVisible(), timeout=WAIT_MS)


def in_front(dock) -> bool:
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


def test_the_lessons_menu_lists_the_course_and_opens_a_lesson(qtbot, window):
    bar = window.menuBar()
    menu = next(a for a in bar.actions() if a.text() == "&Lessons").menu()
    titles = [re.sub(r"^&\d ", "", a.text()) for a in menu.actions()]  # &1 to &9, then none
    assert titles == [lesson.title for lesson in lessons()]
    assert not window.lessons.dock.isVisible()
    choose_from_menu_bar(qtbot, window, "Lessons", "LeNet")
    lesson = window.lessons.panel.lesson
    assert lesson is not None and lesson.id == "lenet"
    assert window.session.project.name == "LeNet" and window.session.doc.path is None
    panel = window.lessons.panel
    qtbot.waitUntil(lambda: in_front(window.lessons.dock), timeout=WAIT_MS)
    assert panel.title.text() == lesson.title
    assert "What to try" in panel.text.toPlainText()
    assert "61,706 parameters" in panel.text.toPlainText()
    # the first view the lesson names is in front, the inspector is a tab behind the lesson
    assert lesson.views[0] == "curves"
    qtbot.waitUntil(lambda: in_front(window.dashboard.docks["curves"]), timeout=WAIT_MS)
    assert window.inspector_dock.isVisible() and not in_front(window.inspector_dock)


def test_another_project_hides_the_lesson_and_view_shows_it_again(qtbot, window):
    locality = next(lesson for lesson in lessons() if lesson.id == "locality")
    assert window.lessons.open(locality)
    assert window.session.project.name == "Locality"
    assert window.open_path(EXAMPLES / "lenet.studio", ask=False)
    qtbot.waitUntil(lambda: not window.lessons.dock.isVisible(), timeout=WAIT_MS)
    assert window.lessons.panel.lesson is None
    view_entry = window.lessons.dock.toggleViewAction()
    assert view_entry in next(a for a in window.menuBar().actions()
                              if a.text() == "&View").menu().actions()
    view_entry.trigger()
    assert window.lessons.dock.isVisible()
    assert "Lessons menu" in window.lessons.panel.title.text()


def test_unsaved_work_is_asked_about_and_cancel_keeps_it(qtbot, window, monkeypatch):
    assert window.open_path(EXAMPLES / "lenet.studio", ask=False)
    window.editor.set_params("training", "conv1", {"out_channels": 8})
    asked = []
    monkeypatch.setattr(QMessageBox, "exec", lambda self: asked.append(self.text()) or
                        QMessageBox.StandardButton.Cancel)
    resnet = next(lesson for lesson in lessons() if lesson.id == "resnet")
    assert not window.lessons.open(resnet)
    assert asked and "Save before opening" in asked[0]
    assert window.session.project.training.nodes["conv1"].params["out_channels"] == 8
    assert window.lessons.panel.lesson is None and not window.lessons.dock.isVisible()
