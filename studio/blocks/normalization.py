"""Normalization layers: batch, layer (over the last dims or over each pixel's channels), group
and instance normalization."""

from __future__ import annotations

from studio.blocks._common import (
    OUT,
    Call,
    Cost,
    Param,
    ShapeError,
    TensorType,
    X,
    declare,
    numel,
    require_channels,
    require_float,
    require_rank,
)
from studio.blocks.convolution import changed_kwargs
from studio.core.import_rules import ImportRule, NotImportable
from studio.core.params import Bool, Float, Int
from studio.core.registry import When

EPS = Param("eps", Float(0.0, 1.0), 1e-5, "added to the variance so that it is never divided by 0",
            torch_default=1e-5, label="Epsilon")
MOMENTUM = Param("momentum", Float(0.0, 1.0), 0.1, "weight of the newest batch in the running "
                 "mean and variance", torch_default=0.1)


def _affine(default: bool) -> Param:
    return Param("affine", Bool(), default, "learn a scale and a shift per channel",
                 torch_default=default)


def _track(default: bool) -> Param:
    return Param("track_running_stats", Bool(), default, "keep running statistics to normalize "
                 "with in evaluation (otherwise each batch uses its own)", torch_default=default)


def _same(p, ins):
    return {"out": ins["x"]}


def _channel_cost(p, ins, outs):
    return Cost(2 * ins["x"].shape[0] if p.affine else 0, 0)


def _channel_call(cls: str, params: tuple):
    names = ("eps", "momentum", "affine", "track_running_stats")
    return lambda p, ins: Call(cls, (ins["x"].shape[0],), changed_kwargs(params, p, names))


def _batch_check(ranks: tuple, what: str):
    def check(p, ins):
        x = ins["x"]
        require_float(x)
        require_rank(x, ranks, what)
    return check


def norm_import(cls: str) -> ImportRule:
    """torch's normalization layer of the same name, its settings as they are."""
    def params(a) -> dict:
        if "momentum" in a and a["momentum"] is None:
            raise NotImportable("momentum=None (a cumulative average)")
        names = ("eps", "momentum", "affine", "track_running_stats", "num_groups",
                 "elementwise_affine")
        out = {n: a[n] for n in names if n in a}
        if "normalized_shape" in a:
            out["dims"] = len(a["normalized_shape"])
            out["bias"] = a.get("bias") is not None
        return out
    return ImportRule(modules=(cls,), params=params)


# --- batch norm -------------------------------------------------------------------------------

_BATCH_PARAMS = (EPS, MOMENTUM, _affine(True), _track(True))

declare(
    id="BatchNorm1d", category="normalization", title="BatchNorm1d",
    help="Batch normalization of features (C) or sequences (C x L), per channel.",
    explanation="During training each channel is standardized with the mean and variance of the "
                "current batch (over the batch, and the length for sequences), then scaled and "
                "shifted by learned parameters. Running averages of the statistics are used in "
                "evaluation. It keeps the distribution of a layer's inputs stable, which allows "
                "higher learning rates and faster, more reliable convergence. Needs more than one "
                "value per channel in a training batch.",
    inputs=X, outputs=OUT, params=_BATCH_PARAMS,
    check=_batch_check((1, 2), "features (C) or a sequence (C x L)"), shape=_same,
    cost=_channel_cost, module=_channel_call("nn.BatchNorm1d", _BATCH_PARAMS),
    imports=norm_import("BatchNorm1d"),
    examples=({"x": TensorType((12,))}, {"x": TensorType((6, 10))}),
)

declare(
    id="BatchNorm2d", category="normalization", title="BatchNorm2d",
    help="Batch normalization of feature maps, per channel, over the batch and all positions.",
    explanation="Standardizes each channel with the mean and variance over the batch and every "
                "pixel, then applies a learned scale and shift; evaluation uses running "
                "averages. Placed between a convolution and its activation it stabilizes and "
                "speeds up training, so the convolution before it can drop its bias.",
    inputs=X, outputs=OUT, params=_BATCH_PARAMS,
    check=_batch_check((3,), "an image (channels x height x width)"), shape=_same,
    cost=_channel_cost, module=_channel_call("nn.BatchNorm2d", _BATCH_PARAMS),
    imports=norm_import("BatchNorm2d"),
    examples=({"x": TensorType((6, 8, 8))}, {"x": TensorType((3, 5, 7))}),
)


# --- layer norm -------------------------------------------------------------------------------

_LAYER_PARAMS = (
    Param("dims", Int(1, 3), 1, "how many trailing dimensions to normalize over (1: features; "
          "3: channels, height and width)", label="Dimensions"),
    EPS,
    Param("elementwise_affine", Bool(), True, "learn a scale (and a shift) per normalized element",
          torch_default=True),
    Param("bias", Bool(), True, "learn the shift too (with elementwise_affine)", torch_default=True),
)


def _layer_check(p, ins):
    x = ins["x"]
    require_float(x)
    if x.rank < p.dims:
        raise ShapeError(f"normalizes the last {p.dims} dimensions but receives {x.describe()}, "
                         f"which has {x.rank}", "dims")


def _normalized_shape(p, ins) -> tuple:
    return tuple(ins["x"].shape[-p.dims:])


def _layer_cost(p, ins, outs):
    n = numel(_normalized_shape(p, ins))
    if not p.elementwise_affine:
        return Cost(0, 0)
    return Cost(2 * n if p.bias else n, 0)


def _layer_call(p, ins):
    shape = _normalized_shape(p, ins)
    return Call("nn.LayerNorm", (shape[0] if len(shape) == 1 else shape,),
                changed_kwargs(_LAYER_PARAMS, p, ("eps", "elementwise_affine", "bias")))


declare(
    id="LayerNorm", category="normalization", title="LayerNorm",
    help="Normalizes each sample over its last dims dimensions, independent of the batch.",
    explanation="Standardizes every sample on its own with the mean and standard deviation of "
                "its last dimensions: (x - mean) / sqrt(var + eps), then a learned per-element "
                "scale and shift. It behaves the same in training and evaluation and for any "
                "batch size, which is why transformers and recurrent networks use it.",
    inputs=X, outputs=OUT, params=_LAYER_PARAMS, check=_layer_check, shape=_same,
    cost=_layer_cost, module=_layer_call, imports=norm_import("LayerNorm"),
    examples=({"x": TensorType((16,))}, {"x": TensorType((5, 8))}, {"x": TensorType((3, 6, 6))}),
)


# --- layer norm over the channels of each pixel -------------------------------------------------

_LAYER2D_PARAMS = (
    EPS,
    Param("elementwise_affine", Bool(), True, "learn a scale (and a shift) per channel",
          torch_default=True),
    Param("bias", Bool(), True, "learn the shift too", torch_default=True,
          applies=When("elementwise_affine", True)),
)


def _layer2d_import(a) -> dict:
    if len(a["normalized_shape"]) != 1:
        raise NotImportable(f"normalized_shape {a['normalized_shape']} (only the channels)")
    return {"eps": a["eps"], "elementwise_affine": a["elementwise_affine"],
            "bias": a.get("bias") is not None}


def _layer2d_cost(p, ins, outs):
    if not p.elementwise_affine:
        return Cost(0, 0)
    return Cost(2 * ins["x"].shape[0] if p.bias else ins["x"].shape[0], 0)


declare(
    id="LayerNorm2d", category="normalization", title="LayerNorm2d",
    help="Normalizes the channel vector of each pixel on its own (ConvNeXt's layer norm).",
    explanation="For every sample and every position, standardizes the C channel values there "
                "with their own mean and variance, then applies a learned scale and shift per "
                "channel: a LayerNorm over the channels of a C x H x W map, the same as moving "
                "the channels last, LayerNorm, and moving them back. Like LayerNorm it ignores "
                "the batch, so training and evaluation agree; ConvNeXt uses it in its stem and "
                "between its stages.",
    inputs=X, outputs=OUT, params=_LAYER2D_PARAMS,
    check=_batch_check((3,), "an image (channels x height x width)"), shape=_same,
    cost=_layer2d_cost,
    imports=ImportRule(modules=("torchvision.models.convnext.LayerNorm2d",),
                       params=_layer2d_import),
    module=lambda p, ins: Call("LayerNorm2d", (ins["x"].shape[0],), changed_kwargs(
        _LAYER2D_PARAMS, p, ("eps", "elementwise_affine", "bias"))),
    helpers=("LayerNorm2d",),
    examples=({"x": TensorType((6, 5, 5))}, {"x": TensorType((3, 4, 7))}),
)


# --- group norm --------------------------------------------------------------------------------

_GROUP_PARAMS = (
    Param("num_groups", Int(1, 1 << 16), 4, "number of channel groups normalized separately "
          "(1: like LayerNorm over C x H x W; one per channel: like InstanceNorm)",
          label="Groups"),
    EPS,
    _affine(True),
)


def _group_check(p, ins):
    require_channels(ins["x"], p.num_groups, "num_groups")


declare(
    id="GroupNorm", category="normalization", title="GroupNorm",
    help="Normalizes each sample over groups of channels, independent of the batch size.",
    explanation="Splits the channels into num_groups groups and standardizes each group of each "
                "sample with its own mean and variance, then applies a learned per-channel scale "
                "and shift. Unlike batch norm it does not depend on the batch, so it works with "
                "small batches (detection, segmentation, diffusion models).",
    inputs=X, outputs=OUT, params=_GROUP_PARAMS, check=_group_check, shape=_same,
    cost=_channel_cost,
    module=lambda p, ins: Call("nn.GroupNorm", (p.num_groups, ins["x"].shape[0]),
                               changed_kwargs(_GROUP_PARAMS, p, ("eps", "affine"))),
    imports=norm_import("GroupNorm"),
    examples=({"x": TensorType((8, 6, 6))}, {"x": TensorType((12, 10))}),
)


# --- instance norm ------------------------------------------------------------------------------

_INSTANCE_PARAMS = (EPS, MOMENTUM, _affine(False), _track(False))


def _instance_check(p, ins):
    x = ins["x"]
    require_float(x)
    require_rank(x, (3,), "an image (channels x height x width)")
    if numel(x.shape[1:]) < 2:
        raise ShapeError(f"receives {x.describe()}: instance norm needs more than one pixel per "
                         "channel to compute statistics", "x")


declare(
    id="InstanceNorm2d", category="normalization", title="InstanceNorm2d",
    help="Normalizes each channel of each image over its own pixels.",
    explanation="Standardizes every feature map of every sample separately, removing its "
                "contrast and brightness: what style transfer and some image generators want. "
                "By default it learns no scale or shift and keeps no running statistics, so "
                "training and evaluation behave alike.",
    inputs=X, outputs=OUT, params=_INSTANCE_PARAMS, check=_instance_check, shape=_same,
    cost=_channel_cost, module=_channel_call("nn.InstanceNorm2d", _INSTANCE_PARAMS),
    imports=norm_import("InstanceNorm2d"),
    examples=({"x": TensorType((4, 8, 8))}, {"x": TensorType((3, 5, 7))}),
)
