"""Our own definitions of shufflenet_v2_x1_0, regnet_y_400mf and convnext_tiny for the importer's
tests (see classic.py for why not torchvision's), with torchvision's parameter counts
(2,278,604; 4,344,144; 28,589,128). Stochastic depth, the identity in evaluation, is left out."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from tests.model_zoo.mobile import SqueezeExcitation


def _conv_bn(cin, cout, kernel, stride=1, groups=1, relu=True):
    layers = [nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    return layers + [nn.ReLU(inplace=True)] if relu else layers


# --- ShuffleNetV2 (Ma et al., 2018) ------------------------------------------------------------

def channel_shuffle(x, groups: int):
    """Interleave the channels of ``groups`` groups, so the next split mixes them."""
    b, c, h, w = x.size()
    x = x.view(b, groups, c // groups, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(b, -1, h, w)


class ShuffleUnit(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        half = cout // 2
        self.stride = stride
        if stride > 1:
            self.branch1 = nn.Sequential(*_conv_bn(cin, cin, 3, stride, cin, relu=False),
                                         *_conv_bn(cin, half, 1))
        self.branch2 = nn.Sequential(*_conv_bn(cin if stride > 1 else half, half, 1),
                                     *_conv_bn(half, half, 3, stride, half, relu=False),
                                     *_conv_bn(half, half, 1))

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    def __init__(self, repeats=(4, 8, 4), widths=(24, 116, 232, 464, 1024), num_classes=1000):
        super().__init__()
        self.conv1 = nn.Sequential(*_conv_bn(3, widths[0], 3, 2))
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = widths[0]
        for i, (n, cout) in enumerate(zip(repeats, widths[1:]), 2):
            units = [ShuffleUnit(cin, cout, 2)] + [ShuffleUnit(cout, cout, 1) for _ in range(n - 1)]
            setattr(self, f"stage{i}", nn.Sequential(*units))
            cin = cout
        self.conv5 = nn.Sequential(*_conv_bn(cin, widths[-1], 1))
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean([2, 3]))


def shufflenet_v2_x1_0(num_classes=1000):
    return ShuffleNetV2(num_classes=num_classes)


# --- RegNetY-400MF (Radosavovic et al., 2020) --------------------------------------------------

class YBlock(nn.Module):
    """1x1, grouped 3x3, squeeze-excitation, 1x1; added to the (projected) input, then ReLU."""

    def __init__(self, cin, cout, stride, group_width=8, se_ratio=0.25):
        super().__init__()
        self.proj = None
        if cin != cout or stride != 1:
            self.proj = nn.Sequential(*_conv_bn(cin, cout, 1, stride, relu=False))
        self.f = nn.Sequential(*_conv_bn(cin, cout, 1), *_conv_bn(cout, cout, 3, stride,
                                                                  cout // group_width),
                               SqueezeExcitation(cout, int(round(se_ratio * cin)), nn.ReLU,
                                                 nn.Sigmoid),
                               *_conv_bn(cout, cout, 1, relu=False))
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x):
        shortcut = x if self.proj is None else self.proj(x)
        return self.activation(shortcut + self.f(x))


class RegNet(nn.Module):
    def __init__(self, widths=(48, 104, 208, 440), depths=(1, 3, 6, 6), num_classes=1000):
        super().__init__()
        self.stem = nn.Sequential(*_conv_bn(3, 32, 3, 2))
        stages, cin = [], 32
        for width, depth in zip(widths, depths):
            stages.append(nn.Sequential(*[YBlock(cin if i == 0 else width, width,
                                                 2 if i == 0 else 1) for i in range(depth)]))
            cin = width
        self.trunk_output = nn.Sequential(*stages)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.avgpool(self.trunk_output(self.stem(x)))
        return self.fc(x.flatten(start_dim=1))


def regnet_y_400mf(num_classes=1000):
    return RegNet(num_classes=num_classes)


# --- ConvNeXt-T (Liu et al., 2022) -------------------------------------------------------------

class LayerNorm2d(nn.Module):
    """Layer norm over the channels of each pixel: channels last, normalize, channels first."""

    def __init__(self, channels, eps=1e-6):
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=eps)

    def forward(self, x):
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    """7x7 depthwise conv, then per pixel: layer norm, a 4x wider MLP with GELU; scaled by a
    learned per-channel factor (layer scale) and added to the input."""

    def __init__(self, dim):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * 1e-6)

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y)))).permute(0, 3, 1, 2)
        return x + self.layer_scale * y


class ConvNeXt(nn.Module):
    def __init__(self, depths=(3, 3, 9, 3), dims=(96, 192, 384, 768), num_classes=1000):
        super().__init__()
        layers = [nn.Sequential(nn.Conv2d(3, dims[0], 4, stride=4), LayerNorm2d(dims[0]))]
        for i, (depth, dim) in enumerate(zip(depths, dims)):
            layers.append(nn.Sequential(*[CNBlock(dim) for _ in range(depth)]))
            if i + 1 < len(dims):
                layers.append(nn.Sequential(LayerNorm2d(dim),
                                            nn.Conv2d(dim, dims[i + 1], 2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(LayerNorm2d(dims[-1]), nn.Flatten(1),
                                        nn.Linear(dims[-1], num_classes))

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)))


def convnext_tiny(num_classes=1000):
    return ConvNeXt(num_classes=num_classes)


__all__ = ["F", "convnext_tiny", "regnet_y_400mf", "shufflenet_v2_x1_0"]
