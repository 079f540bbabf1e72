"""The "... Now" buttons of the views whose probes the time budget may skip: one asks the worker
to run that probe after the current step (``events.PROBE_COMMAND``), instead of waiting."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton


def probe_now_button(text: str, name: str, tip: str, probe: str, requested) -> QPushButton:
    """A button, disabled until a run can answer, that emits ``requested(probe)`` when clicked."""
    button = QPushButton(text)
    button.setObjectName(name)
    button.setToolTip(tip)
    button.clicked.connect(lambda: requested.emit(probe))
    button.setEnabled(False)
    return button
