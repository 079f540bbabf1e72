"""Every command of the window as a QAction: text, standard shortcut, tooltip and status tip.

The menus, the toolbar and the canvas's context menu all show these same actions, so each one is
reachable from the keyboard and says what it does. The main window connects them. A part of the
window with a command of its own (Compare With File, Find Learning Rate, Sweep, the Runs panel's
buttons) makes it with ``command_action``, the same way.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QStyle

K = QKeySequence.StandardKey

# name: (text, shortcuts (standard keys or strings), tip, standard icon)
SPEC = {
    "new": ("&New\u2026", [K.New], "Start a new project from a template (classifier, GAN, VAE, "
            "blank)", "SP_FileIcon"),
    "open": ("&Open\u2026", [K.Open], "Open a .studio project file", "SP_DialogOpenButton"),
    "save": ("&Save", [K.Save], "Save the project (atomically: the old file stays intact until "
             "the new one is complete)", "SP_DialogSaveButton"),
    "save_as": ("Save &As\u2026", [K.SaveAs, "Ctrl+Shift+S"], "Save the project under a new name",
                None),
    "export_code": ("&Export PyTorch Code\u2026", ["Ctrl+E"], "Write model.py and train.py: "
                    "standalone PyTorch, exactly the code Studio trains", None),
    "export_onnx": ("Export &ONNX\u2026", [], "Export the model as an ONNX graph (needs torch and "
                    "onnx)", None),
    "quit": ("&Quit", [K.Quit, "Ctrl+Q"], "Close the window (asks about unsaved changes)", None),
    "undo": ("&Undo", [K.Undo], "Undo the last edit", "SP_ArrowBack"),
    "redo": ("&Redo", [K.Redo, "Ctrl+Shift+Z", "Ctrl+Y"], "Redo the edit just undone",
             "SP_ArrowForward"),
    "cut": ("Cu&t", [K.Cut], "Copy the selected nodes and delete them", None),
    "copy": ("&Copy", [K.Copy], "Copy the selected nodes and the wires between them", None),
    "paste": ("&Paste", [K.Paste], "Paste copied nodes (with their wires) next to the originals",
              None),
    "duplicate": ("&Duplicate", ["Ctrl+D"], "Copy and paste the selection in one step: new nodes "
                  "with their own weights", None),
    "linked_duplicate": ("&Linked Duplicate", ["Ctrl+Shift+D"], "A copy that calls the same "
                         "module: it shares the original's weights", None),
    "delete": ("De&lete", [K.Delete, "Backspace"], "Delete the selected nodes or wires (a node "
               "in a chain: offers to reconnect around it)", "SP_TrashIcon"),
    "delete_reconnect": ("Delete and &Reconnect", ["Shift+Delete"], "Delete the selected nodes "
                         "and wire their input straight to their outputs", None),
    "select_all": ("Select &All", [K.SelectAll], "Select every node of this graph", None),
    "add_block": ("&Add Block\u2026", ["Tab"], "Type a block's name to add it at the mouse "
                  "pointer (Tab on the canvas)", None),
    "make_network": ("&Make Network", ["Ctrl+G"], "Collapse the selection into a reusable network "
                     "(keeps every connection)", None),
    "explode": ("E&xplode Network", ["Ctrl+Shift+G"], "Replace the selected network instance by "
                "its contents", None),
    "new_network": ("&New Network\u2026", [], "Add an empty reusable network (Input to Output) in "
                    "a tab of its own", None),
    "rename_network": ("Re&name Network\u2026", [], "Rename the network shown (its instances "
                       "follow)", None),
    "remove_network": ("Remo&ve Network", [], "Delete the network shown (only when no instance "
                       "uses it)", None),
    "align_left": ("Align &Left", [], "Line the selected nodes up in one column", None),
    "align_top": ("Align &Top", [], "Line the selected nodes up in one row", None),
    "auto_layout": ("Auto-&Layout", ["Ctrl+L"], "Arrange this graph left to right by data flow",
                    None),
    "fit": ("&Fit to View", ["F"], "Zoom to show the whole graph", None),
    "zoom_in": ("Zoom &In", [K.ZoomIn, "Ctrl+="], "Zoom in on the canvas", None),
    "zoom_out": ("Zoom &Out", [K.ZoomOut], "Zoom out of the canvas", None),
    "zoom_reset": ("&Actual Size", ["Ctrl+0"], "Zoom to 100%", None),
    "snap": ("&Snap to Grid", ["Ctrl+'"], "Snap moved nodes to a 10-pixel grid", None),
    "reset_layout": ("&Reset Panels", [], "Put the palette, inspector, code and problems panels "
                     "back where they started", None),
    "shortcuts": ("&Keyboard Shortcuts", [K.HelpContents, "F1"], "List the keyboard shortcuts",
                  None),
    "about": ("&About Studio", [], "What Studio is", None),
}


def connect_command(action: QAction, slot) -> None:
    """Call ``slot()`` with no arguments when ``action`` is triggered. ``triggered`` carries
    the checked flag, and a slot with an optional first parameter would take that flag for its
    argument (Make Network once got ``False`` as the network's name), so every command action
    is connected here, never to ``triggered``."""
    action.triggered.connect(lambda _checked=False: slot())


def command_action(text: str, name: str, tip: str, slot, parent) -> QAction:
    """An action of one part of the window: its object name (for tests and the window's
    state), the tip as its tooltip and status-bar text, and ``slot()`` called when triggered
    (``connect_command``)."""
    action = QAction(text, parent)
    action.setObjectName(name)
    action.setToolTip(tip)
    action.setStatusTip(tip)
    connect_command(action, slot)
    return action


class Actions:
    """The window's actions by name: ``actions.save``, ``actions["undo"]``."""

    def __init__(self, parent):
        self._all: dict[str, QAction] = {}
        style = parent.style()
        for name, (text, keys, tip, icon) in SPEC.items():
            a = QAction(text, parent)
            a.setObjectName(f"action_{name}")
            seqs = []
            for k in keys:
                seqs += QKeySequence.keyBindings(k) if isinstance(k, QKeySequence.StandardKey) \
                    else [QKeySequence(k)]
            unique = []
            for s in seqs:
                if not s.isEmpty() and s not in unique:
                    unique.append(s)
            a.setShortcuts(unique)
            shown = f" ({unique[0].toString(QKeySequence.SequenceFormat.NativeText)})" \
                if unique else ""
            plain = text.replace("&", "").rstrip("\u2026")
            a.setToolTip(f"{plain}{shown}: {tip}")
            a.setStatusTip(tip)
            a.setWhatsThis(tip)
            if icon:
                a.setIcon(style.standardIcon(getattr(QStyle.StandardPixmap, icon)))
            self._all[name] = a
            setattr(self, name, a)
        self.snap.setCheckable(True)
        self.snap.setChecked(True)

    def on(self, name: str, slot) -> None:
        """Call ``slot()`` with no arguments when the action is triggered (menu, toolbar, shortcut,
        context menu; see ``connect_command``)."""
        connect_command(self._all[name], slot)

    def __getitem__(self, name: str) -> QAction:
        return self._all[name]

    def __iter__(self):
        return iter(self._all.values())

    def items(self):
        return self._all.items()
