"""Add a block by typing: Tab on the canvas, or a wire let go on empty canvas.

A search popup as node editors have it: type to filter by name, title, category or words of the
help; each entry shows the block's title, its category and its one-line help; Up/Down choose,
Enter adds, Esc cancels. Opened from a dropped wire it lists only the blocks with an input that
takes that wire (the editor asks the core), and says so in its header.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QVBoxLayout,
)

from studio.core.registry import get_block
from studio.ui.palette import parse_block_payload

ROLE = Qt.ItemDataRole.UserRole
ENTRY = Qt.ItemDataRole.UserRole + 1  # the Entry an item shows


@dataclass(frozen=True)
class Entry:
    """One block the popup offers: its palette payload and what is shown and searched."""

    payload: str
    name: str  # the block id or network name
    title: str
    category: str
    help: str

    @property
    def hay(self) -> str:
        return f"{self.name} {self.title} {self.category} {self.help}".lower()

    def rank(self, words) -> tuple:
        """Sort key: names and titles that start with what was typed first, then those
        containing it, then matches in the category or help only."""
        if not words:
            return (0,)
        first = words[0]
        names = (self.name.lower(), self.title.lower())
        if first in names:
            return (0, self.title.lower())
        if any(n.startswith(first) for n in names):
            return (1, self.title.lower())
        if any(first in n for n in names):
            return (2, self.title.lower())
        return (3, self.title.lower())


def entry(payload: str) -> Entry:
    block, network = parse_block_payload(payload)
    if network:
        return Entry(payload, network, network, "network",
                     f"An instance of the network {network}: its own weights, the shared "
                     "definition")
    spec = get_block(block)
    return Entry(payload, spec.id, spec.title, spec.category, spec.help)


class _EntryDelegate(QStyledItemDelegate):
    """Two lines an entry: the title in bold with the category beside it, then the help."""

    def sizeHint(self, option, index):
        m = QFontMetrics(option.font)
        return QSize(option.rect.width(), 2 * m.height() + 8)

    def paint(self, painter, option, index):
        e = index.data(ENTRY)
        if e is None:
            super().paint(painter, option, index)
            return
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter,
                            option.widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        pal = option.palette
        text = pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        dim = QColor(text)
        dim.setAlphaF(0.7)
        bold = QFont(option.font)
        bold.setBold(True)
        m, mb = QFontMetrics(option.font), QFontMetrics(bold)
        r = option.rect.adjusted(6, 4, -6, -4)
        top = QRect(r.left(), r.top(), r.width(), m.height())
        painter.save()
        painter.setFont(bold)
        painter.setPen(text)
        painter.drawText(top, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, e.title)
        painter.setFont(option.font)
        painter.setPen(dim)
        after = top.adjusted(mb.horizontalAdvance(e.title) + 10, 0, 0, 0)
        painter.drawText(after, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         e.category if e.name == e.title else f"{e.category} \u00b7 {e.name}")
        line = QRect(r.left(), r.top() + m.height(), r.width(), m.height())
        painter.drawText(line, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         m.elidedText(e.help, Qt.TextElideMode.ElideRight, r.width()))
        painter.restore()


class QuickAdd(QFrame):
    chosen = Signal(str)  # a palette payload
    cancelled = Signal()

    def __init__(self, parent=None):
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("quick_add")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("Search blocks: name, category or what it does\u2026")
        self.edit.setToolTip("Type words of a block's name, category or help; Up/Down choose, "
                             "Enter adds, Esc closes")
        self.list = QListWidget()
        self.list.setToolTip("Blocks matching what you typed")
        self.list.setWordWrap(False)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setItemDelegate(_EntryDelegate(self.list))
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.header)
        layout.addWidget(self.edit)
        layout.addWidget(self.list)
        self.resize(420, 380)
        self.entries: list[Entry] = []
        self._done = False
        self.edit.textChanged.connect(self._filter)
        self.edit.returnPressed.connect(self.accept)
        self.list.itemActivated.connect(lambda _item: self.accept())
        self.edit.installEventFilter(self)

    def open_at(self, global_pos, payloads, header: str = "") -> None:
        """Show the popup at ``global_pos`` offering ``payloads`` (palette payloads)."""
        self.entries = [entry(p) for p in payloads]
        self.header.setText(header)
        self.header.setVisible(bool(header))
        self.edit.clear()
        self._filter("")
        self._done = False
        screen = self.screen().availableGeometry() if self.screen() else None
        at = global_pos
        if screen is not None:
            at.setX(max(screen.left(), min(at.x(), screen.right() - self.width())))
            at.setY(max(screen.top(), min(at.y(), screen.bottom() - self.height())))
        self.move(at)
        self.show()
        self.edit.setFocus()

    def shown(self) -> list[str]:
        """The payloads listed now, in order."""
        return [self.list.item(i).data(ROLE) for i in range(self.list.count())]

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        self.list.clear()
        found = [e for e in self.entries if all(w in e.hay for w in words)]
        for e in sorted(found, key=lambda e: e.rank(words)) if words else found:
            item = QListWidgetItem(f"{e.title}   \u00b7 {e.category}\n{e.help}")
            item.setData(ROLE, e.payload)
            item.setData(ENTRY, e)
            item.setToolTip(f"<b>{e.title}</b> ({e.name}), {e.category}<br>{e.help}")
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def eventFilter(self, obj, event):
        if obj is self.edit and event.type() == event.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                row = self.list.currentRow() + (1 if event.key() == Qt.Key.Key_Down else -1)
                self.list.setCurrentRow(max(0, min(self.list.count() - 1, row)))
                return True
            if event.key() == Qt.Key.Key_Escape:
                self.hide()
                return True
        return super().eventFilter(obj, event)

    def accept(self) -> None:
        item = self.list.currentItem()
        self._done = True
        self.hide()
        if item is not None:
            self.chosen.emit(item.data(ROLE))
        else:
            self.cancelled.emit()

    def hideEvent(self, event):
        if not self._done:  # Esc, or a click elsewhere
            self._done = True
            self.cancelled.emit()
        super().hideEvent(event)
