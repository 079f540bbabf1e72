"""Autosave and crash recovery in the window: nothing made is lost, even when Studio stops.

A timer writes the open project to its recovery file every minute while it has unsaved changes
(``studio.core.recovery``). At the next start the documents a crashed session left are offered
in a dialog: recover one (it opens modified, pointing at its original file), discard them, or
keep them for later.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
)

from studio.core import recovery
from studio.core.project import ProjectError

AUTOSAVE_MS = 60_000


class Autosave(QObject):
    """The window's autosave timer and its offer to recover after a crash."""

    def __init__(self, bench, interval_ms: int = AUTOSAVE_MS):
        super().__init__(bench.dialog_parent)
        self.bench = bench  # ui/workbench.py: what autosave may use of the window
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.autosave)
        self.timer.start()

    def autosave(self):
        """Write the recovery file when there are unsaved changes (the timer calls this)."""
        try:
            return recovery.autosave(self.bench.session.doc, self.bench.recovery_folder)
        except (OSError, ValueError) as err:
            self.bench.status(f"Autosave failed: {err}", 8000)
            return None

    def offer_recovery(self) -> bool:
        """At start-up: offer the documents a crashed session left; True if one was opened."""
        entries = recovery.pending(self.bench.recovery_folder)
        if not entries:
            return False
        dialog = RecoveryDialog(entries, self.bench.dialog_parent)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        for entry in dialog.discarded:
            recovery.discard(entry)
        if dialog.choice is None:
            return False
        return self.recover(dialog.choice)

    def recover(self, entry) -> bool:
        try:
            doc = recovery.recover(entry)
        except ProjectError as err:
            self.bench.show_error("Cannot recover", str(err))
            return False
        self.bench.set_document(doc)
        self.bench.status(f"Recovered {entry.title}; save it to keep it", 10000)
        return True


class RecoveryDialog(QDialog):
    """At start-up after a crash: recover a document, or discard the recovery files."""

    def __init__(self, entries, parent=None):
        super().__init__(parent)
        self.setObjectName("recovery_dialog")
        self.setWindowTitle("Recover unsaved work")
        self.entries = list(entries)
        self.choice = None
        self.discarded: list = []
        self.list = QListWidget()
        self.list.setToolTip("Documents that were open when Studio stopped unexpectedly")
        for entry in self.entries:
            text = entry.title + (f" (unreadable: {entry.error})" if entry.error else "")
            item = QListWidgetItem(text)
            item.setToolTip(str(entry.file))
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        buttons = QDialogButtonBox()
        self.recover_button = buttons.addButton("Recover", QDialogButtonBox.ButtonRole.AcceptRole)
        self.recover_button.setToolTip("Open the chosen document with its unsaved changes")
        self.discard_button = buttons.addButton("Discard All",
                                                QDialogButtonBox.ButtonRole.DestructiveRole)
        self.discard_button.setToolTip("Delete every recovery file listed")
        later = buttons.addButton("Not Now", QDialogButtonBox.ButtonRole.RejectRole)
        later.setToolTip("Keep the recovery files and start without them")
        self.recover_button.clicked.connect(self._recover)
        self.discard_button.clicked.connect(self._discard)
        later.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        label = QLabel("Studio stopped before these documents were saved. Recover one?")
        label.setWordWrap(True)
        layout.addWidget(label)
        layout.addWidget(self.list)
        layout.addWidget(buttons)
        self.resize(520, 260)

    def _recover(self):
        row = self.list.currentRow()
        if 0 <= row < len(self.entries) and not self.entries[row].error:
            self.choice = self.entries[row]
            self.accept()

    def _discard(self):
        self.discarded = list(self.entries)
        self.choice = None
        self.accept()
