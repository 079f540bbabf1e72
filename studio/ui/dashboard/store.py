"""What the dashboard knows about training runs, built from the session's events alone
(``engine/events.py``).

Plain Python and numpy (no Qt), so the bookkeeping is tested without a window. Curves live in
growable arrays (amortized doubling: appending 100,000 points costs about as much as copying
them once), images keep only the newest, and the last few runs of the project stay for overlay.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from studio.engine.events import (
    ACTIVE_STATES,
    Activations,
    Adversarial,
    Boundary,
    Checkpoint,
    DeadUnits,
    Download,
    Error,
    Evaluation,
    Event,
    Finished,
    FunctionFit,
    Histograms,
    Kernels,
    Latent,
    Metrics,
    Normalization,
    OptimizerPaths,
    Paused,
    PreActivations,
    Predictions,
    Preview,
    ProbeSkipped,
    Progress,
    ReceptiveField,
    Restored,
    Resumed,
    ShiftTest,
    Started,
    Stats,
    state_after,
)

# the topic a view listens to for each probe (``events.PROBES``), so a skipped one's note shows
PROBE_TOPICS = {"stats": "stats", "histograms": "histograms", "activations": "activations",
                "previews": "previews", "generative": "generative", "shift": "shift"}
MAX_RUNS = 4  # the current run and three before it, overlaid on the curves
MAX_HISTOGRAMS = 500  # a node's pre-activation histograms kept (48 counts each)


class Series:
    """x/y points that grow without reallocating on every append."""

    def __init__(self, capacity: int = 256):
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def _reserve(self, extra: int) -> None:
        need = self.size + extra
        if need <= len(self._x):
            return
        capacity = max(need, 2 * len(self._x))
        for name in ("_x", "_y"):
            old = getattr(self, name)
            new = np.empty(capacity, dtype=np.float64)
            new[: self.size] = old[: self.size]
            setattr(self, name, new)

    def append(self, x: float, y: float) -> None:
        self._reserve(1)
        self._x[self.size] = x
        self._y[self.size] = y
        self.size += 1

    def extend(self, xs, ys) -> None:
        xs = np.asarray(xs, dtype=np.float64)
        ys = np.asarray(ys, dtype=np.float64)
        self._reserve(len(xs))
        self._x[self.size: self.size + len(xs)] = xs
        self._y[self.size: self.size + len(ys)] = ys
        self.size += len(xs)

    def truncate_after(self, x: float) -> None:
        """Forget points past ``x`` (a run restored to an earlier state repeats those steps)."""
        keep = int(np.searchsorted(self.x, x, side="right"))
        self.size = min(self.size, keep)

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.size]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.size]

    @property
    def last(self) -> float | None:
        return float(self._y[self.size - 1]) if self.size else None


def smooth(y: np.ndarray, weight: float) -> np.ndarray:
    """Exponential moving average with bias correction (TensorBoard's smoothing); ``weight`` 0
    returns the data itself. Non-finite values pass through unsmoothed."""
    if weight <= 0 or len(y) == 0:
        return y
    out = np.empty_like(y)
    acc, norm = 0.0, 0.0
    for i, v in enumerate(y.tolist()):  # 100k points: ~15 ms; callers smooth incrementally
        if not math.isfinite(v):
            out[i] = v
            continue
        acc = acc * weight + (1 - weight) * v
        norm = norm * weight + (1 - weight)
        out[i] = acc / norm
    return out


@dataclass
class Run:
    """One training run of the project: everything its events said."""

    number: int
    label: str = ""
    started: float = field(default_factory=time.time)
    state: str = "starting"  # events.state_after's: starting, running, paused, finished, ...
    device: str = ""
    amp: str = "off"
    total_steps: int = 0
    batches_per_epoch: int = 0  # steps in one pass over the training split
    metric_names: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)  # name -> Series (train, every step)
    evaluation: dict = field(default_factory=dict)  # name -> Series (held-out, by step)
    lr: dict = field(default_factory=dict)  # optimizer -> Series
    grad_norm: dict = field(default_factory=dict)  # node key -> Series
    weight_norm: dict = field(default_factory=dict)
    update_ratio: dict = field(default_factory=dict)
    latest_stats: dict = field(default_factory=dict)  # node key -> {grad_norm, weight_norm, ...}
    histograms: dict = field(default_factory=dict)  # node key -> {"weights": (counts, edges), ...}
    histograms_step: int = 0
    activations: dict = field(default_factory=dict)  # node key -> newest Activations
    dead_units: dict = field(default_factory=dict)  # node key -> newest dead fraction
    pre_activations: dict = field(default_factory=dict)  # node key -> its PreActivations
    kernels: dict = field(default_factory=dict)  # node key -> its newest Kernels
    predictions: Predictions | None = None
    boundary: Boundary | None = None  # the newest map of a classifier of 2-D points
    receptive_field: ReceptiveField | None = None  # the newest unit's, asked for by a click
    function_fit: FunctionFit | None = None  # networks fitting a function of one number
    shift: dict = field(default_factory=dict)  # classifier key -> its newest ShiftTest
    shift_series: dict = field(default_factory=dict)  # (classifier, "kept_1" ...) -> Series
    optimizer_paths: OptimizerPaths | None = None  # the optimizers on a toy surface
    normalization: Normalization | None = None  # the newest normalization probe
    adversarial: Adversarial | None = None  # a GAN's newest discriminator probe
    gan: dict = field(default_factory=dict)  # "js", "grad_minimax", ... -> Series by step
    latent: Latent | None = None  # a VAE's newest latent probe
    confusion: np.ndarray | None = None
    confusion_step: int = 0
    previews: dict = field(default_factory=dict)  # name -> newest Preview
    skipped: dict = field(default_factory=dict)  # probe -> its newest ProbeSkipped
    progress: Progress | None = None  # the newest, None before the first
    error: Error | None = None
    nodes: list = field(default_factory=list)  # trainable node keys
    step: int = 0
    checkpoints: list = field(default_factory=list)  # (step, path)
    final: Finished | None = None

    @property
    def title(self) -> str:
        return self.label or f"Run {self.number}"

    def next_probe_text(self, probe: str, what: str) -> str:
        """When the next ``probe`` comes, in words, if one was skipped for the time budget:
        "Next samples at about step 300 (probes kept to 1% of training time)"; else ""."""
        skipped = self.skipped.get(probe)
        if not skipped:
            return ""
        return (f"Next {what} at about step {skipped.next_step:,} (probes kept to "
                f"{skipped.budget:.0%} of training time)")

    @property
    def per_class_accuracy(self) -> np.ndarray | None:
        if self.confusion is None:
            return None
        totals = self.confusion.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(totals > 0, np.diag(self.confusion) / np.maximum(totals, 1), np.nan)


def _series(table: dict, name: str) -> Series:
    s = table.get(name)
    if s is None:
        s = table[name] = Series()
    return s


class RunStore:
    """The runs of the open project; ``apply`` folds events into the current run and says
    which topics changed, so views redraw only what has news."""

    TOPICS = ("state", "metrics", "evaluation", "progress", "stats", "histograms",
              "pre_activations", "kernels",
              "activations", "dead_units", "predictions", "boundary", "shift", "optimizer_paths",
              "normalization", "adversarial", "latent", "generative", "previews", "error",
              "download", "function_fit", "receptive_field")

    def __init__(self, max_runs: int = MAX_RUNS):
        self.max_runs = max_runs
        self.runs: list[Run] = []
        self._numbers = 0
        self.download: Download | None = None

    @property
    def current(self) -> Run | None:
        return self.runs[-1] if self.runs else None

    @property
    def previous(self) -> list[Run]:
        return self.runs[:-1]

    def new_run(self, label: str = "") -> Run:
        self._numbers += 1
        run = Run(self._numbers, label)
        self.runs.append(run)
        del self.runs[: -self.max_runs]
        return run

    def end_current(self, state: str) -> None:
        """The current run's process went away without saying how its run ended (stopped,
        or the window closed while it trained): its state is ``state`` unless it had ended."""
        run = self.current
        if run is not None and run.state in ACTIVE_STATES:
            run.state = state

    def clear(self) -> None:
        self.runs.clear()
        self._numbers = 0

    def apply(self, events: list[Event]) -> set:
        changed: set = set()
        run = self.current
        if run is None:
            return changed
        for event in events:
            run.state = state_after(run.state, event)
            handler = getattr(self, "_on_" + event.type, None)
            if handler is not None:
                topic = handler(run, event)
                if isinstance(topic, str):
                    topic = (topic,) if topic else ()
                changed.update(topic)
        return changed

    # one handler per event type ---------------------------------------------------------------
    def _on_started(self, run: Run, e: Started) -> str:
        run.device = str(e.device)
        run.amp = str(e.amp)
        run.total_steps = int(e.total_steps)
        run.batches_per_epoch = int(e.batches_per_epoch)
        run.metric_names = list(e.metrics)
        run.nodes = list(e.nodes)
        run.step = int(e.step)
        return "state"

    def _on_metrics(self, run: Run, e: Metrics) -> str:
        points = e.points
        if not points:
            return ""
        steps = [p["step"] for p in points]
        names = [k for k in points[0] if k not in ("step", "epoch", "lr")]
        for name in names:
            _series(run.metrics, name).extend(steps, [p.get(name, math.nan) for p in points])
        for opt, value in e.lr.items():
            _series(run.lr, opt).append(steps[-1], value)
        run.step = max(run.step, steps[-1])
        return "metrics"

    def _on_evaluation(self, run: Run, e: Evaluation) -> str:
        for name, value in e.metrics.items():
            _series(run.evaluation, name).append(e.step, value)
        if e.confusions.get("confusion") is not None:
            run.confusion = np.asarray(e.confusions["confusion"], dtype=np.int64)
            run.confusion_step = e.step
        return "evaluation"

    def _on_progress(self, run: Run, e: Progress) -> str:
        run.progress = e
        run.step = max(run.step, int(e.step))
        return "progress"

    def _on_stats(self, run: Run, e: Stats) -> str:
        for key, values in e.nodes.items():
            run.latest_stats[key] = values
            for name, table in (("grad_norm", run.grad_norm), ("weight_norm", run.weight_norm),
                                ("update_ratio", run.update_ratio)):
                if name in values:
                    _series(table, key).append(e.step, values[name])
        return "stats"

    def _on_histograms(self, run: Run, e: Histograms) -> str:
        run.skipped.pop("histograms", None)
        run.histograms = dict(e.nodes)
        run.histograms_step = e.step
        return "histograms"

    def _on_activations(self, run: Run, e: Activations) -> str:
        run.activations[e.node] = e
        return "activations"

    def _on_dead_units(self, run: Run, e: DeadUnits) -> str:
        run.dead_units.update(e.nodes)
        return "dead_units"

    def _on_pre_activations(self, run: Run, e: PreActivations) -> str:
        """Kept in order of step (the newest last), at most ``MAX_HISTOGRAMS`` per node."""
        kept = run.pre_activations.setdefault(e.node, [])
        if kept and kept[-1].step == e.step:
            kept.pop()  # the same step measured again (the selection, the run's end)
        kept.append(e)
        del kept[:-MAX_HISTOGRAMS]
        return "pre_activations"

    def _on_kernels(self, run: Run, e: Kernels) -> str:
        run.kernels[e.node] = e
        return "kernels"

    def _on_receptive_field(self, run: Run, e: ReceptiveField) -> str:
        run.receptive_field = e
        return "receptive_field"

    def _on_predictions(self, run: Run, e: Predictions) -> str:
        run.predictions = e
        return "predictions"

    def _on_boundary(self, run: Run, e: Boundary) -> str:
        run.boundary = e
        return "boundary"

    def _on_function_fit(self, run: Run, e: FunctionFit) -> str:
        run.function_fit = e
        return "function_fit"

    def _on_shift_test(self, run: Run, e: ShiftTest) -> str:
        run.shift[e.classifier] = e
        for shift, kept in zip(e.shifts, e.kept):
            _series(run.shift_series, (e.classifier, f"kept_{shift}")).append(e.step, kept)
        _series(run.shift_series, (e.classifier, "accuracy")).append(e.step, e.accuracy)
        run.skipped.pop("shift", None)
        return "shift"

    def _on_optimizer_paths(self, run: Run, e: OptimizerPaths) -> str:
        run.optimizer_paths = e
        return "optimizer_paths"

    def _on_normalization(self, run: Run, e: Normalization) -> str:
        run.normalization = e
        return "normalization"

    def _on_adversarial(self, run: Run, e: Adversarial) -> str:
        run.adversarial = e
        for name in ("mean_real", "mean_fake", "js", "grad_minimax", "grad_non_saturating"):
            value = getattr(e, name)
            if value is not None:
                _series(run.gan, name).append(e.step, value)
        return "adversarial"

    def _on_latent(self, run: Run, e: Latent) -> str:
        run.latent = e
        return "latent"

    def _on_preview(self, run: Run, e: Preview) -> str:
        run.previews[e.name] = e
        run.skipped.pop("previews", None)
        return "previews"

    def _on_probe_skipped(self, run: Run, e: ProbeSkipped) -> str:
        run.skipped[e.probe] = e
        return PROBE_TOPICS.get(e.probe, "")

    def _on_paused(self, run: Run, e: Paused) -> str:
        return "state"

    def _on_resumed(self, run: Run, e: Resumed) -> str:
        return "state"

    def _on_restored(self, run: Run, e: Restored) -> tuple:
        """After a NaN the run goes back to its last good state: drop the curves past it (and
        the NaN's mark: the state it complained about is gone)."""
        if run.error and run.error.kind == "nan":
            run.error = None
        for table in (run.metrics, run.lr, run.grad_norm, run.weight_norm, run.update_ratio,
                      run.evaluation):
            for s in table.values():
                s.truncate_after(e.step)
        run.step = e.step
        return ("metrics", "stats", "evaluation", "error", "state")

    def _on_checkpoint(self, run: Run, e: Checkpoint) -> str:
        run.checkpoints.append((e.step, e.path))
        return "state"

    def _on_error(self, run: Run, e: Error) -> str:
        run.error = e
        return "error"

    def _on_download(self, run: Run, e: Download) -> str:
        self.download = e
        return "download"

    def _on_finished(self, run: Run, e: Finished) -> str:
        run.final = e
        return "state"
