"""The worker's events: every kind crosses a real pipe to another process and back equal, the
coalescing policy keeps every metric and only the newest image, and node keys read back what
they were made from."""

import multiprocessing
import pickle

import numpy as np
import pytest

from studio.engine.events import (
    KINDS,
    Activations,
    Adversarial,
    Boundary,
    Checkpoint,
    CheckpointData,
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
    Pending,
    PreActivations,
    Prediction,
    Predictions,
    Preview,
    ProbeSkipped,
    Progress,
    RangePoint,
    RangeResult,
    ReceptiveField,
    RemoteRun,
    Restored,
    Resumed,
    ShiftTest,
    Started,
    Stats,
    WeightsFitted,
    coalescing_key,
    state_after,
)
from studio.engine.node_keys import NodeKey, node_key, within
from tests.helpers import started_event

RNG = np.random.default_rng(0)
EXAMPLES = {
    Download: Download("mnist.npz", 1024, None),
    Started: started_event(nodes=["training/conv1"], startup_seconds=1.5),
    Paused: Paused(12, reason="nan"),
    Resumed: Resumed(12),
    Restored: Restored(10),
    Checkpoint: Checkpoint("/tmp/run1.ckpt", 48),
    Error: Error("internal", "the training process failed", ["training", "conv1"],
                 traceback="Traceback (most recent call last): ..."),
    Finished: Finished("finished", 48, {"test_accuracy": 0.83}, 0.25),
    Metrics: Metrics([{"step": 1, "epoch": 1, "loss": 2.3},
                      {"step": 2, "epoch": 1, "loss": float("nan"), "lr": {"adam": 1e-3}}],
                     {"adam": 1e-3}, resumed=True),
    Progress: Progress(step=20, total=48, epoch=1, samples_per_second=812.5, elapsed=1.25,
                       eta=1.75, probe_seconds=0.01),
    Evaluation: Evaluation(24, 1, {"test_loss": 0.66}, {"confusion": [[3, 1], [0, 4]]}),
    Stats: Stats(20, {"training/fc": {"grad_norm": 0.5, "weight_norm": 2.0,
                                      "update_ratio": 1e-3}}),
    Histograms: Histograms(7, {"training/fc": {
        "weights": (np.arange(48, dtype=np.int64), np.linspace(-1, 1, 49, dtype=np.float32)),
        "grads": None}}),
    Activations: Activations(step=100, node="training/vae:mean", kind="maps",
                             data=RNG.standard_normal((6, 28, 28)).astype(np.float32),
                             range=(-3.0, 3.0), shape=(6, 28, 28)),
    DeadUnits: DeadUnits(100, {"training/block1/relu1": 0.25}),
    PreActivations: PreActivations(100, "training/relu_act1", "training/relu_fc1",
                                   RNG.integers(0, 50, 48), np.linspace(-2, 3, 49,
                                                                        dtype=np.float32),
                                   1024, 16, "training/relu_act1", "ReLU", (0.0, None), "dead",
                                   0.25),
    Kernels: Kernels(100, "training/conv1", RNG.random((6, 3, 5, 5)).astype(np.float32),
                     (6, 3, 5, 5)),
    Predictions: Predictions(100, np.arange(16), np.arange(16)[::-1].copy(),
                             RNG.random(16).astype(np.float32),
                             RNG.random((16, 1, 28, 28)).astype(np.float32)),
    Boundary: Boundary(300, (-2.5, 2.5, -1.5, 1.5), RNG.integers(0, 3, (64, 64)),
                       RNG.random((64, 64)).astype(np.float32), 3,
                       RNG.random((500, 2)).astype(np.float32), RNG.integers(0, 3, 500)),
    FunctionFit: FunctionFit(300, np.linspace(-1, 1, 256, dtype=np.float32),
                             RNG.random(256).astype(np.float32),
                             RNG.random((3, 256)).astype(np.float32),
                             ("w2_out: width 2, 7 parameters", "w8_out: width 8, 25 parameters",
                              "w64_out: width 64, 193 parameters"),
                             RNG.random((300, 2)).astype(np.float32)),
    ShiftTest: ShiftTest(400, "training/scores", (1, 2, 3, 4), (0.95, 0.8, 0.7, 0.6), 0.9,
                         ("training/conv1", "training/pool1"), (1.0, 2.0), (0.02, 0.3),
                         RNG.random((8, 8)).astype(np.float32),
                         RNG.random((8, 8)).astype(np.float32)),
    ReceptiveField: ReceptiveField(300, "training/conv2", (3, 5, 7), 2, None,
                                   RNG.random((1, 16, 16)).astype(np.float32), (0.0, 1.0),
                                   RNG.random((16, 16)).astype(np.float32), (1, 6, 3, 8),
                                   0.93, 3, (12, 12)),
    OptimizerPaths: OptimizerPaths((-5.0, 5.0, -2.5, 2.5), RNG.random((64, 64)).astype(np.float32),
                                   {"opt_sgd": RNG.random((201, 2)).astype(np.float32)},
                                   "x²/20 + y²", (-4.5, 2.0)),
    Normalization: Normalization(100, {"training/bn": {
        "kind": "batch", "gap": 0.3, "batch_mean": RNG.random(8).astype(np.float32),
        "batch_var": RNG.random(8).astype(np.float32), "group": 16,
        "running_mean": RNG.random(8).astype(np.float32),
        "running_var": RNG.random(8).astype(np.float32)}}, 64),
    Adversarial: Adversarial(100, np.linspace(0, 1, 21, dtype=np.float32),
                             RNG.integers(0, 9, 20), RNG.integers(0, 9, 20), 0.7, 0.2, 0.31,
                             0.04, 1.9),
    Latent: Latent(200, RNG.random(16).astype(np.float32), "kl", "reconstruction_loss",
                   RNG.random((64, 1, 16, 16)).astype(np.float32), (-2.5, 2.5),
                   RNG.random((36, 1, 16, 16)).astype(np.float32), (3, 0, 7, 1),
                   (-2.5, 0.0, 2.5), (0.0, 1.0), (0, 3)),
    Preview: Preview(None, "samples", RNG.random((64, 1, 16, 16)).astype(np.float32),
                     (-1.0, 1.0), 8, inputs=RNG.random((64, 1, 16, 16)).astype(np.float32),
                     classes=10),
    ProbeSkipped: ProbeSkipped("histograms", 40, 200, 0.01),
    RangePoint: RangePoint(83, 0.35, float("inf"), float("nan")),
    RangeResult: RangeResult(0.012, "steepest", "diverged", ["training", "adam"]),
    Prediction: Prediction("seven.png", ["7", "1"], [0.9, 0.05],
                           np.zeros((1, 32, 32), np.float32), (0.0, 1.0),
                           {"training/conv1": {"kind": "maps", "data": np.ones((6, 28, 28),
                                               np.float32), "range": (1.0, 1.0),
                                               "shape": (6, 28, 28)}}),
    WeightsFitted: WeightsFitted("w.pt", {"training/conv1": ["lenet.conv1.weight"]},
                                 {"training/fc3": [["lenet.fc3.weight", "5x84", "10x84"]]},
                                 {"training/fc4": ["lenet.fc4.bias"]},
                                 {"lenet.extra": ["lenet.extra.weight"]}),
    RemoteRun: RemoteRun("20261202-143357-45c512", "/home/ada/.cache/studio/remote-runs/"
                         "20261202-143357-45c512", "gpu-box"),
    CheckpointData: CheckpointData("run.ckpt", 48, bytes(range(256)) * 4),
}


def echo(connection) -> None:
    """In another process: send back what arrives, until the pipe closes."""
    try:
        while True:
            connection.send(connection.recv())
    except EOFError:
        pass


def test_every_kind_of_event_is_declared_and_has_an_example():
    assert set(KINDS) == set(Event.__subclasses__()) == set(EXAMPLES)
    assert len({kind.type for kind in KINDS}) == len(KINDS)  # the store dispatches on the type


def test_every_event_crosses_a_pipe_to_another_process_and_back_equal():
    context = multiprocessing.get_context("spawn")
    here, there = context.Pipe()
    process = context.Process(target=echo, args=(there,), daemon=True)
    process.start()
    there.close()
    try:
        batch = list(EXAMPLES.values())
        here.send(batch)
        assert here.poll(120)
        back = here.recv()
    finally:
        here.close()
        process.join(10)
    assert [type(e) for e in back] == [type(e) for e in batch]
    for sent, received in zip(batch, back):
        assert received == sent and received is not sent, type(sent).__name__
    assert np.isnan(back[list(EXAMPLES).index(Metrics)].points[1]["loss"])


def test_equality_sees_a_changed_array_value():
    maps = EXAMPLES[Activations]
    changed = maps.data.copy()
    changed[0, 0, 0] += 1
    assert Activations(**{**vars(maps), "data": changed}) != maps
    assert Activations(**vars(maps)) == maps


def test_events_pickle_about_as_small_as_the_dicts_they_replace():
    for kind, event in EXAMPLES.items():
        as_dict = {"type": kind.type, **vars(event)}
        typed, plain = len(pickle.dumps(event, -1)), len(pickle.dumps(as_dict, -1))
        assert typed <= plain + 64, (kind.__name__, typed, plain)


def test_events_are_frozen():
    with pytest.raises(AttributeError):
        EXAMPLES[Progress].step = 3


def test_only_images_maps_and_progress_coalesce_and_prompt_events_are_the_answers():
    coalescing = {kind for kind in KINDS if kind.latest_by is not None}
    assert coalescing == {Progress, Histograms, Activations, Kernels, Preview, Boundary, FunctionFit,
                          Latent}
    assert {kind for kind in KINDS if kind.prompt} == {Started, Paused, Resumed, Restored, Error,
                                                        Finished}
    assert coalescing_key(EXAMPLES[Activations]) == ("activations", "training/vae:mean")
    assert coalescing_key(EXAMPLES[Metrics]) is None


def test_pending_keeps_every_metric_and_the_newest_image_of_each_node_in_order():
    pending = Pending()
    maps = EXAMPLES[Activations]
    other = Activations(**{**vars(maps), "node": "training/conv1"})
    first, second = (Metrics([{"step": s, "epoch": 1, "loss": 1.0}], {}) for s in (1, 2))
    newer = Activations(**{**vars(maps), "step": 200})
    for event in (maps, first, other, second, newer, EXAMPLES[Finished]):
        pending.put(event)
    assert len(pending) == 5
    taken = pending.take()
    assert taken == [first, other, second, newer, EXAMPLES[Finished]]
    assert taken[3] is newer and not pending.take()


def test_events_are_read_by_field_only():
    """No reading as a dict: a reader written for dicts fails at once rather than getting a
    default that hides a misspelt or renamed field."""
    error = EXAMPLES[Error]
    assert error.kind == "internal"
    assert not hasattr(error, "get")
    with pytest.raises(TypeError):
        error["kind"]


def test_a_runs_state_follows_its_events_by_one_rule():
    steps = [(started_event(), "running"), (Paused(5), "paused"), (Resumed(5), "running"),
             (Error("nan", "the loss became nan", ["training", "loss"]), "running"),
             (Paused(6, reason="nan"), "paused"), (Restored(4), "running"),
             (Progress(7, 10, 1, 1.0, 1.0, 1.0, 0.0), "running")]
    state = "starting"
    for event, expected in steps:
        state = state_after(state, event)
        assert state == expected, event
    for status in ("finished", "stopped", "failed"):
        assert state_after("running", Finished(status, 7, {}, 0.0)) == status
    assert state_after("paused", Error("crash", "gone")) == "failed"


def test_node_keys_read_back_what_they_were_made_from():
    assert node_key("conv1") == "training/conv1"
    assert node_key("resnet18", "layer1_0", "conv1") == "training/resnet18/layer1_0/conv1"
    assert node_key("vae", port="mean") == "training/vae:mean"
    assert within(node_key("generator"), "up1") == "training/generator/up1"
    key = NodeKey.parse("training/resnet18/layer1_0/conv1")
    assert key == NodeKey(("resnet18", "layer1_0", "conv1")) and key.node == "conv1"
    assert key.label == "resnet18/layer1_0/conv1"
    assert NodeKey.parse("training/vae:mean") == NodeKey(("vae",), "mean")
    assert NodeKey.parse("training/vae:mean").label == "vae:mean"


def test_a_worker_job_crosses_as_builtins_and_names_its_kind():
    """The job a training process gets is typed on both sides and plain data between them: the
    restricted reader of a remote stream takes it back whole; a kind no worker knows is refused
    where the job is made."""
    import pytest

    from studio.engine.events import WorkerJob
    from studio.engine.stream_codec import HEADER, decode, encode

    job = WorkerJob("{}", {"steps": 3}, 2, "field", {"key": "training/conv1"})
    assert WorkerJob.from_data(decode(encode(job.data)[HEADER.size:])) == job
    with pytest.raises(ValueError, match="unknown kind 'tarin'"):
        WorkerJob("{}", {}, kind="tarin")
