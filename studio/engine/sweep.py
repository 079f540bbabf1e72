"""Sweeps: trials of one project with varied values (``core/sweep.py`` says what varies), run one
after another (several at once, one per device, when several devices are given or torch sees
several CUDA GPUs), each a normal recorded run in the project's run history.

Optuna chooses each trial's values and stops poor trials early: ``grid`` is its GridSampler,
``random`` its RandomSampler, ``bayesian`` its TPESampler, all seeded so a sweep repeats; its
MedianPruner sees the metric at each tenth of a trial's steps (``REPORTS_PER_RUN``) and prunes a
trial doing worse there than the median of the trials finished before it. Optuna's own storage
is in memory: the run history already keeps every trial (values, series, status), and a second
database beside it, with a schema of Optuna's, would only say the same things twice.

What a trial reports along the way: the metric's training series when each step reports it
(``loss``), or the training series it is the held-out form of (``loss`` for ``test_loss``, a
loss being minimized either way), averaged over each tenth; otherwise the held-out metric at
the epoch ends the runner evaluates. Its result is the final evaluation's metric (or the last
tenth's mean of a training series).

Each trial is a ``run_driver.drive_run`` of a ``TrainingSession``, recorded by a ``RunRecorder``
that names the sweep, the trial and its values, and runs in a process started while the trial
before it trained (``standby.Standby``), so trials after the first do not wait for a new
interpreter to import torch. A trial whose values make the graph unable to train is recorded
failed with the verdict's reason without starting a process; a trial that fails while it runs
is recorded failed with its error; the sweep goes on either way. ``cancelled`` is asked between
trials and while one runs (the run is recorded stopped and the sweep ends).

Several devices (``SweepOptions.devices``): Optuna's own threads (``study.optimize(n_jobs=)``)
run that many trials at once, each pinned to a device no other running trial holds. Each
trial then records through a connection of its own to the history's file (an SQLite connection
belongs to the thread that opened it; WAL and the busy timeout let them commit side by side),
and ``Standby.take`` hands a spare process to one thread only. A grid still tries each cell
once (Optuna's GridSampler gives trial N cell N); random and Bayesian draws are no longer
repeatable, since Optuna reseeds its sampler in each thread. Cancel stops every running trial,
and so does Ctrl+C (see ``_optimize``).

Optuna is optional (``pip install studio[sweep]``): it is imported only when a sweep runs.

API for the app (it runs ``run_sweep`` on a thread of its own; callbacks come on that thread, or
on several at once, Optuna's, when trials run in parallel)::

    space = SweepSpace(project, ["conv1.out_channels=4,8", "pool1.block=MaxPool2d,BlurPool2d"])
    with RunHistory.beside(project_path) as history:
        result = run_sweep(project, space, history, SweepOptions(steps=200),
                           cancelled=flag.is_set, on_trial=show_row,
                           on_event=lambda trial, event: ...)
    result.best, result.pareto("macs"), result.pareto("params"), result.trials
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from studio.core.inference import analyze
from studio.core.project import Project, ProjectError
from studio.core.sweep import GRID, RANDOM, SweepError, SweepSpace, pareto_front, values_json
from studio.core.verdict import judge
from studio.engine.events import Evaluation, Metrics, Progress, Started
from studio.engine.probe_sender import cuda_devices
from studio.engine.probes import ProbeRates
from studio.engine.run_driver import POLL_SECONDS, Halt, drive_run
from studio.engine.run_history import FAILED, FINISHED, PRUNED, STOPPED, RunHistory
from studio.engine.run_recorder import RunRecorder
from studio.engine.runner import RunConfig
from studio.engine.session import TrainingSession
from studio.engine.standby import Standby

INSTALL_HINT = "pip install studio[sweep]"
DEFAULT_METRIC = "test_loss"
REPORTS_PER_RUN = 10  # the metric goes to the pruner at each tenth of a trial's steps
HELD_OUT_PREFIXES = ("test_", "val_")
MAXIMIZED = ("accuracy", "acc", "auc", "f1", "precision", "recall", "r2", "iou", "psnr")


class SweepUnavailable(RuntimeError):
    """Optuna is not installed."""


def require_optuna():
    """Optuna, or SweepUnavailable saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise SweepUnavailable(f"sweeps need Optuna, which is not installed: {INSTALL_HINT}") \
            from None
    return optuna


def maximized(metric: str) -> bool:
    """Whether more is better, from the metric's name (accuracy, F1...; losses are minimized)."""
    words = metric.lower().replace("-", "_").split("_")
    return any(word in MAXIMIZED for word in words)


@dataclass
class SweepOptions:
    """How to sweep. ``method`` and ``trials`` as ``SweepSpace.plan`` reads them;
    ``maximize`` None: from the metric's name; ``prune`` None: for random and Bayesian search,
    not for a grid (an ablation, whose every cell is wanted whole). ``steps``, ``epochs``,
    ``seed`` and ``device`` set each trial's run as ``studio train``'s options do.
    ``devices``: the devices trials run on, one trial on each at a time ("cuda:0", "cuda:1");
    None: every CUDA GPU when torch sees more than one and the trials would train on CUDA
    (``device``, or the project's setting, auto or cuda, and ``training.device`` not varied),
    else one trial at a time on ``device``."""

    method: str | None = None
    trials: int | None = None
    metric: str = DEFAULT_METRIC
    maximize: bool | None = None
    prune: bool | None = None
    prune_after_trials: int = 2  # trials finished before any is pruned
    steps: int | None = None
    epochs: int | None = None
    seed: int | None = None
    device: str = "auto"
    devices: tuple[str, ...] | None = None
    data_root: str | None = None
    name: str | None = None  # the trials' runs are named "<name> trial N" ("sweep S trial N")


@dataclass
class TrialResult:
    """One trial as it ended: its values, the metric (for a pruned trial, its last reported
    value), the run that recorded it, its cost and how it ended (finished, pruned, failed,
    stopped) with why."""

    number: int  # 0 first
    values: dict
    status: str
    metric: float | None = None
    run: int | None = None
    params: int | None = None
    macs: int | None = None
    message: str | None = None
    seconds: float = 0.0  # wall-clock, from starting the trial to its record being closed
    train_seconds: float = 0.0  # training time, as the worker counted it

    def as_json(self) -> dict:
        out = dataclasses.asdict(self)
        out["values"] = values_json(self.values)
        return out


@dataclass
class SweepResult:
    sweep: int  # the sweep's number in the run history
    method: str
    metric: str
    maximize: bool
    trials: list = field(default_factory=list)
    cancelled: bool = False

    @property
    def finished(self) -> list:
        return [t for t in self.trials if t.status == FINISHED and t.metric is not None]

    @property
    def best(self) -> TrialResult | None:
        done = self.finished
        if not done:
            return None
        pick = max if self.maximize else min
        return pick(done, key=lambda t: t.metric)

    def pareto(self, cost: str = "macs") -> list[int]:
        """The trial numbers on the Pareto front of the metric against ``cost`` ("macs" or
        "params"), cheapest first: what each extra multiply-add or parameter bought."""
        done = self.finished
        front = pareto_front([(t.metric, getattr(t, cost)) for t in done], self.maximize)
        return [done[i].number for i in front]

    def as_json(self) -> dict:
        best = self.best
        return {"sweep": self.sweep, "method": self.method, "metric": self.metric,
                "maximize": self.maximize, "cancelled": self.cancelled,
                "trials": [t.as_json() for t in self.trials],
                "best": best.number if best else None,
                "pareto": {"macs": self.pareto("macs"), "params": self.pareto("params")}}


def run_sweep(project: Project, space: SweepSpace, history: RunHistory,
              options: SweepOptions | None = None, *,
              cancelled: Callable[[], bool] | None = None,
              on_trial: Callable[[TrialResult], None] | None = None,
              on_event: Callable[[int, object], None] | None = None,
              standby: Standby | None = None) -> SweepResult:
    """Run the sweep's trials one after another (one per device at once when there are several,
    see ``trial_devices``), each recorded in ``history``. SweepError when
    the method cannot search the space, or when the metric is one the trials do not report
    (raised after the first trial that finished, which stays recorded). ``standby`` may hold
    a process the caller started early for the first trial (the CLI does, before importing
    torch itself); the sweep ends whatever process is left waiting in it. With several devices
    ``on_trial`` and ``on_event`` are called on several threads, each trial's on its own."""
    optuna = require_optuna()
    options = options or SweepOptions()
    method, count = space.plan(options.method, options.trials)
    maximize = maximized(options.metric) if options.maximize is None else options.maximize
    seed = options.seed if options.seed is not None else project.training.settings["seed"]
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # a failed trial is ours to report
    study = optuna.create_study(direction="maximize" if maximize else "minimize",
                                sampler=_sampler(optuna, space, method, seed, count),
                                pruner=_pruner(optuna, method, options))
    number = history.begin_sweep({
        "dimensions": space.as_json(), "method": method, "trials": count,
        "metric": options.metric, "maximize": maximize, "steps": options.steps,
        "epochs": options.epochs, "seed": seed})
    result = SweepResult(number, method, options.metric, maximize)
    devices = trial_devices(options, project, space)
    interrupted = threading.Event()  # Ctrl+C while trials run in parallel

    def stop() -> bool:
        return interrupted.is_set() or (cancelled is not None and cancelled())

    spares = standby or Standby()
    free = queue.SimpleQueue()  # the devices no running trial holds
    for device in devices:
        free.put(device)

    def objective(trial):
        index = trial.number
        values = {d.name: _suggest(trial, d) for d in space.dimensions}
        runner = _TrialRun(index, values, result, options, stop, on_event, spares,
                           prepare_next=index + 1 < count)
        device = free.get()
        try:
            with _history_of_thread(history, len(devices) > 1) as trial_history:
                outcome = runner.run(project, space, trial_history, trial, device)
        finally:
            free.put(device)
        result.trials.append(outcome)
        if on_trial is not None:
            on_trial(outcome)
        if outcome.status == FINISHED and outcome.metric is None:
            raise SweepError(f"--metric {options.metric}: trial {index} did not report it "
                             f"(it reported {', '.join(runner.reported) or 'nothing'})")
        if outcome.status == PRUNED:
            raise optuna.TrialPruned(outcome.message)
        return outcome.metric if outcome.status == FINISHED else float("nan")  # nan: failed

    def between(study, _trial) -> None:
        if stop():
            result.cancelled = True
            study.stop()

    try:
        if stop():
            result.cancelled = True
        else:
            _optimize(study, objective, count, len(devices), between, interrupted)
    finally:
        result.trials.sort(key=lambda t: t.number)  # parallel trials end in any order
        spare = spares.take()
        if spare is not None:
            spare.finalizer()
    return result


def _optimize(study, objective, count: int, jobs: int, between, interrupted) -> None:
    """``study.optimize``, on Optuna's threads when there are several jobs, driven then from a
    thread of its own: Ctrl+C comes only to the main thread, where it would wait for every
    running trial to end; here it sets ``interrupted``, which stops them (recorded stopped),
    and is raised once they have ended."""
    if jobs == 1:
        study.optimize(objective, n_trials=count, callbacks=[between])
        return
    failures = []
    done = threading.Event()

    def optimize() -> None:
        try:
            study.optimize(objective, n_trials=count, n_jobs=jobs, callbacks=[between])
        except BaseException as err:  # noqa: BLE001 - raised again on the caller's thread
            failures.append(err)
        finally:
            done.set()

    threading.Thread(target=optimize, name="studio-sweep-trials").start()
    try:
        while not done.is_set():
            time.sleep(POLL_SECONDS)  # a sleep, not a join: an interrupted join may not wait
    except KeyboardInterrupt:
        interrupted.set()
        done.wait()
        raise
    if failures:
        raise failures[0]


def trial_devices(options: SweepOptions, project: Project, space: SweepSpace) -> tuple:
    """The devices trials run on, one trial on each at a time (see ``SweepOptions.devices``)."""
    if options.devices:
        return tuple(options.devices)
    device = (options.device if options.device != "auto"
              else project.training.settings.get("device", "auto"))
    varied = any(d.name == "training.device" for d in space.dimensions)
    gpus = cuda_devices() if device in ("auto", "cuda") and not varied else []
    if len(gpus) > 1:
        return tuple(f"cuda:{gpu}" for gpu in gpus)
    return (options.device,)


def _history_of_thread(history: RunHistory, parallel: bool):
    """The history a trial records in: the caller's, or when trials run on several threads a
    connection of the trial's own to the same file (a connection serves the thread that opened
    it)."""
    return RunHistory(history.path) if parallel else contextlib.nullcontext(history)


def _sampler(optuna, space: SweepSpace, method: str, seed: int, count: int):
    if method == GRID:
        grid = {d.name: list(d.texts) if not d.is_range else list(d.grid_values())
                for d in space.dimensions}
        return optuna.samplers.GridSampler(grid, seed=seed)
    if method == RANDOM:
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(2, count // 3)))


def _pruner(optuna, method: str, options: SweepOptions):
    """The median rule from the second tenth of a trial on (the first is mostly noise)."""
    if not (method != GRID if options.prune is None else options.prune):
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=options.prune_after_trials,
                                       n_warmup_steps=1)


def _suggest(trial, dim):
    """The trial's value for one dimension, asked of Optuna (a list by its texts)."""
    if dim.is_range:
        if dim.integer:
            return trial.suggest_int(dim.name, int(dim.low), int(dim.high), log=dim.log)
        return trial.suggest_float(dim.name, dim.low, dim.high, log=dim.log)
    return dim.value_of(trial.suggest_categorical(dim.name, list(dim.texts)))


class _TrialRun:
    """One trial: its project made, refused early or trained and recorded, its metric reported
    to Optuna at each tenth of its steps and the pruner asked each time."""

    def __init__(self, index: int, values: dict, sweep: SweepResult, options: SweepOptions,
                 stop, on_event, spares: Standby, prepare_next: bool):
        self.index, self.values, self.sweep, self.options = index, values, sweep, options
        self.stop, self.on_event = stop, on_event
        self.spares, self.prepare_next = spares, prepare_next
        self.series: str | None = None  # the training series reported, if one is
        self.total = 0
        self.window: list = []
        self.tenth = 0
        self.last: float | None = None  # the last value reported
        self.reported: list = []  # the metric names the run reported
        self.halt: Halt | None = None
        self.train_seconds = 0.0
        self.trial = None

    def run(self, project: Project, space: SweepSpace, history: RunHistory,
            trial, device: str) -> TrialResult:
        self.trial = trial
        begun = time.perf_counter()
        config = RunConfig(steps=self.options.steps, epochs=self.options.epochs,
                           seed=self.options.seed,  # None: the trial's own (training.seed varies)
                           device=device, probes=ProbeRates.off(), previews=False,
                           pause_on_nan=False, data_root=self.options.data_root)
        refusal = None
        try:
            trial_project = space.apply(self.values)
            analysis = analyze(trial_project)
            refusal = judge(trial_project, analysis).train_blocker
        except ProjectError as err:
            trial_project, refusal = project, str(err)
        name = f"{self.options.name or f'sweep {self.sweep.sweep}'} trial {self.index}"
        recorder = RunRecorder(history, trial_project, config, name=name,
                               sweep=self.sweep.sweep, trial=self.index,
                               trial_values=values_json(self.values))
        outcome = TrialResult(self.index, self.values, FAILED, run=recorder.number)
        if refusal is not None:
            recorder.close(FAILED, refusal)
            outcome.message = refusal
        else:
            session = TrainingSession(trial_project, config)
            spare = self.spares.take()  # started during the trial before (none for the first)
            if spare is not None:
                self._prepare_next()
            end = drive_run(session, recorder, on_event=self._on_event, halt=self._halt,
                            spare=spare)
            outcome.status = end.status
            outcome.message = (end.halt.message if end.halt else
                               end.errors[0].message if end.errors else None)
            outcome.metric = self._metric(end)
        record = history.run(recorder.number)
        outcome.params, outcome.macs = record.params, record.macs
        outcome.seconds = time.perf_counter() - begun
        outcome.train_seconds = self.train_seconds
        return outcome

    # the run's events -----------------------------------------------------------------------
    def _on_event(self, event, end) -> None:
        if isinstance(event, Started):
            self._started(event)
        elif isinstance(event, Metrics) and self.series is not None:
            for point in event.points:
                value = point.get(self.series)
                if isinstance(value, (int, float)):
                    self.window.append(float(value))
                self._tenth_passed(point["step"])
        elif isinstance(event, Evaluation):
            self.reported = sorted(set(self.reported) | set(event.metrics))
            value = event.metrics.get(self.sweep.metric)
            if self.series is None and isinstance(value, (int, float)):
                self._report(float(value), event.step)
        elif isinstance(event, Progress):
            self.train_seconds = event.elapsed
        if self.on_event is not None:
            self.on_event(self.index, event)

    def _prepare_next(self) -> None:
        """Start the next trial's process, to import torch while this trial trains: at once
        when this one's process was ready, else when it has started (two processes importing
        torch at once would each take twice as long)."""
        if self.prepare_next:
            self.spares.prepare()
            self.prepare_next = False

    def _started(self, event: Started) -> None:
        """Choose the series to report, now the step metrics are known."""
        self._prepare_next()
        self.total = max(event.total_steps, 1)
        self.reported = sorted(set(self.reported) | set(event.metrics))
        metric = self.sweep.metric
        held_out = next((metric[len(p):] for p in HELD_OUT_PREFIXES if metric.startswith(p)),
                        None)
        if metric in event.metrics:
            self.series = metric
        elif held_out in event.metrics and not self.sweep.maximize:
            self.series = held_out

    def _tenth_passed(self, step: int) -> None:
        tenth = step * REPORTS_PER_RUN // self.total
        if tenth > self.tenth and self.window:
            self.tenth = tenth
            value, self.window = sum(self.window) / len(self.window), []
            self._report(value, step)

    def _report(self, value: float, step: int) -> None:
        if self.halt is not None:
            return  # pruned: the run is being stopped, and keeps the value that pruned it
        index = max(1, min(REPORTS_PER_RUN, step * REPORTS_PER_RUN // self.total))
        self.last = value
        self.trial.report(value, index)
        if self.trial.should_prune():
            what = self.series or self.sweep.metric
            self.halt = Halt(PRUNED, f"pruned at step {step}: {what} {value:.4g} was worse than "
                                     "the median of the trials before it at that point")

    def _halt(self) -> Halt | None:
        if self.halt is None and self.stop():
            self.halt = Halt(STOPPED, "the sweep was cancelled")
        return self.halt

    def _metric(self, end) -> float | None:
        if end.halt is not None:
            return self.last if end.halt.status == PRUNED else None
        if end.final is None or end.status != FINISHED:
            return None
        value = end.final.evaluation.get(self.sweep.metric)
        if isinstance(value, (int, float)):
            return float(value)
        if self.series == self.sweep.metric:  # a training series: its last tenth's mean
            return sum(self.window) / len(self.window) if self.window else self.last
        return None
