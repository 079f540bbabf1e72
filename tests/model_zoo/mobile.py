"""Our own definitions of mobile vision families for the importer's tests (see classic.py for
why not torchvision's): the same layers, names and parameter counts as torchvision's
(mobilenet_v2: 3,504,872; mobilenet_v3_small: 2,542,856; efficientnet_b0: 5,288,548)."""

from __future__ import annotations

from torch import nn
from torch.nn import functional as F


class ConvBNAct(nn.Sequential):
    """Convolution, batch norm and an activation (torchvision's Conv2dNormActivation)."""

    def __init__(self, cin, cout, kernel=3, stride=1, groups=1, act=nn.ReLU6, norm=(1e-5, 0.1)):
        layers = [nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups,
                            bias=False), nn.BatchNorm2d(cout, eps=norm[0], momentum=norm[1])]
        if act is not None:
            layers.append(act(inplace=True))
        super().__init__(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2's block: expand with a 1x1, filter depthwise, project back with a linear 1x1;
    added to its input when the shape allows (Sandler et al., 2018)."""

    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.use_res_connect = stride == 1 and cin == cout
        layers = [ConvBNAct(cin, hidden, 1)] if expand != 1 else []
        layers += [ConvBNAct(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1))

    def __init__(self, num_classes=1000):
        super().__init__()
        layers = [ConvBNAct(3, 32, stride=2)]
        cin = 32
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(ConvBNAct(cin, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(x.flatten(1))


def mobilenet_v2(num_classes=1000):
    return MobileNetV2(num_classes)


def _divisible(v, divisor=8):
    """Round a width to a multiple of 8, never down by more than 10% (torchvision's rule)."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


class SqueezeExcitation(nn.Module):
    """Channel attention (Hu et al., 2017): pool, squeeze, excite, scale the input."""

    def __init__(self, channels, squeeze, act=nn.ReLU, gate=nn.Hardsigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = act()
        self.scale_activation = gate()

    def forward(self, x):
        scale = self.fc2(self.activation(self.fc1(self.avgpool(x))))
        return self.scale_activation(scale) * x


class BottleneckV3(nn.Module):
    """MobileNetV3's block (Howard et al., 2019): MobileNetV2's with squeeze-excitation and
    hard-swish where the table says."""

    def __init__(self, cin, kernel, expanded, cout, se, act, stride, norm):
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        layers = []
        if expanded != cin:
            layers.append(ConvBNAct(cin, expanded, 1, act=act, norm=norm))
        layers.append(ConvBNAct(expanded, expanded, kernel, stride, groups=expanded, act=act,
                                norm=norm))
        if se:
            layers.append(SqueezeExcitation(expanded, _divisible(expanded // 4)))
        layers.append(ConvBNAct(expanded, cout, 1, act=None, norm=norm))
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        out = self.block(x)
        return out + x if self.use_res_connect else out


class MobileNetV3(nn.Module):
    SMALL = ((16, 3, 16, 16, True, "RE", 2), (16, 3, 72, 24, False, "RE", 2),
             (24, 3, 88, 24, False, "RE", 1), (24, 5, 96, 40, True, "HS", 2),
             (40, 5, 240, 40, True, "HS", 1), (40, 5, 240, 40, True, "HS", 1),
             (40, 5, 120, 48, True, "HS", 1), (48, 5, 144, 48, True, "HS", 1),
             (48, 5, 288, 96, True, "HS", 2), (96, 5, 576, 96, True, "HS", 1),
             (96, 5, 576, 96, True, "HS", 1))

    def __init__(self, num_classes=1000):
        super().__init__()
        norm = (1e-3, 0.01)
        layers = [ConvBNAct(3, 16, 3, 2, act=nn.Hardswish, norm=norm)]
        for cin, k, exp, cout, se, act, stride in self.SMALL:
            layers.append(BottleneckV3(cin, k, exp, cout, se,
                                       nn.ReLU if act == "RE" else nn.Hardswish, stride, norm))
        layers.append(ConvBNAct(96, 576, 1, act=nn.Hardswish, norm=norm))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(576, 1024), nn.Hardswish(inplace=True),
                                        nn.Dropout(0.2, inplace=True),
                                        nn.Linear(1024, num_classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def mobilenet_v3_small(num_classes=1000):
    return MobileNetV3(num_classes)


class MBConv(nn.Module):
    """EfficientNet's block (Tan & Le, 2019): expand, depthwise, squeeze-excite with SiLU and a
    sigmoid gate, project; residual where the shape allows. (torchvision adds stochastic depth
    on the residual branch, the identity in evaluation; left out here.)"""

    def __init__(self, cin, cout, kernel, stride, expand):
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        expanded = cin * expand
        layers = []
        if expanded != cin:
            layers.append(ConvBNAct(cin, expanded, 1, act=nn.SiLU))
        layers += [ConvBNAct(expanded, expanded, kernel, stride, groups=expanded, act=nn.SiLU),
                   SqueezeExcitation(expanded, max(1, cin // 4), nn.SiLU, nn.Sigmoid),
                   ConvBNAct(expanded, cout, 1, act=None)]
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        out = self.block(x)
        return out + x if self.use_res_connect else out


class EfficientNet(nn.Module):
    B0 = ((1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
          (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
          (6, 3, 1, 192, 320, 1))

    def __init__(self, num_classes=1000):
        super().__init__()
        layers = [ConvBNAct(3, 32, 3, 2, act=nn.SiLU)]
        for expand, k, stride, cin, cout, n in self.B0:
            layers.append(nn.Sequential(*[
                MBConv(cin if i == 0 else cout, cout, k, stride if i == 0 else 1, expand)
                for i in range(n)]))
        layers.append(ConvBNAct(320, 1280, 1, act=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2, inplace=True),
                                        nn.Linear(1280, num_classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def efficientnet_b0(num_classes=1000):
    return EfficientNet(num_classes)
