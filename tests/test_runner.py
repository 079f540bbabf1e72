"""The training loop Studio drives, in-process: probes, evaluation, exact resume, faults."""

import pytest
import torch

from studio.core.fileformat import load
from studio.core.project import Project
from studio.core.registry import REGISTRY, BlockSpec, Port, TensorType
from studio.engine import checkpoint
from studio.engine.events import (
    Activations,
    DeadUnits,
    Error,
    Evaluation,
    Histograms,
    Metrics,
    Paused,
    Preview,
    ProbeSkipped,
    Progress,
    Restored,
    Resumed,
    Stats,
)
from studio.engine.probes import ProbeRates
from studio.engine.runner import Control, RunConfig, Runner
from tests.helpers import EXAMPLES, diverging_project


def run(project, **config):
    events = []
    control = config.pop("control", None)
    result = Runner(project, RunConfig(**config), events.append, control).run()
    return result, events


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def losses(events, name="loss"):
    return [p[name] for e in of(events, Metrics) for p in e.points]


def test_every_step_is_reported_with_probes_and_evaluation():
    result, events = run(load(EXAMPLES / "lenet.studio"), steps=48,
                         watch=("training/conv1", "training/flatten1"),
                         probes=ProbeRates(stats_every=8, activations_every=24, budget=None,
                                           histograms_every=24))
    assert result["status"] == "finished"
    assert [p["step"] for e in of(events, Metrics) for p in e.points] == list(range(1, 49))
    maps = [e for e in of(events, Activations) if e.node == "training/conv1"]
    assert maps and maps[0].kind == "maps" and maps[0].data.shape == (6, 28, 28)
    flat = [e for e in of(events, Activations) if e.node == "training/flatten1"]
    assert flat[0].kind == "vector" and flat[0].data.shape == (400,)
    stats = of(events, Stats)[0].nodes
    assert {"training/conv1", "training/fc3"} <= set(stats)
    assert stats["training/conv1"]["grad_norm"] > 0 and 0 < stats["training/conv1"][
        "update_ratio"] < 1
    hist = of(events, Histograms)[0].nodes["training/fc1"]
    assert hist["weights"][0].sum() == 400 * 120 + 120
    evaluation = of(events, Evaluation)
    assert len(evaluation) == 2  # one per epoch (24 batches each)
    confusion = evaluation[-1].confusions["confusion"]
    assert len(confusion) == 10 and sum(map(sum, confusion)) == 300
    progress = of(events, Progress)[-1]
    assert progress.eta == 0 and progress.samples_per_second > 0


def test_probes_keep_to_their_share_of_the_training_time():
    """Probes due at every step of a tiny model are skipped while over their budget: training
    is not slowed, the curves just get fewer probe points. The budgeted run is long enough for
    the share to be the schedule's: the first probe of each kind runs at once, and on a busy
    machine one preempted probe would otherwise be most of a short run's probe time."""
    every_step = dict(stats_every=1, activations_every=1)
    _, unlimited = run(load(EXAMPLES / "lenet.studio"), steps=60, previews=False,
                       evaluate_every_epoch=False, probes=ProbeRates(**every_step, budget=None))
    _, budgeted = run(load(EXAMPLES / "lenet.studio"), steps=240, previews=False,
                      evaluate_every_epoch=False, probes=ProbeRates(**every_step, budget=0.01))
    assert len(of(unlimited, Stats)) == 60
    assert 0 < len(of(budgeted, Stats)) < 240 // 3
    last = of(budgeted, Progress)[-1]
    assert last.probe_seconds < 0.1 * last.elapsed


def test_nested_nodes_and_dead_units_are_probed():
    project = load(EXAMPLES / "resnet_digits.studio")
    _, events = run(project, steps=4, watch=("training/block2/shortcut", "training/block1/add"),
                    probes=ProbeRates(activations_every=2, budget=None))
    nodes = {e.node for e in of(events, Activations)}
    assert nodes == {"training/block2/shortcut", "training/block1/add"}
    dead = of(events, DeadUnits)[0].nodes
    assert "training/block1/relu1" in dead and 0 <= dead["training/block1/relu1"] <= 1


def test_probes_do_not_change_the_run():
    project = load(EXAMPLES / "vae.studio")  # reparameterization draws random numbers
    _, quiet = run(project, steps=30, probes=ProbeRates.off(), previews=False)
    _, probed = run(load(EXAMPLES / "vae.studio"), steps=30, watch=("training/reparameterize",),
                    probes=ProbeRates(stats_every=3, activations_every=5, histograms_every=5,
                                      budget=None))
    assert losses(quiet) == losses(probed)


@pytest.mark.parametrize("stop_at", [20, 24, 31])  # inside an epoch, at its end, in the next
def test_resume_continues_exactly(tmp_path, stop_at):
    straight = losses(run(load(EXAMPLES / "lenet.studio"), steps=40, seed=3,
                          probes=ProbeRates.off())[1])
    path = tmp_path / "ck.pt"
    project = load(EXAMPLES / "lenet.studio")
    first = run(project, steps=stop_at, seed=3, probes=ProbeRates.off(), checkpoint_path=str(path))
    state = checkpoint.load(path)
    assert state["step"] == stop_at
    second = run(load(EXAMPLES / "lenet.studio"), steps=40, seed=3, probes=ProbeRates.off(),
                 resume_from=str(path))
    assert losses(first[1]) == straight[:stop_at]
    # the continued run reports the earlier history first (flagged), then the new steps
    assert losses(second[1]) == straight
    assert any(isinstance(e, Metrics) and e.resumed for e in second[1])


def test_a_gan_resumes_exactly(tmp_path):
    straight = losses(run(load(EXAMPLES / "dcgan.studio"), steps=12, probes=ProbeRates.off(),
                          previews=False)[1], "loss_g")
    path = tmp_path / "gan.pt"
    first = run(load(EXAMPLES / "dcgan.studio"), steps=5, probes=ProbeRates.off(),
                previews=False, checkpoint_path=str(path))
    second = run(load(EXAMPLES / "dcgan.studio"), steps=12, probes=ProbeRates.off(),
                 previews=False, resume_from=str(path))
    assert losses(first[1], "loss_g") == straight[:5]
    assert losses(second[1], "loss_g") == straight


def test_checkpoints_are_read_without_unpickling(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "studio-checkpoint", "payload": torch.nn.Linear(1, 1)}, path)
    with pytest.raises(checkpoint.CheckpointError, match="not a readable checkpoint"):
        checkpoint.load(path)
    project = load(EXAMPLES / "lenet.studio")
    result, events = run(project, steps=2, resume_from=str(path))
    assert result["status"] == "failed" and of(events, Error)[0].kind == "checkpoint"


def test_nan_pauses_keeps_the_last_good_state_and_stops_on_request():
    control = Control()
    seen = []

    def emit(event):
        seen.append(event)
        if isinstance(event, Paused):
            control.send("stop")

    result = Runner(diverging_project(), RunConfig(steps=400, probes=ProbeRates.off()), emit,
                    control).run()
    errors = of(seen, Error)
    assert errors[0].kind == "nan" and errors[0].node == ["training", "fit_loss"]
    assert "lower the learning rate" in errors[0].message
    assert of(seen, Paused)[0].reason == "nan"
    assert result["status"] == "stopped"


def test_nan_then_resume_restores_the_last_good_state():
    control = Control()
    seen = []

    def emit(event):
        seen.append(event)
        if isinstance(event, Paused):
            control.send("resume")
        if isinstance(event, Restored):
            control.send("stop")

    runner = Runner(diverging_project(), RunConfig(steps=400, probes=ProbeRates.off()), emit, control)
    runner.run()
    restored = of(seen, Restored)
    paused = of(seen, Paused)[0]
    # the last good state is from the last epoch end before the NaN (here one batch an epoch)
    assert restored and restored[0].step < paused.step
    assert all(p["step"] <= restored[0].step for p in runner.history)  # cut back too
    weights = [p for net in runner.training.networks.values() for p in net.parameters()]
    assert all(torch.isfinite(w).all() for w in weights)


def test_paused_time_is_not_training_time():
    """Elapsed time, ETA and samples per second count training only: a run paused for a while
    does not report itself slow. The pause lasts at least pause_seconds by construction (the
    run is told to resume only after waiting that long for commands), so no assertion depends
    on how fast the machine trains."""
    import time

    pause_seconds = 1.0
    queued: list = []
    paused_since: list = []

    def commands(timeout: float) -> list:
        """Commands as the worker's pipe gives them; while paused, waits ``timeout`` each look."""
        if not timeout:
            out, queued[:] = list(queued), []
            return out
        now = time.perf_counter()
        paused_since[:] = paused_since or [now]
        if now - paused_since[0] >= pause_seconds:
            return [("resume",)]
        time.sleep(timeout)
        return []

    seen = []

    def emit(event):
        seen.append(event)
        if isinstance(event, Progress) and event.step == 20:
            queued.append(("pause",))

    start = time.perf_counter()
    Runner(load(EXAMPLES / "lenet.studio"), RunConfig(steps=60, probes=ProbeRates.off(),
                                                    evaluate_every_epoch=False, previews=False),
           emit, Control(commands)).run()
    wall = time.perf_counter() - start
    progress = of(seen, Progress)
    assert [e.step for e in of(seen, Paused) + of(seen, Resumed)] == [20, 20]
    assert progress[-1].elapsed <= wall - pause_seconds
    # the log events at steps 20 and 30 (others come on a clock): the pause falls between them
    before, after = (next(e for e in progress if e.step == step) for step in (20, 30))
    window = after.elapsed - before.elapsed
    # the rate is over the window's training time: ten batches of at most 64 samples in it
    assert 10 <= after.samples_per_second * window <= 640 + 1e-6
    assert after.eta == pytest.approx(after.elapsed / 30 * 30)


@pytest.fixture
def wrong_shape_block():
    """A block whose shape rule lies (says 10 features, makes 12): what a runtime shape error
    looks like when static checking could not see it."""
    spec = BlockSpec(
        id="LyingPad", category="structure", title="LyingPad", help="Test block.",
        explanation="Test block.", inputs=(Port("x"),), outputs=(Port("out"),),
        shape=lambda p, ins: {"out": TensorType((10,))},
        forward=lambda p, a, attr: f"F.pad({a['x']}, (0, 2))")
    REGISTRY[spec.id] = spec
    yield
    del REGISTRY[spec.id]


def test_runtime_shape_error_names_the_node(wrong_shape_block):
    p = Project("Broken")
    t = p.training
    data = t.add("Dataset", id="moons", dataset="moons", count=100)
    x = t.stack(data["x"], ("Linear", "fc1", dict(out_features=10)), ("LyingPad", "pad", {}),
                ("Linear", "fc2", dict(out_features=2)))
    loss = t.add("CrossEntropy", id="loss")
    t.connect(x, loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add("Adam", id="adam"))
    result, events = run(p, steps=3, probes=ProbeRates.off())
    error = of(events, Error)[0]
    assert result["status"] == "failed"
    assert error.kind == "shape" and error.node == ["training", "fc2"]
    assert error.message.startswith("training/fc2:")


def test_missing_dataset_is_a_data_error_on_the_dataset_node(tmp_path):
    result, events = run(load(EXAMPLES / "lenet.studio"), steps=3, data_dir=str(tmp_path))
    error = of(events, Error)[0]
    assert error.kind == "data" and error.node == ["training", "digits"]
    assert "digits.npz" in error.message


@pytest.mark.parametrize("settings, text", [
    ({"amp": "bf16"}, "with torch.autocast(**self.autocast):"),
    ({"amp": "fp16"}, "self.scaler.scale(loss).backward()"),
    ({"channels_last": True}, "image = image.contiguous(memory_format=torch.channels_last)"),
    ({"compile": True}, "setattr(self, name, torch.compile(network))"),
    ({"deterministic": True}, "torch.use_deterministic_algorithms(True)"),
])
def test_run_options_are_written_only_when_used(settings, text):
    from studio.engine.codegen import generate

    project = load(EXAMPLES / "lenet.studio")
    plain = generate(project).train_source
    assert text not in plain and "autocast" not in plain and "scaler" not in plain
    project.training.configure(**settings)
    assert text in generate(project).train_source


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_trains_in_reduced_precision(amp):
    from studio.engine.codegen import generate
    from studio.engine.loader import RESOURCES_DATA
    from studio.engine.loader import load as load_code

    project = load(EXAMPLES / "lenet.studio")
    project.training.configure(amp=amp, channels_last=True)
    training = load_code(generate(project)).Training("cpu", 0, RESOURCES_DATA, steps=20)
    batch = next(iter(training.batches))
    with torch.autocast(**training.autocast):
        assert training.lenet(batch[0]).dtype == (torch.bfloat16 if amp == "bf16"
                                                  else torch.float16)
    first = float(training.train_step(batch)["loss"])
    for _ in range(15):
        last = float(training.train_step(batch)["loss"])
    assert last < first


def test_a_checkpoint_that_no_longer_fits_says_which_layers_changed(tmp_path):
    path = tmp_path / "ck.pt"
    run(load(EXAMPLES / "lenet.studio"), steps=2, probes=ProbeRates.off(), previews=False,
        checkpoint_path=str(path))
    edited = load(EXAMPLES / "lenet.studio")
    edited.training.nodes["conv1"].params["out_channels"] = 8
    result, events = run(edited, steps=4, probes=ProbeRates.off(), previews=False,
                         resume_from=str(path))
    error = of(events, Error)[0]
    assert result["status"] == "failed" and error.kind == "checkpoint"
    message = error.message
    assert "conv1's weight was 6x1x5x5, is now 8x1x5x5" in message
    assert "conv2's weight was 16x6x5x5, is now 16x8x5x5" in message  # every change, not the first
    assert "Error(s) in loading" not in message


def test_the_first_of_every_probe_comes_at_once_and_skipped_ones_are_announced():
    """A budget so small that no periodic probe fits: the first of each kind still comes at
    the run's first step, and each skipped one says when the next is expected."""
    rates = ProbeRates(stats_every=5, activations_every=5, histograms_every=5, budget=1e-9)
    project = load(EXAMPLES / "dcgan.studio")
    project.training.configure(preview_every=5)
    result, events = run(project, steps=20, probes=rates)
    assert result["status"] == "finished"
    first = {"stats": of(events, Stats), "histograms": of(events, Histograms),
             "previews": [e for e in of(events, Preview) if e.step is not None]}
    for kind, got in first.items():
        assert got and got[0].step == 1, kind
        assert all(e.step == 1 for e in got), kind  # the rest were over the budget
    skipped = of(events, ProbeSkipped)
    assert {e.probe for e in skipped} >= {"stats", "histograms", "previews"}
    for e in skipped:
        assert e.next_step > e.step and e.next_step % 5 == 0 and e.budget == 1e-9


def test_a_probe_asked_for_runs_at_the_next_step():
    asked = []

    def commands(_timeout):  # the user presses "Samples Now" while step 7 trains
        asked.append(1)
        return [("probe", "previews"), ("probe", "histograms")] if len(asked) == 7 else []

    project = load(EXAMPLES / "dcgan.studio")
    project.training.configure(preview_every=1000)
    result, events = run(project, steps=12, probes=ProbeRates(histograms_every=1000),
                         control=Control(commands))
    previews = [e.step for e in of(events, Preview) if e.step is not None]
    assert previews == [1, 7]
    assert [e.step for e in of(events, Histograms)] == [1, 7]


def test_progress_is_reported_between_log_events(monkeypatch):
    monkeypatch.setattr(Runner, "progress_seconds", 0.0)  # the worker's clock, made immediate
    project = load(EXAMPLES / "lenet.studio")
    project.training.configure(log_every=10)
    result, events = run(project, steps=12, probes=ProbeRates.off())
    steps = [e.step for e in of(events, Progress)]
    assert steps == list(range(1, 13))  # every step, not only the 10th and the last
    assert all(e.total == 12 and e.samples_per_second > 0 for e in of(events, Progress))
