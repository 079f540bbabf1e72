"""Adding blocks to the graph in front: from the palette (activated: dropped in the middle of the
view), from the quick-add search (Tab, Edit > Add Block, the canvas's context menu, or a wire
let go on empty canvas, which offers only the blocks that take it and wires the chosen one),
and the canvas's context menu itself.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QMenu

from studio.core.registry import get_block
from studio.core.sweep import block_alternatives
from studio.ui.canvas.quick_add import QuickAdd


class BlockAdding(QObject):
    def __init__(self, tabs, editor, palette, actions, parent):
        super().__init__(parent)
        self.tabs, self.editor, self.palette, self.actions = tabs, editor, palette, actions
        self.popup = QuickAdd(parent)
        self.popup.chosen.connect(self._chosen)
        self._pending = None  # (view, scene point, wire, ports) while the popup is open
        palette.activated.connect(self.add_from_palette)
        tabs.quick_add_requested.connect(
            lambda pos, view, wire: self.open_quick_add(pos, view, wire))
        tabs.context_menu_requested.connect(self.context_menu)
        actions.on("add_block", self.open_quick_add)

    def add_from_palette(self, payload: str) -> None:
        view = self.tabs.view()
        center = view.mapToScene(view.viewport().rect().center())
        view.drop_block(payload, center)
        view.setFocus()

    def open_quick_add(self, scene_pos=None, view=None, wire=None) -> None:
        """The search popup at ``scene_pos`` (else the pointer). ``wire``: (node, output) of a
        wire let go there; only blocks that take it are offered, and the chosen one is wired."""
        view = view or self.tabs.view()
        if scene_pos is None:
            local = view.viewport().mapFromGlobal(QCursor.pos())
            if not view.viewport().rect().contains(local):
                local = view.viewport().rect().center()
            scene_pos = view.mapToScene(local)
        payloads, ports, header = self.palette.all_payloads(), None, ""
        if wire is not None:
            ports = self.editor.blocks_accepting(view.graph_key, wire[0], wire[1], payloads)
            payloads = [p for p in payloads if p in ports]
            header = f"Blocks that take {wire[0]}.{wire[1]}"
        self._pending = (view, scene_pos, wire, ports)
        where = view.viewport().mapToGlobal(view.mapFromScene(scene_pos))
        self.popup.open_at(where, payloads, header)

    def _chosen(self, payload: str) -> None:
        if self._pending is None:
            return
        view, pos, wire, ports = self._pending
        self._pending = None
        if wire is None:
            view.drop_block(payload, pos)
        else:
            view.add_wired(payload, pos, wire[0], wire[1], ports[payload])
        view.setFocus()

    def context_menu(self, view, point) -> None:
        a = self.actions
        menu = QMenu(self.parent())
        menu.setToolTipsVisible(True)
        scene_pos = view.mapToScene(point)
        node = view.scene().node_at(scene_pos)
        if node is not None and not node.isSelected():
            view.scene().select_nodes([node.node_id])
        add = menu.addAction("Add Block Here\u2026")
        add.setToolTip("Type a block's name to add it here")
        add.triggered.connect(lambda: self.open_quick_add(scene_pos, view))
        if node is not None:
            self._replace_menu(menu, view, node.node_id)
        menu.addSeparator()
        menu.addActions([a.cut, a.copy, a.paste, a.duplicate, a.linked_duplicate])
        menu.addSeparator()
        menu.addActions([a.delete, a.delete_reconnect])
        menu.addSeparator()
        menu.addActions([a.make_network, a.explode, a.align_left, a.align_top, a.auto_layout,
                         a.fit])
        menu.popup(view.viewport().mapToGlobal(point))

    def _replace_menu(self, menu: QMenu, view, node_id: str) -> QMenu:
        """Replace With: the blocks of the node's kind that take its wires (MaxPool2d for
        BlurPool2d, ReLU for GELU, Adam for SGD), each one undoable step keeping the node's
        id, wires and the parameters the new block has. Filled when it opens (trying each
        block costs a copy of the project)."""
        graph_key = view.graph_key
        sub = menu.addMenu("Replace &With")
        sub.setObjectName("replace_with_menu")
        sub.setToolTipsVisible(True)

        def fill() -> None:
            sub.clear()
            project = self.editor.session.project
            choices = [b for b in block_alternatives(project, graph_key, node_id)
                       if project.assignment is None or project.assignment.allows(b)]
            for block in choices:
                action = sub.addAction(block)
                action.setToolTip(get_block(block).help.split(". ")[0])
                action.triggered.connect(lambda _=False, b=block:
                                         self.editor.swap_block(graph_key, node_id, b))
            if not choices:
                sub.addAction("No other block of its kind takes its wires").setEnabled(False)

        sub.aboutToShow.connect(fill)
        return sub
