"""A training session as the editor and the CLI see it: a worker process, controlled by
start / pause / resume / stop / watch, reporting a stream of events (``events.py``).

A reader thread drains the worker's pipe as fast as it sends, so a slow consumer never slows
training; unread events coalesce as ``events.py`` declares (the newest image wins) and every
metric point is kept.

The worker is not a daemon (its data loaders start processes of their own), so it is ended
here when the program exits without stopping it; and it ends itself if this process is killed.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

from studio.core.fileformat import dumps
from studio.core.project import Project
from studio.engine.events import (
    FIELD_COMMAND,
    PROBE_COMMAND,
    Error,
    Event,
    Finished,
    Pending,
    Started,
    WorkerJob,
    state_after,
)
from studio.engine.runner import RunConfig
from studio.engine.standby import Spare, end_worker, open_worker
from studio.engine.threads import usable_cores

STOP_GRACE_SECONDS = 1.0


def exit_reason(code: int | None) -> str:
    return f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"


class SessionBase:
    """What every kind of run shares with the window and the CLI: the events as they arrive
    (``events``, ``on_arrival``, ``observer``), the state they lead to, and the commands sent
    to the process that trains (pause, watch, probes, checkpoints); subclasses say how a
    command is sent (``_send``)."""

    def __init__(self):
        self.state = "idle"
        self.final: Finished | None = None
        self.started_at = None
        self._events = Pending()
        self._lock = threading.Condition()
        # Called (with no arguments, on the reader thread) after each batch of events arrives
        # and once when the worker has gone, so a UI can drain events when there are some
        # rather than poll; it must only hand the news over to its own thread.
        self.on_arrival: Callable[[], None] | None = None
        # Called with every event as it is read, before any coalescing, on the reader thread
        # (the app's run recording hands them to its writer thread); set before ``start``.
        self.observer: Callable[[Event], None] | None = None

    _over = False  # nothing more can arrive: waiting for events would only wait
    # How long a stop asked with ``request_stop`` may take before the caller ends the process
    # (None: the caller's own grace, a step and a checkpoint's time)
    stop_grace: float | None = None

    def _send(self, *command) -> None:
        raise NotImplementedError

    # commands ------------------------------------------------------------------------------------
    def pause(self) -> None:
        self._send("pause")

    def resume(self) -> None:
        self._send("resume")

    def watch(self, nodes) -> None:
        """Change the nodes whose activations are sent (keys like ``training/conv1``)."""
        self._send("watch", list(nodes))

    def choose_sample(self, index: int) -> None:
        self._send("sample", int(index))

    def request_probe(self, probe: str) -> None:
        """Run a probe (``events.PROBES``: previews, histograms, ...) at the next step."""
        self._send(PROBE_COMMAND, probe)

    def request_field(self, key: str, unit, sample: int) -> None:
        """Measure the receptive field of ``unit`` (channel, row, column) of node ``key`` on
        probe sample ``sample`` at the next step (``receptive_field.py``)."""
        self._send(FIELD_COMMAND, key, tuple(int(v) for v in unit), int(sample))

    def save_checkpoint(self, path) -> None:
        self._send("checkpoint", str(path))

    # events --------------------------------------------------------------------------------------
    def _announce(self) -> None:
        callback = self.on_arrival
        if callback is not None:
            try:
                callback()
            except Exception:  # noqa: BLE001 - a listener that went away must not stop reading
                self.on_arrival = None

    def _add(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, Started) and self.started_at is not None:
                event = dataclasses.replace(
                    event, startup_seconds=time.perf_counter() - self.started_at)
            elif isinstance(event, Finished):
                self.final = event
            self.state = state_after(self.state, event)
            self._events.put(event)
            self._lock.notify_all()
        observer = self.observer
        if observer is not None:
            observer(event)

    def events(self, timeout: float = 0.0) -> list:
        """Everything that arrived since the last call (waits up to ``timeout`` for the first)."""
        with self._lock:
            if not self._events and timeout and not self._over:
                self._lock.wait(timeout)
            return self._events.take()


class TrainingSession(SessionBase):
    """One run of a project in its own process."""

    def __init__(self, project: Project, config: RunConfig | None = None,
                 threads: int | None = None, range_test=None):
        super().__init__()
        self.project_text = dumps(project)  # data, not live objects, crosses the boundary
        self.config = config or RunConfig()
        self.range_test = range_test  # lr_finder.RangeTest: run the range test, not training
        self.threads = threads or usable_cores()
        self._process = None
        self._worker = None
        self._reader = None
        self._commands = None
        self._stopping = False

    # control -------------------------------------------------------------------------------------
    def start(self, spare: Spare | None = None) -> None:
        """Start training in ``spare`` (a process started ahead, see standby.py) or, without
        one, in a process started now."""
        if self.state != "idle":
            raise RuntimeError("a session starts once; make a new one to train again")
        worker = spare or self._open_worker()
        self.started_at = time.perf_counter()
        self._hand_job(worker)
        # Its finalizer ends the process when this session is dropped, or at exit before
        # multiprocessing joins its (non-daemon) children, which would otherwise wait for the
        # whole run to finish.
        self._worker = worker
        self._process = worker.process
        self._commands = worker.commands
        self._connection = worker.events
        self.state = "starting"
        self._reader = threading.Thread(target=self._read, name="studio-session", daemon=True)
        self._reader.start()

    def _open_worker(self):
        return open_worker()

    def _job(self):
        """What the worker gets (``events.WorkerJob``, as data): training, or the range test."""
        return self._worker_job().data

    def _worker_job(self, kind: str = "train", task=None) -> WorkerJob:
        if self.range_test is not None:
            kind, task = "range_test", self.range_test
        return WorkerJob(self.project_text, dataclasses.asdict(self.config), self.threads, kind,
                         dataclasses.asdict(task) if task is not None else None)

    def _hand_job(self, worker) -> None:
        worker.job.send(self._job())
        worker.job.close()

    def _send(self, *command) -> None:
        if self._commands is None or not self.alive:
            return
        try:
            self._commands.send(command)
        except (BrokenPipeError, OSError):
            pass

    def request_stop(self) -> None:
        """Ask the worker to stop after its current step, without waiting (the editor polls
        ``alive`` and calls ``stop`` if the worker does not end in time)."""
        self._stopping = True
        self._send("stop")

    def stop(self, timeout: float = STOP_GRACE_SECONDS) -> None:
        """Ask the worker to stop; after ``timeout`` seconds it is terminated, then killed."""
        if self._process is None:
            return
        self._stopping = True
        self._send("stop")
        self._process.join(timeout)
        end_worker(self._process, wait=1.0)
        self._worker.finalizer()  # the worker is gone: nothing is left for the exit to end
        if self._reader is not None:
            self._reader.join(2.0)
        if self.state not in ("finished", "failed"):
            self.state = "stopped"

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    @property
    def events_pending(self) -> bool:
        """Events may still come: some are queued, or the reader is still draining the pipe."""
        with self._lock:
            if self._events:
                return True
        return self._reader is not None and self._reader.is_alive()

    @property
    def pid(self):
        return self._process.pid if self._process is not None else None

    # events --------------------------------------------------------------------------------------
    def _read(self) -> None:
        finished = False
        while True:
            try:
                batch = self._connection.recv()
            except (EOFError, OSError):
                break
            for event in batch:
                finished = finished or isinstance(event, Finished)
                self._add(event)
            self._announce()
        if self._process is not None:
            self._process.join(5.0)
        code = self._process.exitcode if self._process is not None else None
        if not finished and not self._stopping and self.state not in ("failed", "stopped"):
            self._add(self._ended_early(code))
        with self._lock:
            self._lock.notify_all()
        self._announce()

    def _ended_early(self, code: int | None) -> Error:
        """What is said when the worker's events end with no ``finished``."""
        return Error("crash", f"the training process ended unexpectedly ({exit_reason(code)}); "
                              "the project and the plots so far are kept")

    def wait(self, timeout: float | None = None, collect: list | None = None) -> bool:
        """Wait until the worker ends (True) or ``timeout`` passes (False); events go to
        ``collect`` if given."""
        deadline = None if timeout is None else time.perf_counter() + timeout
        while True:
            batch = self.events(timeout=0.1)
            if collect is not None:
                collect.extend(batch)
            if not self.alive and (self._reader is None or not self._reader.is_alive()):
                if collect is not None:
                    collect.extend(self.events())
                return True
            if deadline is not None and time.perf_counter() > deadline:
                return False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
