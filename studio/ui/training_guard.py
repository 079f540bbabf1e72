"""What waits while a training run goes (the learning-rate finder, a sweep, the layer times):
both would share the processor with the run, and each would measure the other's slowness. They
follow the controller's state the same way, through ``while_training``; a Train menu command
that opens one dialog to measure is a ``DialogCommand``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDialog

from studio.ui import theme
from studio.ui.actions import command_action

TRAINING_GOING = "a training run is going: stop it first"


def side_run_config(bench):
    """The ``RunConfig`` of work run beside training in a training process of its own (a
    range test, a prediction, a receptive field): no pause at a NaN, and relative dataset
    paths read from the project's folder."""
    from studio.engine.runner import RunConfig  # brings torch along: only when asked

    path = bench.session.doc.path
    return RunConfig(pause_on_nan=False,
                     data_root=str(Path(path).resolve().parent) if path else None)


def start_beside_training(controller, owner, session, reason: str) -> None:
    """Start ``session`` in the spare training process (a new one when there is none); Train
    waits, saying ``reason``, until ``done_beside_training(controller, owner)``."""
    standby = controller.standby
    session.start(standby.take() if standby is not None else None)
    controller.occupy(owner, reason)


def done_beside_training(controller, owner) -> None:
    """``owner``'s session has ended: Train may go, and the next spare process is prepared so
    that the next Train (or work beside it) starts at once too."""
    controller.release(owner)
    if controller.standby is not None:
        controller.standby.prepare()


def while_training(controller, react: Callable[[bool], None]) -> None:
    """Call ``react(running)`` now and whenever the training state changes."""
    controller.state_changed.connect(lambda _state: react(controller.running))
    react(controller.running)


class DialogCommand(QObject):
    """A menu command that opens its one dialog (``make_dialog(bench)``: a dialog with
    ``running``, ``start()`` and ``stop()``) and starts its work unless it is going; disabled,
    saying why, while a training run goes."""

    def __init__(self, bench, text: str, name: str, tip: str, make_dialog: Callable):
        super().__init__(bench.dialog_parent)
        self.bench = bench
        self.tip = tip
        self.make_dialog = make_dialog
        self.dialog = None
        self.action = command_action(text, name, tip, self.open, bench.dialog_parent)
        while_training(bench.controller, self._training_changed)

    def _training_changed(self, running: bool) -> None:
        self.action.setEnabled(not running)
        self.action.setStatusTip("Stop the training run first" if running else self.tip)

    def open(self):
        """Show the dialog and start its work unless it is going."""
        if self.dialog is None:
            self.dialog = self.make_dialog(self.bench)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        if not self.dialog.running:
            self.dialog.start()
        return self.dialog

    def shutdown(self) -> None:
        if self.dialog is not None:
            self.dialog.stop()


class WorkDialog(QDialog):
    """A ``DialogCommand``'s dialog, whose work runs in a process of its own: its ``status``
    label says how it goes (in the error colour when it cannot), and closing it stops the
    work (``stop``, the subclass's)."""

    status = None  # the QLabel the subclass makes

    def _say(self, text: str, error: bool = False) -> None:
        colour = theme.current().error.name() if error else ""
        self.status.setStyleSheet(f"color: {colour}" if colour else "")
        self.status.setText(text)

    def closeEvent(self, event):  # noqa: N802 - Qt's name
        self.stop()
        super().closeEvent(event)
