"""The learning-rate range test (engine/lr_finder.py, lr_finder_run.py, `studio lr-find`, Train >
Find Learning Rate): its curve arithmetic, a rate for LeNet at which LeNet trains (and a rate a
thousand times higher at which it does not), the project's files and weights untouched, the
JSON shape, clear refusals naming the nodes, and Apply as one undoable edit."""

import copy
import json
import math
import os
import shutil
import subprocess
import sys

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from studio.cli import main
from studio.core.fileformat import load
from studio.engine.events import Error, Finished, RangePoint, RangeResult, Started
from studio.engine.lr_finder import (
    DIVERGED,
    MINIMUM_TENTH,
    NOT_FINITE,
    STEEPEST,
    RangeTest,
    SmoothedLoss,
    refusal,
    stop_reason,
    suggest,
)
from studio.engine.lr_finder_run import run_range_test
from studio.engine.runner import RunConfig, Runner
from studio.ui.testing import type_into
from tests.helpers import EXAMPLES, ROOT, mlp_on_moons

LENET = EXAMPLES / "lenet.studio"


# the arithmetic --------------------------------------------------------------------------------
def test_rates_rise_by_one_factor_from_the_lowest_to_the_highest():
    test = RangeTest(lr_min=1e-6, lr_max=1.0, steps=7)
    rates = [test.rate(i) for i in range(test.steps)]
    assert rates[0] == pytest.approx(1e-6) and rates[-1] == pytest.approx(1.0)
    assert [b / a for a, b in zip(rates, rates[1:])] == pytest.approx([10.0] * 6)


@pytest.mark.parametrize("test, words", [
    (RangeTest(lr_min=0.0), "above 0"), (RangeTest(lr_min=1.0, lr_max=0.1), "must be above"),
    (RangeTest(steps=3), "at least 10 steps")])
def test_settings_that_describe_no_test_are_refused(test, words):
    assert words in test.problem()


def test_the_smoothed_loss_starts_at_the_first_loss_and_follows_a_constant():
    smoothed = SmoothedLoss(0.9)
    assert smoothed.add(2.0) == pytest.approx(2.0)  # bias-corrected: not pulled towards 0
    assert smoothed.add(2.0) == pytest.approx(2.0)
    assert smoothed.add(1.0) < 2.0 and smoothed.best < 2.0


def test_the_test_stops_on_divergence_and_on_nan():
    assert stop_reason(3.0, 2.0, 1.0, 4.0) is None
    assert stop_reason(9.0, 4.5, 1.0, 4.0) == DIVERGED
    assert stop_reason(math.nan, 1.0, 1.0, 4.0) == NOT_FINITE
    assert stop_reason(math.inf, 1.0, 1.0, 4.0) == NOT_FINITE


def test_the_suggestion_is_the_steepest_fall_before_the_lowest_point():
    rates = [10 ** (-7 + 8 * i / 99) for i in range(100)]
    # falls fastest at 10^-2.5, lowest near 10^-1, then climbs
    losses = [2.3 - 2.0 / (1 + math.exp(-3 * (math.log10(r) + 2.5))) +
              (max(0.0, math.log10(r) + 1) ** 2) * 5 for r in rates]
    rate, rule = suggest(rates, losses, skip=10)
    assert rule == STEEPEST
    assert 10 ** -2.6 < rate < 10 ** -2.4


@pytest.mark.parametrize("losses", [[2.0] * 30, [1.0 + 0.1 * i for i in range(30)]])
def test_without_a_falling_part_the_suggestion_is_a_tenth_of_the_lowest(losses):
    rates = [10 ** (-3 + i / 10) for i in range(30)]
    lowest = min(range(30), key=losses.__getitem__)
    rate, rule = suggest(rates, losses, skip=3)
    assert rule == MINIMUM_TENTH and rate == pytest.approx(rates[lowest] / 10, rel=0.05)


def test_a_gan_is_refused_naming_both_optimizers():
    why = refusal(load(EXAMPLES / "dcgan.studio"))
    assert "training/adam_d" in why and "training/adam_g" in why
    assert refusal(load(LENET)) is None


# LeNet -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lenet_test():
    events = []
    result = run_range_test(load(LENET), RunConfig(device="cpu"), RangeTest(), events.append)
    return result, events


@pytest.fixture(scope="module")
def lenet_training():
    """LeNet built as a Train builds it, with its initial state kept to go back to."""
    runner = Runner(load(LENET), RunConfig(device="cpu"), lambda event: None)
    runner.build()
    training = runner.training
    (optimizer,) = training.optimizers.values()
    start = copy.deepcopy(([net.state_dict() for net in training.networks.values()],
                           optimizer.state_dict(), training.rng.get_state()))
    return training, optimizer, start


def mean_losses(lenet_training, rate: float, steps: int = 40) -> tuple[float, float]:
    """LeNet trained ``steps`` steps at ``rate`` from its initialization: the mean loss of its
    first five steps and of its last five (inf when the loss is no longer finite)."""
    training, optimizer, (networks, optimizer_state, rng) = lenet_training
    for net, state in zip(training.networks.values(), networks):
        net.load_state_dict(state)
    optimizer.load_state_dict(optimizer_state)
    training.rng.set_state(rng)
    for group in optimizer.param_groups:
        group["lr"] = rate
    losses = []
    while len(losses) < steps:
        for batch in training.batches:
            losses.append(float(training.train_step(batch)["loss"]))
            if len(losses) == steps:
                break
    late = losses[-5:]
    return sum(losses[:5]) / 5, sum(late) / 5 if all(map(math.isfinite, late)) else math.inf


def test_lenet_gets_a_rate_at_which_it_trains_and_not_at_a_thousand_times_it(lenet_test,
                                                                            lenet_training):
    result, events = lenet_test
    assert result["status"] == "finished"
    rate = result["suggested"]
    assert 1e-4 <= rate <= 0.1  # where Adam trains a small convolutional network
    first, last = mean_losses(lenet_training, rate)
    assert last < 0.5 * first, (rate, first, last)
    first, last = mean_losses(lenet_training, rate * 1000)
    assert not last < 0.9 * first, (rate * 1000, first, last)


def test_the_events_tell_the_test_from_start_to_finish(lenet_test):
    result, events = lenet_test
    assert isinstance(events[0], Started) and isinstance(events[-1], Finished)
    points = [e for e in events if isinstance(e, RangePoint)]
    assert [p.step for p in points] == list(range(1, len(points) + 1))
    assert [p.lr for p in points] == [p["lr"] for p in result["points"]]
    assert all(b.lr > a.lr for a, b in zip(points, points[1:]))
    (end,) = [e for e in events if isinstance(e, RangeResult)]
    assert end.suggested == result["suggested"] and end.optimizer == ["training", "adam"]
    assert end.stopped_because in ("end", "diverged", "nan")


def test_a_loss_that_is_nan_at_the_first_step_is_named(monkeypatch):
    build = Runner.build

    def build_nan(self):
        build(self)
        self.training.train_step = lambda batch: {"loss": torch.tensor(math.nan)}

    monkeypatch.setattr(Runner, "build", build_nan)
    events = []
    result = run_range_test(mlp_on_moons(), RunConfig(device="cpu"), RangeTest(steps=10),
                            events.append)
    assert result["status"] == "failed"
    (error,) = [e for e in events if isinstance(e, Error)]
    assert error.kind == "nan" and error.node == ["training", "loss"]
    assert error.message.startswith("training/loss: the loss is not a number at the first step")


# the command line --------------------------------------------------------------------------------
def test_lr_find_json_leaves_the_project_and_its_weights_as_they_were(tmp_path):
    project = tmp_path / "lenet.studio"
    shutil.copy(LENET, project)
    weights = tmp_path / "lenet.ckpt"
    weights.write_bytes(b"trained weights")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    env = {k: v for k, v in os.environ.items() if k != "STUDIO_RUNS_DIR"}  # a run would show
    proc = subprocess.run([sys.executable, "-m", "studio", "lr-find", str(project), "--json",
                           "--steps", "20", "--min", "1e-5", "--max", "1", "--device", "cpu"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"suggested", "rule", "optimizer", "points", "stopped_because"}
    assert out["optimizer"] == "training/adam" and 1e-5 <= out["suggested"] <= 1
    assert 2 <= len(out["points"]) <= 20
    assert all(set(p) == {"lr", "loss", "smoothed"} for p in out["points"])
    assert out["points"][0]["lr"] == pytest.approx(1e-5)
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    assert after == before


def test_lr_find_refuses_a_gan_in_one_line_naming_the_optimizers(capsys):
    assert main(["lr-find", str(EXAMPLES / "dcgan.studio")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "training/adam_d" in line and "training/adam_g" in line


# the app ---------------------------------------------------------------------------------------
def test_find_learning_rate_applies_the_rate_as_one_undoable_edit(lenet, qtbot):
    from studio.engine.standby import Standby

    controller, doc = lenet.dashboard.controller, lenet.session.doc
    standby = Standby()
    controller.keep_spare_worker(standby)  # as the app does: the test starts in a waiting process
    train_menu = next(a.menu() for a in lenet.menuBar().actions() if a.text() == "T&rain")
    assert lenet.lr_finder.action in train_menu.actions()
    lenet.lr_finder.action.trigger()
    dialog = lenet.lr_finder.dialog
    assert dialog.isVisible() and dialog.running and not dialog.isModal()
    assert "learning-rate test is running" in controller.start()  # Train waits for the test
    QTest.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dialog.run_button.isEnabled, timeout=120_000)  # the dialog saw the end
    assert controller.occupied is None
    assert not dialog.running and not dialog.stop_button.isEnabled()
    assert not dialog.apply_button.isEnabled()
    type_into(dialog.lowest, "1e-5")
    type_into(dialog.highest, "1")
    dialog.steps.setValue(20)
    QTest.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    assert dialog.running, dialog.status.text()
    qtbot.waitUntil(lambda: dialog.result is not None and dialog.run_button.isEnabled(),
                    timeout=120_000)
    rate = dialog.result.suggested
    assert 1e-5 <= rate <= 1 and dialog.mark.isVisible()
    assert dialog.mark.value() == pytest.approx(math.log10(rate))
    assert len(dialog.smooth_curve.getData()[0]) == len(dialog.points) > 1
    undo_before = doc.undo_text
    QTest.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    assert doc.project.training.nodes["adam"].params["lr"] == rate
    lenet.session.undo()
    assert doc.project.training.nodes["adam"].params["lr"] == 0.001
    assert doc.undo_text == undo_before  # Apply was one edit
    assert controller.store.current is None and controller.trained_checkpoint() is None
    dialog.close()
    spare = standby.take()
    if spare is not None:
        spare.finalizer()


def test_find_learning_rate_explains_a_graph_it_cannot_test(window):
    assert window.open_path(EXAMPLES / "dcgan.studio", ask=False)
    dialog = window.lr_finder.open()
    assert dialog.session is None and not dialog.apply_button.isEnabled()
    assert "training/adam_d" in dialog.status.text() and "training/adam_g" in dialog.status.text()
    dialog.close()


def test_find_learning_rate_is_disabled_while_a_run_trains(lenet):
    controller, action = lenet.dashboard.controller, lenet.lr_finder.action
    assert action.isEnabled()
    assert controller.start() is None
    assert not action.isEnabled() and "Stop the training run first" in action.statusTip()
    controller.shutdown()


def test_find_learning_rate_names_the_node_that_stops_a_graph_from_training(lenet):
    edge = next(e for e in lenet.session.project.training.edges if e.dst == "adam")
    assert lenet.editor.disconnect("training", [edge])
    dialog = lenet.lr_finder.open()
    assert dialog.session is None
    assert dialog.status.text().startswith("Cannot test: training/adam: loss")
    dialog.close()
