"""The training loop Studio drives: the generated ``Training`` plus control, probes, evaluation,
previews, checkpoints and faults, reported as events.

It runs in the worker process (``worker.py``) for the app and the CLI, and in-process for
scripts and tests (``trainer.py``). ``emit`` receives each event (``events.py``: typed records
of numbers, strings and small numpy arrays); ``control`` is asked for commands between steps,
so pause and stop answer within one step.

The runner drives the loop and answers commands; the work around it has a part each: when
probes run (``probe_schedule.py``), what they measure and send (``probe_sender.py``), the
losses and their NaN check (``metric_log.py``), the checkpoints and the last good state
(``state_keeper.py``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from studio.core.project import Project
from studio.core.registry import is_data_source
from studio.engine import checkpoint, warm_start
from studio.engine.codegen import generate
from studio.engine.errors import TrainingError, explain, resolve_device
from studio.engine.events import (
    FIELD_COMMAND,
    PROBE_COMMAND,
    PROBES,
    PROGRESS_SECONDS,
    Download,
    Error,
    Evaluation,
    Event,
    Finished,
    Metrics,
    Paused,
    Progress,
    Restored,
    Resumed,
    Started,
)
from studio.engine.loader import RESOURCES_DATA, load
from studio.engine.metric_log import MetricLog
from studio.engine.node_keys import node_key
from studio.engine.optimizer_paths import optimizer_paths
from studio.engine.probe_schedule import ProbeSchedule, RunClock
from studio.engine.probe_sender import ProbeSender, cuda_devices
from studio.engine.probes import ProbeRates
from studio.engine.state_keeper import StateKeeper
from studio.engine.weights import save_weights


@dataclass
class RunConfig:
    """How to run a project: the one configuration of a run, whoever starts it (the editor,
    ``studio train``, ``trainer.train_project``); it crosses to the worker as its fields."""

    steps: int | None = None
    epochs: int | None = None
    seed: int | None = None
    device: str = "auto"
    amp: str | None = None  # None: the project's setting; "off", "bf16" or "fp16"
    channels_last: bool | None = None
    compile: bool | None = None
    data_dir: str = str(RESOURCES_DATA)
    probes: ProbeRates = field(default_factory=ProbeRates)
    watch: tuple = ()  # node keys whose activations are sent ("training/conv1")
    evaluate_every_epoch: bool = True
    previews: bool = True
    checkpoint_path: str | None = None  # written at the end (and at every epoch end, below)
    checkpoint_epochs: bool = True  # also at every epoch end (the app keeps only the last)
    checkpoint_every: int = 0  # also every N steps (0: epoch ends only)
    resume_from: str | None = None
    warm_start: bool = False  # resume_from after an edit: keep the layers that still fit
    init_from: str | None = None  # start from the weights of this file that fit (warm_start.py)
    save_weights: str | None = None
    samples_dir: str | None = None  # preview grids as PNG files
    max_seconds: float | None = None
    pause_on_nan: bool = True  # the app pauses to let the user choose; scripts stop
    memory_limit_gb: float | None = None  # cap on the worker's address space (POSIX)
    data_root: str | None = None  # relative dataset paths resolve here (the project's folder)


class Control:
    """Commands for a run: in-process, a list anyone may append to; the worker feeds it from
    the command queue."""

    def __init__(self, source: Callable[[float], list] | None = None):
        self.pending: list = []
        self.source = source

    def send(self, *command) -> None:
        self.pending.append(tuple(command))

    def poll(self, timeout: float = 0.0) -> list:
        if self.source is not None:
            self.pending += self.source(timeout)
        elif not self.pending and timeout:
            time.sleep(min(timeout, 0.05))
        out, self.pending = self.pending, []
        return out


class Stop(Exception):
    pass


class Runner:
    def __init__(self, project: Project, config: RunConfig, emit: Callable[[Event], None],
                 control: Control | None = None):
        self.project = project
        self.config = config
        self.emit = emit
        self.control = control or Control()
        self.rates = config.probes
        self.paused = False
        self.stopping = False
        self.clock = RunClock()
        self.schedule = ProbeSchedule(self.rates, self.clock, emit)
        self.last_evaluation: tuple | None = None  # (training seconds at its end, its cost)

    @property
    def history(self) -> list:
        """Every metric point of the run (a continued run's from its start)."""
        return self.log.history

    # ------------------------------------------------------------------------------------------
    def build(self):
        settings = self.project.training.settings
        overrides = {k: v for k, v in (("amp", self.config.amp),
                                       ("channels_last", self.config.channels_last),
                                       ("compile", self.config.compile)) if v is not None}
        if overrides:
            self.project.training.configure(**overrides)
        self.device = resolve_device(self.config.device if self.config.device != "auto"
                                     else settings["device"])
        self.seed = settings["seed"] if self.config.seed is None else self.config.seed
        self.code = generate(self.project)
        self.module = load(self.code)
        if self.config.data_root:
            os.environ["STUDIO_DATA_ROOT"] = self.config.data_root
        self.fetch_data()
        try:
            self.training = self.new_training()
        except Exception as err:  # noqa: BLE001 - becomes an event naming the node
            raise self.explain(err, "data") from err
        self.probes = ProbeSender(self.project, self.code, self.module, self.training,
                                  self.rates, self.emit, self.config.watch,
                                  self.config.samples_dir)
        self.log = MetricLog(self.project, self.emit, self.config.pause_on_nan)
        self.states = StateKeeper(self.project, self.training, self.log, self.clock, self.emit,
                                  self.config.checkpoint_path)

    def new_training(self):
        """The generated script's ``Training`` for this run."""
        return self.module.Training(self.device, self.seed, self.config.data_dir,
                                    self.config.steps, self.config.epochs)

    def fetch_data(self) -> None:
        """Download standard datasets the project needs, reporting progress; a file that cannot
        be had becomes a data error on the Dataset node."""
        from studio.engine.library.download import prepare_project

        def progress(label, done, total):
            self.emit(Download(label, done, total))

        try:
            prepare_project(self.project, progress=progress)
        except OSError as err:
            node = next((n.id for n in self.project.training.nodes.values()
                         if is_data_source(n.block)), None)
            raise TrainingError(f"{node_key(node)}: {err}" if node else str(err),
                                ("training", node) if node else None, "data") from None

    def explain(self, err: BaseException, default_kind: str = "runtime") -> TrainingError:
        """The error as a TrainingError naming the node; failures while building the data are
        data errors unless memory ran out."""
        error = explain(self.code, err)
        if default_kind == "data" and error.kind != "oom":
            error.kind = "data"
        return error

    # ------------------------------------------------------------------------------------------
    def run(self) -> dict:
        start_wall = time.perf_counter()
        try:
            self.build()
        except TrainingError as err:
            self.fail(err)
            return {"status": "failed"}
        except Exception as err:  # noqa: BLE001 - codegen problems and the like
            self.emit(Error("project", str(err)))
            return {"status": "failed"}
        training = self.training
        try:
            position = self.start_from()
        except checkpoint.CheckpointError as err:
            self.emit(Error("weights" if self.config.init_from and not self.config.resume_from
                            else "checkpoint", str(err)))
            return {"status": "failed"}
        total = training.total_steps
        self.emit(Started(device=self.device, total_steps=total,
                          batches_per_epoch=len(training.batches),
                          metrics=self.code.metric_names, step=position.step,
                          seconds=time.perf_counter() - start_wall,
                          nodes=sorted(self.probes.groups),
                          amp=self.project.training.settings["amp"]))
        self.log.history = position.history
        if self.rates.stats_every or self.rates.activations_every:  # probes on: once, ~ms
            paths = optimizer_paths(training.optimizers)
            if paths is not None:
                self.emit(paths)
        if self.history:  # a continued run: its curves start with what was trained before
            self.emit(Metrics(list(self.history), {}, resumed=True))
        try:
            status = self.loop(position, total)
        except Stop:
            status = "stopped"
        except TrainingError as err:
            self.fail(err)
            return {"status": "failed"}
        except Exception as err:  # noqa: BLE001
            self.fail(self.explain(err))
            return {"status": "failed"}
        return self.finish(status, position)

    def start_from(self) -> checkpoint.Position:
        """Where the run starts: the trained state it continues (exactly, or after an edit with
        the layers that still fit), the weights of a file that fit, or the beginning."""
        config, report = self.config, None
        if config.resume_from:
            state = checkpoint.load(config.resume_from)
            if not config.warm_start:
                return checkpoint.restore(self.training, state)
            position, report = warm_start.resume(self.training, self.code, state)
        else:
            position = checkpoint.Position()
            if config.init_from:
                report = warm_start.load_into(self.training, self.code, config.init_from)
        if report is not None:
            self.emit(report)
        return position

    def fail(self, err: TrainingError) -> None:
        self.emit(Error(err.kind, str(err), list(err.node) if err.node else None))

    def loop(self, position: checkpoint.Position, total: int) -> str:
        training = self.training
        pending: list = []
        first_step = position.step  # a continued run's ETA counts only this run's steps
        self.schedule.first_step = first_step + 1  # every probe runs here once, whatever the budget
        self.total = self.schedule.total = total
        self.clock.start()
        every_seconds = self.progress_seconds
        progress_at = self.clock.started + every_seconds
        window_start, window_samples = 0.0, 0
        self.states.keep_good(position)  # the first is always kept
        # Read once: a small model's step takes milliseconds, and the Python between steps
        # counts against it.
        rates, config, probes = self.rates, self.config, self.probes
        due, timed = self.schedule.due, self.schedule.timed
        log_every = self.project.training.settings["log_every"]
        preview_every = self.project.training.settings["preview_every"] if config.previews else 0
        generative_every = rates.generative_every if probes.generative else 0
        shift_every = rates.shift_every if probes.shift is not None else 0
        while position.step < total:
            if position.epoch_step == 0 or position.epoch_rng is None:
                position.epoch_rng = training.rng.get_state()
            else:
                training.rng.set_state(position.epoch_rng)
            resume_rng = torch.get_rng_state() if position.epoch_step else None
            batches = iter(training.batches)
            for _ in range(position.epoch_step):  # resuming inside an epoch: same order
                next(batches)
            if resume_rng is not None:
                torch.set_rng_state(resume_rng)
            for batch in batches:
                self.handle_commands(position)
                step = position.step + 1
                stats_due = due("stats", rates.stats_every, step)
                before = timed(probes.snapshot) if stats_due else None
                try:
                    metrics = training.train_step(batch)
                except Exception as err:  # noqa: BLE001
                    raise self.explain(err) from err
                position.step, position.epoch_step = step, position.epoch_step + 1
                pending.append(metrics)
                window_samples += batch[0].shape[0] if batch else 1
                if stats_due:
                    timed(probes.send_stats, step, before, probe="stats")
                if due("histograms", rates.histograms_every, step):
                    timed(probes.send_histograms, step, probe="histograms")
                if due("activations", rates.activations_every, step):
                    timed(probes.send_activations, step, probe="activations")
                if step % log_every == 0 or step == total:
                    if not self.log.flush(pending, position, training.optimizers):
                        pending = []
                        if not self.config.pause_on_nan:
                            return "nan"
                        self.nan_pause(position)
                        window_start, window_samples = self.clock.active(), 0
                        break
                    pending = []
                    elapsed = self.send_progress(position, first_step, window_start,
                                                 window_samples)
                    window_start, window_samples = elapsed, 0
                    progress_at = time.perf_counter() + every_seconds
                elif time.perf_counter() >= progress_at:  # between log events, on its own clock
                    self.send_progress(position, first_step, window_start, window_samples)
                    progress_at = time.perf_counter() + every_seconds
                if due("generative", generative_every, step):
                    timed(probes.send_generative, step, probe="generative")
                if due("shift", shift_every, step):
                    timed(probes.send_shift, step, probe="shift")
                if due("previews", preview_every, step):
                    timed(probes.send_previews, step, probe="previews")
                if config.checkpoint_every and step % config.checkpoint_every == 0:
                    self.states.write(position)
                if config.max_seconds and self.clock.active() > config.max_seconds:
                    return "stopped"
                if step >= total:
                    break
            else:
                position.epoch += 1
                position.epoch_step = 0
                position.epoch_rng = None
                if self.config.evaluate_every_epoch and position.step < total and \
                        self.evaluation_due():
                    self.send_evaluation(position)
                self.states.keep_good(position)
                if self.config.checkpoint_path and self.config.checkpoint_epochs:
                    self.states.write(position)
                continue
            if position.step >= total:
                break
        return "finished"

    # ------------------------------------------------------------------------------------------
    progress_seconds = PROGRESS_SECONDS  # where training is, sent at least this often

    def send_progress(self, position, first_step: int, window_start: float,
                      window_samples: int) -> float:
        """Where training is (the rate over the samples since the last log event); returns
        the seconds trained."""
        elapsed = self.clock.active()
        rate = window_samples / max(elapsed - window_start, 1e-9)
        step = position.step
        self.emit(Progress(step=step, total=self.total, epoch=position.epoch + 1,
                           samples_per_second=rate, elapsed=elapsed,
                           eta=elapsed / max(step - first_step, 1) * (self.total - step),
                           probe_seconds=self.schedule.probe_seconds))
        return elapsed

    def handle_commands(self, position) -> None:
        for command in self.control.poll():
            self.apply(command, position)
        if self.paused:
            start = time.perf_counter()
            while self.paused and not self.stopping:
                for command in self.control.poll(0.1):
                    self.apply(command, position)
            self.clock.paused_seconds += time.perf_counter() - start
        if self.stopping:
            raise Stop

    def apply(self, command: tuple, position) -> None:
        kind = command[0]
        if kind == "pause" and not self.paused:
            self.paused = True
            self.emit(Paused(position.step))
        elif kind == "resume" and self.paused:
            self.paused = False
            self.emit(Resumed(position.step))
        elif kind == "stop":
            self.stopping = True
        elif kind == "watch":
            self.probes.watch = set(command[1])
            self.schedule.timed(self.probes.send_activations, position.step)
        elif kind == "sample":
            self.rates.sample = int(command[1])
            self.schedule.timed(self.probes.send_activations, position.step)
        elif kind == "checkpoint":
            self.states.write(position, command[1])
        elif kind == PROBE_COMMAND and command[1] in PROBES and \
                (command[1] != "previews" or self.config.previews):
            self.schedule.request(command[1])
        elif kind == FIELD_COMMAND:  # a unit clicked in the Feature Maps view
            from studio.engine.receptive_field import answer

            self.emit(answer(self.project, self.probes, position.step, *command[1:]))

    def nan_pause(self, position) -> None:
        self.paused = True
        self.emit(Paused(position.step, reason="nan"))
        self.handle_commands(position)  # waits for resume or stop
        self.states.go_back(position)
        self.emit(Restored(position.step))

    EVALUATION_BUDGET = 0.01  # share of the training time epoch-end evaluations may take
    EVALUATION_ALWAYS_AFTER = 20.0  # seconds of training: long epochs are always evaluated

    def evaluation_due(self) -> bool:
        """Evaluate at an epoch end, except when epochs are so short that evaluating each would
        take more than 1% of the training time; an epoch end 20 s of training or more after
        the last evaluation always evaluates (as a hand-written loop would). The final
        evaluation always runs."""
        return self.clock.spaced(self.last_evaluation, self.EVALUATION_BUDGET,
                                 self.EVALUATION_ALWAYS_AFTER)

    def send_evaluation(self, position) -> dict:
        start = time.perf_counter()
        with torch.random.fork_rng(devices=cuda_devices()):
            try:
                result = self.training.evaluate()
            except Exception as err:  # noqa: BLE001
                raise self.explain(err) from err
        cost = time.perf_counter() - start
        self.schedule.evaluated(cost)
        self.last_evaluation = (self.clock.active(), cost)
        scalars = {k: v for k, v in result.items() if isinstance(v, float)}
        self.emit(Evaluation(position.step, position.epoch, scalars,
                             {k: v for k, v in result.items() if k.startswith("confusion")}))
        return result

    def finish(self, status: str, position) -> dict:
        evaluation = self.send_evaluation(position) if status == "finished" else {}
        if status == "finished" and self.probes.scores_key:
            # predictions of the final model
            self.schedule.timed(self.probes.send_activations, position.step)
            if self.probes.shift is not None and self.rates.shift_every:
                self.schedule.timed(self.probes.send_shift, position.step, probe="shift")
        if status == "finished" and self.probes.generative and self.rates.generative_every:
            # the final model's discriminator or latent code
            self.schedule.timed(self.probes.send_generative, position.step, probe="generative")
        if self.config.previews and status == "finished":
            self.probes.send_previews(None)
        probe_seconds = self.schedule.probe_seconds
        if status == "nan":  # keep the last good checkpoint and weights, write nothing newer
            result = {"status": "failed", "steps": position.step, "evaluation": {},
                      "probe_seconds": probe_seconds}
            self.emit(Finished(**result))
            return result
        if self.config.checkpoint_path:
            self.states.write(position)
        if self.config.save_weights:
            save_weights(self.training, self.config.save_weights)
        result = {"status": status, "steps": position.step,
                  "evaluation": {k: v for k, v in evaluation.items() if isinstance(v, float)},
                  "probe_seconds": probe_seconds}
        self.emit(Finished(**result))
        return result
