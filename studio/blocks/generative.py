"""Generative building blocks."""

from __future__ import annotations

from studio.blocks._common import Cost, Port, ShapeError, declare, require_float
from studio.core.registry import TensorType
from studio.core.roles import LatentRole


def _reparameterize_check(p, ins):
    mu, logvar = ins["mu"], ins["logvar"]
    require_float(mu, "mu")
    require_float(logvar, "logvar")
    if mu.shape != logvar.shape:
        raise ShapeError(f"mu {mu.describe()} and logvar {logvar.describe()} differ; they are the "
                         "mean and log-variance of the same latent code and need equal shapes "
                         "(split one encoder output in two, or give both heads the same size)",
                         "logvar")


declare(
    id="Reparameterize", category="generative", title="Reparameterize",
    help="Samples z = mu + exp(logvar / 2) * eps with eps ~ N(0, 1): the VAE's sampling step.",
    explanation="A VAE encoder describes each input by a Gaussian (mean mu, log-variance "
                "logvar) over the latent code. Sampling from it directly would block gradients, "
                "so the randomness is moved into eps, drawn from a standard normal: "
                "z = mu + sigma * eps with sigma = exp(logvar / 2). z is then an ordinary "
                "differentiable function of mu and logvar, and the encoder learns through it. "
                "Predicting logvar rather than sigma keeps sigma positive without constraints.",
    inputs=(Port("mu", help="mean of the latent Gaussian"),
            Port("logvar", help="log-variance of the latent Gaussian")),
    outputs=(Port("z", help="a sample of the latent code"),),
    check=_reparameterize_check,
    shape=lambda p, ins: {"z": ins["mu"]},
    cost=lambda p, ins, outs: Cost(0, 0),
    latent=LatentRole(mean="mu", log_variance="logvar", sample="z"),
    forward=lambda p, a, attr: f"{a['mu']} + torch.exp(0.5 * {a['logvar']}) * "
                               f"torch.randn_like({a['mu']})",
    examples=({"mu": TensorType((16,)), "logvar": TensorType((16,))},
              {"mu": TensorType((4, 3, 3)), "logvar": TensorType((4, 3, 3))}),
)
