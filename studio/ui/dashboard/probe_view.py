"""What every view of one probe's newest result shares (a decision boundary, a shift test, a
GAN's discriminator, a VAE's latent code, optimizer paths, normalization statistics): a line
saying what is shown, a message standing in for the plots until the first result, and, for a
probe the time budget may skip, a note saying when the next one comes and a button asking
for one now. A view says where its result is in a run (``newest``), how to draw it (``draw``)
and to clear it (``clear``); redrawing only when the result changed is done here."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from studio.engine.events import ACTIVE_STATES
from studio.ui import theme
from studio.ui.dashboard.probe_button import probe_now_button
from studio.ui.dashboard.store import RunStore


def one_line(name: str, dim: bool = False) -> QLabel:
    """A label cut where the dock is narrow: a wrapping one would make the dock's scroll area
    size the view by its preferred height and scroll the plots out of a short dock."""
    label = QLabel("")
    label.setObjectName(name)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    if dim:
        label.setStyleSheet(f"color: {theme.current().text_dim.name()};")
    return label


class ProbeView(QWidget):
    """``name`` prefixes the parts' object names (``<name>_message``, ``<name>_summary``,
    ``<name>_note``, ``request_<name>``); ``topics`` are the store's topics it redraws for;
    ``probe`` (with ``button``: its text and tip, and ``noun``: what the note calls one
    result) is the probe a "... Now" button asks for; None: no button and no note."""

    probe_requested = Signal(str)  # a probe to run now

    def __init__(self, store: RunStore, name: str, topics: set, empty: str, waiting: str = "",
                 probe: str | None = None, button: tuple = ("", ""), noun: str = "",
                 parent=None):
        super().__init__(parent)
        self.setObjectName(f"{name}_view")
        self.store = store
        self.topics = set(topics) | {"state", "all"}
        self.empty_text, self.waiting_text = empty, waiting or empty
        self.probe, self.noun = probe, noun
        self._run = None
        self._drawn = None  # the result on screen
        self.message = QLabel(empty)
        self.message.setObjectName(f"{name}_message")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {theme.current().text_dim.name()};")
        self.summary = one_line(f"{name}_summary")
        self.note = one_line(f"{name}_note", dim=True)  # when the next result comes, if the
        self.note.hide()  # time budget skipped some
        self.request_button = probe_now_button(button[0], f"request_{name}", button[1], probe,
                                               self.probe_requested) if probe else None
        self.body: QWidget | None = None

    def lay_out(self, body: QWidget) -> None:
        """The summary (and the button) over the note, the message and ``body``, the plots."""
        self.body = body
        head = QHBoxLayout()
        head.addWidget(self.summary, 1)
        if self.request_button is not None:
            head.addWidget(self.request_button)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.note)
        layout.addWidget(self.message, 1)
        layout.addWidget(body, 1)
        self._show(False)

    def _show(self, drawn: bool) -> None:
        self.message.setVisible(not drawn)
        self.body.setVisible(drawn)
        self.summary.setVisible(drawn)

    # what a view says -------------------------------------------------------------------------
    def newest(self, run):
        """The run's newest result for this view (None: none yet)."""
        raise NotImplementedError

    def draw(self, run, result) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------
    def refresh(self, topics: set) -> None:
        if not (topics & self.topics):
            return
        run = self.store.current
        result = self.newest(run) if run is not None else None
        again = "all" in topics or run is not self._run
        self._run = run
        if result is None:
            if self._drawn is not None or again:
                self.clear()
                self.summary.setText("")  # nothing said of a run that is gone
            self._drawn = None
        elif again or result is not self._drawn:
            self.draw(run, result)
            self._drawn = result
        active = run is not None and run.state in ACTIVE_STATES
        if self.request_button is not None:
            self.request_button.setEnabled(active)
            note = run.next_probe_text(self.probe, self.noun) if active else ""
            self.note.setText(note)
            self.note.setVisible(bool(note))
        self.message.setText(self.waiting_text if active else self.empty_text)
        self._show(result is not None)
