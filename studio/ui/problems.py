"""The problems list: every problem the analysis found, naming the node and field, with what to
do about it. Activating an entry (double-click or Enter) selects the node on the canvas."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QStyle, QVBoxLayout, QWidget

ROLE = Qt.ItemDataRole.UserRole


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
        self.list.setToolTip("Problems that stop the project from running. Double-click one (or "
                             "press Enter) to select the node at fault.")
        self.empty = QLabel("No problems: every wire's shape checks out.")
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
        session.analyzed.connect(self.refresh)
        self.refresh()

    def set_load_issues(self, issues) -> None:
        self.extra = [str(i) for i in issues]
        self.refresh()

    def refresh(self) -> None:
        problems = self.session.analysis.problems
        self.list.clear()
        warn = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        info = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation)
        for text in self.extra:
            item = QListWidgetItem(info, f"Not read from the file: {text}")
            item.setToolTip(text)
            self.list.addItem(item)
        for p in problems:
            where = p.node or p.graph
            if p.graph != "training" and p.node:
                where = f"{p.graph} / {p.node}"
            field = f" ({p.field})" if p.field else ""
            item = QListWidgetItem(warn, f"{where}{field}: {p.message}")
            item.setData(ROLE, (p.graph, p.node or ""))
            item.setToolTip(f"{p}\nDouble-click to select {p.node or p.graph}")
            self.list.addItem(item)
        count = len(problems) + len(self.extra)
        self.empty.setVisible(count == 0)
        self.list.setVisible(count > 0)

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
