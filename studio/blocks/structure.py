"""Structure: Input, Output, network instances, Linear, Flatten, Detach and the wiring blocks."""

from __future__ import annotations

from studio.blocks._common import OUT, X, Call, Cost, Param, Port, ShapeError, TensorType, declare, numel, \
    require_float, require_rank, same
from studio.core.params import ArgValues, Bool, Choice, Float, Int, IntList, Name, Optional
from studio.core.registry import NETWORK, TRAINING

declare(
    id="Input", category="structure", title="Input", where=frozenset({NETWORK}),
    help="A tensor entering the network; its shape comes from what is wired to the network.",
    explanation="Marks where data enters a reusable network. The shape normally comes from the "
                "wire feeding the network where it is used; declare one to check the network "
                "on its own.",
    inputs=(), outputs=OUT,
    params=(
        Param("shape", Optional(IntList(1, 6)), None,
              "per-sample shape without the batch dimension (optional)"),
        Param("dtype", Choice(("float", "long")), "float", "float for data, long for class labels"),
    ),
)

declare(
    id="Output", category="structure", title="Output", where=frozenset({NETWORK}),
    help="A tensor leaving the network, returned by its forward.",
    explanation="Each Output node is one value the network returns, in the order they were added.",
    inputs=X, outputs=(), shape=lambda p, ins: {"out": ins["x"]},
)

declare(
    id="Network", category="structure", title="Network instance",
    help="An instance of a reusable network: its own weights, one shared definition.",
    explanation="Uses a network defined in this project as one block. Each instance has its own "
                "weights; a linked duplicate of an instance shares them.",
    inputs=(), outputs=(),
    params=(
        Param("network", Name(), "Network", "the network to instantiate"),
        Param("args", ArgValues(), {}, "values for the network's arguments"),
    ),
)


def _linear_shape(p, ins):
    return {"out": TensorType(ins["x"].shape[:-1] + (p.out_features,))}


def _linear_check(p, ins):
    require_float(ins["x"])
    if ins["x"].rank == 0:
        raise ShapeError("expects at least one feature dimension; put a Flatten before it", "x")
    if ins["x"].rank > 2:
        raise ShapeError(f"receives {ins['x'].describe()}, an image-shaped tensor; Linear acts "
                         "on the last dimension only, put a Flatten before it", "x")


declare(
    id="Linear", category="structure", title="Linear",
    help="Fully connected layer: y = x W^T + b over the last dimension.",
    explanation="Every output unit is a weighted sum of every input feature plus a bias. It has "
                "in_features x out_features weights, so it is where most parameters of a small "
                "classifier live.",
    inputs=X, outputs=OUT,
    params=(
        Param("out_features", Int(1, 1 << 20), 10, "number of output features"),
        Param("bias", Bool(), True, "learn an additive bias", torch_default=True),
        Param("init", Choice(("default", "siren_first", "siren")), "default",
              "weight initialization: torch's default, or SIREN's for the first or a hidden "
              "layer before a Sine"),
        Param("omega_0", Float(1e-3, 1e4), 30.0, "the following Sine's omega_0 (SIREN init)"),
    ),
    check=_linear_check, shape=_linear_shape,
    extra={"after_init": lambda p, attr: None if p.init == "default" else
           f"siren_init_({attr}, omega_0={p.omega_0!r}, first={p.init == 'siren_first'})",
           "after_init_helpers": ("siren_init_",)},
    cost=lambda p, ins, outs: Cost(
        ins["x"].shape[-1] * p.out_features + (p.out_features if p.bias else 0),
        numel(ins["x"].shape[:-1]) * ins["x"].shape[-1] * p.out_features),
    rf=lambda p, ins: "global",
    module=lambda p, ins: Call("nn.Linear", (ins["x"].shape[-1], p.out_features),
                               {} if p.bias else {"bias": False}),
    examples=({"x": TensorType((20,))}, {"x": TensorType((5, 7))}),
)


def _flatten_shape(p, ins):
    shape = ins["x"].shape
    start = p.start_dim - 1
    if start < 0 or start >= max(len(shape), 1):
        raise ShapeError(f"start_dim {p.start_dim} is outside a {len(shape) + 1}-dim batch of "
                         f"{ins['x'].describe()}", "start_dim")
    return {"out": TensorType(shape[:start] + (numel(shape[start:]),), ins["x"].dtype)}


declare(
    id="Flatten", category="structure", title="Flatten",
    help="Flattens each sample into a vector (C x H x W -> C*H*W), keeping the batch.",
    explanation="Joins the feature maps of a convolutional stack into one vector per sample so "
                "that fully connected layers can follow.",
    inputs=X, outputs=OUT,
    params=(Param("start_dim", Int(1, 7), 1, "first dimension to flatten (0 is the batch)",
                  torch_default=1),),
    shape=_flatten_shape, rf=lambda p, ins: "global",
    forward=lambda p, a, attr: f"torch.flatten({a['x']}, {p.start_dim})",
    examples=({"x": TensorType((3, 4, 5))},),
)

declare(
    id="Detach", category="structure", title="Detach",
    help="Passes values on but stops gradients flowing back through this wire.",
    explanation="The value is unchanged; backpropagation treats it as a constant. Studio already "
                "runs parts that an optimizer does not update without gradients; use this to cut "
                "a gradient path on purpose.",
    inputs=X, outputs=OUT, shape=same, differentiable=False,
    forward=lambda p, a, attr: f"{a['x']}.detach()",
    examples=({"x": TensorType((4, 6, 6))},),
)

__all__ = ["require_rank"]
