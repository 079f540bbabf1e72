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


class StochasticDepth(nn.Module):
    """Drops a residual branch at random while training (Huang et al., 2016), identity in eval.

    mode "row": each sample's branch is kept with probability 1 - p; "batch": the whole batch's
    at once. Kept values are divided by 1 - p so the expected output is unchanged.
    """

    def __init__(self, p, mode="row"):
        super().__init__()
        if not 0.0 <= p <= 1.0 or mode not in ("row", "batch"):
            raise ValueError(f"p must be in [0, 1] and mode 'row' or 'batch', got {p}, {mode!r}")
        self.p, self.mode = p, mode

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.dim() - 1) if self.mode == "row" else [1] * x.dim()
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(keep)
        if keep > 0.0:
            noise.div_(keep)
        return x * noise

    def extra_repr(self):
        return f"p={self.p}, mode={self.mode!r}"


class LayerScale(nn.Module):
    """A learned scale per channel (ConvNeXt's layer_scale), shaped channels x 1 x ... so it
    multiplies every position of a channel alike; starts small so a new residual branch begins
    close to nothing."""

    def __init__(self, channels, spatial_dims=2, init=1e-6):
        super().__init__()
        self.scale = nn.Parameter(torch.full((channels,) + (1,) * spatial_dims, float(init)))

    def forward(self, x):
        return self.scale * x


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of each pixel of an N x C x H x W tensor (ConvNeXt's): the
    channels are moved last, normalized with nn.LayerNorm's weights, and moved back."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


__all__ = ["BlurPool2d", "F", "LayerNorm2d", "LayerScale", "SeparableConv2d", "Shortcut",
           "StochasticDepth", "nn", "siren_init_"]
