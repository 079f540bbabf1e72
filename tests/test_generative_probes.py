"""The GAN and VAE diagnostics: the course's examples, trained in-process for a few steps with
the generative probe on, send the discriminator's histograms, the Jensen-Shannon estimate and
the generator's gradients under both losses (DCGAN), and the KL per latent dimension with the
decoder's map and traversals (VAE, CVAE); probes leave training as it was; the estimate's
formula on hand-computed cases; the Discriminator and Latent views draw them; only GANs and
VAEs have those views."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from studio.core import fileformat
from studio.engine.adversarial import BINS, SAMPLES, js_estimate
from studio.engine.generative_nodes import adversarial_wires, latent_wires
from studio.engine.latent import SIDE, SPAN, STEPS, TRAVERSED
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig, Runner
from studio.ui.dashboard.adversarial import AdversarialView
from studio.ui.dashboard.latent import LatentView, has_latent
from studio.ui.dashboard.store import RunStore
from tests.helpers import EXAMPLES, show_view

RATES = ProbeRates(stats_every=0, activations_every=0, histograms_every=0, generative_every=1,
                   budget=None)


def _train(name: str, steps: int, rates=RATES):
    events: list = []
    runner = Runner(fileformat.load(EXAMPLES / f"{name}.studio"),
                    RunConfig(steps=steps, probes=rates, checkpoint_epochs=False,
                              previews=False, evaluate_every_epoch=False), events.append)
    assert runner.run()["status"] == "finished"
    return runner, events


def _of(events, kind: str) -> list:
    return [e for e in events if e.type == kind]


@pytest.fixture(scope="module")
def gan_events():
    return _train("dcgan", 4)[1]


@pytest.fixture(scope="module")
def vae_run():
    return _train("vae", 60, dataclasses.replace(RATES, generative_every=30))


def test_the_js_estimate_on_hand_computed_cases():
    # D = 1/2 everywhere (it cannot tell): V = -2 log 2, the estimate 0
    half = math.log(0.5)
    assert js_estimate(half, half) == pytest.approx(0.0, abs=1e-12)
    # a perfect D: log D(real) = log(1 - D(fake)) = 0, the estimate log 2 (the most JS can be)
    assert js_estimate(0.0, 0.0) == pytest.approx(math.log(2))
    # p = (3/4, 1/4), q = (1/4, 3/4) on two points: the best D is p / (p + q) = (3/4, 1/4), and
    # with it the estimate is the divergence itself, JS = 3/4 log(3/2) + 1/4 log(1/2) = 0.1308
    d = np.array([0.75, 0.25])
    p, q = np.array([0.75, 0.25]), np.array([0.25, 0.75])
    real, fake = float(p @ np.log(d)), float(q @ np.log(1 - d))
    js = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert js == pytest.approx(0.13081, abs=1e-5)
    assert js_estimate(real, fake) == pytest.approx(js, abs=1e-12)
    # any other D gives less: the estimate is a lower bound
    assert js_estimate(float(p @ np.log([0.6, 0.4])), float(q @ np.log([0.4, 0.6]))) < js


def test_the_gan_sends_its_discriminator_every_probe(gan_events):
    probes = _of(gan_events, "adversarial")
    assert [e.step for e in probes] == [1, 2, 3, 4, 4]  # and the final model's
    for e in probes:
        assert e.edges[0] == 0 and e.edges[-1] == 1 and len(e.edges) == BINS + 1
        assert e.real.sum() == e.fake.sum() == SAMPLES
        assert 0 < e.mean_real < 1 and 0 < e.mean_fake < 1
        assert -math.log(2) < e.js <= math.log(2)
        assert e.grad_minimax > 0 and e.grad_non_saturating > 0
        # the minimax loss's gradient is D times the logit's, the non-saturating one's 1 - D:
        # where D(fake) is below 1/2 the non-saturating loss gives the generator more
        if e.mean_fake < 0.49:
            assert e.grad_non_saturating > e.grad_minimax
    # the histograms' bins agree with their means
    last = probes[-1]
    centres = (last.edges[:-1] + last.edges[1:]) / 2
    assert (last.real @ centres) / SAMPLES == pytest.approx(last.mean_real, abs=1 / BINS)
    assert (last.fake @ centres) / SAMPLES == pytest.approx(last.mean_fake, abs=1 / BINS)


def test_the_vae_sends_kl_per_dimension_a_map_and_traversals(vae_run):
    runner, events = vae_run
    probes = _of(events, "latent")
    assert [e.step for e in probes] == [1, 30, 60, 60]  # and the final model's
    last = probes[-1]
    assert last.kl_per_dim.shape == (16,) and (last.kl_per_dim >= -1e-6).all()
    assert (last.kl_metric, last.reconstruction_metric) == ("kl", "reconstruction_loss")
    assert last.map.shape == (SIDE * SIDE, 1, 16, 16)
    assert last.traversals.shape == (TRAVERSED * STEPS, 1, 16, 16)
    assert last.value_range == (0.0, 1.0) and last.extent == (-SPAN, SPAN)
    # the dimensions traversed are those with the most KL
    assert list(last.traversed) == list(np.argsort(-last.kl_per_dim, kind="stable")[:TRAVERSED])
    # the middle of every traversal is the code 0: the same picture in every row
    rows = last.traversals.reshape(TRAVERSED, STEPS, 1, 16, 16)
    for row in rows[1:]:
        assert np.allclose(row[STEPS // 2], rows[0][STEPS // 2], atol=1e-6)
    # the map is the decoder of the final weights on the grid's codes
    assert last.mapped == tuple(sorted(last.traversed[:2]))
    corner = torch.zeros(1, 16)
    corner[0, list(last.mapped)] = -SPAN
    runner.training.set_train(False)
    with torch.no_grad():
        decoded = runner.training.decoder(corner).numpy()
    assert np.allclose(last.map[0], decoded[0], atol=1e-5)
    # training moved the map (probes at step 1 and 60 differ)
    assert not np.allclose(probes[0].map, last.map, atol=1e-3)


def test_generative_probes_leave_training_as_it_was(vae_run):
    _, with_probes = vae_run
    _, without = _train("vae", 60, ProbeRates.off())
    assert not _of(without, "latent")
    losses = [[p["loss"] for e in events if e.type == "metrics" for p in e.points]
              for events in (with_probes, without)]
    assert losses[0] == losses[1] and len(losses[0]) == 60


def test_the_cvae_map_is_decoded_with_a_class():
    _, events = _train("cvae", 2)
    last = _of(events, "latent")[-1]
    assert last.map.shape == (SIDE * SIDE, 1, 16, 16) and len(last.traversed) == TRAVERSED


def test_only_gans_and_vaes_are_probed():
    for name, gan, vae in (("dcgan", True, False), ("vae", False, True), ("cvae", False, True),
                           ("lenet", False, False), ("siren", False, False)):
        project = fileformat.load(EXAMPLES / f"{name}.studio")
        assert (adversarial_wires(project) is not None, latent_wires(project) is not None,
                has_latent(project)) == (gan, vae, vae), name
    _, lenet = _train("lenet", 2)
    assert not _of(lenet, "adversarial") and not _of(lenet, "latent")


def test_the_discriminator_view_draws_histograms_and_curves(qtbot, gan_events):
    store = RunStore()
    store.new_run()
    view = show_view(qtbot, AdversarialView(store))
    assert view.message.isVisible() and not view.has_probe
    store.apply(gan_events)
    view.refresh({"adversarial"})
    assert view.has_probe and view.plots.isVisible() and not view.message.isVisible()
    last = _of(gan_events, "adversarial")[-1]
    assert "Step 4" in view.summary.text() and f"{last.js:.3f}" in view.summary.text()
    heights = view.real_bars.opts["height"]
    assert len(heights) == BINS and np.isclose(np.sum(heights), 1.0)
    xs, ys = view.js_curve.getData()
    assert list(xs) == [1, 2, 3, 4, 4] and ys[-1] == pytest.approx(last.js)
    assert len(view.grad_curves["grad_minimax"].getData()[0]) == 5
    store.new_run()
    view.refresh({"all"})
    assert not view.has_probe and view.message.isVisible()


def test_the_latent_view_draws_bars_terms_map_and_traversals(qtbot, vae_run):
    _, events = vae_run
    store = RunStore()
    store.new_run()
    view = show_view(qtbot, LatentView(store))
    assert view.message.isVisible() and not view.has_map
    store.apply(events)
    view.refresh({"latent", "metrics"})
    assert view.has_map and view.content.isVisible()
    last = _of(events, "latent")[-1]
    assert len(view.kl_bars.opts["height"]) == 16
    assert "Step 60" in view.summary.text() and "over 16 dimensions" in view.summary.text()
    # 8 x 8 tiles of 16 x 16 with a pixel between: the mosaic the map shows
    assert view.map.pixels.shape == (SIDE * 17 + 1, SIDE * 17 + 1, 3)
    assert view.traversals.pixels.shape == (TRAVERSED * 17 + 1, STEPS * 17 + 1, 3)
    assert view.traversals.row_labels == [f"z{d}" for d in last.traversed]
    for term, name in (("reconstruction", "reconstruction_loss"), ("KL", "kl")):
        xs, ys = view.terms[term][1].getData()
        assert len(xs) == 60 and ys[-1] == pytest.approx(store.current.metrics[name].last)
