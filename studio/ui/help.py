"""The Help menu: keyboard shortcuts, the user guide and the block reference, and the theme switch
of the View menu.

The shortcuts are read from the window's menus, so every command with a key is listed (training
ones too) as the user would press it: platform aliases that no PC keyboard has (F14 for Undo,
the "Undo" media key) are left out. The guide is a document shipped in ``resources/guide``. The
block reference is written from the block declarations themselves, the same ones the palette
and the inspector read, so it cannot fall behind them.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
)

from studio.core import package_files
from studio.ui import theme

K = Qt.Key
# keys every PC keyboard has; anything else bound by a standard key (F13-F35, Undo, Copy, Help,
# Open...) is a platform alias
_NAMED_KEYS = {K.Key_Tab, K.Key_Backtab, K.Key_Backspace, K.Key_Return, K.Key_Enter,
               K.Key_Insert, K.Key_Delete, K.Key_Home, K.Key_End, K.Key_PageUp, K.Key_PageDown,
               K.Key_Left, K.Key_Right, K.Key_Up, K.Key_Down, K.Key_Escape, K.Key_Space}
_F_KEYS = {getattr(K, f"Key_F{i}") for i in range(1, 13)}

GESTURES = [("Wheel", "Zoom the canvas"), ("Middle-drag, Space+drag", "Pan the canvas"),
            ("Drag from a port", "Wire it (drop on empty canvas to add a block there)"),
            ("Double-click a network", "Open it in its tab")]


def portable(sequence: QKeySequence) -> bool:
    """Whether every key of ``sequence`` is on an ordinary PC keyboard."""
    if sequence.isEmpty():
        return False
    for i in range(sequence.count()):
        key = sequence[i].key()
        if not (0x20 <= key.value <= 0x7E or key in _NAMED_KEYS or key in _F_KEYS):
            return False
    return True


def shortcut_text(action: QAction) -> str:
    """An action's shortcuts as the user types them ("Ctrl+Shift+Z, Ctrl+Y"), aliases left out."""
    shown = []
    for seq in action.shortcuts():
        if portable(seq):
            text = seq.toString(QKeySequence.SequenceFormat.NativeText)
            if text not in shown:
                shown.append(text)
    return ", ".join(shown)


def shortcut_rows(menubar) -> list[tuple[str, str, str]]:
    """(keys, command, menu) for every action with a key in the window's menus, in menu order."""
    rows, seen = [], set()

    def walk(menu: QMenu, path: str) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu(), f"{path} > {action.menu().title().replace('&', '')}")
                continue
            keys = shortcut_text(action)
            if keys and id(action) not in seen:
                seen.add(id(action))
                text = action.text().replace("&", "").rstrip("\u2026")
                rows.append((keys, text, path))

    for action in menubar.actions():
        if action.menu() is not None:
            walk(action.menu(), action.menu().title().replace("&", ""))
    return rows


class ShortcutsDialog(QDialog):
    """Help > Keyboard Shortcuts: a table of every key, searchable."""

    def __init__(self, menubar, parent=None):
        super().__init__(parent)
        self.setObjectName("shortcuts_dialog")
        self.setWindowTitle("Keyboard Shortcuts")
        rows = shortcut_rows(menubar) + [(g, text, "Canvas") for g, text in GESTURES]
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter: a command or a key")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.table = QTableWidget(len(rows), 3)
        self.table.setObjectName("shortcuts_table")
        self.table.setHorizontalHeaderLabels(["Keys", "Command", "Menu"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(640, 560)

    def rows(self) -> list[tuple[str, str, str]]:
        """The rows shown now (for tests and for reading)."""
        return [tuple(self.table.item(r, c).text() for c in range(3))
                for r in range(self.table.rowCount()) if not self.table.isRowHidden(r)]

    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        for r in range(self.table.rowCount()):
            hay = " ".join(self.table.item(r, c).text().lower() for c in range(3))
            self.table.setRowHidden(r, bool(needle) and needle not in hay)


class DocumentDialog(QDialog):
    """A non-modal reading window: a QTextBrowser with links, and a search field."""

    def __init__(self, title: str, name: str, parent=None):
        super().__init__(parent)
        self.setObjectName(name)
        self.setWindowTitle(title)
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.search = QLineEdit()
        self.search.setClearButtonEnabled(True)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.status = QLabel()
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.browser, 1)
        layout.addWidget(self.status)
        self.resize(860, 700)


def guide_path():
    return package_files.resource("guide", "index.html")


class GuideDialog(DocumentDialog):
    """Help > User Guide: what each panel means, how to build, train and read the plots."""

    def __init__(self, parent=None):
        super().__init__("Studio User Guide", "guide_dialog", parent)
        self.search.setPlaceholderText("Find in the guide (Enter: next)")
        self.search.returnPressed.connect(self.find_next)
        self.browser.setSource(QUrl.fromLocalFile(str(guide_path())))

    def find_next(self) -> bool:
        text = self.search.text().strip()
        if not text:
            return False
        found = self.browser.find(text)
        if not found:  # wrap around to the top
            cursor = self.browser.textCursor()
            cursor.movePosition(cursor.MoveOperation.Start)
            self.browser.setTextCursor(cursor)
            found = self.browser.find(text)
        self.status.setText("" if found else f"\u201c{text}\u201d is not in the guide")
        return found


def block_reference_html(query: str = "") -> tuple[str, int]:
    """The block reference as HTML, from the declarations: the blocks whose name, category,
    help, explanation or parameters mention ``query`` (all when empty); and how many."""
    from studio.core.registry import CATEGORIES, Values, all_blocks

    needle = query.strip().lower()
    parts, count = [], 0
    for category in CATEGORIES:
        blocks = [s for s in all_blocks() if s.category == category]
        shown = [s for s in blocks if not needle or needle in _block_text(s)]
        if not shown:
            continue
        parts.append(f"<h2>{html.escape(category.capitalize())}</h2>")
        for spec in shown:
            count += 1
            parts.append(_block_html(spec, Values(spec.defaults())))
    if not count:
        parts.append(f"<p>No block mentions \u201c{html.escape(query)}\u201d.</p>")
    return "".join(parts), count


def _block_text(spec) -> str:
    words = [spec.id, spec.title, spec.category, spec.help, spec.explanation]
    for p in spec.params:
        words += [p.name, p.title, p.help]
    return " ".join(words).lower()


def _ports(ports) -> str:
    if not ports:
        return "none"
    return ", ".join(f"<code>{html.escape(p.name)}</code>" + (" (optional)" if p.optional else "")
                     + (" (several wires)" if p.multi else "")
                     + (f": {html.escape(p.help)}" if p.help else "") for p in ports)


def _block_html(spec, values) -> str:
    e = html.escape
    title = f" \u2014 {e(spec.title)}" if spec.title and spec.title != spec.id else ""
    out = [f"<h3><a name='{e(spec.id)}'></a>{e(spec.id)}{title}</h3>",
           f"<p><b>{e(spec.help)}</b></p>"]
    if spec.explanation:
        out.append(f"<p>{e(spec.explanation)}</p>")
    out.append(f"<p><b>Inputs:</b> {_ports(spec.input_ports(values))}<br>"
               f"<b>Outputs:</b> {_ports(spec.output_ports(values))}</p>")
    if spec.params:
        rows = ["<tr><th align=left>Parameter</th><th align=left>Default</th>"
                "<th align=left>What it does</th></tr>"]
        for p in spec.params:
            when = f" <i>(only when {e(p.applies.describe())})</i>" if p.applies else ""
            rows.append(f"<tr><td><b>{e(p.title)}</b><br><code>{e(p.name)}</code></td>"
                        f"<td><code>{e(repr(p.default))}</code></td>"
                        f"<td>{e(p.help)}{when}<br><small>{e(p.kind.describe())}</small></td></tr>")
        out.append(f"<table cellspacing=0 cellpadding=4 border=1>{''.join(rows)}</table>")
    return "".join(out)


class BlockReferenceDialog(DocumentDialog):
    """Help > Block Reference: every block's ports, parameters and explanation, searchable."""

    def __init__(self, parent=None):
        super().__init__("Block Reference", "block_reference_dialog", parent)
        self.search.setPlaceholderText("Search blocks: a name, a category, a parameter")
        self.search.textChanged.connect(self.show_matching)
        self.show_matching("")

    def show_matching(self, query: str) -> int:
        text, count = block_reference_html(query)
        self.browser.setHtml(text)
        self.status.setText(f"{count} block{'s' if count != 1 else ''}")
        return count


THEMES = {"system": "&System", "light": "&Light", "dark": "&Dark"}
THEME_KEY = "view/theme"


def theme_choice(settings: QSettings) -> str:
    value = str(settings.value(THEME_KEY, "system") or "system")
    return value if value in THEMES else "system"


def apply_theme_choice(choice: str) -> None:
    """Set the application's palette for "system", "light" or "dark" (and keep to it when the
    system's scheme changes)."""
    theme.set_preference(choice)
    app = QApplication.instance()
    if app is not None:
        theme.apply_theme(app)


class ThemeMenu(QMenu):
    """View > Theme: System, Light or Dark, remembered in the settings."""

    def __init__(self, settings: QSettings, on_change, parent=None):
        super().__init__("&Theme", parent)
        self.setObjectName("theme_menu")
        self.settings = settings
        self.on_change = on_change
        self.group = QActionGroup(self)
        self.group.setExclusive(True)
        self.choices: dict[str, QAction] = {}
        current = theme_choice(settings)
        for name, text in THEMES.items():
            action = self.addAction(text)
            action.setObjectName(f"theme_{name}")
            action.setCheckable(True)
            action.setChecked(name == current)
            tip = "Follow the system's light or dark setting" if name == "system" else \
                f"Always use the {name} colours"
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(lambda _=False, n=name: self.choose(n))
            self.group.addAction(action)
            self.choices[name] = action

    def choose(self, name: str) -> None:
        self.settings.setValue(THEME_KEY, name)
        self.choices[name].setChecked(True)
        apply_theme_choice(name)
        self.on_change()


class Help:
    """The window's Help menu and View > Theme, with the dialogs they open (one of each)."""

    def __init__(self, window):
        self.window = window
        self.dialogs: dict[str, QDialog] = {}
        self.theme_menu = ThemeMenu(window.settings, window.apply_theme, window)
        if theme_choice(window.settings) != theme.preference():
            apply_theme_choice(theme_choice(window.settings))

    def fill_menu(self, menu: QMenu) -> None:
        guide = menu.addAction("&User Guide")
        guide.setObjectName("action_user_guide")
        guide.setToolTip("How to build a network, train it and read each plot, with pictures")
        guide.setStatusTip(guide.toolTip())
        guide.triggered.connect(lambda _=False: self.show("guide"))
        reference = menu.addAction("&Block Reference")
        reference.setObjectName("action_block_reference")
        reference.setToolTip("Every block's ports, parameters and defaults, searchable")
        reference.setStatusTip(reference.toolTip())
        reference.triggered.connect(lambda _=False: self.show("blocks"))
        self.guide_action, self.reference_action = guide, reference

    def show(self, which: str) -> QDialog:
        dialog = self.dialogs.get(which)
        if dialog is None:
            make = {"guide": GuideDialog, "blocks": BlockReferenceDialog,
                    "shortcuts": lambda parent: ShortcutsDialog(self.window.menuBar(), parent)}
            dialog = self.dialogs[which] = make[which](self.window)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def show_shortcuts(self) -> QDialog:
        self.dialogs.pop("shortcuts", None)  # read the menus afresh: actions change text
        return self.show("shortcuts")
