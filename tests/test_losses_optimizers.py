"""Losses and optimizers behave like the torch code they stand for.

Each loss block, built through the same rendering the generator uses, gives the value of the
torch functional it mirrors (or of the closed form written out here by hand); its shape checks
refuse what cannot work with a sentence naming both shapes; each optimizer minimizes a small
quadratic, and each schedule moves the learning rate exactly as torch's own scheduler does. A
small project trained end to end through the generator learns moons.
"""

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from studio.core.params import ParamError
from studio.core.registry import LOSS, ShapeError, TensorType, Values, get_block
from studio.engine.blockrun import BlockRunner
from studio.engine.render import call

T = TensorType


def run_loss(block: str, types: dict, tensors: dict, **params) -> torch.Tensor:
    spec = get_block(block)
    values = spec.validate(params)
    if spec.check:
        spec.check(Values(values), types)
    assert spec.shape(Values(values), types) == {"loss": LOSS}
    out = BlockRunner(spec, values, types)(**tensors)["loss"]
    assert out.dim() == 0
    return out


def close(a, b):
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


# ---------------------------------------------------------------------------------------------
# losses against torch

@pytest.mark.parametrize("block, functional, params", [
    ("L1", F.l1_loss, {}),
    ("L1", F.l1_loss, {"reduction": "sum"}),
    ("MSE", F.mse_loss, {}),
    ("MSE", F.mse_loss, {"reduction": "sum"}),
    ("SmoothL1", F.smooth_l1_loss, {"beta": 0.5}),
    ("SmoothL1", F.smooth_l1_loss, {"beta": 0.0, "reduction": "sum"}),
    ("Huber", F.huber_loss, {"delta": 2.0}),
    ("Huber", F.huber_loss, {"delta": 0.3, "reduction": "sum"}),
])
def test_regression_losses_match_torch(block, functional, params, gen):
    x, y = torch.randn(8, 3, 5, generator=gen) * 2, torch.randn(8, 3, 5, generator=gen)
    types = {"input": T((3, 5)), "target": T((3, 5))}
    got = run_loss(block, types, {"input": x, "target": y}, **params)
    close(got, functional(x, y, **params))


@pytest.mark.parametrize("params", [{}, {"weight": [1.0, 2.0, 0.5, 1.5], "ignore_index": 2},
                                    {"reduction": "sum"}])
def test_nll_matches_torch(params, gen):
    logp = torch.randn(16, 4, generator=gen).log_softmax(1)
    target = torch.randint(0, 4, (16,), generator=gen)
    got = run_loss("NLL", {"input": T((4,)), "target": T((), "long")},
                   {"input": logp, "target": target}, **params)
    kw = dict(params)
    if "weight" in kw:
        kw["weight"] = torch.tensor(kw["weight"])
    close(got, F.nll_loss(logp, target, **kw))
    # LogSoftmax then NLL is cross-entropy on the scores
    assert get_block("NLL").loss.accuracy is True


def test_nll_on_feature_maps(gen):
    logp = torch.randn(2, 5, 4, 4, generator=gen).log_softmax(1)
    target = torch.randint(0, 5, (2, 4, 4), generator=gen)
    got = run_loss("NLL", {"input": T((5, 4, 4)), "target": T((4, 4), "long")},
                   {"input": logp, "target": target})
    close(got, F.nll_loss(logp, target))


@pytest.mark.parametrize("params", [{}, {"weight": [1.0, 2.0, 3.0]}, {"reduction": "sum"}])
def test_bce_matches_torch(params, gen):
    p = torch.rand(6, 3, generator=gen).clamp(0.01, 0.99)
    t = torch.rand(6, 3, generator=gen)
    got = run_loss("BCE", {"input": T((3,)), "target": T((3,))}, {"input": p, "target": t},
                   **params)
    kw = dict(params)
    if "weight" in kw:
        kw["weight"] = torch.tensor(kw["weight"])
    close(got, F.binary_cross_entropy(p, t, **kw))


@pytest.mark.parametrize("params", [{}, {"pos_weight": [3.0, 0.5, 1.0]},
                                    {"pos_weight": [2.0], "weight": [1.0, 0.0, 2.0],
                                     "reduction": "sum"}])
def test_bce_with_logits_matches_torch(params, gen):
    x = torch.randn(6, 3, generator=gen) * 3
    t = (torch.rand(6, 3, generator=gen) > 0.5).float()
    got = run_loss("BCEWithLogits", {"input": T((3,)), "target": T((3,))},
                   {"input": x, "target": t}, **params)
    kw = {k: torch.tensor(v) if isinstance(v, list) else v for k, v in params.items()}
    close(got, F.binary_cross_entropy_with_logits(x, t, **kw))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("params", [{}, {"reduction": "sum"}, {"reduction": "mean"},
                                    {"log_target": True}])
def test_kl_div_matches_torch(params, gen):
    logp = torch.randn(8, 5, generator=gen).log_softmax(1)
    q = torch.randn(8, 5, generator=gen).softmax(1)
    target = q.log() if params.get("log_target") else q
    got = run_loss("KLDiv", {"input": T((5,)), "target": T((5,))},
                   {"input": logp, "target": target}, **params)
    kw = dict(params)
    kw.setdefault("reduction", "batchmean")
    close(got, F.kl_div(logp, target, **kw))
    if not params:  # batchmean is the true KL per sample
        by_hand = (q * (q.log() - logp)).sum(1).mean()
        close(got, by_hand)


def test_kl_div_renders_batchmean_by_default():
    spec = get_block("KLDiv")
    c = spec.module(Values(spec.validate({})), {})
    assert call(c) == "nn.KLDivLoss(reduction='batchmean')"
    c = spec.module(Values(spec.validate({"reduction": "mean"})), {})
    assert call(c) == "nn.KLDivLoss()"


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_gaussian_kl_closed_form(reduction, gen):
    mu, logvar = torch.randn(4, 6, generator=gen), torch.randn(4, 6, generator=gen)
    got = run_loss("GaussianKL", {"mu": T((6,)), "logvar": T((6,))},
                   {"mu": mu, "logvar": logvar}, reduction=reduction)
    per_element = [[-0.5 * (1 + lv - m * m - math.exp(lv)) for m, lv in zip(mr, lr, strict=True)]
                   for mr, lr in zip(mu.tolist(), logvar.tolist(), strict=True)]
    total = sum(sum(row) for row in per_element)
    want = total if reduction == "sum" else total / 4
    assert got.item() == pytest.approx(want, rel=1e-5)


def test_gaussian_kl_agrees_with_torch_distributions(gen):
    mu, logvar = torch.randn(5, 1, generator=gen), torch.randn(5, 1, generator=gen)
    got = run_loss("GaussianKL", {"mu": T((1,)), "logvar": T((1,))},
                   {"mu": mu, "logvar": logvar})
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    close(got, torch.distributions.kl_divergence(q, p).sum())
    # zero exactly at the prior
    zero = run_loss("GaussianKL", {"mu": T((1,)), "logvar": T((1,))},
                    {"mu": torch.zeros(5, 1), "logvar": torch.zeros(5, 1)})
    assert zero.item() == 0.0


def test_gaussian_kl_mean_on_feature_maps(gen):
    mu, logvar = torch.randn(3, 2, 4, 4, generator=gen), torch.randn(3, 2, 4, 4, generator=gen)
    got = run_loss("GaussianKL", {"mu": T((2, 4, 4)), "logvar": T((2, 4, 4))},
                   {"mu": mu, "logvar": logvar}, reduction="mean")
    kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp())
    close(got, kl.sum() / 3)


@pytest.mark.parametrize("params", [{}, {"margin": 0.3, "reduction": "sum"}])
def test_cosine_embedding_matches_torch(params, gen):
    a, b = torch.randn(10, 7, generator=gen), torch.randn(10, 7, generator=gen)
    y = torch.randint(0, 2, (10,), generator=gen).float() * 2 - 1
    got = run_loss("CosineEmbedding", {"input1": T((7,)), "input2": T((7,)), "target": T(())},
                   {"input1": a, "input2": b, "target": y}, **params)
    close(got, F.cosine_embedding_loss(a, b, y, **params))


@pytest.mark.parametrize("params", [{}, {"margin": 0.5}])
def test_margin_ranking_matches_torch(params, gen):
    a, b = torch.randn(10, generator=gen), torch.randn(10, generator=gen)
    y = torch.randint(0, 2, (10,), generator=gen).float() * 2 - 1
    got = run_loss("MarginRanking", {"input1": T(()), "input2": T(()), "target": T(())},
                   {"input1": a, "input2": b, "target": y}, **params)
    close(got, F.margin_ranking_loss(a, b, y, **params))


@pytest.mark.parametrize("params", [{}, {"margin": 0.5, "p": 1.0, "swap": True, "eps": 1e-3}])
def test_triplet_margin_matches_torch(params, gen):
    a, p, n = (torch.randn(10, 6, generator=gen) for _ in range(3))
    got = run_loss("TripletMargin", {"anchor": T((6,)), "positive": T((6,)), "negative": T((6,))},
                   {"anchor": a, "positive": p, "negative": n}, **params)
    close(got, F.triplet_margin_loss(a, p, n, **params))


# ---------------------------------------------------------------------------------------------
# GAN loss

@pytest.mark.parametrize("mode", ["non_saturating", "minimax"])
def test_gan_discriminator_loss_is_bce_by_hand(mode, gen):
    fake, real = torch.randn(8, 1, generator=gen) * 3, torch.randn(8, 1, generator=gen) * 3
    got = run_loss("GANLoss", {"fake": T((1,)), "real": T((1,))}, {"fake": fake, "real": real},
                   role="discriminator", mode=mode)
    sig = torch.sigmoid
    want = -(sig(real).log().mean() + (1 - sig(fake)).log().mean())
    close(got, want)
    close(got, nn.BCEWithLogitsLoss()(real, torch.ones_like(real))
          + nn.BCEWithLogitsLoss()(fake, torch.zeros_like(fake)))


def test_gan_least_squares(gen):
    fake, real = torch.randn(8, 1, generator=gen), torch.randn(8, 1, generator=gen)
    d = run_loss("GANLoss", {"fake": T((1,)), "real": T((1,))}, {"fake": fake, "real": real},
                 mode="least_squares")
    close(d, 0.5 * (((real - 1) ** 2).mean() + (fake ** 2).mean()))
    g = run_loss("GANLoss", {"fake": T((1,))}, {"fake": fake}, role="generator",
                 mode="least_squares")
    close(g, 0.5 * ((fake - 1) ** 2).mean())


def test_gan_generator_losses_by_hand(gen):
    fake = torch.randn(8, 1, generator=gen) * 3
    types = {"fake": T((1,))}
    ns = run_loss("GANLoss", types, {"fake": fake}, role="generator")
    close(ns, -torch.sigmoid(fake).log().mean())  # maximize log D(G(z))
    mm = run_loss("GANLoss", types, {"fake": fake}, role="generator", mode="minimax")
    close(mm, (1 - torch.sigmoid(fake)).log().mean())  # minimize log(1 - D(G(z)))


def test_generator_ports_follow_role():
    spec = get_block("GANLoss")
    names = lambda **kw: [p.name for p in spec.input_ports(Values(spec.validate(kw)))]
    assert names(role="discriminator") == ["fake", "real"]
    assert names(role="generator") == ["fake"]


def test_non_saturating_keeps_a_gradient_where_minimax_saturates():
    """Early on the discriminator rejects fakes confidently (logit -8): the minimax loss is flat
    there, the non-saturating one is not."""
    grads = {}
    for mode in ("minimax", "non_saturating"):
        fake = torch.full((4, 1), -8.0, requires_grad=True)
        run_loss("GANLoss", {"fake": T((1,))}, {"fake": fake}, role="generator",
                 mode=mode).backward()
        grads[mode] = fake.grad.abs().sum().item()
    assert grads["minimax"] < 1e-3
    assert grads["non_saturating"] > 0.9
    assert grads["non_saturating"] > 1000 * grads["minimax"]


def test_gan_refuses_mismatched_scores():
    spec = get_block("GANLoss")
    with pytest.raises(ShapeError) as err:
        spec.check(Values(spec.validate({})), {"fake": T((1,)), "real": T((1, 4, 4))})
    assert err.value.field == "real" and "1 x 4 x 4" in str(err.value)


# ---------------------------------------------------------------------------------------------
# weighted sum

def test_weighted_sum_renders_readable_code():
    spec = get_block("WeightedSum")
    fwd = lambda weights, names: spec.forward(Values(spec.validate({"weights": weights})),
                                              {"losses": names}, None)
    assert fwd([1.0, 0.5], ["bce", "kl"]) == "bce + 0.5 * kl"
    assert fwd([], ["bce", "kl", "reg"]) == "bce + kl + reg"
    assert fwd([2.0, -1.0, -0.25], ["a", "b", "c"]) == "2.0 * a - b - 0.25 * c"
    assert fwd([-1.0], ["a"]) == "-a"
    assert fwd([3], ["x + y"]) == "3.0 * (x + y)"


def test_weighted_sum_evaluates():
    types = {"losses": [LOSS, LOSS, LOSS]}
    a, b, c = torch.tensor(1.5), torch.tensor(0.25), torch.tensor(4.0)
    got = run_loss("WeightedSum", types, {"losses": [a, b, c]}, weights=[1.0, 0.5, -0.1])
    close(got, a + 0.5 * b - 0.1 * c)
    got = run_loss("WeightedSum", types, {"losses": [a, b, c]})
    close(got, a + b + c)


def test_weighted_sum_weights_must_match_wires():
    spec = get_block("WeightedSum")
    with pytest.raises(ShapeError) as err:
        spec.check(Values(spec.validate({"weights": [1.0, 0.5, 2.0]})), {"losses": [LOSS, LOSS]})
    assert err.value.field == "weights"
    assert "3 weights" in str(err.value) and "2 losses" in str(err.value)
    with pytest.raises(ParamError):
        spec.validate({"weights": [1.0, float("nan")]})
    with pytest.raises(ParamError):
        spec.validate({"weights": ["1.0); import os"]})


# ---------------------------------------------------------------------------------------------
# shape checks

def test_bce_refuses_mismatched_shapes_naming_both():
    spec = get_block("BCE")
    with pytest.raises(ShapeError) as err:
        spec.check(Values(spec.validate({})), {"input": T((10,)), "target": T((1, 28, 28))})
    msg = str(err.value)
    assert err.value.field == "target"
    assert "10" in msg and "1 x 28 x 28" in msg and "same shape" in msg


@pytest.mark.parametrize("block, types, field", [
    ("MSE", {"input": T((10,)), "target": T((5,))}, "target"),
    ("L1", {"input": T((3, 4)), "target": T((3, 4), "long")}, "target"),
    ("KLDiv", {"input": T((10,)), "target": T((9,))}, "target"),
    ("GaussianKL", {"mu": T((8,)), "logvar": T((16,))}, "logvar"),
    ("NLL", {"input": T((10,)), "target": T((10,))}, "target"),
    ("NLL", {"input": T((10,)), "target": T((3,), "long")}, "target"),
    ("CosineEmbedding", {"input1": T((8,)), "input2": T((7,)), "target": T(())}, "input2"),
    ("CosineEmbedding", {"input1": T((8,)), "input2": T((8,)), "target": T((8,))}, "target"),
    ("CosineEmbedding", {"input1": T((2, 4)), "input2": T((2, 4)), "target": T(())}, "input1"),
    ("MarginRanking", {"input1": T(()), "input2": T(()), "target": T((2,))}, "target"),
    ("TripletMargin", {"anchor": T((8,)), "positive": T((8,)), "negative": T((4,))}, "negative"),
])
def test_mismatches_are_refused(block, types, field):
    spec = get_block(block)
    with pytest.raises(ShapeError) as err:
        spec.check(Values(spec.validate({})), types)
    assert err.value.field == field


def test_weights_must_match_classes():
    with pytest.raises(ShapeError) as err:
        get_block("NLL").check(Values(get_block("NLL").validate({"weight": [1.0, 2.0]})),
                               {"input": T((3,)), "target": T((), "long")})
    assert err.value.field == "weight"
    spec = get_block("BCEWithLogits")
    with pytest.raises(ShapeError) as err:
        spec.check(Values(spec.validate({"pos_weight": [1.0, 2.0]})),
                   {"input": T((3,)), "target": T((3,))})
    assert err.value.field == "pos_weight"


def test_loss_code_is_readable_and_built_from_validated_values():
    def rendered(block, **params):
        spec = get_block(block)
        return call(spec.module(Values(spec.validate(params)), {}))

    assert rendered("MSE") == "nn.MSELoss()"
    assert rendered("L1", reduction="sum") == "nn.L1Loss(reduction='sum')"
    assert rendered("Huber", delta=0.5) == "nn.HuberLoss(delta=0.5)"
    assert rendered("BCEWithLogits", pos_weight=[3]) == \
        "nn.BCEWithLogitsLoss(pos_weight=torch.tensor([3.0]))"
    assert rendered("GaussianKL") == "GaussianKL()"
    assert rendered("GANLoss", role="generator") == "GANLoss('generator')"
    assert rendered("GANLoss", mode="least_squares") == \
        "GANLoss('discriminator', mode='least_squares')"
    assert rendered("TripletMargin", swap=True) == "nn.TripletMarginLoss(swap=True)"
    with pytest.raises(ParamError):
        get_block("GANLoss").validate({"role": "critic"})
    with pytest.raises(ParamError):
        get_block("Huber").validate({"delta": 0.0})


# ---------------------------------------------------------------------------------------------
# optimizers

def build(block: str, params_source: str, params, **values):
    spec = get_block(block)
    v = Values(spec.validate(values))
    source = call(spec.module(v, {}), {"<parameters>": params_source})
    opt = eval(source, {"torch": torch, "params": params})
    sched_call = spec.optimizer.scheduler(v)
    sched = None
    if sched_call is not None:
        sched = eval(call(sched_call, {"<optimizer>": "opt", "<total_steps>": "100"}),
                     {"torch": torch, "opt": opt})
    return source, opt, sched


QUADRATIC_SCALES = torch.tensor([1.0, 3.0, 0.5, 2.0])
QUADRATIC_TARGET = torch.tensor([1.0, -2.0, 0.5, 3.0])


def quadratic(w):
    return (QUADRATIC_SCALES * (w - QUADRATIC_TARGET) ** 2).sum()


@pytest.mark.parametrize("block, values", [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.02, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.02, "momentum": 0.9, "dampening": 0.1, "weight_decay": 1e-4}),
    ("Adam", {"lr": 0.1}),
    ("AdamW", {"lr": 0.1}),
    ("RMSprop", {"lr": 0.05}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True}),
    ("Adagrad", {"lr": 0.5}),
])
def test_optimizer_minimizes_a_quadratic(block, values):
    w = torch.zeros(4, requires_grad=True)
    _, opt, _ = build(block, "params", [w], **values)
    start = quadratic(w).item()
    for _ in range(200):
        opt.zero_grad()
        loss = quadratic(w)
        loss.backward()
        opt.step()
    assert quadratic(w).item() < 0.01 * start, f"{block} {values}: {start} -> {quadratic(w).item()}"


def test_optimizer_code_lists_only_changed_arguments():
    w = [torch.zeros(1, requires_grad=True)]
    assert build("SGD", "params", w)[0] == "torch.optim.SGD(params, lr=0.01)"
    assert build("SGD", "params", w, momentum=0.9, nesterov=True)[0] == \
        "torch.optim.SGD(params, lr=0.01, momentum=0.9, nesterov=True)"
    assert build("AdamW", "params", w)[0] == "torch.optim.AdamW(params, lr=0.001)"
    assert build("RMSprop", "params", w, alpha=0.9)[0] == \
        "torch.optim.RMSprop(params, lr=0.01, alpha=0.9)"
    assert build("Adagrad", "params", w, lr_decay=0.01)[0] == \
        "torch.optim.Adagrad(params, lr=0.01, lr_decay=0.01)"


@pytest.mark.parametrize("block, values", [
    ("SGD", {}), ("SGD", {"momentum": 0.9, "dampening": 0.2, "weight_decay": 0.1}),
    ("Adam", {"weight_decay": 0.1}), ("AdamW", {}), ("AdamW", {"weight_decay": 0.0}),
    ("RMSprop", {"alpha": 0.9, "momentum": 0.3, "centered": True}),
    ("Adagrad", {"lr_decay": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-6}),
])
def test_optimizer_gets_the_declared_hyperparameters(block, values):
    spec = get_block(block)
    full = spec.validate(values)
    _, opt, _ = build(block, "params", [torch.zeros(1, requires_grad=True)], **values)
    group = opt.param_groups[0]
    for name, v in full.items():
        if name in group:
            assert group[name] == v, f"{block}.{name}: torch has {group[name]}, declared {v}"
    if "betas" in full:
        assert group["betas"] == full["betas"]


def test_sgd_refuses_nesterov_without_momentum():
    spec = get_block("SGD")
    with pytest.raises(ParamError) as err:
        spec.validate({"nesterov": True})
    assert str(err.value).startswith("nesterov:")
    with pytest.raises(ParamError, match="^nesterov:"):
        spec.validate({"nesterov": True, "momentum": 0.9, "dampening": 0.5})
    spec.validate({"nesterov": True, "momentum": 0.9})


def reference_scheduler(schedule: str, opt, values):
    if schedule == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=values["step_size"],
                                               gamma=values["gamma"])
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=values["lr"], total_steps=100,
                                               pct_start=values["pct_start"],
                                               cycle_momentum=values.get("cycle_momentum", True))


@pytest.mark.parametrize("schedule", ["step", "cosine", "onecycle"])
@pytest.mark.parametrize("block, values", [
    ("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.01}), ("AdamW", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01}), ("Adagrad", {"lr": 0.1}), ("SGD", {"lr": 0.1}),
])
def test_schedules_follow_torch(schedule, block, values):
    values = dict(values, schedule=schedule, step_size=10, gamma=0.5, pct_start=0.25)
    w = torch.zeros(3, requires_grad=True)
    _, opt, sched = build(block, "params", [w], **values)
    full = get_block(block).validate(values)
    ref_w = torch.zeros(3, requires_grad=True)
    _, ref_opt, _ = build(block, "params", [ref_w], **dict(values, schedule="none"))
    no_momentum = schedule == "onecycle" and not full.get("momentum", 0) and "betas" not in full
    ref = reference_scheduler(schedule, ref_opt, dict(full, cycle_momentum=not no_momentum))
    lrs, ref_lrs = [], []
    for _ in range(100):
        for o, s, p in ((opt, sched, w), (ref_opt, ref, ref_w)):
            o.zero_grad()
            (p - 1).pow(2).sum().backward()
            o.step()
            s.step()
        lrs.append(opt.param_groups[0]["lr"])
        ref_lrs.append(ref_opt.param_groups[0]["lr"])
    assert lrs == pytest.approx(ref_lrs)
    assert len({round(x, 12) for x in lrs}) > 3, "the schedule should move the learning rate"
    torch.testing.assert_close(w, ref_w)
    if no_momentum and "momentum" in full:  # one-cycle left momentum alone
        assert opt.param_groups[0]["momentum"] == 0.0


def test_no_schedule_means_no_scheduler():
    for block in ("SGD", "AdamW", "RMSprop", "Adagrad"):
        spec = get_block(block)
        assert spec.optimizer.scheduler(Values(spec.validate({}))) is None


# ---------------------------------------------------------------------------------------------
# end to end: the generator, the loader and a training run

@pytest.mark.slow
def test_moons_mlp_with_sgd_cosine_learns():
    from studio.core.inference import analyze
    from studio.core.project import Project
    from studio.engine.codegen import generate
    from studio.engine.loader import RESOURCES_DATA, load

    project = Project("Moons")
    t = project.training
    data = t.add("Dataset", dataset="moons", count=400)
    x = t.stack(data["x"], ("Linear", "fc1", {"out_features": 32}), "ReLU",
                ("Linear", "fc2", {"out_features": 32}), "ReLU",
                ("Linear", "fc3", {"out_features": 2}))
    loss = t.add("CrossEntropy", title="loss")
    t.connect(x, loss["input"])
    t.connect(data["label"], loss["target"])
    opt = t.add("SGD", lr=0.1, momentum=0.9, schedule="cosine")
    t.connect(loss, opt)
    assert not analyze(project).problems
    code = generate(project)
    assert "torch.optim.SGD(" in code.train_source and "momentum=0.9" in code.train_source
    assert "CosineAnnealingLR(" in code.train_source
    module = load(code)
    training = module.Training("cpu", 0, RESOURCES_DATA, epochs=30)
    first = None
    step = 0
    while step < training.total_steps:
        for batch in training.batches:
            metrics = training.train_step(batch)
            first = first if first is not None else float(metrics["loss"])
            step += 1
            if step >= training.total_steps:
                break
    assert float(metrics["loss"]) < first
    lr = training.optimizers["sgd"].param_groups[0]["lr"]
    assert lr < 0.01, "the cosine schedule should have annealed the learning rate"
    result = training.evaluate()
    assert result["test_accuracy"] > 0.85, result


@pytest.mark.slow
def test_weighted_sum_and_gaussian_kl_in_generated_code():
    from studio.core.project import Project
    from studio.engine.codegen import generate
    from studio.engine.loader import RESOURCES_DATA, load

    project = Project("KL")
    t = project.training
    data = t.add("Dataset", dataset="moons", count=200)
    mu = t.stack(data["x"], ("Linear", "mu", {"out_features": 4}))
    logvar = t.stack(data["x"], ("Linear", "logvar", {"out_features": 4}))
    kl = t.add("GaussianKL", title="kl", reduction="mean")
    t.connect(mu, kl["mu"])
    t.connect(logvar, kl["logvar"])
    rec = t.stack(data["x"], ("Linear", "rec", {"out_features": 2}))
    mse = t.add("MSE", title="mse")
    t.connect(rec, mse["input"])
    t.connect(data["x"], mse["target"])
    total = t.add("WeightedSum", title="total", weights=[1.0, 0.5])
    t.connect(mse, total["losses"])
    t.connect(kl, total["losses"])
    opt = t.add("RMSprop", lr=0.01, schedule="onecycle")
    t.connect(total, opt)
    code = generate(project)
    assert "class GaussianKL(nn.Module)" in code.train_source
    assert "total = mse + 0.5 * kl" in code.train_source
    assert "cycle_momentum=False" in code.train_source
    training = load(code).Training("cpu", 0, RESOURCES_DATA, epochs=10)
    before = training.evaluate()
    for batch in list(training.batches) * 10:
        training.train_step(batch)
    after = training.evaluate()
    assert after["test_total"] < 0.5 * before["test_total"], (before, after)
    assert after["test_total"] == pytest.approx(after["test_mse"] + 0.5 * after["test_kl"],
                                                rel=1e-4)
