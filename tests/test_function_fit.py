"""The 1-D datasets and the function-fit probe and view: sines, steps and bumps draw x on
[-1, 1] from their seed and y from their function; networks fitting one number from one
number, trained in-process with probes on, send their predictions over a grid of x, which
approach the function as they learn; the Function Fit view draws one labelled curve per
network over the target; classifiers and image models get no curves."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from studio.core import fileformat
from studio.core.inference import analyze
from studio.core.params import ParamError
from studio.core.project import Project
from studio.core.registry import Values, get_block
from studio.engine.fitted_functions import fits_functions, fitted_curves
from studio.engine.library.data import curve_values, make_curve_1d
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig, Runner
from studio.ui.dashboard.function_fit import FunctionFitView, fit_errors
from studio.ui.dashboard.store import RunStore
from tests.helpers import EXAMPLES, mlp_on_moons, show_view

LESSON = EXAMPLES / "course" / "approximation.studio"
RATES = ProbeRates(stats_every=0, activations_every=100, histograms_every=0, budget=None)


def test_each_function_has_its_values():
    x = np.array([-1.0, -0.6, -0.2, 0.2, 0.6, 1.0])
    np.testing.assert_allclose(curve_values("steps", x), [-0.75, -0.75, 0.25, -0.25, 0.75, 0.75])
    sines = 0.5 * math.sin(math.pi / 2) + 0.3 * math.sin(1.5 * math.pi) + 0.15 * math.sin(3.5 * math.pi)
    assert curve_values("sines", np.array([0.5]))[0] == pytest.approx(sines) == pytest.approx(0.05)
    bumps = curve_values("bumps", np.array([-0.4, 0.45, -1.0]))
    np.testing.assert_allclose(bumps, [0.9, -0.6, 0.0], atol=1e-6)
    with pytest.raises(ValueError, match="'waves'"):
        curve_values("waves", x)


def test_a_curve_set_is_drawn_from_its_seed_with_its_noise():
    data = make_curve_1d("steps", count=50, noise=0.0, seed=1)
    assert data.names == ("x", "y") and data.classes == 0
    (x, y), (x_test, y_test) = data.train, data.test
    assert x.shape == y.shape == (40, 1) and x_test.shape == y_test.shape == (10, 1)
    assert float(x.min()) >= -1 and float(x.max()) <= 1
    np.testing.assert_allclose(y.numpy(), curve_values("steps", x.numpy().astype(np.float64)),
                               atol=1e-6)  # no noise: on the function exactly
    again = make_curve_1d("steps", count=50, noise=0.0, seed=1)
    assert torch.equal(again.train[0], x)
    assert not torch.equal(make_curve_1d("steps", count=50, noise=0.0, seed=2).train[0], x)
    grid, target = data.function
    assert grid.shape == target.shape == (256, 1)
    assert float(grid[0]) == -1.0 and float(grid[-1]) == 1.0
    noisy = make_curve_1d("sines", count=2000, noise=0.1, seed=0)
    residual = noisy.train[1] - torch.from_numpy(curve_values("sines", noisy.train[0].numpy()))
    assert float(residual.std()) == pytest.approx(0.1, rel=0.1)


def test_the_dataset_block_gives_one_number_to_one_number():
    project = fileformat.load(LESSON)
    rows = {r.node.id: r for r in analyze(project).rows}
    assert {p: t.shape for p, t in rows["sines"].outputs.items()} == {"x": (1,), "y": (1,)}
    spec = get_block("Dataset")
    params = {p.name: p.default for p in spec.params} | {"dataset": "bumps", "flip": True}
    with pytest.raises(ParamError, match="flip: augmentation changes images, and bumps gives "
                                         "numbers"):
        spec.validate_params(Values(params))


@pytest.fixture(scope="module")
def lesson_events():
    project = fileformat.load(LESSON)
    # smaller batches of a smaller set than the lesson's: this checks the probe, not the figures
    project.training.settings["batch_size"] = 64
    project.training.nodes["sines"].params["count"] = 1000
    events = []
    config = RunConfig(steps=300, probes=RATES, checkpoint_epochs=False, previews=False)
    Runner(project, config, events.append).run()
    return events


def _fits(events) -> list:
    return [e for e in events if e.type == "function_fit"]


def test_the_lessons_networks_send_curves_that_approach_the_function(lesson_events):
    fits = _fits(lesson_events)
    assert [f.step for f in fits] == [1, 100, 200, 300]
    first, last = fits[0], fits[-1]
    assert last.labels == ("w2_out: width 2, 7 parameters", "w8_out: width 8, 25 parameters",
                           "w64_out: width 64, 193 parameters")
    assert last.predictions.shape == (3, 256) and last.x.shape == last.target.shape == (256,)
    np.testing.assert_allclose(last.target, curve_values("sines", last.x.astype(np.float64)),
                               atol=1e-6)
    assert last.points.shape == (300, 2)
    before, after = fit_errors(first), fit_errors(last)
    assert (after < before).all(), (before, after)
    assert after[2] < after[0], after  # the widest fits closest


def test_a_curve_is_labelled_with_its_hidden_widths_and_parameters():
    project = Project("Deep")
    t = project.training
    data = t.add("Dataset", id="steps", dataset="steps")
    fit = t.stack(data["x"], ("Linear", "fc1", dict(out_features=8)), ("Tanh", "act1", {}),
                  ("Linear", "fc2", dict(out_features=8)), ("Tanh", "act2", {}),
                  ("Linear", "out", dict(out_features=1)))
    loss = t.add("L1", id="l1")
    t.connect(fit, loss["input"])
    t.connect(data["y"], loss["target"])
    t.chain(loss, t.add("Adam", id="adam"))
    (curve,) = fitted_curves(project, analyze(project))
    assert (curve.key, curve.label) == ("training/out", "out: widths 8-8, 97 parameters")


def test_only_networks_of_one_number_get_curves():
    moons = mlp_on_moons()
    assert not fits_functions(moons, analyze(moons))
    for name in ("lenet", "siren", "vae", "course/boundary"):
        project = fileformat.load(EXAMPLES / f"{name}.studio")
        assert not fitted_curves(project, analyze(project)), name
    events = []
    Runner(moons, RunConfig(steps=2, probes=RATES, previews=False), events.append).run()
    assert not _fits(events) and any(e.type == "boundary" for e in events)


def test_the_view_draws_one_labelled_curve_per_network(qtbot, lesson_events):
    store = RunStore()
    store.new_run()
    view = show_view(qtbot, FunctionFitView(store))
    assert view.message.isVisible() and view.curve_count == 0
    store.apply(lesson_events)
    view.refresh({"function_fit"})
    assert view.curve_count == 3 and view.plot.isVisible() and not view.message.isVisible()
    last = store.current.function_fit
    key = view.key.text()
    assert "target" in key and all(part in key for label in last.labels
                                   for part in label.split(": "))
    np.testing.assert_allclose(view.curves[1].yData, last.predictions[1])
    assert "Step 300" in view.summary.text() and "closest to the function: w64_out" in \
        view.summary.text()
    store.new_run()  # a new run starts empty
    view.refresh({"all"})
    assert view.curve_count == 0 and view.message.isVisible()
