"""Modules and functions without a torch.nn twin. The code generator copies their source into
exported files, so each is self-contained (torch, math and numpy only) and lists its dependencies
in DEPENDS."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

DEPENDS: dict = {}


@torch.no_grad()
def siren_init_(linear, omega_0=30.0, first=False):
    """SIREN initialization: keeps sin(omega_0 * (W x + b)) well spread at every depth."""
    n = linear.weight.shape[1]
    bound = 1.0 / n if first else math.sqrt(6.0 / n) / omega_0
    linear.weight.uniform_(-bound, bound)
    return linear


__all__ = ["F", "nn", "siren_init_"]
