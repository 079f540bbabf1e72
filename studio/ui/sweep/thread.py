"""A sweep running off the UI thread: ``engine.sweep.run_sweep`` on a Python thread of its own,
its callbacks handed to the UI thread as Qt signals (queued, since they are emitted on the
sweep's thread), so the editor stays responsive while trials train in their processes.

Cancel sets a flag the engine asks between trials and while one trains (the running trial is
recorded stopped); ``join`` waits for the thread, and so for the trial's process and the spare
one the engine started, to end.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from studio.core.sweep import SweepError
from studio.engine.events import Progress, Started
from studio.engine.run_history import RunHistory
from studio.engine.run_writer import HISTORY_ERRORS

# What the dialog shows of a running trial; the other events (metrics, evaluations) stay on the
# sweep's thread, where the engine and the run history use them.
SHOWN_EVENTS = (Started, Progress)


class SweepThread(QObject):
    trial_event = Signal(int, object)  # (trial number, Started or Progress)
    trial_ended = Signal(object)  # engine.sweep.TrialResult
    ended = Signal(object, str)  # (SweepResult or None, the error that ended it or "")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.cancel_flag = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, project, space, history_path, options: dict) -> None:
        """Sweep ``project`` (a copy no edit reaches) over ``space`` (checked against it) with
        ``options``, the fields of an ``engine.sweep.SweepOptions``. The caller imports
        ``engine.sweep`` and Optuna first, on the UI thread (see ``SweepDialog.start``)."""
        self.cancel_flag.clear()
        self._thread = threading.Thread(
            target=self._run, args=(project, space, history_path, options),
            name="studio-sweep", daemon=False)
        self._thread.start()

    def cancel(self) -> None:
        self.cancel_flag.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the sweep to end; True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def _run(self, project, space, history_path, options: dict) -> None:
        from studio.engine.sweep import SweepOptions, SweepUnavailable, run_sweep

        try:
            with RunHistory(history_path) as history:
                result = run_sweep(project, space, history, SweepOptions(**options),
                                   cancelled=self.cancel_flag.is_set,
                                   on_trial=self.trial_ended.emit, on_event=self._event)
        except (SweepError, SweepUnavailable, *HISTORY_ERRORS) as err:
            self.ended.emit(None, str(err))
        except Exception as err:  # noqa: BLE001 - said in the dialog rather than lost on a thread
            self.ended.emit(None, f"the sweep failed: {type(err).__name__}: {err}")
        else:
            self.ended.emit(result, "")

    def _event(self, trial: int, event) -> None:
        if isinstance(event, SHOWN_EVENTS):
            self.trial_event.emit(trial, event)
