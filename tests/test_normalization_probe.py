"""The normalization probe: BatchNorm's batch statistics beside its running ones and the gap
between its train- and eval-mode outputs, as torch computes them; none for LayerNorm; a short
run of the lesson sends them and a batch of 2 widens the gap; the view draws one dot per
channel."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from studio.core import fileformat
from studio.engine.normalization import measure
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig, Runner
from studio.ui.dashboard.normalization import NormalizationView, normalizes
from studio.ui.dashboard.store import RunStore
from tests.helpers import EXAMPLES, show_view, started_event

LESSON = EXAMPLES / "course" / "normalization.studio"


def test_batch_statistics_and_the_train_eval_gap_are_torchs():
    torch.manual_seed(0)
    bn = nn.BatchNorm1d(5)
    x = torch.randn(16, 5) * 3 + 1
    bn.train()
    expected_train = bn(x).detach()  # also moves the running statistics a tenth of the way
    got = measure(bn, x, batch_size=64)
    np.testing.assert_allclose(got["batch_mean"], x.mean(0).numpy(), rtol=1e-5)
    np.testing.assert_allclose(got["batch_var"], x.var(0, unbiased=False).numpy(), rtol=1e-5)
    np.testing.assert_allclose(got["running_mean"], bn.running_mean.numpy())
    bn.eval()
    gap = (expected_train - bn(x).detach()).abs().mean() / expected_train.std()
    assert got["kind"] == "batch" and got["group"] == 16
    assert abs(got["gap"] - float(gap)) < 1e-5 and got["gap"] > 0.3
    settled = nn.BatchNorm1d(5)
    settled.running_mean.copy_(x.mean(0))
    settled.running_var.copy_(x.var(0, unbiased=False))
    assert measure(settled, x, batch_size=64)["gap"] < 1e-4  # the running ones are the batch's
    assert measure(settled, x, batch_size=2)["gap"] > 0.3  # pairs' statistics are not
    assert measure(nn.LayerNorm(5), x, 64) == {"kind": "per_sample", "gap": 0.0,
                                                "batch_mean": None, "batch_var": None,
                                                "running_mean": None, "running_var": None}


def _gaps(batch_size: int) -> list:
    project = fileformat.load(LESSON)
    project.training.settings["batch_size"] = batch_size
    events = []
    config = RunConfig(steps=20, seed=0, checkpoint_epochs=False, previews=False,
                       evaluate_every_epoch=False,
                       probes=ProbeRates(stats_every=0, activations_every=20,
                                         histograms_every=0, budget=None))
    Runner(project, config, events.append).run()
    return [e for e in events if e.type == "normalization"]


def test_the_lessons_run_sends_both_layers_and_a_tiny_batch_widens_the_gap(qtbot):
    large, tiny = _gaps(64), _gaps(2)
    assert [e.step for e in large] == [1, 20, 20]
    last = large[-1]
    assert set(last.nodes) == {"training/bn", "training/ln"}
    assert last.nodes["training/ln"]["kind"] == "per_sample"
    assert last.nodes["training/bn"]["batch_mean"].shape == (64,)
    assert tiny[-1].nodes["training/bn"]["gap"] > 1.5 * last.nodes["training/bn"]["gap"]
    assert tiny[-1].batch_size == 2 and tiny[-1].nodes["training/bn"]["group"] == 2
    store = RunStore()
    store.new_run()
    view = show_view(qtbot, NormalizationView(store))
    assert not view.has_stats
    assert "normalization" in store.apply([started_event(), last])
    view.refresh({"normalization"})
    assert view.has_stats and not view.message.isVisible()
    x, y = view.scatters[("mean", "training/bn")].getData()
    np.testing.assert_allclose(y, last.nodes["training/bn"]["batch_mean"], rtol=1e-6)
    assert "ln: per sample, train = eval" in view.summary.text()
    assert normalizes(fileformat.load(LESSON))
    assert not normalizes(fileformat.load(EXAMPLES / "course" / "boundary.studio"))
