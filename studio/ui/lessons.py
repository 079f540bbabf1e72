"""The Lessons menu and the Lesson panel: the course's ideas, each a project with its text.

Choosing a lesson opens its project as an example (an unsaved copy, after asking to save what
would be lost), shows its text in the Lesson panel beside the canvas, and brings the dashboard
views it names to the front. Opening another project hides the panel; View > Lesson shows it
again. The lessons themselves are data (``core/lessons.py``).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QLabel, QMenu, QTextBrowser, QVBoxLayout, QWidget

from studio.core.lessons import Lesson, LessonError, lessons

PANEL_TIP = "The open lesson: what to look at, what to try, what you should see"
NO_LESSON = "No lesson is open. Choose one from the Lessons menu."


class LessonPanel(QWidget):
    """The text of one lesson, as Markdown, under its title."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.lesson: Lesson | None = None
        self.title = QLabel(NO_LESSON)
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        self.text.setToolTip(PANEL_TIP)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.text, 1)

    def show_lesson(self, lesson: Lesson | None) -> None:
        self.lesson = lesson
        self.title.setText(lesson.title if lesson else NO_LESSON)
        if lesson is None:
            self.text.clear()
        else:
            self.text.setMarkdown(_panel_headings(lesson.text))


class Lessons(QObject):
    """Opens lessons: their project through ``files``, their text in the panel, their views
    in front (``dashboard.docks``)."""

    def __init__(self, files, dashboard, session, make_dock, place_dock, show_error,
                 parent=None):
        """``make_dock(panel)`` returns the panel's dock; ``place_dock(dock)`` puts it where a
        lesson is read, before it is shown."""
        super().__init__(parent)
        self.files, self.dashboard, self._show_error = files, dashboard, show_error
        self.panel = LessonPanel()
        self.dock = make_dock(self.panel)
        self.dock.hide()
        self._place_dock = place_dock
        self._opening = False
        session.replaced.connect(self._project_replaced)

    def fill_menu(self, menu: QMenu) -> None:
        """One entry per lesson, in the course's order; a broken lesson file is said once
        here rather than making the menu fail."""
        menu.setToolTipsVisible(True)
        try:
            found = lessons()
        except LessonError as err:
            found = []
            self._show_error("A lesson cannot be read", str(err))
        for number, lesson in enumerate(found, 1):
            action = menu.addAction(f"&{number} {lesson.title}" if number < 10
                                    else lesson.title)
            action.setObjectName(f"action_lesson_{lesson.id}")
            tip = f"Open the lesson's project ({lesson.project.name}) and its text"
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(lambda _=False, item=lesson: self.open(item))
        if not found:
            menu.addAction("No lessons found").setEnabled(False)

    def open(self, lesson: Lesson, ask: bool = True) -> bool:
        """The lesson's project in the window, its text in the panel, its views in front."""
        self._opening = True
        try:
            if not self.files.open_example(lesson.project, ask=ask):
                return False
        finally:
            self._opening = False
        self.panel.show_lesson(lesson)
        self._place_dock(self.dock)
        self.dock.show()
        self.dock.raise_()
        docks = self.dashboard.docks
        if lesson.views and lesson.views[0] in docks:  # and Train keeps it there
            self.dashboard.train_front = lesson.views[0]
        for view in reversed(lesson.views):  # the first named ends in front
            if view in docks:
                docks[view].show()
                docks[view].raise_()
        return True

    def _project_replaced(self, *_args) -> None:
        """Another project was opened: its lesson text no longer applies."""
        if not self._opening and self.panel.lesson is not None:
            self.panel.show_lesson(None)
            self.dock.hide()


def _panel_headings(text: str) -> str:
    """The lesson's Markdown with its headings two levels smaller: a panel beside the canvas
    has no room for a page's title sizes (the lesson's title is above it already)."""
    lines = []
    for line in text.splitlines():
        stripped = line.lstrip("#")
        level = len(line) - len(stripped)
        lines.append("#" * min(level + 2, 6) + stripped if level and stripped.startswith(" ")
                     else line)
    return "\n".join(lines)
