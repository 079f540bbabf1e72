"""Help as a user reaches it: every shortcut listed as typed (training keys included, no
platform aliases), the user guide with its pictures, the block reference written from the
declarations and searchable, and a theme switch that is remembered."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QPalette
from PySide6.QtWidgets import QApplication

from studio.core.registry import all_blocks
from studio.ui import theme
from studio.ui.help import guide_path, shortcut_text
from studio.ui.testing import open_window


def test_shortcuts_list_every_key_as_typed_with_the_training_keys(window, qtbot):
    window.actions.shortcuts.trigger()
    dialog = window.help.dialogs["shortcuts"]
    qtbot.waitExposed(dialog)
    rows = {(keys, command) for keys, command, _menu in dialog.rows()}
    commands = {command: keys for keys, command in rows}
    panel = window.dashboard.panel
    for action, key in [(panel.train_action, "F5"), (panel.pause_action, "F6"),
                        (panel.stop_action, "Shift+F5"), (panel.continue_action, "Ctrl+F5")]:
        text = action.text().replace("&", "").rstrip("\u2026")
        assert key in commands[text].split(", "), (text, commands[text])
    assert commands["Undo"].split(", ")[0] == "Ctrl+Z"
    every_key = ", ".join(keys for keys, _ in rows)
    assert not re.search(r"\bF(1[3-9]|2\d|3[0-5])\b", every_key)  # no F13-F35 aliases
    for alias in ("Undo", "Redo", "Copy", "Paste", "Cut", "Help"):
        assert alias not in every_key.split(", ")
    assert commands["Keyboard Shortcuts"].startswith("F1")
    dialog.search.setText("train")
    assert dialog.rows() and all("train" in " ".join(r).lower() for r in dialog.rows())


def test_platform_aliases_of_standard_keys_are_left_out(qtbot):
    action = QAction("Undo")
    action.setShortcuts([QKeySequence("Ctrl+Z"), QKeySequence(Qt.Key.Key_F14),
                         QKeySequence(Qt.Key.Key_Undo), QKeySequence("Ctrl+Z")])
    assert shortcut_text(action) == "Ctrl+Z"


def test_the_user_guide_opens_from_help_with_its_pictures(window, qtbot):
    window.help.guide_action.trigger()
    dialog = window.help.dialogs["guide"]
    qtbot.waitExposed(dialog)
    text = dialog.browser.toPlainText()
    for section in ("The window", "Building a network", "Training", "Reading the plots",
                    "Curves", "Feature maps", "Gradients", "Samples", "Classifier"):
        assert section in text
    for panel in ("Inspector", "Problems", "Training panel", "Code"):
        assert panel in text
    html = guide_path().read_text(encoding="utf-8")
    pictures = re.findall(r'<img src="([^"]+)"', html)
    assert len(pictures) >= 4
    for src in pictures:
        assert (guide_path().parent / src).resolve().is_file(), src
        image = dialog.browser.loadResource(2, dialog.browser.source().resolved(src))
        assert image is not None and not image.isNull(), src  # the browser finds it too
    dialog.search.setText("confusion matrix")
    assert dialog.find_next()
    assert "confusion matrix" in dialog.browser.textCursor().selectedText().lower()


def test_the_block_reference_is_written_from_the_declarations(window, qtbot):
    window.help.reference_action.trigger()
    dialog = window.help.dialogs["blocks"]
    qtbot.waitExposed(dialog)
    text = dialog.browser.toPlainText()
    specs = all_blocks()
    for spec in specs:
        assert spec.id in text and spec.help.split()[0] in text
    assert dialog.status.text() == f"{len(specs)} blocks"
    conv = next(s for s in specs if s.id == "Conv2d")
    for prm in conv.params:
        assert prm.title in text and prm.help in text
    # searchable: a parameter's name finds the blocks that have it
    count = dialog.show_matching("kernel_size")
    shown = dialog.browser.toPlainText()
    having = [s.id for s in specs if "kernel_size" in " ".join(p.name for p in s.params)]
    assert count >= len(having) and count < len(specs)
    assert all(block in shown for block in having)
    assert dialog.show_matching("no such block anywhere") == 0
    assert "No block mentions" in dialog.browser.toPlainText()


def test_the_theme_switch_is_applied_and_remembered(window, qtbot, tmp_path):
    menu = window.help.theme_menu
    assert menu.choices["system"].isChecked()
    try:
        menu.choices["dark"].trigger()
        assert theme.current().dark
        window_colour = QApplication.instance().palette().color(QPalette.ColorRole.Window)
        assert window_colour.lightness() < 128
        assert window.settings.value("view/theme") == "dark"
        menu.choices["light"].trigger()
        assert not theme.current().dark
        assert QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness() > 128
        # the next start uses the remembered choice
        window.help.theme_menu.choose("dark")
        window.settings.sync()
        later = open_window(qtbot, tmp_path)
        assert later.help.theme_menu.choices["dark"].isChecked()
        assert theme.preference() == "dark" and theme.current().dark
        view_menu = next(a.menu() for a in later.menuBar().actions()
                         if a.text().replace("&", "") == "View")
        assert later.help.theme_menu.menuAction() in view_menu.actions()
    finally:
        menu.choose("system")
    assert theme.preference() == "system"


def test_the_guide_ships_inside_the_package_resources():
    assert guide_path().is_file()
    assert Path(guide_path()).parent.name == "guide"
