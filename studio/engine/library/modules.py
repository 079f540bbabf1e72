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


class SeparableConv2d(nn.Module):
    """Depthwise-separable convolution: one k x k filter per input channel, then a 1x1 mix.

    Costs about in_channels * (k * k + out_channels) weights instead of
    in_channels * out_channels * k * k. The bias sits on the pointwise conv only: a bias on the
    depthwise conv would be absorbed by the pointwise one anyway.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 bias=True):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, stride=stride,
                                   padding=padding, dilation=dilation, groups=in_channels,
                                   bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=bias)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class BlurPool2d(nn.Module):
    """Anti-aliased downsampling (Zhang, 2019): a fixed binomial blur, then subsampling.

    The filter (rows of Pascal's triangle, normalized) is applied to each channel on its own
    after reflect padding, so the output has ceil(size / stride) pixels per side. It has no
    trainable parameters.
    """

    def __init__(self, channels, filt_size=3, stride=2):
        super().__init__()
        if not 1 <= filt_size <= 7:
            raise ValueError(f"filt_size must be between 1 and 7, got {filt_size}")
        self.channels, self.filt_size, self.stride = channels, filt_size, stride
        coeffs = [1.0]  # a row of Pascal's triangle: the binomial coefficients
        for _ in range(filt_size - 1):
            coeffs = [a + b for a, b in zip([0.0] + coeffs, coeffs + [0.0])]
        row = torch.tensor(coeffs)
        filt = row[:, None] * row[None, :]
        filt = filt / filt.sum()
        self.register_buffer("filt", filt.expand(channels, 1, filt_size, filt_size).clone(),
                             persistent=False)
        left, right = (filt_size - 1) // 2, filt_size // 2
        self.pad = (left, right, left, right)

    def forward(self, x):
        x = F.pad(x, self.pad, mode="reflect")
        return F.conv2d(x, self.filt, stride=self.stride, groups=self.channels)

    def extra_repr(self):
        return f"{self.channels}, filt_size={self.filt_size}, stride={self.stride}"


class Shortcut(nn.Module):
    """ResNet's shortcut: the identity when the shapes already match, otherwise a strided 1x1
    convolution (no bias) and batch norm that project to out_channels. Decided once, here."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        if in_channels == out_channels and stride == 1:
            self.project = nn.Identity()
        else:
            self.project = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x):
        return self.project(x)


__all__ = ["BlurPool2d", "F", "SeparableConv2d", "Shortcut", "nn", "siren_init_"]
