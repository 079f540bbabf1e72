"""Losses without a torch.nn twin. Copied by source into exported files (see the package doc):
self-contained, torch and math only, dependencies listed in DEPENDS."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

DEPENDS: dict = {}


class GaussianKL(nn.Module):
    """KL(N(mu, exp(logvar)) || N(0, 1)), the VAE's regularizer, in closed form.

    reduction "sum" adds over every latent dimension and sample (the VAE paper, with a summed
    reconstruction loss); "mean" adds over the latent dimensions and averages over the batch.
    """

    def __init__(self, reduction="sum"):
        super().__init__()
        if reduction not in ("sum", "mean"):
            raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
        self.reduction = reduction

    def forward(self, mu, logvar):
        kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())
        if self.reduction == "sum":
            return kl.sum()
        return kl.reshape(kl.shape[0], -1).sum(1).mean()

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class GANLoss(nn.Module):
    """The GAN objectives on the discriminator's logits (raw scores, no sigmoid).

    discriminator: real samples towards 1, generated ones towards 0.
    generator: "non_saturating" pushes D(fake) towards 1; "minimax" minimizes log(1 - D(fake));
    "least_squares" uses halved squared errors instead of log-likelihoods (LSGAN).
    """

    def __init__(self, role="discriminator", mode="non_saturating"):
        super().__init__()
        if role not in ("discriminator", "generator"):
            raise ValueError(f"role must be 'discriminator' or 'generator', got {role!r}")
        if mode not in ("non_saturating", "minimax", "least_squares"):
            raise ValueError(f"mode must be 'non_saturating', 'minimax' or 'least_squares', "
                             f"got {mode!r}")
        self.role, self.mode = role, mode

    def forward(self, fake, real=None):
        ones, zeros = torch.ones_like(fake), torch.zeros_like(fake)
        if self.role == "discriminator":
            if real is None:
                raise ValueError("the discriminator loss needs the scores of real samples")
            if self.mode == "least_squares":
                return 0.5 * (F.mse_loss(real, torch.ones_like(real)) + F.mse_loss(fake, zeros))
            return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                    + F.binary_cross_entropy_with_logits(fake, zeros))
        if self.mode == "least_squares":
            return 0.5 * F.mse_loss(fake, ones)
        if self.mode == "minimax":
            return -F.binary_cross_entropy_with_logits(fake, zeros)
        return F.binary_cross_entropy_with_logits(fake, ones)

    def extra_repr(self):
        return f"role={self.role!r}, mode={self.mode!r}"


__all__ = ["F", "GANLoss", "GaussianKL", "math", "nn", "torch"]
