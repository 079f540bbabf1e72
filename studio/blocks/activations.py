"""The activation functions of the course notes and of the mobile vision networks, each with
its formula for plotting.

Each declares an ``InspectorPlot``: a numpy function of x and the parameters; the inspector
draws it and its derivative, so the curve shown is the one declared here.
"""

from __future__ import annotations

import numpy as np

from studio.blocks._common import OUT, Call, Cost, Param, TensorType, X, declare, require_float, require_rank
from studio.core.import_rules import ImportRule, NotImportable, call_arg, copy_attrs
from studio.core.params import Bool, Choice, Float, Int
from studio.core.roles import FlatRegion, InspectorPlot

_EXAMPLES = ({"x": TensorType((3, 5, 5))}, {"x": TensorType((12,))})


def _elementwise_check(p, ins):
    require_float(ins["x"])


def _dim_check(p, ins):
    require_float(ins["x"])
    rank = ins["x"].rank + 1
    if not -rank <= p.dim < rank:
        from studio.blocks._common import ShapeError

        raise ShapeError(f"dim {p.dim} is outside a {rank}-dim batch of {ins['x'].describe()}",
                         "dim")


def _calls(module: str, function: str, *, torch_fn: bool = False, method: bool = False,
           inplace: bool = False, params=None) -> ImportRule:
    """An activation's import: its ``nn`` layer, ``F.<function>`` (and ``torch.<function>``,
    ``x.<function>()`` where they exist; ``inplace``: their ``_`` variants too, the same here)."""
    functions = (f"torch.nn.functional.{function}",) + ((f"torch.{function}",) if torch_fn else ())
    methods = (function,) if method else ()
    if inplace:
        functions += tuple(f"{f}_" for f in functions if f.startswith("torch.") and
                           not f.startswith("torch.nn."))
        methods += tuple(f"{m}_" for m in methods)
    return ImportRule(modules=(module,), functions=functions, methods=methods,
                      params=params or (lambda a: {}))


def _dim_of(a) -> dict:
    dim = a.get("dim") if a["kind"] == "module" else call_arg(a, 1, "dim")
    if dim is None:
        raise NotImportable("dim=None (torch's deprecated implicit choice); give the dim")
    return {"dim": dim}


def _keyword(name: str, position: int = 1):
    """``params`` reading one setting from the layer's attribute or the call's argument."""
    def params(a) -> dict:
        value = a.get(name) if a["kind"] == "module" else call_arg(a, position, name)
        return {} if value is None else {name: value}
    return params


# ONNX's HardSigmoid as onnx2torch converts it: clip(alpha * x + beta, 0, 1)
ONNX_HARD_SIGMOID = "onnx2torch.node_converters.activations.OnnxHardSigmoid"


def _hard_sigmoid_import(a) -> dict:
    """torch's hardsigmoid is ONNX's HardSigmoid with alpha 1/6 and beta 1/2 (as torch exports
    it); ONNX's own default alpha, 0.2, is another function."""
    alpha, beta = a.get("alpha", 1 / 6), a.get("beta", 0.5)
    if abs(alpha - 1 / 6) > 1e-6 or abs(beta - 0.5) > 1e-6:
        raise NotImportable(f"alpha {alpha:g} and beta {beta:g} (only 1/6 and 1/2, torch's)")
    return {}


# What each activation stands for when a PyTorch model is imported (core.import_rules)
_IMPORTS = {
    "Identity": ImportRule(modules=("Identity",)),
    "Sigmoid": _calls("Sigmoid", "sigmoid", torch_fn=True, method=True, inplace=True),
    "Tanh": _calls("Tanh", "tanh", torch_fn=True, method=True, inplace=True),
    "ReLU": _calls("ReLU", "relu", torch_fn=True, method=True, inplace=True),
    "LeakyReLU": _calls("LeakyReLU", "leaky_relu", params=_keyword("negative_slope")),
    "PReLU": ImportRule(modules=("PReLU",),
                        params=lambda a: {"per_channel": a["weight"][0] > 1}),
    "Softplus": ImportRule(modules=("Softplus",), params=copy_attrs("beta", "threshold")),
    "ELU": _calls("ELU", "elu", params=_keyword("alpha")),
    "CELU": _calls("CELU", "celu", params=_keyword("alpha")),
    "SELU": _calls("SELU", "selu", torch_fn=True),
    "GELU": _calls("GELU", "gelu", params=lambda a: {"approximate": a.get("approximate", "none")}),
    "ReLU6": _calls("ReLU6", "relu6"),
    "LogSigmoid": _calls("LogSigmoid", "logsigmoid"),
    "Softmin": _calls("Softmin", "softmin", params=_dim_of),
    "Softmax": _calls("Softmax", "softmax", torch_fn=True, method=True, params=_dim_of),
    "LogSoftmax": _calls("LogSoftmax", "log_softmax", torch_fn=True, method=True,
                         params=_dim_of),
    "Hardsigmoid": ImportRule(modules=("Hardsigmoid", ONNX_HARD_SIGMOID),
                              functions=("torch.nn.functional.hardsigmoid",),
                              params=_hard_sigmoid_import),
    "Hardswish": _calls("Hardswish", "hardswish"),
    "SiLU": _calls("SiLU", "silu"),
}


def activation(id: str, help: str, explanation: str, forward, plot, params=(), module=None,
               cost=None, differentiable=True, check=_elementwise_check, dead_units=False,
               flat=None):
    """``dead_units``: the activation is zero with zero gradient below 0 (ReLU, ReLU6), so a unit
    negative for every input stops learning; probes report the share of such units. ``flat``:
    where its slope is (about) 0, as a ``FlatRegion`` of its input; the Pre-activations view
    counts the probe batch's values there."""
    declare(
        id=id, category="activation", title=id, help=help, explanation=explanation,
        inputs=X, outputs=OUT, params=params, check=check,
        shape=lambda p, ins: {"out": ins["x"]},
        cost=cost or (lambda p, ins, outs: Cost(0, 0)),
        forward=forward, module=module, differentiable=differentiable,
        plot=InspectorPlot(plot), dead_units=dead_units, flat=flat, imports=_IMPORTS.get(id),
        examples=_EXAMPLES,
    )


def _softplus(x, beta=1.0, threshold=20.0):
    bx = beta * x
    return np.where(bx > threshold, x, np.log1p(np.exp(np.minimum(bx, threshold))) / beta)


def _elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1))


def _softmax(x):
    e = np.exp(x - np.max(x))
    return e / e.sum()


# the sigmoid's slope beyond |x| = 4 is at most 7% of its peak; tanh(x) = 2 sigmoid(2x) - 1
# is as flat beyond |x| = 2
_SIGMOID_FLAT = FlatRegion(-4.0, 4.0)
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805
_DIM = Param("dim", Int(-8, 8), 1, "dimension the distribution is taken over (1: channels or "
             "features, counting the batch as 0)", label="Dimension")

activation("Step", "1 where the input exceeds a threshold, else 0 (not differentiable).",
           "The oldest activation: a neuron fires or not. Its gradient is zero almost everywhere, "
           "so nothing before it can learn by backpropagation: use it to see why smooth "
           "activations are needed.",
           lambda p, a, attr: f"({a['x']} > {p.threshold!r}).to({a['x']}.dtype)",
           lambda x, p: (x > p.threshold).astype(float),
           params=(Param("threshold", Float(-1e6, 1e6), 0.0, "input level at which it fires"),),
           differentiable=False)
activation("Identity", "Passes the input through unchanged (linear activation).",
           "A linear activation: stacking linear layers with it collapses into one linear map, "
           "which is why networks need non-linear activations.",
           lambda p, a, attr: a["x"], lambda x, p: x)
activation("Sigmoid", "1 / (1 + e^-x): squashes to (0, 1).",
           "Smooth and bounded in (0, 1), steepest around 0. It saturates for large |x|, where "
           "its gradient vanishes; used for probabilities and gates.",
           lambda p, a, attr: f"torch.sigmoid({a['x']})", lambda x, p: 1 / (1 + np.exp(-x)),
           flat=_SIGMOID_FLAT)
activation("Tanh", "Hyperbolic tangent: squashes to (-1, 1), centred on 0.",
           "A zero-centred sigmoid with output in (-1, 1) and steeper gradients; LeNet's choice "
           "and the usual output of image generators whose data lies in [-1, 1].",
           lambda p, a, attr: f"torch.tanh({a['x']})", lambda x, p: np.tanh(x),
           flat=FlatRegion(-2.0, 2.0))
activation("ReLU", "max(0, x): cheap, sparse, unbounded above.",
           "Zero for negative inputs, identity for positive ones. Fast and effective, but a unit "
           "whose input stays negative outputs zero with zero gradient and stops learning (the "
           "dying-ReLU problem).",
           lambda p, a, attr: f"F.relu({a['x']})", lambda x, p: np.maximum(x, 0), dead_units=True,
           flat=FlatRegion(below=0.0, word="dead"))
activation("LeakyReLU", "x for x >= 0, a small slope times x below.",
           "Like ReLU but with a small negative slope, so units never lose their gradient "
           "entirely; a common choice in GAN discriminators.",
           lambda p, a, attr: f"F.leaky_relu({a['x']}, {p.negative_slope!r})",
           lambda x, p: np.where(x >= 0, x, p.negative_slope * x),
           params=(Param("negative_slope", Float(0.0, 1.0), 0.01, "slope for negative inputs"),))


def _prelu_call(p, ins):
    n = ins["x"].shape[0] if p.per_channel and ins["x"].rank else 1
    kwargs = {} if p.init == 0.25 else {"init": p.init}
    return Call("nn.PReLU", (n,) if n != 1 else (), kwargs)


def _prelu_cost(p, ins, outs):
    return Cost(ins["x"].shape[0] if p.per_channel and ins["x"].rank else 1, 0)


activation("PReLU", "LeakyReLU whose negative slope is learned.",
           "The negative slope is a parameter learned by backpropagation, either one for all "
           "channels or one per channel.",
           lambda p, a, attr: f"{attr}({a['x']})",
           lambda x, p: np.where(x >= 0, x, p.init * x),
           params=(Param("per_channel", Bool(), False, "learn one slope per channel"),
                   Param("init", Float(0.0, 1.0), 0.25, "initial slope", label="Initial slope")),
           module=_prelu_call, cost=_prelu_cost)
activation("Softplus", "log(1 + e^(beta x)) / beta: a smooth ReLU.",
           "A smooth, always-positive approximation of ReLU; larger beta brings it closer to "
           "ReLU, and above the threshold it is computed as the identity for stability.",
           lambda p, a, attr: f"F.softplus({a['x']}"
                              + (f", beta={p.beta!r}" if p.beta != 1.0 else "")
                              + (f", threshold={p.threshold!r}" if p.threshold != 20.0 else "") + ")",
           lambda x, p: _softplus(x, p.beta, p.threshold),
           params=(Param("beta", Float(1e-3, 1e3), 1.0, "sharpness"),
                   Param("threshold", Float(0.0, 1e3), 20.0, "above beta*x > threshold: linear")))
activation("ELU", "x for x > 0, alpha (e^x - 1) below.",
           "Exponential linear unit: negative outputs push mean activations towards zero, which "
           "speeds up learning; smooth for alpha = 1.",
           lambda p, a, attr: f"F.elu({a['x']}" + (f", alpha={p.alpha!r}" if p.alpha != 1.0 else "")
                              + ")",
           lambda x, p: _elu(x, p.alpha),
           params=(Param("alpha", Float(0.0, 100.0), 1.0, "value the negative side tends to"),))
activation("CELU", "max(0, x) + min(0, alpha (e^(x/alpha) - 1)).",
           "A continuously differentiable ELU for every alpha.",
           lambda p, a, attr: f"F.celu({a['x']}" + (f", alpha={p.alpha!r}" if p.alpha != 1.0 else "")
                              + ")",
           lambda x, p: np.where(x > 0, x, p.alpha * (np.exp(np.minimum(x, 0) / p.alpha) - 1)),
           params=(Param("alpha", Float(1e-3, 100.0), 1.0, "scale of the negative side"),))
activation("SELU", "Scaled ELU with fixed constants that self-normalize.",
           "With its fixed alpha and scale, activations keep mean 0 and variance 1 from layer "
           "to layer in dense networks (with LeCun-normal weights), without batch norm.",
           lambda p, a, attr: f"F.selu({a['x']})",
           lambda x, p: _SELU_SCALE * _elu(x, _SELU_ALPHA))
activation("GELU", "x times the Gaussian CDF of x.",
           "Weights each input by how likely it is to be larger than a standard normal sample: "
           "a smooth, non-monotonic ReLU used in transformers.",
           lambda p, a, attr: f"F.gelu({a['x']}"
                              + (f", approximate={p.approximate!r}" if p.approximate != "none" else "")
                              + ")",
           lambda x, p: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
           params=(Param("approximate", Choice(("none", "tanh")), "none",
                         "exact (erf) or tanh approximation"),))
activation("ReLU6", "min(max(0, x), 6): ReLU capped at 6.",
           "Caps activations at 6, which keeps them in a range that low-precision arithmetic "
           "handles well and stops them exploding.",
           lambda p, a, attr: f"F.relu6({a['x']})", lambda x, p: np.clip(x, 0, 6), dead_units=True,
           flat=FlatRegion(0.0, 6.0, word="dead or capped"))
activation("LogSigmoid", "log(1 / (1 + e^-x)), computed stably.",
           "The logarithm of the sigmoid; mostly used inside losses, where it avoids computing "
           "log of a number that rounds to 0.",
           lambda p, a, attr: f"F.logsigmoid({a['x']})",
           lambda x, p: -np.logaddexp(0, -x))
activation("Softmin", "Softmax of -x: small inputs get large weights.",
           "Turns a vector into weights that sum to 1, giving the largest weight to the "
           "smallest input.",
           lambda p, a, attr: f"F.softmin({a['x']}, dim={p.dim!r})",
           lambda x, p: _softmax(-x), params=(_DIM,), check=_dim_check)
activation("Softmax", "e^x_i / sum_j e^x_j: scores to probabilities.",
           "Turns scores (logits) into a probability distribution along one dimension. For "
           "training a classifier, give the logits to CrossEntropy instead: it applies "
           "log-softmax itself, more stably.",
           lambda p, a, attr: f"F.softmax({a['x']}, dim={p.dim!r})",
           lambda x, p: _softmax(x), params=(_DIM,), check=_dim_check)
activation("LogSoftmax", "log(softmax(x)), computed stably.",
           "Log-probabilities; pair it with the NLL loss (together they equal CrossEntropy).",
           lambda p, a, attr: f"F.log_softmax({a['x']}, dim={p.dim!r})",
           lambda x, p: np.log(_softmax(x)), params=(_DIM,), check=_dim_check)
activation("Sine", "sin(omega_0 x): the periodic activation of SIREN.",
           "Sinusoidal activations let a small network represent fine detail of a signal (an "
           "image as a function of pixel coordinates) and its derivatives. omega_0 scales the "
           "input frequency; give the Linear before it SIREN initialization.",
           lambda p, a, attr: f"torch.sin({p.omega_0!r} * {a['x']})",
           lambda x, p: np.sin(p.omega_0 * x),
           params=(Param("omega_0", Float(1e-3, 1e4), 30.0, "input frequency factor",
                         label="Omega\u2080"),))


def _hardsigmoid(x):
    return np.clip(x / 6 + 0.5, 0, 1)


activation("Hardsigmoid", "relu6(x + 3) / 6: a piecewise-linear sigmoid, 0 below -3 and 1 above 3.",
           "A cheap stand-in for the sigmoid made of three straight pieces: no exponential to "
           "compute, which matters on phones. MobileNetV3 uses it as the gate of its "
           "squeeze-and-excitation units. Its gradient is zero outside [-3, 3].",
           lambda p, a, attr: f"F.hardsigmoid({a['x']})", lambda x, p: _hardsigmoid(x),
           flat=FlatRegion(-3.0, 3.0))
activation("Hardswish", "x * relu6(x + 3) / 6: a piecewise approximation of SiLU.",
           "The input times its Hardsigmoid: 0 below -3, x above 3 and a parabola between. It "
           "keeps most of the accuracy SiLU brings to deep networks while costing only a few "
           "comparisons and multiplications; MobileNetV3's activation in its later layers.",
           lambda p, a, attr: f"F.hardswish({a['x']})", lambda x, p: x * _hardsigmoid(x))
activation("SiLU", "x * sigmoid(x): the smooth, self-gated ReLU (also called swish).",
           "Each input is scaled by its own sigmoid, so large positive values pass almost "
           "unchanged and large negative ones fade to 0 through a small dip below zero. Smooth "
           "everywhere and non-monotonic; EfficientNet uses it throughout.",
           lambda p, a, attr: f"F.silu({a['x']})", lambda x, p: x / (1 + np.exp(-x)))

__all__ = ["require_rank"]
