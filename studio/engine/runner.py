"""The training loop Studio drives: the generated ``Training`` plus control, probes, evaluation,
previews, checkpoints and faults, reported as events.

It runs in the worker process (``worker.py``) for the app and the CLI, and in-process for
scripts and tests (``trainer.py``). ``emit`` receives each event (``events.py``: typed records
of numbers, strings and small numpy arrays); ``control`` is asked for commands between steps,
so pause and stop answer within one step.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from studio.core.fileformat import dumps
from studio.core.inference import node_ports
from studio.core.project import Project
from studio.core.registry import Values, is_data_source, is_preview, measures_accuracy, role_of
from studio.engine import checkpoint
from studio.engine.codegen import generate
from studio.engine.errors import TrainingError, explain, resolve_device
from studio.engine.events import (
    PROBE_COMMAND,
    PROBES,
    PROGRESS_SECONDS,
    Activations,
    Checkpoint,
    DeadUnits,
    Download,
    Error,
    Evaluation,
    Event,
    Finished,
    Histograms,
    Metrics,
    Paused,
    Predictions,
    Preview,
    ProbeSkipped,
    Progress,
    Restored,
    Resumed,
    Started,
    Stats,
)
from studio.engine.loader import RESOURCES_DATA, load
from studio.engine.naming import identifier
from studio.engine.node_keys import node_key
from studio.engine.probes import ActivationRecorder, ParameterStats, ProbeRates, histograms, parameter_nodes
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
        self.watch = set(config.watch)
        self.rates = config.probes
        self.paused = False
        self.stopping = False
        self.last_good: tuple | None = None  # (state, metric-history length) after a NaN
        self.good_kept: tuple | None = None  # (training seconds when kept, what it cost)
        self.probe_seconds = 0.0  # probes, previews and evaluations, all told
        self.evaluation_seconds = 0.0
        self.last_evaluation: tuple | None = None  # (training seconds at its end, its cost)
        self.paused_seconds = 0.0  # left out of elapsed time, ETA and samples per second
        self.requested: set = set()  # probes the user asked for, run at the next step
        self.skip_announced: dict = {}  # probe -> the next step last announced for it
        self.first_step = 1  # the first step of this run (a continued run starts later)

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
            self.training = self.module.Training(self.device, self.seed, self.config.data_dir,
                                                 self.config.steps, self.config.epochs)
        except Exception as err:  # noqa: BLE001 - becomes an event naming the node
            raise self.explain(err, "data") from err
        self.groups = parameter_nodes(self.training, self.code)
        self.recorder = ActivationRecorder(self.code, self.module, self.project)
        self.probe_batch = self.make_probe_batch()
        self.loss_nodes = {identifier(n.title or n.id): n.id
                           for n in self.project.training.nodes.values()}
        self.scores_key = self.classifier_scores()
        self.preview_batch_images = self.preview_inputs()  # fixed for the run: read once
        self.preview_upstream = self.preview_sources()

    def classifier_scores(self) -> str | None:
        """The node key of the class scores a classifier's loss reads (for the predictions
        grid), when the project has a loss that measures accuracy on dataset labels."""
        graph = self.project.training
        for node in graph.nodes.values():
            if not measures_accuracy(node.block):
                continue
            wires = {e.dst_port: e for e in graph.edges if e.dst == node.id}
            scores, target = wires.get("input"), wires.get("target")
            if scores is None or target is None or not is_data_source(graph.nodes[target.src].block):
                continue
            src = graph.nodes[scores.src]
            ports = len(node_ports(graph, src.id, "output"))
            return node_key(src.id, port=scores.src_port if ports > 1 else None)
        return None

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
            raise TrainingError(f"training/{node}: {err}" if node else str(err),
                                ("training", node) if node else None, "data") from None

    def make_probe_batch(self):
        data = self.training.data
        if data is None:
            return ()
        split = data.test if len(data.test[0]) else data.train
        return tuple(t[: self.rates.probe_count or 16] for t in split)

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
        position = checkpoint.Position()
        if self.config.resume_from:
            try:
                position = checkpoint.restore(training, checkpoint.load(self.config.resume_from))
            except checkpoint.CheckpointError as err:
                self.emit(Error("checkpoint", str(err)))
                return {"status": "failed"}
        total = training.total_steps
        self.emit(Started(device=self.device, total_steps=total,
                          batches_per_epoch=len(training.batches),
                          metrics=self.code.metric_names, step=position.step,
                          seconds=time.perf_counter() - start_wall, nodes=sorted(self.groups),
                          amp=self.project.training.settings["amp"]))
        self.history = position.history
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

    def fail(self, err: TrainingError) -> None:
        self.emit(Error(err.kind, str(err), list(err.node) if err.node else None))

    def loop(self, position: checkpoint.Position, total: int) -> str:
        training = self.training
        pending: list = []
        first_step = position.step  # a continued run's ETA counts only this run's steps
        self.first_step = first_step + 1  # every probe runs here once, whatever the budget
        self.total = total
        self.run_start = time.perf_counter()
        every_seconds = self.progress_seconds
        progress_at = self.run_start + every_seconds
        window_start, window_samples = 0.0, 0
        self.keep_good(position)  # the first is always kept
        # Read once: a small model's step takes milliseconds, and the Python between steps
        # counts against it.
        rates, config = self.rates, self.config
        log_every = self.project.training.settings["log_every"]
        preview_every = self.project.training.settings["preview_every"] if config.previews else 0
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
                stats_due = self.probe_due("stats", rates.stats_every, step)
                before = self.timed(ParameterStats.snapshot, self.groups) if stats_due else None
                try:
                    metrics = training.train_step(batch)
                except Exception as err:  # noqa: BLE001
                    raise self.explain(err) from err
                position.step, position.epoch_step = step, position.epoch_step + 1
                pending.append(metrics)
                window_samples += batch[0].shape[0] if batch else 1
                if stats_due:
                    self.timed(self.send_stats, step, before)
                if self.probe_due("histograms", rates.histograms_every, step):
                    self.timed(self.send_histograms, step)
                if self.probe_due("activations", rates.activations_every, step):
                    self.timed(self.send_activations, step)
                if step % log_every == 0 or step == total:
                    if not self.flush_metrics(pending, position):
                        pending = []
                        if not self.config.pause_on_nan:
                            return "nan"
                        self.nan_pause(position)
                        window_start, window_samples = self.active_seconds(), 0
                        break
                    pending = []
                    elapsed = self.send_progress(position, first_step, window_start,
                                                 window_samples)
                    window_start, window_samples = elapsed, 0
                    progress_at = time.perf_counter() + every_seconds
                elif time.perf_counter() >= progress_at:  # between log events, on its own clock
                    self.send_progress(position, first_step, window_start, window_samples)
                    progress_at = time.perf_counter() + every_seconds
                if self.probe_due("previews", preview_every, step):
                    self.timed(self.send_previews, step)
                if config.checkpoint_every and step % config.checkpoint_every == 0:
                    self.write_checkpoint(position)
                if config.max_seconds and self.active_seconds() > config.max_seconds:
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
                self.keep_good(position)
                if self.config.checkpoint_path and self.config.checkpoint_epochs:
                    self.write_checkpoint(position)
                continue
            if position.step >= total:
                break
        return "finished"

    # ------------------------------------------------------------------------------------------
    def active_seconds(self) -> float:
        """Seconds this run has trained (paused time left out)."""
        return time.perf_counter() - self.run_start - self.paused_seconds

    def spaced_by_budget(self, last: tuple | None, budget: float,
                         longest: float = math.inf) -> bool:
        """Whether occasional work done last at ``last`` (training seconds at its end, its
        cost) may run again and still take no more than ``budget`` of the training time; it
        always may after ``longest`` seconds, and the first time."""
        if last is None:
            return True
        ended, cost = last
        return self.active_seconds() - ended >= min(cost / budget, longest)

    progress_seconds = PROGRESS_SECONDS  # where training is, sent at least this often

    def send_progress(self, position, first_step: int, window_start: float,
                      window_samples: int) -> float:
        """Where training is (the rate over the samples since the last log event); returns
        the seconds trained."""
        elapsed = self.active_seconds()
        rate = window_samples / max(elapsed - window_start, 1e-9)
        step = position.step
        self.emit(Progress(step=step, total=self.total, epoch=position.epoch + 1,
                           samples_per_second=rate, elapsed=elapsed,
                           eta=elapsed / max(step - first_step, 1) * (self.total - step),
                           probe_seconds=self.probe_seconds))
        return elapsed

    def probe_due(self, probe: str, every: int, step: int) -> bool:
        """Whether ``probe`` runs after this step: when the user asked for it; once at the
        run's first step, whatever the budget (the views have something at once); then at
        its rate in steps, skipped while probes have taken more than their share of the
        training time (tiny steps: probes run less often), a skip being announced with the
        step the next one is expected at."""
        if self.requested and probe in self.requested:
            self.requested.discard(probe)
            return True
        if not every:
            return False
        if step == self.first_step:
            return True
        if step % every:
            return False
        budget = self.rates.budget
        spent = self.probe_seconds - self.evaluation_seconds
        active = self.active_seconds()
        if budget is None or spent <= budget * active:
            return True
        self.announce_skip(probe, every, step, spent / budget - active, active)
        return False

    def announce_skip(self, probe: str, every: int, step: int, wait: float,
                      active: float) -> None:
        """Say when the next ``probe`` is expected: after the training time that brings the
        probes back within their share, at this run's pace, on the probe's rate."""
        steps_per_second = (step - self.first_step + 1) / max(active, 1e-9)
        later = max(every, math.ceil(wait * steps_per_second / every) * every)
        next_step = min(step + later, max(self.total, step))
        if self.skip_announced.get(probe) != next_step:
            self.skip_announced[probe] = next_step
            self.emit(ProbeSkipped(probe, step, next_step, float(self.rates.budget)))

    def timed(self, fn, *args):
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.probe_seconds += time.perf_counter() - start

    def handle_commands(self, position) -> None:
        for command in self.control.poll():
            self.apply(command, position)
        if self.paused:
            start = time.perf_counter()
            while self.paused and not self.stopping:
                for command in self.control.poll(0.1):
                    self.apply(command, position)
            self.paused_seconds += time.perf_counter() - start
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
            self.watch = set(command[1])
            self.timed(self.send_activations, position.step)
        elif kind == "sample":
            self.rates.sample = int(command[1])
            self.timed(self.send_activations, position.step)
        elif kind == "checkpoint":
            self.write_checkpoint(position, command[1])
        elif kind == PROBE_COMMAND and command[1] in PROBES and \
                (command[1] != "previews" or self.config.previews):
            self.requested.add(command[1])

    def flush_metrics(self, pending: list, position) -> bool:
        """Send every step's losses (one device sync for the whole window); False on NaN."""
        if not pending:
            return True
        names = list(pending[0])
        values = torch.stack([m[k] for m in pending for k in names]).float()  # one sync
        rows = values.reshape(len(pending), len(names)).tolist()
        first = position.step - len(pending) + 1
        lr = {name: opt.param_groups[0]["lr"] for name, opt in self.training.optimizers.items()}
        points = []
        for i, row in enumerate(rows):
            point = {"step": first + i, "epoch": position.epoch + 1, **dict(zip(names, row))}
            points.append(point)
            bad = [k for k, v in zip(names, row) if not math.isfinite(v)]
            if bad:
                self.history += points
                self.emit(Metrics(points, lr))
                node = self.loss_nodes.get(bad[0], bad[0])
                then = ("training paused at the last good state; lower the learning rate or "
                        "check the data, then resume from that state or stop"
                        if self.config.pause_on_nan else
                        "training stopped and the last good checkpoint is kept; lower the "
                        "learning rate or check the data")
                self.emit(Error("nan", f"training/{node}: the loss became "
                                       f"{row[names.index(bad[0])]} at step {first + i}; {then}",
                                ["training", node]))
                return False
        points[-1]["lr"] = lr
        self.history += points
        self.emit(Metrics(points, lr))
        return True

    def nan_pause(self, position) -> None:
        self.paused = True
        self.emit(Paused(position.step, reason="nan"))
        self.handle_commands(position)  # waits for resume or stop
        state, history_length = self.last_good
        restored = checkpoint.restore(self.training, checkpoint.copy_state(state))
        position.step, position.epoch = restored.step, restored.epoch
        position.epoch_step, position.epoch_rng = restored.epoch_step, restored.epoch_rng
        del self.history[history_length:]
        self.emit(Restored(position.step))

    GOOD_STATE_BUDGET = 0.005  # share of the time keeping the last good state may take

    def keep_good(self, position) -> None:
        """Copy the state at an epoch end, to go back to after a NaN; at most 0.5% of the time
        (tiny epochs keep one less often). The metric history is append-only, so its length
        is kept rather than a copy that would grow with the run."""
        if not self.spaced_by_budget(self.good_kept, self.GOOD_STATE_BUDGET):
            return
        start = time.perf_counter()
        state = checkpoint.capture(self.training, position, history=False)
        self.last_good = (checkpoint.copy_state(state), len(self.history))
        self.good_kept = (self.active_seconds(), time.perf_counter() - start)

    def write_checkpoint(self, position, path=None) -> None:
        path = path or self.config.checkpoint_path
        if not path:
            return
        position.history = self.history
        state = checkpoint.capture(self.training, position, dumps(self.project))
        checkpoint.save(state, path)
        self.emit(Checkpoint(str(path), position.step))

    # probes ------------------------------------------------------------------------------------
    def send_stats(self, step: int, before) -> None:
        self.emit(Stats(step, ParameterStats.measure(self.groups, before)))

    def send_histograms(self, step: int) -> None:
        self.emit(Histograms(step, histograms(self.groups)))

    def send_activations(self, step: int) -> None:
        if not (self.rates.activations_every or self.watch):
            return
        full = (self.scores_key,) if self.scores_key else ()
        with torch.random.fork_rng(devices=_cuda_devices()):
            _, images, dead, whole = self.recorder.run(
                self.training.inspect, self.probe_batch, watch=self.watch,
                sample=self.rates.sample, full=full)
        for key, image in images.items():
            self.emit(Activations(step=step, node=key, **image))
        if dead:
            self.emit(DeadUnits(step, dead))
        if self.scores_key in whole:
            self.send_predictions(step, whole[self.scores_key])

    def send_predictions(self, step: int, scores: torch.Tensor) -> None:
        """The probe batch with true and predicted classes: the dashboard marks the wrong ones."""
        probabilities = torch.softmax(scores.float(), dim=1)
        confidence, predicted = probabilities.max(dim=1)
        inputs, labels = self.probe_batch[0], self.probe_batch[1]
        self.emit(Predictions(step, labels.cpu().numpy(), predicted.cpu().numpy(),
                              confidence.cpu().numpy(),
                              inputs.float().cpu().numpy() if inputs.dim() == 4 else None))

    def send_previews(self, step: int | None) -> None:
        with torch.random.fork_rng(devices=_cuda_devices()):
            previews = self.training.previews()
        inputs, sources = self.preview_batch_images, self.preview_upstream
        for name, images in previews.items():
            meta = self.module.PREVIEWS.get(name, {})
            data = images.detach().float().cpu()
            upstream = sources.get(name, [])
            shown_beside = None
            if any(is_data_source(n.block) for n in upstream) and inputs is not None and \
                    tuple(inputs.shape) == tuple(data.shape):
                shown_beside = inputs  # reconstructions are shown beside what they rebuild
            drawn = [(role_of(n.block, "drawn"), n) for n in upstream]
            classes = [d.class_rows(Values(n.params)) for d, n in drawn if d and d.class_rows]
            self.emit(Preview(step, name, data.numpy(), meta.get("value_range", (-1.0, 1.0)),
                              meta.get("nrow", 8), shown_beside,
                              int(classes[0]) if classes else None))
            if self.config.samples_dir:
                suffix = f"_step{step:07d}" if step is not None else ""
                self.module.save_image_grid(data, Path(self.config.samples_dir) /
                                            f"{name}{suffix}.png", **meta)

    def preview_inputs(self):
        """The dataset images the previews were computed from (None without image data)."""
        batch = getattr(self.training, "preview_batch", None)
        if not batch or not torch.is_tensor(batch[0]) or batch[0].dim() != 4:
            return None
        return batch[0].detach().float().cpu().numpy()

    def preview_sources(self) -> dict:
        """For each preview output, the nodes upstream of it: a preview that reads the dataset
        shows reconstructions (sent with their inputs); one fed by Class labels has a row per
        class (sent with the class count, so the dashboard labels the rows)."""
        graph = self.project.training
        upstream: dict = {}
        for e in graph.edges:
            upstream.setdefault(e.dst, set()).add(e.src)
        sources = {}
        for node in graph.nodes.values():
            if not is_preview(node.block):
                continue
            seen, todo = set(), [node.id]
            while todo:
                for src in upstream.get(todo.pop(), ()):
                    if src not in seen:
                        seen.add(src)
                        todo.append(src)
            sources[identifier(node.title or node.id)] = [graph.nodes[n] for n in seen]
        return sources

    EVALUATION_BUDGET = 0.01  # share of the training time epoch-end evaluations may take
    EVALUATION_ALWAYS_AFTER = 20.0  # seconds of training: long epochs are always evaluated

    def evaluation_due(self) -> bool:
        """Evaluate at an epoch end, except when epochs are so short that evaluating each would
        take more than 1% of the training time; an epoch end 20 s of training or more after
        the last evaluation always evaluates (as a hand-written loop would). The final
        evaluation always runs."""
        return self.spaced_by_budget(self.last_evaluation, self.EVALUATION_BUDGET,
                                     self.EVALUATION_ALWAYS_AFTER)

    def send_evaluation(self, position) -> dict:
        start = time.perf_counter()
        with torch.random.fork_rng(devices=_cuda_devices()):
            try:
                result = self.training.evaluate()
            except Exception as err:  # noqa: BLE001
                raise self.explain(err) from err
        cost = time.perf_counter() - start
        self.probe_seconds += cost
        self.evaluation_seconds += cost
        self.last_evaluation = (self.active_seconds(), cost)
        scalars = {k: v for k, v in result.items() if isinstance(v, float)}
        self.emit(Evaluation(position.step, position.epoch, scalars,
                             {k: v for k, v in result.items() if k.startswith("confusion")}))
        return result

    def finish(self, status: str, position) -> dict:
        evaluation = self.send_evaluation(position) if status == "finished" else {}
        if status == "finished" and self.scores_key:
            self.timed(self.send_activations, position.step)  # predictions of the final model
        if self.config.previews and status == "finished":
            self.send_previews(None)
        if status == "nan":  # keep the last good checkpoint and weights, write nothing newer
            result = {"status": "failed", "steps": position.step, "evaluation": {},
                      "probe_seconds": self.probe_seconds}
            self.emit(Finished(**result))
            return result
        if self.config.checkpoint_path:
            self.write_checkpoint(position)
        if self.config.save_weights:
            save_weights(self.training, self.config.save_weights)
        result = {"status": status, "steps": position.step,
                  "evaluation": {k: v for k, v in evaluation.items() if isinstance(v, float)},
                  "probe_seconds": self.probe_seconds}
        self.emit(Finished(**result))
        return result


def _cuda_devices() -> list:
    return list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
