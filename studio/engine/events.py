"""Every event the training worker sends, declared here: one frozen record per kind, what each
field holds, and whether only the newest of its kind matters (coalescing) or it must go at once.

The runner makes them, the worker's sender batches them through the pipe (they pickle as their
fields: numbers, strings, lists, dicts and numpy arrays), and the session, the dashboard's
store and controller, the in-process trainer and the CLI read their fields by name.

Probes (gradient statistics, histograms, feature maps, previews) are kept to a share of the
training time; a probe skipped for that is announced with the step at which the next is
expected, so a view can say when it will have something rather than wait in silence. The user
may ask for one now (the ``probe`` command); it runs at the next step boundary.

Nodes are named by node keys (``node_keys.py``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, fields
from typing import ClassVar

import numpy as np

from studio.engine.node_keys import NodeKey

# The probes a run takes, by the name the ``probe`` command and these events use.
PROBES = ("stats", "histograms", "activations", "previews", "generative", "shift")
PROBE_COMMAND = "probe"  # ("probe", name): run that probe at the next step boundary
FIELD_COMMAND = "receptive_field"  # (FIELD_COMMAND, node key, (channel, row, column), sample)
PROGRESS_SECONDS = 0.5  # how often progress is sent between log events, on the worker's clock

# What a training process is asked to do, by ``WorkerJob.kind``; each but "train" has its
# settings in ``WorkerJob.task``: RangeTest (lr_finder.py), PredictJob (prediction.py) or
# FieldJob (field_job.py), as a dict.
JOB_KINDS = ("train", "range_test", "predict", "field")


@dataclass(frozen=True)
class WorkerJob:
    """The job handed to a training process (a local worker's pipe, or over SSH to a remote
    one): the project as text, the run's configuration as plain data, the thread count (None:
    the process's own), and what to do. It crosses as a dict of builtins (``data``), so the
    receiving side's restricted reader accepts it."""

    project: str
    config: dict
    threads: int | None = None
    kind: str = "train"
    task: dict | None = None

    def __post_init__(self):
        if self.kind not in JOB_KINDS:
            raise ValueError(f"a worker job of unknown kind {self.kind!r} (known: "
                             f"{', '.join(JOB_KINDS)})")

    @property
    def data(self) -> dict:
        return {"project": self.project, "config": dict(self.config), "threads": self.threads,
                "kind": self.kind, "task": self.task}

    @classmethod
    def from_data(cls, data: dict) -> WorkerJob:
        return cls(**data)


class Event:
    """What every event shares: its ``type`` (the name the store's handlers and the CLI go by),
    ``latest_by`` (None: every one must arrive; a tuple of field names: an unsent or unread one
    is replaced by a newer one with the same values in those fields) and ``prompt`` (sent at
    once rather than with the next batch: the Pause button shows "paused" as soon as training
    has stopped)."""

    type: ClassVar[str] = ""
    latest_by: ClassVar[tuple[str, ...] | None] = None
    prompt: ClassVar[bool] = False

    def __eq__(self, other) -> bool:
        """Field by field, arrays by their values and NaN equal to NaN: what came through the
        pipe equals what was sent."""
        return type(other) is type(self) and all(
            _same(getattr(self, f.name), getattr(other, f.name)) for f in fields(self))

    __hash__ = None


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and bool(
            ((a == b) | ((a != a) & (b != b))).all())  # NaN where both have NaN
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


_event = dataclass(frozen=True, eq=False)  # Event's own equality, which understands arrays


def coalescing_key(item: Event) -> tuple | None:
    """The key under which only the newest ``item`` matters; None when every one must arrive."""
    by = item.latest_by
    if by is None:
        return None
    return (item.type, *(getattr(item, name) for name in by))


class Pending:
    """Events waiting to be sent or read, in the order they came, with the coalescing policy
    applied: a newer event with the same coalescing key replaces the waiting one (and takes its
    place at the end), so a slow reader gets the newest feature map, not a backlog of them,
    while every metric point is kept. Not thread-safe: its owner holds a lock."""

    def __init__(self):
        self._items: dict = {}
        self._order = itertools.count()

    def put(self, item: Event) -> None:
        key = coalescing_key(item)
        if key is None:
            key = next(self._order)
        else:
            self._items.pop(key, None)
        self._items[key] = item

    def take(self) -> list:
        """Everything waiting, oldest first; the queue is empty after."""
        out = list(self._items.values())
        self._items.clear()
        return out

    def __len__(self) -> int:
        return len(self._items)


# ---------------------------------------------------------------------------------------------
# the run's life
# ---------------------------------------------------------------------------------------------

@_event
class Download(Event):
    """A dataset file the project needs is being fetched before training starts."""

    type = "download"
    file: str
    done: int  # bytes so far
    total: int | None  # None or 0 when the server does not say


@_event
class Started(Event):
    """The run is built and its first step comes next."""

    type = "started"
    prompt = True
    device: str
    total_steps: int
    batches_per_epoch: int
    metrics: list  # the metric names each step reports
    step: int  # steps trained before this run (a continued run starts later)
    seconds: float  # building the run (code, data, model) took this long
    nodes: list  # the node keys whose parameters the probes measure
    amp: str
    startup_seconds: float | None = None  # Train to started, as the session measured it


@_event
class Paused(Event):
    type = "paused"
    prompt = True
    step: int
    reason: str | None = None  # "nan": paused at a NaN loss, to go back to the last good state


@_event
class Resumed(Event):
    type = "resumed"
    prompt = True
    step: int


@_event
class Restored(Event):
    """After a NaN the run went back to its last good state, at ``step``."""

    type = "restored"
    prompt = True
    step: int


@_event
class Checkpoint(Event):
    type = "checkpoint"
    path: str
    step: int


@_event
class Error(Event):
    """Training cannot go on (or, ``kind`` "nan", paused or stopped at a NaN loss)."""

    type = "error"
    prompt = True
    kind: str  # runtime, oom, shape, data, nan, project, checkpoint, weights, internal, crash,
    # connection (to a remote machine: lost), remote (no such run there)
    message: str
    node: list | None = None  # [graph, node id] of the node at fault, when one can be named
    traceback: str | None = None


@_event
class Finished(Event):
    type = "finished"
    prompt = True
    status: str  # finished, stopped, failed
    steps: int
    evaluation: dict  # the final held-out metrics (name -> number)
    probe_seconds: float


@_event
class WeightsFitted(Event):
    """Weights were loaded tensor by tensor into the run's networks (``warm_start.py``): from a
    file (``--init-from``, Train > Load Weights) or from the trained state after an edit
    (Continue Training). Each tensor that fits was taken; every other one kept its usual
    initialization. Grouped by node key; tensors by their torch key (``lenet.conv1.weight``)."""

    type = "weights_fitted"
    source: str  # the file, or "the trained state"
    loaded: dict  # node key -> [torch key, ...] taken from the source
    refused: dict  # node key -> [[torch key, shape in the source, shape here], ...]
    missing: dict  # node key -> [torch key, ...] the source does not have
    unexpected: dict  # the source's layer -> [torch key, ...] the project has no place for

    @property
    def reinitialized(self) -> list:
        """The node keys that did not take all their tensors: they start afresh."""
        return sorted(set(self.refused) | set(self.missing))

    def lines(self) -> list[str]:
        """The report in words: a summary line, then one line per node that did not take
        everything, then what the source had that the project does not."""
        def label(key: str) -> str:
            return NodeKey.parse(key).label

        taken = sum(len(v) for v in self.loaded.values())
        fresh = self.reinitialized
        out = [f"weights from {self.source}: {taken} tensor(s) loaded into "
               f"{len(self.loaded)} node(s)" + (f"; {len(fresh)} node(s) re-initialized: "
                                                f"{', '.join(map(label, fresh))}" if fresh
                                                else "; every node loaded")]
        for key in fresh:
            why = [f"{name} is {theirs} in the source, {ours} here"
                   for name, theirs, ours in self.refused.get(key, [])]
            if key in self.missing:
                why.append(f"not in the source: {', '.join(self.missing[key])}")
            out.append(f"  re-initialized {label(key)}: " + "; ".join(why))
        for layer, names in self.unexpected.items():
            out.append(f"  unexpected {layer}: {', '.join(names)} (not in the project)")
        return out


# ---------------------------------------------------------------------------------------------
# measurements
# ---------------------------------------------------------------------------------------------

@_event
class Metrics(Event):
    """Every step's losses since the last log event; the last point also carries the learning
    rates."""

    type = "metrics"
    points: list  # {"step", "epoch", metric name: value, ...} per step
    lr: dict  # optimizer -> learning rate
    resumed: bool = False  # the history of the run this one continues, sent once at its start


@_event
class Progress(Event):
    """Where training is, sent on the worker's own clock between log events (every
    ``PROGRESS_SECONDS``) and with each log event; only the newest matters."""

    type = "progress"
    latest_by = ()
    step: int
    total: int
    epoch: int
    samples_per_second: float
    elapsed: float  # seconds trained, paused time left out
    eta: float
    probe_seconds: float


@_event
class Evaluation(Event):
    """The held-out metrics at an epoch end (and at the end of the run)."""

    type = "evaluation"
    step: int
    epoch: int
    metrics: dict  # name -> number
    confusions: dict = field(default_factory=dict)  # "confusion" or "confusion_<loss>" -> rows


@_event
class Stats(Event):
    """Gradient and weight norms and update-to-weight ratios per node (``probes.py``)."""

    type = "stats"
    step: int
    nodes: dict  # node key -> {"grad_norm", "weight_norm", "update_ratio"}


@_event
class Histograms(Event):
    type = "histograms"
    latest_by = ()
    step: int
    nodes: dict  # node key -> {"weights": (counts, edges), "grads": (counts, edges) or None}


@_event
class Activations(Event):
    """What a screen can show of one watched node's output for one probe sample."""

    type = "activations"
    latest_by = ("node",)
    step: int
    node: str  # node key
    kind: str  # "maps" (C x H x W) or "vector"
    data: np.ndarray  # float32
    range: tuple  # (lowest, highest) finite value
    shape: tuple  # the output's shape for one sample, before downsampling


@_event
class DeadUnits(Event):
    type = "dead_units"
    step: int
    nodes: dict  # node key -> share of units dead for the whole probe batch


@_event
class PreActivations(Event):
    """The watched node's output over the whole probe batch as a histogram
    (``watched_probe.py``); when an activation receives it, that activation and the share of
    the values in its flat region (dead, saturated). Every one arrives: the view overlays the
    last few and draws the share over training."""

    type = "pre_activations"
    step: int
    node: str  # the watched node's key
    source: str  # the key of the node whose output is counted (the activation's input)
    counts: np.ndarray  # int64, one per bin
    edges: np.ndarray  # float32, the bins' edges (one more than counts)
    total: int  # finite values counted
    samples: int  # probe samples they came from
    activation: str | None = None  # the key of the activation receiving them, if any
    block: str = ""  # its block
    flat: tuple | None = None  # (below, above) of its flat region, None for a side not flat
    word: str = ""  # what a value there is called: "dead", "saturated"
    share: float | None = None  # the share of the values in the flat region


@_event
class Kernels(Event):
    """The watched convolution's kernels (``watched_probe.py``): only the newest matters."""

    type = "kernels"
    latest_by = ("node",)
    step: int
    node: str  # node key
    weights: np.ndarray  # float32, out x in x kh x kw (at most 64 of each channel)
    shape: tuple  # the whole weight's shape, in the same order


@_event
class Predictions(Event):
    """The probe batch with true and predicted classes: the dashboard marks the wrong ones."""

    type = "predictions"
    step: int
    labels: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    images: np.ndarray | None = None  # the inputs, when they are images


@_event
class Boundary(Event):
    """A classifier of 2-D points (``boundary.py``): the class it predicts in each cell of a
    grid over its training data, with that class's probability, and a sample of the training
    points drawn on top; only the newest matters."""

    type = "boundary"
    latest_by = ()
    step: int
    extent: tuple  # (x lowest, x highest, y lowest, y highest): the grid's cell centres span it
    predicted: np.ndarray  # G x G int64 (row: y from lowest, column: x from lowest)
    confidence: np.ndarray  # G x G float32, the predicted class's softmax probability
    classes: int  # how many class scores the classifier gives
    points: np.ndarray  # M x 2 float32, training points (at most ``boundary.MAX_POINTS``)
    labels: np.ndarray  # M int64, their classes


@_event
class FunctionFit(Event):
    """Networks fitting a function of one number (``function_fit.py``): the noiseless target
    and each network's prediction over an even grid of x, with a sample of the training
    points drawn under them; only the newest matters."""

    type = "function_fit"
    latest_by = ()
    step: int
    x: np.ndarray  # N float32, the grid of x, increasing
    target: np.ndarray  # N float32, the function the data were drawn from, at x
    predictions: np.ndarray  # K x N float32, one row per network
    labels: tuple  # K str: each network's output node, hidden widths and parameter count
    points: np.ndarray  # M x 2 float32, training samples (x, y)


@_event
class ShiftTest(Event):
    """An image classifier on held-out images moved by a few pixels (``shift_probe.py``): the
    share of its answers kept at each shift, and for each layer with a spatial map how far the
    map of the images moved one pixel is from their map moved by as much (0: the layer moves
    with its input). Every one arrives: the view draws them as curves over training."""

    type = "shift_test"
    step: int
    classifier: str  # the node key of the class scores tested (a lesson may compare two)
    shifts: tuple  # pixels moved
    kept: tuple  # for each shift, the share of answers that stayed the same
    accuracy: float  # on the unmoved images
    layers: tuple  # node keys of the layers with a spatial map, input to output
    strides: tuple  # for each, the input pixels between its map's cells
    errors: tuple  # for each, the moved map's distance from the expected one, relative
    moved_map: np.ndarray | None = None  # H x W float32: the first strided layer's map of an
    expected_map: np.ndarray | None = None  # image moved, and its unmoved map moved as much


@_event
class ReceptiveField(Event):
    """One unit's receptive field for one probe sample, asked for by clicking the unit in the
    Feature Maps view (``receptive_field.py``): the theoretical window the blocks' rules give
    and the effective field, |d unit / d input| from one backward pass. With ``message`` (why
    there is none) the measurements are left empty."""

    type = "receptive_field"
    step: int | None  # None: the trained state after the run
    node: str  # node key
    unit: tuple  # (channel, row, column) in the node's map
    sample: int  # which probe sample
    message: str | None = None
    image: np.ndarray | None = None  # C x H x W float32: the network's input
    value_range: tuple = (0.0, 1.0)  # of the input
    gradient: np.ndarray | None = None  # H x W float32: |d unit / d input|, summed over channels
    window: tuple = ()  # (top, bottom, left, right): the theoretical window, ends excluded
    inside: float = 0.0  # the share of the gradient's mass inside the window (on the input)
    half_side: int = 0  # the side of the square about the window's centre holding half of it
    map_size: tuple = ()  # (height, width) of the node's map


@_event
class Normalization(Event):
    """The normalization layers on the probe batch (``normalization.py``): per node its kind
    ("batch": running statistics; "per_sample": LayerNorm, GroupNorm), the train-against-eval
    gap of its output in units of the output's spread, and for batch kinds the input's mean
    and variance per channel beside the running ones (numpy arrays) and the group size."""

    type = "normalization"
    step: int
    nodes: dict  # node key -> {"kind", "gap", "batch_mean", "batch_var", "running_mean", ...}
    batch_size: int  # the training batch size the train-mode output was grouped by


@_event
class OptimizerPaths(Event):
    """Each optimizer of the run, rebuilt with its own settings on two parameters, descending a
    2-D toy surface (``optimizer_paths.py``); sent once at the start of a run."""

    type = "optimizer_paths"
    extent: tuple  # (x lowest, x highest, y lowest, y highest) of the surface's grid
    surface: np.ndarray  # G x G float32, log(1 + loss) (row: y from lowest)
    paths: dict  # optimizer name -> (steps + 1) x 2 float32, from the start point
    formula: str  # the surface's loss, as text
    start: tuple  # (x, y) every path starts from


@_event
class Adversarial(Event):
    """A GAN's discriminator on a probe batch of real and generated samples
    (``adversarial.py``): its outputs' histograms, the Jensen-Shannon estimate, and the
    generator's gradient norm under the minimax and the non-saturating loss. Every one
    arrives: the view draws them as curves over training."""

    type = "adversarial"
    step: int
    edges: np.ndarray  # bin edges: D's probabilities 0..1 (raw scores when not logits)
    real: np.ndarray  # counts of D(real) per bin, int64
    fake: np.ndarray  # counts of D(G(z)) per bin, int64
    mean_real: float  # mean D(real) (mean score when not logits)
    mean_fake: float
    js: float | None  # (V + 2 log 2) / 2 with the current D; None when not logits
    grad_minimax: float | None  # the generator's gradient norm under log(1 - D(G(z)))
    grad_non_saturating: float | None  # ... and under -log D(G(z)); None: no generator loss


@_event
class Latent(Event):
    """A VAE's latent code on the probe batch (``latent.py``): the KL of each dimension from
    the prior, and decoded codes: a map over the two dimensions with the most KL (the others
    0) and traversals of the dimensions with the most KL; only the newest matters."""

    type = "latent"
    latest_by = ()
    step: int
    kl_per_dim: np.ndarray  # D float32: nats per sample, mean over the probe batch
    kl_metric: str | None  # the metric names of the KL and reconstruction terms
    reconstruction_metric: str | None
    map: np.ndarray | None = None  # G*G x C x H x W: row i, column j decode (x_j, y_i)
    extent: tuple = (0.0, 0.0)  # (lowest, highest) value of both mapped dimensions
    traversals: np.ndarray | None = None  # K*T x C x H x W: one row per traversed dimension
    traversed: tuple = ()  # the K dimensions traversed, most KL first
    values: tuple = ()  # the T values of each traversal
    value_range: tuple = (0.0, 1.0)  # of the decoded images
    mapped: tuple = ()  # the two dimensions the map spans (across, up), in order


@_event
class Preview(Event):
    """One preview output's images from fixed inputs."""

    type = "preview"
    latest_by = ("name",)
    step: int | None  # None: the final model's
    name: str
    images: np.ndarray  # N x C x H x W
    value_range: tuple
    nrow: int
    inputs: np.ndarray | None = None  # what reconstructions rebuild, shown beside them
    classes: int | None = None  # rows are classes when the preview is fed by class labels


@_event
class ProbeSkipped(Event):
    """A probe was due but skipped to keep probes within their share of the training time."""

    type = "probe_skipped"
    probe: str  # one of PROBES
    step: int  # the step at which it was skipped
    next_step: int  # about when the next one runs
    budget: float  # the share of the training time probes may take


@_event
class RangePoint(Event):
    """One step of a learning-rate range test (``lr_finder.py``): its rate and loss."""

    type = "range_point"
    step: int  # 1-based
    lr: float
    loss: float
    smoothed: float  # the moving average with bias correction


@_event
class RangeResult(Event):
    """A learning-rate range test's end: the suggested rate (None without points), the rule
    that chose it and why the test ended (``lr_finder.RULES``, ``lr_finder.STOP_REASONS``)."""

    type = "range_result"  # Finished follows at once, and sends it with itself
    suggested: float | None
    rule: str | None
    stopped_because: str
    optimizer: list  # [graph, node id] of the optimizer whose rate was tested


@_event
class Prediction(Event):
    """A trained classifier's answer for one picture file (``prediction_run.py``): its most
    probable classes, the picture as the network saw it (prepared as the dataset prepares its
    own) and, for each watched node, what ``Activations`` would hold for it."""

    type = "prediction"
    file: str
    classes: list  # class names, most probable first
    probabilities: list  # of those classes, 0..1
    image: np.ndarray  # float32 C x H x W: the network's input
    value_range: tuple  # (lowest, highest) the input's values span
    maps: dict  # node key -> {"kind", "data", "range", "shape"} (``probes.downsample``)


# ---------------------------------------------------------------------------------------------
# a run on another machine (``remote.py``, ``remote_worker.py``)
# ---------------------------------------------------------------------------------------------

@_event
class RemoteRun(Event):
    """Sent first by the worker's front end on a remote machine: the run's id there (by which
    ``studio worker --attach`` follows it again after a lost connection) and its folder."""

    type = "remote_run"
    run_id: str
    folder: str  # on the remote machine: the job, the events, the checkpoints, the worker's log
    machine: str  # the remote machine's own name for itself


@_event
class CheckpointData(Event):
    """A checkpoint the remote worker wrote, with its bytes, for the session to write where the
    user asked; the session hands on a ``Checkpoint`` naming the local file instead."""

    type = "checkpoint_data"
    path: str  # as the worker wrote it, relative to the run's folder
    step: int
    data: bytes


# ---------------------------------------------------------------------------------------------
# a run's state, as its events tell it
# ---------------------------------------------------------------------------------------------

ACTIVE_STATES = ("starting", "running", "paused")  # a run in one of these may still train
ENDED_STATES = ("finished", "stopped", "failed", "disconnected")


def state_after(state: str, event: Event) -> str:
    """A run's state once ``event`` has arrived: the one rule by which the session, the
    dashboard's runs and the training controller follow a run (starting, running, paused,
    finished, stopped, failed; disconnected when a remote run's connection is lost). A NaN's
    error leaves the run paused at its last good state."""
    if isinstance(event, (Started, Resumed, Restored)):
        return "running"
    if isinstance(event, Paused):
        return "paused"
    if isinstance(event, Finished):
        return event.status
    if isinstance(event, Error) and event.kind == "connection":
        return "disconnected"  # a remote run may go on: nothing more is heard of it here
    if isinstance(event, Error) and event.kind != "nan":
        return "failed"
    return state


KINDS = (Download, Started, Paused, Resumed, Restored, Checkpoint, Error, Finished,
         WeightsFitted, Metrics, Progress, Evaluation, Stats, Histograms, Activations, DeadUnits,
         PreActivations, Kernels,
         Predictions, Boundary, ShiftTest, OptimizerPaths, Normalization, Adversarial, Latent, Preview,
         ReceptiveField,
         FunctionFit, ProbeSkipped, RangePoint, RangeResult, Prediction, RemoteRun, CheckpointData)
