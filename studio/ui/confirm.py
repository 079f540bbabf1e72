"""The one way the window asks Yes or Cancel before something is lost or stopped (a training run
or a sweep stopped, exported files replaced, runs deleted): a modal question whose object name
tests and scripts answer by."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox


def confirm(parent, title: str, text: str, name: str, *, detail: str | None = None,
            warning: bool = False, cancel_by_default: bool = False) -> bool:
    """True when the user answers Yes; ``name`` is the box's object name."""
    yes, cancel = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.Cancel
    icon = QMessageBox.Icon.Warning if warning else QMessageBox.Icon.Question
    box = QMessageBox(icon, title, text, yes | cancel, parent)
    box.setObjectName(name)
    if detail:
        box.setInformativeText(detail)
    if cancel_by_default:
        box.setDefaultButton(cancel)
    return box.exec() == yes
