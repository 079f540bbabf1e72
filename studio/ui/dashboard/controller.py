"""Train from the editor: one ``TrainingSession`` at a time, its events folded into a
``RunStore`` on the UI thread as they arrive (the worker sends them ten times a second).

The worker process trains; this object only sends commands and drains events, so the editor
stays responsive whatever training does. Each run writes its final state to a checkpoint in a
scratch folder; Save Weights copies it beside the project, Continue resumes from it.

Every run is recorded in the project's run history (``recording.py``) by a writer thread the
session's reader thread feeds, so no commit ever waits on the UI thread; a history that cannot
be written is said once (``history_failed``) and the run trains on unrecorded.
"""

from __future__ import annotations

import atexit
import dataclasses
import shutil
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from studio.core.atomic import write_with
from studio.core.fileformat import SUFFIX
from studio.engine.events import ACTIVE_STATES, ENDED_STATES, Checkpoint, Error, WeightsFitted
from studio.engine.run_history import STOPPED, RunHistory
from studio.engine.run_keeping import move_run
from studio.engine.run_writer import HISTORY_ERRORS
from studio.ui.dashboard.compat import TrainedStateFit
from studio.ui.dashboard.recording import Recordings, history_location
from studio.ui.dashboard.store import Run, RunStore

# Events are read when the session says some arrived; this slower look catches the worker's
# end and a stop that overruns its grace time. (On a small machine every wake-up of the
# editor is taken from training.)
LOOK_MS = 250
STOP_GRACE_SECONDS = 5.0  # a stopping worker writes its checkpoint; then it is terminated
WEIGHTS_SUFFIX = ".ckpt"


def weights_path(project_path) -> Path | None:
    """Where a saved project keeps its trained weights: ``lenet.studio`` -> ``lenet.ckpt``."""
    if not project_path:
        return None
    path = Path(project_path)
    stem = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem
    return path.with_name(stem + WEIGHTS_SUFFIX)


class TrainingController(QObject):
    """Start, pause, resume and stop training of the editor's project; watch a node."""

    updated = Signal(object)  # the set of RunStore topics that changed this frame
    _arrived = Signal()  # emitted on the session's reader thread; poll runs on the UI thread
    state_changed = Signal(str)  # idle, starting, running, paused, stopping, finished, ...
    failed = Signal(object)  # an events.Error: kind, message, node (graph, id) or None
    weights_fitted = Signal(object)  # an events.WeightsFitted: the run loaded what fits
    history_failed = Signal(str)  # the run history (or its TensorBoard copy) failed: a sentence
    # for the status bar
    history_changed = Signal()  # a run began or ended in the run history (any thread)

    def __init__(self, editing_session, parent=None):
        super().__init__(parent)
        self.editing = editing_session
        self.store = RunStore()
        self.session = None
        self._stopping = False  # Stop was pressed: the run is "stopping" until it ends
        self._told = "idle"  # the state last announced by state_changed
        self.watched: str | None = None
        self.sample = 0
        self._scratch_folder: Path | None = None  # made when the first run starts
        self._stop_deadline: float | None = None
        self.fit = TrainedStateFit()  # the project the trained state came from
        self._pending_fit = None  # the project a starting run trains, until its checkpoint
        self._refusal: str | None = None  # the worker could not load the state (until an edit)
        self.init_from: Path | None = None  # weights the next Train starts from (Load Weights)
        self.fresh: WeightsFitted | None = None  # the last run's report of what it loaded
        editing_session.changed.connect(self._edited)
        self._retired: list = []  # runs of a project closed while they trained, stopping
        self._checkpoint: Path | None = None  # newest trained state of this project
        self._saved_checkpoint: Path | None = None  # what was last copied beside the project
        self.timer = QTimer(self)
        self.timer.setInterval(LOOK_MS)
        self.timer.timeout.connect(self.poll)
        self._poll_posted = False  # a poll is queued already: arrivals need not queue another
        self._arrived.connect(self.poll, Qt.ConnectionType.QueuedConnection)
        self.standby = None  # keeps a training process waiting, so Train starts at once
        self.remote = None  # engine.remote_host.RemoteHost the next run trains on; None: here
        self.ranks = None  # engine.local_ranks.LocalRanks: the next run is data-parallel here
        self._occupants: dict = {}  # other work training in its own processes: why Train waits
        self.recordings = Recordings(self._not_recorded, self.history_changed.emit,
                                     self._not_on_board)
        self._unsaved: list = []  # writers of runs recorded while the project had no file
        self.history_changed.connect(self.carry_unsaved_runs)

    def train_on(self, target) -> None:
        """Train the next runs on ``target``: a ``RemoteHost`` (over SSH), a ``LocalRanks``
        (data-parallel here) or, given None, here in one process."""
        from studio.engine.local_ranks import LocalRanks

        self.ranks = target if isinstance(target, LocalRanks) else None
        self.remote = None if self.ranks is not None else target

    def keep_spare_worker(self, standby) -> None:
        """Have ``standby`` (engine.standby.Standby) keep a training process ready from now on
        and after each run; the running app does, tests that only edit do not."""
        self.standby = standby
        standby.prepare()

    # what the panel asks ----------------------------------------------------------------------
    @property
    def state(self) -> str:
        """idle (no run), stopping (Stop was pressed and the run has not ended yet), or the
        current run's state, which the store follows from the events read so far (by
        ``events.state_after``, as the session does): what the views show, never ahead of
        them."""
        run = self.store.current
        if self.session is None or run is None:
            return "idle"
        if self._stopping and run.state in ACTIVE_STATES:
            return "stopping"
        return run.state

    @property
    def running(self) -> bool:
        return self.session is not None and self.state in (*ACTIVE_STATES, "stopping")

    @property
    def run(self) -> Run | None:
        return self.store.current

    def blocking_problem(self) -> str | None:
        """Why the project cannot train now (the first problem, naming its node), or None: the
        editing session's verdict, which Problems and the status bar show too."""
        return self.editing.verdict.train_blocker

    def trained_checkpoint(self) -> Path | None:
        """The newest trained state to continue from or export: this session's, else the one
        saved beside the project file."""
        if self._checkpoint is not None and self._checkpoint.exists():
            return self._checkpoint
        saved = weights_path(self.editing.doc.path)
        return saved if saved is not None and saved.exists() else None

    def continue_blocker(self) -> str | None:
        """Why Continue Training cannot continue from the trained state, or None. An edit
        since training is no reason: the layers that still fit keep their weights, the others
        start afresh (``continue_note``); only a state the worker could not read refuses."""
        if self.trained_checkpoint() is None:
            return None
        return self._refusal

    def continue_note(self) -> str | None:
        """What Continue Training does with the layers changed since training, or None when
        the trained state fits the project as it is (then it continues exactly)."""
        if self.trained_checkpoint() is None:
            return None
        return self.fit.note(self.editing.analysis)

    # weights for the next run ------------------------------------------------------------------
    def load_weights(self, path) -> str | None:
        """Train > Load Weights: the next Train starts from the weights of ``path`` that fit
        (a state_dict as .pt or .safetensors, or a Studio checkpoint; the run reports what it
        took, by node). Returns why not, or None."""
        path = Path(path)
        if not path.is_file():
            return f"no weights file at {path}"
        self.init_from = path
        return None

    def history_location(self) -> Path:
        """The run history the project's runs are recorded in (``recording.py``)."""
        return history_location(self.editing.doc.path, self.editing.project.name)

    @property
    def recorded_number(self) -> int | None:
        """The current run's number in the run history (the run the views show live), once
        its writer has begun it; None before."""
        writer = self.recordings.current
        return writer.number if writer is not None else None

    def _not_recorded(self, err) -> None:
        """On a writer's thread: its run is not recorded (said once per run)."""
        self.history_failed.emit(f"This run is not recorded in the run history: {err}. "
                                 "Training goes on.")

    def _not_on_board(self, err) -> None:  # on a writer's thread
        self.history_failed.emit(f"This run is not written for TensorBoard: {err}. Training "
                                 "goes on.")

    def carry_unsaved_runs(self) -> None:
        """Once the project has a file (its first Save), the runs this window recorded while
        it had none move into the history beside it; a run still recording moves when it has
        ended (``history_changed`` brings this back)."""
        ended = [w for w in self._unsaved if w.done]
        if not self.editing.doc.path or not ended:
            return
        self._unsaved = [w for w in self._unsaved if not w.done]
        target = self.history_location()
        try:
            with RunHistory(target) as history:
                for writer in ended:
                    if writer.number is not None:
                        with RunHistory(writer.history_path, create=False) as source:
                            move_run(source, writer.number, history)
        except HISTORY_ERRORS as err:
            self.history_failed.emit(f"The runs trained before the project was saved could "
                                     f"not be moved beside it ({err}); they stay in "
                                     f"{ended[0].history_path.parent}")
        self.history_changed.emit()

    def _edited(self, _change) -> None:
        self._refusal = None  # the edit may have undone what the worker refused

    @property
    def weights_unsaved(self) -> bool:
        return self._checkpoint is not None and self._checkpoint != self._saved_checkpoint and \
            self._checkpoint.exists()

    # other work that trains ------------------------------------------------------------------
    def occupy(self, owner, reason: str) -> None:
        """``owner`` (a sweep, a learning-rate test) trains in processes of its own: Train and
        Continue wait, saying ``reason``, until ``release(owner)``. Run together, both would
        share the processor and each would measure the other's slowness."""
        self._occupants[owner] = reason

    def release(self, owner) -> None:
        self._occupants.pop(owner, None)

    @property
    def occupied(self) -> str | None:
        """Why Train waits for other work, or None."""
        return next(iter(self._occupants.values()), None)

    # control ----------------------------------------------------------------------------------
    def start(self, resume: bool = False) -> str | None:
        """Train the project as it is now (or continue from the trained state); returns why
        not, or None when started."""
        if self.running:
            return "training is already running"
        if self.occupied:
            return self.occupied
        why = self.blocking_problem()
        if why:
            return why
        resume_from = self.trained_checkpoint() if resume else None
        if resume and resume_from is None:
            return "there is no trained state to continue from: train first"
        if resume and self.continue_blocker():
            return self.continue_blocker()
        self._launch(resume_from)
        return None

    def continue_run(self, checkpoint) -> str | None:
        """Continue a recorded run (the Runs panel) from its kept checkpoint, the layers changed
        since starting afresh; returns why not, or None when started."""
        if self.running:
            return "training is already running"
        why = self.occupied or self.blocking_problem() or recorded_blocker(checkpoint)
        if why:
            return why
        self._launch(Path(checkpoint))
        return None

    def follow_remote(self, host, run_id: str) -> str | None:
        """Follow run ``run_id`` on ``host`` (left going by a lost connection) as a new run in
        the store: its events again from its start, Stop and Save Weights reaching it."""
        if self.running:
            return "training is already running"
        self._launch(None, attach=(host, run_id))
        return None

    def _launch(self, resume_from: Path | None, attach=None) -> None:
        from studio.engine.probes import ProbeRates
        from studio.engine.runner import RunConfig
        from studio.engine.session import TrainingSession

        self._pending_fit = self.editing.project
        init_from, self.init_from = (None, self.init_from) if resume_from else (self.init_from,
                                                                                None)
        run = self.store.new_run()
        run.label = f"Run {run.number}" + (" (continued)" if resume_from else
                                           f" ({attach[1]} on {attach[0].host})" if attach else "")
        checkpoint = self._scratch() / f"run{run.number}{WEIGHTS_SUFFIX}"
        folder = Path(self.editing.doc.path).resolve().parent if self.editing.doc.path else None
        config = RunConfig(
            probes=ProbeRates(sample=self.sample), watch=(self.watched,) if self.watched else (),
            checkpoint_path=str(checkpoint), checkpoint_epochs=False,
            resume_from=str(resume_from) if resume_from else None, warm_start=True,
            init_from=str(init_from) if init_from else None, pause_on_nan=True,
            data_root=str(folder) if folder else None)
        if attach is not None or self.remote is not None:
            from studio.engine.remote import RemoteSession

            host, run_id = attach or (self.remote, None)
            self.session = RemoteSession(self.editing.project, config, host=host, attach=run_id)
        elif self.ranks is not None:
            from studio.engine.distributed_session import DistributedSession, Launch

            self.session = DistributedSession(
                self.editing.project, dataclasses.replace(config, device=self.ranks.device),
                Launch(self.ranks.nproc))
        else:
            self.session = TrainingSession(self.editing.project, config)
        self.session.on_arrival = self._on_arrival
        writer = self.recordings.start(self.history_location(), self.editing.project, config)
        self.session.observer = writer.put
        if not self.editing.doc.path:
            self._unsaved.append(writer)
        self._stop_deadline = None
        self._stopping = False
        here = self.standby is not None and self.remote is None and self.ranks is None
        self.session.start(self.standby.take() if here else None)
        self._announce_state()
        self.timer.start()
        self.updated.emit({"all"})

    def pause(self) -> None:
        if self.session is not None and self.state == "running":
            self.session.pause()

    def resume(self) -> None:
        if self.session is not None and self.state == "paused":
            self.session.resume()

    def stop(self) -> None:
        """Ask the worker to stop after its step; it writes its checkpoint and ends. A worker
        that does not end within a few seconds is terminated (the UI never waits for it)."""
        if self.session is None or not self.running:
            return
        self.session.request_stop()
        grace = self.session.stop_grace or STOP_GRACE_SECONDS
        self._stop_deadline = time.perf_counter() + grace
        self._stopping = True
        self._announce_state()

    def watch(self, key: str | None) -> None:
        """Follow the node selected on the canvas (``training/conv1``)."""
        if key == self.watched:
            return
        self.watched = key
        if self.session is not None and self.running:
            self.session.watch([key] if key else [])

    def request_probe(self, probe: str) -> None:
        """Run a probe (previews, histograms) at the worker's next step, whatever its rate."""
        if self.session is not None and self.running:
            self.session.request_probe(probe)

    def choose_sample(self, index: int) -> None:
        self.sample = int(index)
        if self.session is not None and self.running:
            self.session.choose_sample(self.sample)

    def shutdown(self) -> None:
        """The window closes: end the worker now and forget the scratch checkpoints."""
        self.timer.stop()
        for old in self._retired:
            old.stop(timeout=1.0)
        self._retired.clear()
        if self.session is not None:
            self.session.on_arrival = None
            self.session.stop(timeout=1.0)
            self.store.end_current("stopped")
        self.recordings.shutdown()
        if self._scratch_folder is not None:
            shutil.rmtree(self._scratch_folder, ignore_errors=True)
            self._scratch_folder = None

    def _scratch(self) -> Path:
        """A private folder for this window's run checkpoints, removed at shutdown or, at the
        latest, when the program exits."""
        if self._scratch_folder is None or not self._scratch_folder.exists():
            self._scratch_folder = Path(tempfile.mkdtemp(prefix="studio-runs-"))
            atexit.register(shutil.rmtree, self._scratch_folder, ignore_errors=True)
        return self._scratch_folder

    # weights ----------------------------------------------------------------------------------
    def save_weights(self, path=None) -> Path:
        """Copy the trained state beside the project (or to ``path``); raises OSError or
        FileNotFoundError when there is nothing trained."""
        source = self.trained_checkpoint()
        if source is None:
            raise FileNotFoundError("nothing trained yet: train first, then save the weights")
        target = Path(path) if path else weights_path(self.editing.doc.path)
        if target is None:
            raise FileNotFoundError("save the project first: its weights are kept beside it")
        if source.resolve() != target.resolve():
            write_with(target, lambda tmp: shutil.copyfile(source, tmp))
        self._saved_checkpoint = self._checkpoint
        return target

    def forget_project(self) -> None:
        """A different project was opened: its runs, trained state, watched node and state are
        not this one's. A run still going is asked to stop and no longer listened to."""
        if self.session is not None:
            self.session.on_arrival = None
            if self.running:
                self.session.request_stop()
                self._retired.append(self.session)
            self.session = None
        self.recordings.retire_current()
        self._unsaved.clear()
        self.timer.stop()
        self._stop_deadline = None
        self._stopping = False
        self.store.clear()
        self.store.download = None
        self._checkpoint = self._saved_checkpoint = None
        self._pending_fit, self._refusal = None, None
        self.init_from, self.fresh = None, None
        # weights saved beside the project were saved with it: the project as opened is theirs
        self.fit.remember(self.editing.project if self.trained_checkpoint() else None)
        self.watched = None
        self.sample = 0
        self._announce_state()
        self.updated.emit({"all"})

    # the frame --------------------------------------------------------------------------------
    def _on_arrival(self) -> None:
        """On the session's reader thread: queue one poll on the UI thread."""
        if not self._poll_posted:
            self._poll_posted = True
            self._arrived.emit()

    def poll(self) -> None:
        """Drain the session's events into the store (when some arrived, and every LOOK_MS)."""
        self._poll_posted = False  # before draining: what arrives from now on queues a poll
        session = self.session
        if session is None:
            self.timer.stop()
            return
        events = session.events()
        topics = self.store.apply(events) if events else set()
        for event in events:
            if isinstance(event, Checkpoint) and event.path:
                self._checkpoint = Path(event.path)
                if self._pending_fit is not None:
                    self.fit.remember(self._pending_fit)
                    self._pending_fit = None
            elif isinstance(event, WeightsFitted):
                self.fresh = event
                self.weights_fitted.emit(event)
            elif isinstance(event, Error):
                if event.kind == "checkpoint":
                    self._refusal = str(event.message)
                self.failed.emit(event)
        self._announce_state()
        if self._stop_deadline is not None and session.alive and \
                time.perf_counter() > self._stop_deadline:
            session.stop(timeout=0.5)  # terminate a worker that did not stop in time
        if topics:
            self.updated.emit(topics)
        if not session.alive and not session.events_pending:
            self.store.end_current("stopped")  # ended without saying how: it was stopped
            # a run that sent no "finished" was stopped (Stop) or died (its error recorded)
            self.recordings.close_current(STOPPED if self._stopping else None)
            self._announce_state()
            self.timer.stop()

    def _announce_state(self) -> None:
        """Say when ``state`` changed since last said (once per change)."""
        state = self.state
        if state == self._told:
            return
        self._told = state
        if state in ENDED_STATES and self.standby is not None:
            self.standby.prepare()  # the next Train starts at once too
        self.state_changed.emit(state)


def recorded_blocker(checkpoint) -> str | None:
    """Why a recorded run cannot be continued: its checkpoint is gone; None when it can (the
    layers changed since start afresh)."""
    if not checkpoint or not Path(checkpoint).exists():
        return "this run kept no checkpoint to continue from"
    return None
