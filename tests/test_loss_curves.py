"""Every loss's inspector curve is the per-sample loss torch computes for the case it names,
class weights and label smoothing included, and the inspector draws it with its gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from studio.blocks.loss_curves import KL_TARGET, PLOTS
from studio.core.registry import Values, all_blocks, get_block


def values(block: str, **given) -> Values:
    spec = get_block(block)
    return Values({p.name: given.get(p.name, p.default) for p in spec.params})


def grid(block: str):
    low, high = PLOTS[block].x_range
    x = np.linspace(low, high, 101)
    return x, torch.tensor(x, dtype=torch.float64)


def test_every_loss_but_the_sum_declares_a_curve():
    losses = {spec.id for spec in all_blocks() if spec.category == "loss"}
    assert losses - {"WeightedSum"} == set(PLOTS)
    assert all(get_block(b).plot is PLOTS[b] for b in PLOTS)


@pytest.mark.parametrize("weight, smoothing", [((), 0.0), ((1.0, 3.0, 0.5), 0.0),
                                               ((), 0.2), ((2.0, 1.0, 1.0, 1.0), 0.1)])
def test_cross_entropy_is_torchs_with_weights_and_smoothing(weight, smoothing):
    x, tx = grid("CrossEntropy")
    curves = PLOTS["CrossEntropy"].curve(x, values("CrossEntropy", weight=weight,
                                                    label_smoothing=smoothing))
    k = len(weight) or 3
    assert len(curves) == (len(weight) if len(set(weight)) > 1 else 1)
    for c, y in enumerate(curves.values()):
        scores = torch.zeros(len(x), k, dtype=torch.float64)
        scores[:, c] = tx
        want = F.cross_entropy(scores, torch.full((len(x),), c), reduction="none",
                               weight=torch.tensor(weight, dtype=torch.float64) if weight else None,
                               label_smoothing=smoothing)
        np.testing.assert_allclose(y, want.numpy(), rtol=1e-9, atol=1e-12)
    if smoothing:  # smoothing keeps the loss from reaching 0: it rises again past some score
        y = next(iter(curves.values()))
        assert 0 < np.argmin(y) < len(y) - 1


def test_classification_losses_on_one_score_are_torchs():
    x, tx = grid("MultiMargin")
    scores = torch.zeros(len(x), 3, dtype=torch.float64)
    scores[:, 1] = tx
    target = torch.ones(len(x), dtype=torch.long)
    for power, margin in ((1, 1.0), (2, 0.5)):
        got = PLOTS["MultiMargin"].curve(x, values("MultiMargin", p=power, margin=margin))
        want = F.multi_margin_loss(scores, target, p=power, margin=margin, reduction="none")
        np.testing.assert_allclose(next(iter(got.values())), want.numpy(), atol=1e-12)
    x, tx = grid("NLL")
    weights = (1.0, 4.0)
    got = list(PLOTS["NLL"].curve(x, values("NLL", weight=weights)).values())
    logp = torch.stack([tx, tx], 1)
    for c in (0, 1):
        want = F.nll_loss(logp, torch.full((len(x),), c), torch.tensor(weights,
                          dtype=torch.float64), reduction="none")
        np.testing.assert_allclose(got[c], want.numpy())


@pytest.mark.parametrize("block, params, torch_loss", [
    ("L1", {}, lambda x: F.l1_loss(x, torch.zeros_like(x), reduction="none")),
    ("MSE", {}, lambda x: F.mse_loss(x, torch.zeros_like(x), reduction="none")),
    ("SmoothL1", {"beta": 0.5}, lambda x: F.smooth_l1_loss(x, torch.zeros_like(x), beta=0.5,
                                                            reduction="none")),
    ("Huber", {"delta": 2.0}, lambda x: F.huber_loss(x, torch.zeros_like(x), delta=2.0,
                                                      reduction="none")),
])
def test_regression_losses_against_a_target_of_zero_are_torchs(block, params, torch_loss):
    x, tx = grid(block)
    (y,) = PLOTS[block].curve(x, values(block, **params)).values()
    np.testing.assert_allclose(y, torch_loss(tx).numpy(), atol=1e-12)


def test_binary_losses_for_both_targets_are_torchs():
    x, tx = grid("BCE")
    got = PLOTS["BCE"].curve(x, values("BCE", weight=(2.0,)))
    for label, t in (("target 1", 1.0), ("target 0", 0.0)):
        want = 2 * F.binary_cross_entropy(tx, torch.full_like(tx, t), reduction="none")
        np.testing.assert_allclose(got[label], want.numpy(), rtol=1e-9)
    x, tx = grid("BCEWithLogits")
    got = list(PLOTS["BCEWithLogits"].curve(x, values("BCEWithLogits", pos_weight=(3.0,))).items())
    assert got[0][0] == "target 1 (pos_weight 3)"
    for (_, y), t in zip(got, (1.0, 0.0), strict=True):
        want = F.binary_cross_entropy_with_logits(tx, torch.full_like(tx, t), reduction="none",
                                                  pos_weight=torch.tensor([3.0], dtype=torch.float64))
        np.testing.assert_allclose(y, want.numpy(), rtol=1e-9)


def test_distribution_and_pair_losses_are_torchs():
    x, tx = grid("KLDiv")
    (y,) = PLOTS["KLDiv"].curve(x, values("KLDiv")).values()
    model = torch.stack([tx, 1 - tx], 1).log()
    target = torch.tensor([[KL_TARGET, 1 - KL_TARGET]], dtype=torch.float64).expand_as(model)
    np.testing.assert_allclose(y, F.kl_div(model, target, reduction="none").sum(1).numpy(),
                               atol=1e-12)
    assert abs(x[np.argmin(y)] - KL_TARGET) < 0.02
    x, tx = grid("CosineEmbedding")
    got = PLOTS["CosineEmbedding"].curve(x, values("CosineEmbedding", margin=0.25))
    a = torch.stack([torch.ones_like(tx), torch.zeros_like(tx)], 1)
    b = torch.stack([tx, (1 - tx * tx).clamp(min=0).sqrt()], 1)  # cos(a, b) = x
    for y, t in zip(got.values(), (1.0, -1.0), strict=True):
        want = F.cosine_embedding_loss(a, b, torch.full_like(tx, t), margin=0.25, reduction="none")
        np.testing.assert_allclose(y, want.numpy(), atol=1e-7)
    x, tx = grid("MarginRanking")
    (y,) = PLOTS["MarginRanking"].curve(x, values("MarginRanking", margin=0.5)).values()
    want = F.margin_ranking_loss(tx, torch.zeros_like(tx), torch.ones_like(tx), margin=0.5,
                                 reduction="none")
    np.testing.assert_allclose(y, want.numpy())


def test_gan_losses_match_the_library_and_minimax_saturates():
    from studio.engine.library.losses import GANLoss

    x, tx = grid("GANLoss")
    for role, mode in (("generator", "minimax"), ("generator", "non_saturating"),
                       ("generator", "least_squares")):
        (y,) = PLOTS["GANLoss"].curve(x, values("GANLoss", role=role, mode=mode)).values()
        loss = GANLoss(role, mode=mode)
        want = [loss(tx[i:i + 1]).item() for i in range(len(x))]
        np.testing.assert_allclose(y, want, atol=1e-9)
    minimax = PLOTS["GANLoss"].curve(x, values("GANLoss", role="generator", mode="minimax"))
    saturating = np.gradient(next(iter(minimax.values())), x)
    assert abs(saturating[0]) < 0.01  # a rejected fake (score -6): almost no gradient


def test_the_inspector_draws_a_losss_curves_and_gradients(lenet):
    lenet.scene().select_nodes(["loss"])
    plot = lenet.inspector.plot
    assert plot is not None and plot.objectName() == "loss_plot"
    (x, y), (dx, dy) = lenet.inspector.plot_data()
    want = PLOTS["CrossEntropy"].curve(x, values("CrossEntropy"))
    np.testing.assert_allclose(y, next(iter(want.values())))
    assert dy[0] < -0.9 and abs(dy[-1]) < 0.01  # steep when wrong, flat when right
    lenet.editor.set_params("training", "loss", {"weight": [1.0, 2.0] + [1.0] * 8,
                                                 "label_smoothing": 0.1})
    drawn = plot.drawn_all()
    assert len(drawn) == 10 and "target class 1 of 10, weight 2" in drawn
    (x1, y1), _ = drawn["target class 1 of 10, weight 2"]
    (x0, y0), _ = drawn["target class 0 of 10, weight 1"]
    assert y1[0] > 1.9 * y0[0] and y0.min() > 0.1  # weighted twice, and smoothing keeps a floor
