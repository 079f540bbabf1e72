"""The optimizer-paths probe: each optimizer of a run, rebuilt with its own class and settings,
descends the 2-D toy valley exactly as torch.optim does with autograd; a run with probes on
sends the paths once at its start and trains the same weights as one with probes off; the
Optimizer Paths view draws the surface and one line per optimizer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from studio.core import fileformat
from studio.engine.optimizer_paths import START, STEPS, descend, optimizer_paths, valley
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig, Runner
from studio.ui.dashboard.paths import PathsView, compares_optimizers
from studio.ui.dashboard.store import RunStore
from tests.helpers import EXAMPLES, show_view, started_event

LESSON = EXAMPLES / "course" / "optimizers.studio"


def autograd_path(make, steps: int) -> np.ndarray:
    xy = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    opt = make([xy])
    points = [xy.detach().numpy().copy()]
    for _ in range(steps):
        opt.zero_grad()
        valley(xy[0], xy[1]).backward()
        opt.step()
        points.append(xy.detach().numpy().copy())
    return np.asarray(points)


@pytest.mark.parametrize("make", [
    lambda ps: torch.optim.SGD(ps, lr=0.05),
    lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99)),
    lambda ps: torch.optim.AdamW(ps, lr=0.1, weight_decay=0.5),
    lambda ps: torch.optim.RMSprop(ps, lr=0.01),
], ids=["sgd", "nesterov", "adam", "adamw", "rmsprop"])
def test_each_path_is_torchs_own_with_the_optimizers_settings(make):
    owner = make([torch.zeros(3, requires_grad=True)])  # the run's optimizer, other parameters
    got = descend(owner)
    assert got.shape == (STEPS + 1, 2)
    np.testing.assert_allclose(got, autograd_path(make, STEPS), rtol=1e-5, atol=1e-6)


def test_momentum_reaches_the_minimum_where_sgd_crawls_and_a_diverging_path_stops():
    p = [torch.zeros(2, requires_grad=True)]
    sgd = descend(torch.optim.SGD(p, lr=0.05))[-1]
    momentum = descend(torch.optim.SGD(p, lr=0.05, momentum=0.9))[-1]
    assert sgd[0] < -1.5 and abs(sgd[1]) < 1e-6  # on the valley's floor, far along it
    assert np.abs(momentum).max() < 1e-3
    diverged = descend(torch.optim.SGD(p, lr=1.1))
    assert len(diverged) < STEPS and np.isfinite(diverged).all()


def _run(project, rates) -> list:
    events = []
    config = RunConfig(steps=3, seed=1, probes=rates, checkpoint_epochs=False, previews=False,
                       evaluate_every_epoch=False)
    Runner(project, config, events.append).run()
    return events


def test_a_run_sends_its_optimizers_paths_once_and_trains_the_same_weights():
    project = fileformat.load(LESSON)
    assert compares_optimizers(project)
    probed = _run(project, ProbeRates(stats_every=1, activations_every=0, histograms_every=0,
                                      budget=None))
    sent = [e for e in probed if e.type == "optimizer_paths"]
    assert len(sent) == 1 and [e.type for e in probed][:2] == ["started", "optimizer_paths"]
    paths = sent[0].paths
    assert list(paths) == ["opt_sgd", "opt_momentum", "opt_adam"]
    assert all(path.shape == (STEPS + 1, 2) for path in paths.values())
    assert sent[0].surface.shape == (64, 64)
    quiet = _run(project, ProbeRates.off())
    assert not [e for e in quiet if e.type == "optimizer_paths"]
    losses = [[p for m in events if m.type == "metrics" for p in m.points]
              for events in (probed, quiet)]
    assert losses[0] == losses[1]


def test_the_view_draws_the_surface_and_a_line_per_optimizer(qtbot):
    p = [torch.zeros(2, requires_grad=True)]
    event = optimizer_paths({"opt_sgd": torch.optim.SGD(p, lr=0.05),
                             "opt_adam": torch.optim.Adam(p, lr=0.01)})
    store = RunStore()
    store.new_run()
    view = show_view(qtbot, PathsView(store))
    assert view.message.isVisible() and not view.has_paths
    assert store.apply([started_event(), event]) >= {"optimizer_paths"}
    view.refresh({"optimizer_paths"})
    assert view.has_paths and view.plot.isVisible() and not view.message.isVisible()
    assert set(view.lines) == {"opt_sgd", "opt_adam"}
    x, y = view.lines["opt_sgd"].getData()
    np.testing.assert_allclose(np.c_[x, y], event.paths["opt_sgd"], rtol=1e-6)
    assert view.image.image.shape == (64, 64, 3)
    assert "x²/20 + y²" in view.summary.text() and "opt_adam at" in view.summary.text()
    assert not compares_optimizers(fileformat.load(EXAMPLES / "lenet.studio"))
