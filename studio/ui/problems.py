"""The problems list: the verdict's problems (errors, what stops training, warnings), naming the
node and field, with what to do about it. Activating an entry (double-click or Enter) selects the
node on the canvas. It reads the same verdict as the code banner, Train and the status bar."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QStyle, QVBoxLayout, QWidget

from studio.core.inference import ERROR, NOT_READY, WARNING

ROLE = Qt.ItemDataRole.UserRole
EMPTY_TEXT = "No problems: every wire's shape checks out, and the project is ready to train."
PREFIX = {NOT_READY: "Not ready to train: ", WARNING: "Warning: "}


class ProblemsList(QWidget):
    go_to = Signal(str, str)  # graph key, node id

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setIconSize(QSize(14, 14))
        self.list.setToolTip("Problems that stop the project from running, and warnings. "
                             "Double-click one (or press Enter) to select the node at fault.")
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setObjectName("no_problems")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setContentsMargins(8, 6, 8, 6)
        self.empty.setToolTip("Shapes and costs are checked after every edit")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.empty)
        layout.addWidget(self.list)
        self.list.itemActivated.connect(self._activated)
        self.extra: list[str] = []  # issues from loading a file, shown above the problems
        self._listed = None  # what the list shows, to rebuild it only when that changes
        self._severity_icons: dict | None = None
        session.analyzed.connect(self.refresh)
        self.refresh()

    def set_load_issues(self, issues) -> None:
        self.extra = [str(i) for i in issues]
        self.refresh()

    def refresh(self) -> None:
        problems = self.session.verdict.problems
        listed = (tuple(self.extra), tuple((p.severity, str(p), p.message, p.graph, p.node,
                                            p.field) for p in problems))
        if listed == self._listed:
            return  # an edit that changed no problem leaves the list (and its selection) be
        self._listed = listed
        self.list.clear()
        icons = self._icons()
        info = icons[NOT_READY]
        for text in self.extra:
            item = QListWidgetItem(info, f"Not read from the file: {text}")
            item.setToolTip(text)
            self.list.addItem(item)
        for p in problems:
            where = p.node or p.graph
            if p.graph != "training" and p.node:
                where = f"{p.graph} / {p.node}"
            field = f" ({p.field})" if p.field else ""
            lead = PREFIX.get(p.severity, "")
            text = f"{where}{field}: {p.message}" if str(p) != p.message else p.message
            item = QListWidgetItem(icons.get(p.severity, icons[ERROR]), f"{lead}{text}")
            item.setData(ROLE, (p.graph, p.node or ""))
            item.setToolTip(f"{p}\nDouble-click to select {p.node or p.graph}")
            self.list.addItem(item)
        count = len(problems) + len(self.extra)
        self.empty.setVisible(count == 0)
        self.list.setVisible(count > 0)

    def _icons(self) -> dict:
        """The severity icons, asked of the style once (a few edits a second rebuild the list)."""
        if self._severity_icons is None:
            style = self.style()
            pixmaps = QStyle.StandardPixmap
            self._severity_icons = {ERROR: style.standardIcon(pixmaps.SP_MessageBoxCritical),
                                    NOT_READY: style.standardIcon(pixmaps.SP_MessageBoxInformation),
                                    WARNING: style.standardIcon(pixmaps.SP_MessageBoxWarning)}
        return self._severity_icons

    def count(self) -> int:
        return self.list.count()

    def messages(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.count())]

    def activate(self, row: int) -> None:
        """What a double-click on entry ``row`` does."""
        self._activated(self.list.item(row))

    def _activated(self, item) -> None:
        where = item.data(ROLE) if item is not None else None
        if where:
            self.go_to.emit(*where)
