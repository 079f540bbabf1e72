"""Tab on the canvas: a small box to type a block's name; Enter adds it at the pointer."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout

ROLE = Qt.ItemDataRole.UserRole


class QuickAdd(QFrame):
    chosen = Signal(str)  # a palette payload

    def __init__(self, parent=None):
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("Add block: type a name\u2026")
        self.edit.setToolTip("Type part of a block's name; Up/Down choose, Enter adds, Esc closes")
        self.list = QListWidget()
        self.list.setToolTip("Blocks matching what you typed")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addWidget(self.edit)
        layout.addWidget(self.list)
        self.resize(260, 300)
        self.entries: list[tuple[str, str, str]] = []  # (label, payload, search text)
        self.edit.textChanged.connect(self._filter)
        self.edit.returnPressed.connect(self.accept)
        self.list.itemActivated.connect(lambda _item: self.accept())
        self.edit.installEventFilter(self)

    def open_at(self, global_pos, entries) -> None:
        self.entries = list(entries)
        self.edit.clear()
        self._filter("")
        self.move(global_pos)
        self.show()
        self.edit.setFocus()

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        self.list.clear()
        for label, payload, hay in self.entries:
            if all(w in hay for w in words):
                item = QListWidgetItem(label)
                item.setData(ROLE, payload)
                self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def eventFilter(self, obj, event):
        if obj is self.edit and event.type() == event.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                row = self.list.currentRow() + (1 if event.key() == Qt.Key.Key_Down else -1)
                self.list.setCurrentRow(max(0, min(self.list.count() - 1, row)))
                return True
        return super().eventFilter(obj, event)

    def accept(self) -> None:
        item = self.list.currentItem()
        self.hide()
        if item is not None:
            self.chosen.emit(item.data(ROLE))
