"""Records one training run into the run history, from the events the worker sends.

Whoever drives a run (``studio train``; the app's training controller) makes a recorder when it
starts the session, passes it every event it reads, calls ``flush_if_due`` now and then (its
polling loop or a timer) and ``close`` when the session is over::

    history = RunHistory.beside(project_path)
    recorder = RunRecorder(history, project, config)
    for event in session.events(timeout=0.2):
        recorder.record(event)
    recorder.flush_if_due()
    ...
    recorder.close()

Metric points are buffered and committed together at most ``FLUSH_SECONDS`` apart, so the
store costs one small transaction a second, whatever the step rate; a changed state (started,
a checkpoint, an error, finished) is committed at once. While nothing happens (paused) the
recorder still commits a heartbeat every ``HEARTBEAT_SECONDS``, which tells readers the writer
is alive: a run whose heartbeat stops reads as interrupted.

No torch and no Qt: each kind of event it keeps has a handler named after its ``type``.
"""

from __future__ import annotations

import math
import numbers
import platform
import time

from studio.core.fileformat import dumps
from studio.core.inference import analyze
from studio.core.project import Project
from studio.engine.events import Event
from studio.engine.run_history import FAILED, FINISHED, STOPPED, RunHistory

FLUSH_SECONDS = 1.0
HEARTBEAT_SECONDS = 5.0


def versions() -> dict:
    """Studio's, torch's and Python's versions, read without importing torch."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("studio", "torch"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found


def effective_settings(project: Project, config=None) -> dict:
    """The training settings a run uses: the project's, with what the run's configuration
    (``runner.RunConfig``, read by field name) overrides."""
    settings = dict(project.training.settings)
    if config is None:
        return settings
    for name in ("amp", "channels_last", "compile", "seed"):
        value = getattr(config, name, None)
        if value is not None:
            settings[name] = value
    if getattr(config, "device", "auto") != "auto":
        settings["device"] = config.device
    steps, epochs = getattr(config, "steps", None), getattr(config, "epochs", None)
    if steps or epochs is not None:  # the run's length replaces the project's
        settings["steps"] = steps or 0
        if epochs is not None:
            settings["epochs"] = epochs
    return settings


class RunRecorder:
    """One run's writer: begins the run in the history when made."""

    def __init__(self, history: RunHistory, project: Project, config=None, *,
                 name: str | None = None, clock=time.monotonic, sweep: int | None = None,
                 trial: int | None = None, trial_values: dict | None = None):
        """``sweep``, ``trial`` and ``trial_values`` mark a sweep's trial (``engine/sweep.py``)."""
        settings = effective_settings(project, config)
        analysis = analyze(project)
        self.history = history
        self.number = history.begin(
            project=project.name, text=dumps(project), settings=settings,
            seed=settings.get("seed"), versions=versions(), params=analysis.total_params,
            macs=analysis.total_macs, name=name, weights=getattr(config, "save_weights", None),
            sweep=sweep, trial=trial, trial_values=trial_values)
        self._clock = clock
        self._last_commit = clock()
        self._rows: list = []  # metric rows not yet committed
        self._fields: dict = {}  # run fields not yet committed
        self._error: str | None = None
        self.status: str | None = None  # set once the run has ended

    # feeding --------------------------------------------------------------------------------------
    def record(self, event: Event) -> None:
        """Take one event (``events.py``); commits when due (see the module's docstring)."""
        handler = getattr(self, f"_on_{event.type}", None)
        if handler is not None and self.status is None:
            handler(event)
        self.flush_if_due()

    def _on_started(self, event) -> None:
        self._fields.update(device=event.device, steps=event.step)
        self.flush()

    def _on_metrics(self, event) -> None:
        for point in event.points:
            step, epoch = point["step"], point.get("epoch")
            self._rows += [("train", name, step, epoch, _number(value))
                           for name, value in point.items()
                           if name not in ("step", "epoch") and _is_number(value)]
        if event.points and event.lr:
            last = event.points[-1]
            self._rows += [("lr", name, last["step"], last.get("epoch"), _number(value))
                           for name, value in event.lr.items() if _is_number(value)]

    def _on_progress(self, event) -> None:
        self._fields["steps"] = event.step

    def _on_evaluation(self, event) -> None:
        self._rows += [("eval", name, event.step, event.epoch, _number(value))
                       for name, value in event.metrics.items() if _is_number(value)]

    def _on_checkpoint(self, event) -> None:
        self._fields["checkpoint"] = event.path
        self.flush()

    def _on_error(self, event) -> None:
        if self._error is None:
            self._error = event.message
            self._fields["message"] = event.message

    def _on_finished(self, event) -> None:
        status = event.status if event.status in (FINISHED, STOPPED) else FAILED
        self._end(status, steps=event.steps, evaluation=dict(event.evaluation))

    # committing -----------------------------------------------------------------------------------
    def flush_if_due(self) -> None:
        """Commit what is buffered when a second has passed since the last commit, or a
        heartbeat when ``HEARTBEAT_SECONDS`` have."""
        if self.status is not None:
            return
        since = self._clock() - self._last_commit
        if since >= HEARTBEAT_SECONDS or (since >= FLUSH_SECONDS and (self._rows or self._fields)):
            self.flush()

    def flush(self) -> None:
        rows, self._rows = self._rows, []
        fields, self._fields = self._fields, {}
        self.history.write(self.number, rows, **fields)
        self._last_commit = self._clock()

    def close(self, status: str | None = None, message: str | None = None) -> None:
        """The session is over. A run that sent no ``finished`` ended as ``status`` (the caller
        knows: stopped by the user, pruned by a sweep, refused before it could start) or, when
        it reported an error or nothing, failed; ``message`` says why, where the events did
        not."""
        if self.status is None:
            if message is not None:
                self._error = self._fields["message"] = message
            self._end(status or FAILED)

    def _end(self, status: str, **fields) -> None:
        if status == FAILED and self._error is None:
            fields["message"] = "the run ended without saying why"
        self._fields.update(status=status, ended=time.time(), **fields)
        self.flush()
        self.status = status


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _number(value) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value
