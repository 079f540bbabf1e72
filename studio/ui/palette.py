"""The block palette: every block that can go in the current graph, grouped by category and
searchable. Drag one onto the canvas, or press Enter / double-click to add it at the view's
centre. The project's networks are listed too: dropping one places an instance."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from studio.core.project import INSTANCE
from studio.core.registry import CATEGORIES, all_blocks

BLOCK_MIME = "application/x-studio-block"
NETWORK_PREFIX = "network:"
ROLE = Qt.ItemDataRole.UserRole


def block_payload(block: str | None = None, network: str | None = None) -> str:
    return NETWORK_PREFIX + network if network else str(block)


def parse_block_payload(payload: str) -> tuple[str, str | None]:
    """(block id, network name or None) from a drag payload."""
    if payload.startswith(NETWORK_PREFIX):
        return INSTANCE, payload[len(NETWORK_PREFIX):]
    return payload, None


class _Tree(QTreeWidget):
    def startDrag(self, actions):
        item = self.currentItem()
        payload = item.data(0, ROLE) if item is not None else None
        if not payload:
            return
        mime = QMimeData()
        mime.setData(BLOCK_MIME, payload.encode("utf-8"))
        mime.setText(payload)
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.exec(Qt.DropAction.CopyAction)


class Palette(QWidget):
    activated = Signal(str)  # a payload: add this block at the view's centre

    def __init__(self, parent=None):
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search blocks\u2026")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Type to filter the blocks by name, category or description; "
                               "Down moves into the list, Enter adds the block")
        self.tree = _Tree()
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setRootIsDecorated(True)
        self.tree.setIndentation(12)
        self.tree.setUniformRowHeights(True)
        self.tree.setToolTip("Drag a block onto the canvas, or press Enter to add it at the centre")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._activate_first)
        self.tree.itemActivated.connect(self._activated)
        self._kind = "training"
        self._networks: list[str] = []
        self._allowed = None  # which block types may be added (an assignment's palette)
        self.populate("training", [])

    def keyPressEvent(self, event):
        if event.key() == Qt.Key.Key_Down and self.search.hasFocus():
            self.tree.setFocus()
            first = self._visible_leaves()
            if first:
                self.tree.setCurrentItem(first[0])
            return
        super().keyPressEvent(event)

    def set_allowed(self, allowed) -> None:
        """Show only the blocks ``allowed(block id)`` accepts (None: all): an assignment's
        restricted palette, which quick add offers too (``all_payloads``)."""
        self._allowed = allowed
        self.populate(self._kind, self._networks)

    def populate(self, kind: str, networks) -> None:
        """Show the blocks placeable in a graph of ``kind`` ("training" or "network")."""
        self._kind, self._networks = kind, list(networks)
        self.tree.clear()
        groups = {}
        for spec in all_blocks():
            if kind not in spec.where or spec.id == INSTANCE or \
                    self._allowed is not None and not self._allowed(spec.id):
                continue
            groups.setdefault(spec.category, []).append(spec)
        for category in CATEGORIES:
            specs = groups.get(category)
            if not specs:
                continue
            top = QTreeWidgetItem([category.capitalize()])
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            top.setToolTip(0, f"{len(specs)} {category} blocks")
            self.tree.addTopLevelItem(top)
            for spec in specs:
                label = spec.title if spec.title == spec.id else f"{spec.title}"
                item = QTreeWidgetItem([label])
                item.setData(0, ROLE, block_payload(spec.id))
                item.setToolTip(0, f"<b>{spec.title}</b> ({spec.id})<br>{spec.help}")
                item.setData(0, ROLE + 1, f"{spec.id} {spec.title} {category} {spec.help}".lower())
                top.addChild(item)
        if self._networks:
            top = QTreeWidgetItem(["Networks"])
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            top.setToolTip(0, "Reusable networks of this project: drop one to place an instance")
            self.tree.addTopLevelItem(top)
            for name in self._networks:
                item = QTreeWidgetItem([name])
                item.setData(0, ROLE, block_payload(network=name))
                item.setToolTip(0, f"An instance of the network <b>{name}</b>: its own weights, "
                                   "the shared definition")
                item.setData(0, ROLE + 1, f"{name} network instance".lower())
                top.addChild(item)
        self.tree.expandAll()
        self._filter(self.search.text())

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            shown = 0
            for j in range(top.childCount()):
                child = top.child(j)
                hay = child.data(0, ROLE + 1) or ""
                hide = bool(words) and not all(w in hay for w in words)
                child.setHidden(hide)
                shown += not hide
            top.setHidden(shown == 0)

    def _visible_leaves(self):
        out = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            if top.isHidden():
                continue
            out += [top.child(j) for j in range(top.childCount()) if not top.child(j).isHidden()]
        return out

    def payloads(self) -> list[str]:
        """The payloads the search shows now."""
        return [item.data(0, ROLE) for item in self._visible_leaves()]

    def all_payloads(self) -> list[str]:
        """Every payload placeable in the current graph, whatever the search shows."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            out += [top.child(j).data(0, ROLE) for j in range(top.childCount())]
        return out

    def _activate_first(self) -> None:
        leaves = self._visible_leaves()
        if leaves:
            self.activated.emit(leaves[0].data(0, ROLE))

    def _activated(self, item, _column) -> None:
        payload = item.data(0, ROLE)
        if payload:
            self.activated.emit(payload)
