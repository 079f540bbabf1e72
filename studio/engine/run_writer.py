"""Recording a run without ever stopping or slowing its trainer.

``KeptRecording`` wraps a ``RunRecorder`` so that a history that cannot be written (a read-only
folder, a full disk) is said once and the rest of the run goes unrecorded, rather than ending
the run: ``studio train`` and the app both use it.

``RunWriter`` records one run on a thread of its own, for the app: every commit is on disk
before it returns (``synchronous=FULL``, ~26 ms on a laptop disk), which the window's thread
must not wait for. The session's reader thread hands it each event as read
(``TrainingSession.observer``); the writer opens the history, begins the run, records the events,
commits a heartbeat while nothing comes (a paused run), and when the run has ended copies its
final checkpoint into the history's folder (``run-<n>.ckpt``), so Continue works after the app
has gone and its scratch folder with it. SQLite connections belong to the thread that opened
them, so the history is opened, written and closed on the writer's thread alone. When the
project has a TensorBoard folder (its setting), the writer also writes each event there
(``tensorboard_log.py``), on the same thread, never the window's or the trainer's.
"""

from __future__ import annotations

import queue
import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from studio.core.atomic import write_with
from studio.engine.events import Checkpoint, Event
from studio.engine.run_history import RunHistory, RunHistoryError
from studio.engine.run_keeping import kept_checkpoint_path
from studio.engine.run_recorder import FLUSH_SECONDS, RunRecorder

HISTORY_ERRORS = (RunHistoryError, OSError, sqlite3.Error)
class KeptRecording:
    """A recorder whose failure (a full disk, a folder gone) never stops training: ``said`` is
    called once with the error, and the rest of the run goes unrecorded."""

    def __init__(self, recorder: RunRecorder, said: Callable[[Exception], None]):
        self.recorder, self.failed, self._said = recorder, False, said
        self.number, self.history = recorder.number, recorder.history

    def _guard(self, action, *args) -> None:
        if self.failed:
            return
        try:
            action(*args)
        except HISTORY_ERRORS as err:
            self.failed = True
            self._said(err)

    def record(self, event) -> None:
        self._guard(self.recorder.record, event)

    def flush_if_due(self) -> None:
        self._guard(self.recorder.flush_if_due)

    def close(self, status: str | None = None) -> None:
        self._guard(self.recorder.close, status)

    def keep_checkpoint(self, source) -> None:
        """Copy the run's final checkpoint into the history's folder and record it there."""
        self._guard(self._keep_checkpoint, source)

    def _keep_checkpoint(self, source) -> None:
        target = kept_checkpoint_path(self.history.path, self.number)
        write_with(target, lambda tmp: shutil.copyfile(source, tmp))
        self.history.write(self.number, checkpoint=str(target))


class RunWriter:
    """One run's recording, on its own thread. ``put`` and ``close`` may be called from any
    thread. Called on the writer's thread: ``failed`` once, with why the history could not be
    written; ``news`` when the run has begun in the history and when it has ended there (a
    window showing the history reads it again). ``number`` is the run's number once begun."""

    def __init__(self, history_path, project, config=None, *, name: str | None = None,
                 failed: Callable[[Exception], None] = lambda err: None,
                 news: Callable[[], None] = lambda: None,
                 board_failed: Callable[[Exception], None] = lambda err: None):
        self.history_path = Path(history_path)
        self.number: int | None = None
        self.status: str | None = None  # how the run ended, once recorded
        self.board = None  # the run's TensorBoard writer, when the project asks for one
        self._failed, self._news, self._board_failed = failed, news, board_failed
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._checkpoint: str | None = None  # the newest checkpoint the run wrote
        self._thread = threading.Thread(target=self._run, args=(project, config, name),
                                        name="studio-run-writer", daemon=True)
        self._thread.start()

    def put(self, event: Event) -> None:
        """One event, as the session read it (``TrainingSession.observer``); dropped once the
        writer has finished (the run ended, or its history failed)."""
        if self._thread.is_alive():
            self._queue.put(event)

    def close(self, status: str | None = None) -> None:
        """The session is over: a run that sent no ``finished`` ends as ``status`` (stopped
        by the user) or as failed (``RunRecorder.close``)."""
        self._queue.put(_Close(status))

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the writer to finish (True) or ``timeout`` to pass (False)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    # the writer's thread -------------------------------------------------------------------------
    def _run(self, project, config, name) -> None:
        history = None
        try:
            history = RunHistory(self.history_path)
            recording = KeptRecording(RunRecorder(history, project, config, name=name),
                                      lambda err: self._tell(self._failed, err))
        except HISTORY_ERRORS as err:
            if history is not None:
                history.close()
            self._tell(self._failed, err)
            return
        self.number = recording.number
        self._tell(self._news)
        self._open_board(project, config)
        try:
            self._record(recording)
        finally:
            history.close()
            if self.board is not None:
                self._board(self.board.close)
            self._tell(self._news)

    def _open_board(self, project, config) -> None:
        """The project's TensorBoard setting: the run also written there, in a folder named
        after the project and this run's number (a relative setting is in the project's
        folder, or the home folder for a project never saved)."""
        from studio.engine.tensorboard_log import root_folder

        root = root_folder(project, getattr(config, "data_root", None) or Path.home())
        if root is not None:
            self._board(self._start_board, root, project.name)

    def _start_board(self, root, project_name) -> None:
        from studio.engine.tensorboard_log import TensorBoardLog, run_folder

        self.board = TensorBoardLog(run_folder(root, project_name, self.number))

    def _board(self, action, *args) -> None:
        """TensorBoard's writing failing (no package, a full disk) is said once; the run is
        recorded and trains on without it."""
        from studio.engine.tensorboard_log import TensorBoardError

        try:
            action(*args)
        except (TensorBoardError, OSError) as err:
            self.board = None
            self._tell(self._board_failed, err)

    @staticmethod
    def _tell(listener, *args) -> None:
        """A listener that went away (a window closed) must not stop the recording."""
        try:
            listener(*args)
        except Exception:  # noqa: BLE001
            pass

    def _record(self, recording: KeptRecording) -> None:
        while recording.recorder.status is None and not recording.failed:
            try:
                item = self._queue.get(timeout=FLUSH_SECONDS)
            except queue.Empty:
                recording.flush_if_due()  # a heartbeat while nothing happens (paused)
                continue
            if isinstance(item, _Close):
                recording.close(item.status)
                break
            if isinstance(item, Checkpoint) and item.path:
                self._checkpoint = item.path
            recording.record(item)
            if self.board is not None:
                self._board(self.board.record, item)
        self.status = recording.recorder.status
        if self._checkpoint and Path(self._checkpoint).exists():
            recording.keep_checkpoint(self._checkpoint)


class _Close:
    def __init__(self, status: str | None):
        self.status = status
