"""Blocks that sit on the branch of a residual unit: StochasticDepth drops the branch at random
while training, LayerScale scales it by a learned factor per channel."""

from __future__ import annotations

from studio.blocks._common import (
    OUT,
    Call,
    Cost,
    Param,
    TensorType,
    X,
    declare,
    numel,
    require_channels,
    require_float,
    same,
)
from studio.core.import_rules import ImportRule, NotImportable, ParamArg
from studio.core.params import Choice, Float


def _stochastic_depth_import(a) -> dict:
    if a.get("mode") not in ("row", "batch"):
        raise NotImportable(f"mode {a.get('mode')!r} (only 'row' or 'batch')")
    return {"p": a["p"], "mode": a["mode"]}


def _float_check(p, ins):
    require_float(ins["x"])


declare(
    id="StochasticDepth", category="structure", title="StochasticDepth",
    help="While training, drops a residual branch for some samples with probability p.",
    explanation="Put on the branch of a residual unit, just before the Add: each training step "
                "the branch output of a sample is zeroed with probability p (mode row, each "
                "sample on its own; mode batch, all at once) and the rest are divided by 1 - p. "
                "The unit then passes only its skip connection, so a deep network trains as if "
                "it were shallower and its units learn not to rely on one another. In "
                "evaluation it does nothing. EfficientNet and ConvNeXt raise p with depth.",
    inputs=X, outputs=OUT,
    params=(
        Param("p", Float(0.0, 1.0), 0.1, "probability that a sample's branch is dropped while "
              "training", label="Drop probability"),
        Param("mode", Choice(("row", "batch")), "row", "drop per sample (row) or the whole "
              "batch together (batch)", torch_default="row"),
    ),
    check=_float_check, shape=same, cost=lambda p, ins, outs: Cost(0, 0),
    imports=ImportRule(modules=("torchvision.ops.stochastic_depth.StochasticDepth",),
                       params=_stochastic_depth_import),
    module=lambda p, ins: Call("StochasticDepth", (p.p,),
                               {} if p.mode == "row" else {"mode": p.mode}),
    helpers=("StochasticDepth",),
    examples=({"x": TensorType((6, 5, 5))}, {"x": TensorType((12,))}),
)


def _scale_tensor(a) -> ParamArg:
    """The learned tensor of ``gamma * x``: one factor per channel, C x 1 x ... like x."""
    tensors = [x for x in a.get("args", ()) if isinstance(x, ParamArg)]
    shape = a["out_shape"]
    if len(tensors) != 1 or not shape or tensors[0].shape != (shape[0],) + (1,) * (len(shape) - 1):
        raise NotImportable("a product with a learned tensor not shaped channels x 1 x ... "
                            f"(for {shape})")
    return tensors[0]


def _scale_import(a) -> dict:
    _scale_tensor(a)
    return {}


def _scale_call(p, ins):
    x = ins["x"]
    kwargs = {} if x.rank == 3 else {"spatial_dims": x.rank - 1}
    if p.init != 1e-6:
        kwargs["init"] = p.init
    return Call("LayerScale", (x.shape[0],), kwargs)


declare(
    id="LayerScale", category="structure", title="LayerScale",
    help="Multiplies each channel by its own learned factor, C x 1 x 1 (ConvNeXt's layer scale).",
    explanation="One learned number per channel, started at a small value (ConvNeXt: 1e-6) and "
                "multiplied into every position of that channel. On the branch of a residual "
                "unit, before the Add, it makes each new unit start close to the identity and "
                "lets training decide how much of the branch to let through, which keeps very "
                "deep networks stable.",
    inputs=X, outputs=OUT,
    params=(Param("init", Float(0.0, 1e6), 1e-6, "the value every factor starts from",
                  label="Initial scale"),),
    check=lambda p, ins: require_channels(ins["x"]), shape=same, module=_scale_call, helpers=("LayerScale",),
    imports=ImportRule(functions=("operator.mul", "operator.imul", "torch.mul"),
                       methods=("mul", "mul_"), params=_scale_import, takes_parameters=True,
                       state=lambda a: {_scale_tensor(a).name: "scale"}),
    cost=lambda p, ins, outs: Cost(ins["x"].shape[0], numel(ins["x"].shape)),
    examples=({"x": TensorType((8, 5, 5))}, {"x": TensorType((12,))}, {"x": TensorType((6, 9))}),
)
