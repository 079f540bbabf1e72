"""What a view of one probe's newest result shows around its plots: a message until the first
result, a one-line summary beside its "... Now" button, and a note saying when the next result
comes if the time budget skipped some. The Discriminator and Latent views are built on it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from studio.engine.events import ACTIVE_STATES
from studio.ui import theme
from studio.ui.dashboard.probe_button import probe_now_button


def one_line(name: str, dim: bool = False) -> QLabel:
    """A label cut where the dock is narrow: a wrapping one would make the dock's scroll area
    size the view by its preferred height and scroll the plots out of a short dock."""
    label = QLabel("")
    label.setObjectName(name)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    if dim:
        label.setStyleSheet(f"color: {theme.current().text_dim.name()};")
    return label


class ProbeFrame:
    """The frame of ``view`` (named ``prefix``_...) around ``content``; ``button`` is
    (text, tip) of the button that asks for ``probe`` now through ``view.probe_requested``."""

    def __init__(self, view: QWidget, prefix: str, content: QWidget, probe: str,
                 button: tuple, empty_text: str, waiting_text: str):
        self.probe = probe
        self.content = content
        self.empty_text, self.waiting_text = empty_text, waiting_text
        self.message = QLabel(empty_text)
        self.message.setObjectName(f"{prefix}_message")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {theme.current().text_dim.name()};")
        self.summary = one_line(f"{prefix}_summary")
        self.note = one_line(f"{prefix}_note", dim=True)
        self.request_button = probe_now_button(button[0], f"request_{prefix}", button[1], probe,
                                               view.probe_requested)
        head = QHBoxLayout()
        head.addWidget(self.summary, 1)
        head.addWidget(self.request_button)
        layout = QVBoxLayout(view)
        layout.addLayout(head)
        layout.addWidget(self.note)
        layout.addWidget(self.message, 1)
        layout.addWidget(content, 1)
        self.show(False)

    def show(self, drawn: bool) -> None:
        self.message.setVisible(not drawn)
        self.content.setVisible(drawn)
        self.summary.setVisible(drawn)

    def follow(self, run, drawn: bool) -> None:
        """The button, note and message for ``run``'s state; the plots shown if ``drawn``."""
        active = run is not None and run.state in ACTIVE_STATES
        self.request_button.setEnabled(active)
        note = run.next_probe_text(self.probe, "probe") if active else ""
        self.note.setText(note)
        self.note.setVisible(bool(note))
        self.message.setText(self.waiting_text if active else self.empty_text)
        self.show(drawn)
