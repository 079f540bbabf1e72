"""The Edit and Graph menus' commands on what is selected in the graph in front: delete (offering
to reconnect around a chain node), cut, copy and paste through the clipboard, duplicate, select
all, make and explode networks, add, rename and remove networks, align and auto-layout; and which
of them apply to the selection now (``update_actions``).

Each command is one edit through the ``Editor``, so one undo step; the dialogs that ask for a
name or a choice are here, the rules about what may be done are the editor's.
"""

from __future__ import annotations

import atexit

from PySide6.QtCore import QByteArray, QMimeData, QObject
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox

from studio.core.project import INSTANCE

CLIPBOARD_MIME = "application/x-studio-nodes"


class EditCommands(QObject):
    def __init__(self, tabs, editor, session, actions, status, parent):
        super().__init__(parent)
        self.tabs, self.editor, self.session, self.actions = tabs, editor, session, actions
        self.status = status  # (text, milliseconds): a message in the status bar
        self.dialog_parent = parent

    def connect_actions(self) -> None:
        a = self.actions
        a.on("cut", self.cut)
        a.on("copy", self.copy)
        a.on("paste", self.paste)
        a.on("duplicate", lambda: self.duplicate(False))
        a.on("linked_duplicate", lambda: self.duplicate(True))
        a.on("delete", lambda: self.delete_selection(ask=True))
        a.on("delete_reconnect", lambda: self.delete_selection(reconnect=True))
        a.on("select_all", self.select_all)
        a.on("make_network", self.make_network)
        a.on("explode", self.explode)
        a.on("new_network", self.new_network)
        a.on("rename_network", self.rename_network)
        a.on("remove_network", self.remove_network)
        a.on("align_left", lambda: self.align("left"))
        a.on("align_top", lambda: self.align("top"))
        a.on("auto_layout", self.auto_layout)

    def update_actions(self) -> None:
        """Undo and Redo say what they would undo; commands that need a selection (or a network
        in front) are enabled only when there is one."""
        a, doc = self.actions, self.session.doc
        a.undo.setEnabled(doc.can_undo)
        a.redo.setEnabled(doc.can_redo)
        a.undo.setText(f"&Undo {doc.undo_text}" if doc.can_undo else "&Undo")
        a.redo.setText(f"&Redo {doc.redo_text}" if doc.can_redo else "&Redo")
        a.undo.setIconText("Undo")  # the toolbar keeps a short label; the menu says what
        a.redo.setIconText("Redo")
        a.undo.setToolTip(f"Undo {doc.undo_text} (Ctrl+Z)" if doc.can_undo else "Nothing to undo")
        a.redo.setToolTip(f"Redo {doc.redo_text} (Ctrl+Shift+Z)" if doc.can_redo else
                          "Nothing to redo")
        ids = self.session.selection[1]
        has = bool(ids) or bool(self.tabs.views and self.tabs.scene().selected_wires())
        for act in (a.cut, a.copy, a.duplicate, a.linked_duplicate, a.make_network):
            act.setEnabled(bool(ids))
        a.delete.setEnabled(has)
        a.delete_reconnect.setEnabled(bool(ids))
        a.align_left.setEnabled(len(ids) > 1)
        a.align_top.setEnabled(len(ids) > 1)
        picked = self.session.selected_node
        a.explode.setEnabled(picked is not None and picked[1].block == INSTANCE)
        is_net = self.tabs.current_key() != "training"
        a.rename_network.setEnabled(is_net)
        a.remove_network.setEnabled(is_net)

    # the selection ----------------------------------------------------------------------------
    def selected(self) -> tuple[str, list[str]]:
        key = self.tabs.current_key()
        return key, self.tabs.scene(key).selected_ids()

    def _select(self, key: str, ids) -> None:
        if ids and key in self.tabs.views:
            self.tabs.scene(key).select_nodes(ids)

    def delete_selection(self, ask: bool = False, reconnect: bool = False) -> bool:
        key, ids = self.selected()
        if not ids:
            wires = self.tabs.scene(key).selected_wires()
            return self.editor.disconnect(key, [w.edge for w in wires]) if wires else False
        if ask and not reconnect and self.editor.can_reconnect(key, ids):
            answer = self.ask_reconnect(ids)
            if answer is None:
                return False
            reconnect = answer
        return self.editor.delete(key, ids, reconnect=reconnect)

    def ask_reconnect(self, ids) -> bool | None:
        """Offer to reconnect around deleted chain nodes: True, False, or None (cancel)."""
        box = QMessageBox(self.dialog_parent)
        box.setObjectName("reconnect_box")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Delete")
        what = ids[0] if len(ids) == 1 else f"these {len(ids)} nodes"
        box.setText(f"Reconnect the wires around {what}?")
        box.setInformativeText("Its input can be wired straight to what it fed, so the chain "
                               "stays connected.")
        yes = box.addButton("Delete and Reconnect", QMessageBox.ButtonRole.AcceptRole)
        no = box.addButton("Just Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(yes)
        box.exec()
        clicked = box.clickedButton()
        return True if clicked is yes else False if clicked is no else None

    # the clipboard ----------------------------------------------------------------------------
    def copy(self) -> bool:
        key, ids = self.selected()
        if not ids:
            return False
        text = self.editor.copy_data(key, ids)
        if text is None:
            return False
        mime = QMimeData()
        mime.setData(CLIPBOARD_MIME, QByteArray(text.encode("utf-8")))
        mime.setText(text)
        QGuiApplication.clipboard().setMimeData(mime)
        _release_clipboard_at_exit()
        self.status(f"Copied {len(ids)} node{'s' if len(ids) != 1 else ''}", 4000)
        return True

    def cut(self) -> bool:
        key, ids = self.selected()
        return self.copy() and self.editor.delete(key, ids)

    def paste(self) -> list[str]:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None:
            return []
        if mime.hasFormat(CLIPBOARD_MIME):
            text = bytes(mime.data(CLIPBOARD_MIME)).decode("utf-8", "replace")
        elif mime.hasText() and mime.text().lstrip().startswith("{"):
            text = mime.text()
        else:
            self.status("Nothing to paste: copy some nodes first", 5000)
            return []
        key = self.tabs.current_key()
        ids = self.editor.paste(key, text)
        self._select(key, ids)
        return ids

    def duplicate(self, linked: bool) -> list[str]:
        key, ids = self.selected()
        if not ids:
            return []
        new = self.editor.duplicate(key, ids, linked=linked)
        self._select(key, new)
        return new

    def select_all(self) -> None:
        scene = self.tabs.scene()
        scene.select_nodes(list(scene.nodes))

    # networks ---------------------------------------------------------------------------------
    def _ask_name(self, title: str, label: str, text: str) -> str | None:
        name, ok = QInputDialog.getText(self.dialog_parent, title, label, text=text)
        return name.strip() if ok and name.strip() else None

    def make_network(self, name: str | None = None) -> str | None:
        key, ids = self.selected()
        if not ids:
            return None
        if name is None:
            name = self._ask_name("Make Network", "Name of the new network:",
                                  self.editor.free_network_name())
            if name is None:
                return None
        instance = self.editor.make_network(key, ids, name.strip())
        if instance is not None and key in self.tabs.views:
            self.tabs.setCurrentWidget(self.tabs.views[key])
            self.tabs.scene(key).select_nodes([instance])
        return instance

    def explode(self) -> list[str]:
        key, ids = self.selected()
        if len(ids) != 1:
            return []
        new = self.editor.explode(key, ids[0])
        self._select(key, new)
        return new

    def new_network(self) -> str | None:
        name = self._ask_name("New Network", "Name of the network:",
                              self.editor.free_network_name("Network"))
        made = self.editor.add_network(name) if name else None
        if made:
            self.tabs.open_network(made)
        return made

    def rename_network(self) -> bool:
        key = self.tabs.current_key()
        if key == "training":
            return False
        name = self._ask_name("Rename Network", f"New name for {key}:", key)
        if name is None or name == key:
            return False
        done = self.editor.rename_network(key, name)
        if done:
            self.tabs.open_network(name)
        return done

    def remove_network(self) -> bool:
        key = self.tabs.current_key()
        return key != "training" and self.editor.remove_network(key)

    # arranging --------------------------------------------------------------------------------
    def align(self, how: str) -> bool:
        key, ids = self.selected()
        return self.editor.align(key, ids, how)

    def auto_layout(self) -> bool:
        key = self.tabs.current_key()
        done = self.editor.auto_layout(key)
        if done:
            self.tabs.view(key).fit_all()
        return done


_clipboard_guard = []


def _release_clipboard_at_exit() -> None:
    """Take our nodes off the clipboard before the interpreter exits: a QMimeData still on the
    clipboard while Qt and Python tear down crashes PySide on the way out."""
    if _clipboard_guard:
        return

    def release():
        app = QApplication.instance()
        if app is None:
            return
        clipboard = QGuiApplication.clipboard()
        mime = clipboard.mimeData()
        if mime is not None and mime.hasFormat(CLIPBOARD_MIME):
            clipboard.clear()

    atexit.register(release)
    _clipboard_guard.append(release)
