"""Blocks that move or reduce the dimensions of a tensor without weights: Permute, Transpose,
ChannelShuffle and Mean. Dimensions count the batch as 0, as torch's calls do, so a model's
``x.permute(0, 2, 3, 1)`` reads the same here."""

from __future__ import annotations

from studio.blocks._common import (
    OUT,
    Param,
    ShapeError,
    TensorType,
    X,
    batch_dim,
    declare,
    require_channels,
    require_float,
    same,
)
from studio.core.import_rules import ImportRule, NotImportable, call_arg
from studio.core.params import Bool, Int, IntList


def _dims_after(a, position: int, name: str) -> tuple:
    """Dims given as one list (``x.permute([0, 2, 3, 1])``, ``dims=...``) or spread out
    (``x.permute(0, 2, 3, 1)``) from argument ``position`` on; a module's ``dims`` attribute."""
    if a["kind"] == "module":
        value = a.get(name)
    else:
        rest = list(a.get("args", ()))[position:]
        value = rest[0] if len(rest) == 1 else rest or a.get(name, a.get("dim"))
    if isinstance(value, int):
        value = (value,)
    if not isinstance(value, (list, tuple)) or not all(isinstance(d, int) for d in value):
        raise NotImportable(f"{name} {value!r} (only whole numbers known when tracing)")
    return tuple(value)

# --- Permute -----------------------------------------------------------------------------------


def _permute_check(p, ins):
    full = ins["x"].rank + 1
    if sorted(p.dims) != list(range(full)):
        raise ShapeError(f"dims {list(p.dims)} must name each of the {full} dims of a batch of "
                         f"{ins['x'].describe()} once (0 to {full - 1})", "dims")
    if p.dims[0] != 0:
        raise ShapeError(f"dims {list(p.dims)} moves the batch dimension; keep 0 first", "dims")


def _permute_shape(p, ins):
    shape = ins["x"].shape
    return {"out": TensorType(tuple(shape[d - 1] for d in p.dims[1:]), ins["x"].dtype)}


declare(
    id="Permute", category="structure", title="Permute",
    help="Reorders the dimensions of each sample (0, 2, 3, 1: channels last).",
    explanation="Output dimension i is input dimension dims[i], counting the batch as 0, which "
                "stays first. Moving the channels last (0, 2, 3, 1) lets a Linear or LayerNorm "
                "act on the channel vector of every pixel, as ConvNeXt does; (0, 3, 1, 2) moves "
                "them back. No values change, only the order in which they are read.",
    inputs=X, outputs=OUT,
    params=(Param("dims", IntList(2, 8, min_value=0), (0, 2, 3, 1),
                  "the new order of the dimensions, counting the batch as 0 (which stays first)",
                  label="Dimensions"),),
    check=_permute_check, shape=_permute_shape,
    imports=ImportRule(modules=("torchvision.ops.misc.Permute",), functions=("torch.permute",),
                       methods=("permute",), params=lambda a: {"dims": _dims_after(a, 1, "dims")}),
    forward=lambda p, a, attr: f"{a['x']}.permute{tuple(p.dims)!r}",
    examples=({"x": TensorType((4, 6, 5))}, {"x": TensorType((3, 7, 2))}),
)


# --- Transpose ---------------------------------------------------------------------------------

def _transpose_dims(p, ins) -> tuple:
    rank = ins["x"].rank
    return batch_dim(p.dim0, rank, "dim0"), batch_dim(p.dim1, rank, "dim1")


def _transpose_shape(p, ins):
    a, b = _transpose_dims(p, ins)
    shape = list(ins["x"].shape)
    shape[a], shape[b] = shape[b], shape[a]
    return {"out": TensorType(tuple(shape), ins["x"].dtype)}


declare(
    id="Transpose", category="structure", title="Transpose",
    help="Swaps two dimensions of each sample (a sequence's channels and positions, say).",
    explanation="Exchanges dimensions dim0 and dim1, counting the batch as 0; every other "
                "dimension stays where it is. A C x L sequence becomes L x C, so that a Linear "
                "acts on each position's channels; Permute reorders more than two at once.",
    inputs=X, outputs=OUT,
    params=(
        Param("dim0", Int(-7, 7), 1, "one dimension to swap, counting the batch as 0",
              label="First dimension"),
        Param("dim1", Int(-7, 7), 2, "the dimension it is swapped with",
              label="Second dimension"),
    ),
    check=lambda p, ins: _transpose_dims(p, ins), shape=_transpose_shape,
    imports=ImportRule(functions=("torch.transpose", "torch.swapaxes", "torch.swapdims"),
                       methods=("transpose", "swapaxes", "swapdims"),
                       params=lambda a: {"dim0": call_arg(a, 1, "dim0"),
                                         "dim1": call_arg(a, 2, "dim1")}),
    forward=lambda p, a, attr: f"{a['x']}.transpose({p.dim0}, {p.dim1})",
    examples=({"x": TensorType((4, 9))}, {"x": TensorType((3, 5, 6))}),
)


# --- ChannelShuffle ----------------------------------------------------------------------------

declare(
    id="ChannelShuffle", category="structure", title="ChannelShuffle",
    help="Interleaves the channels of its groups: [a1 a2 b1 b2] -> [a1 b1 a2 b2].",
    explanation="A grouped convolution only mixes channels within its group, so a stack of them "
                "keeps the groups apart. Reading the channels as a groups x (C / groups) table "
                "and taking it column by column deals each group's channels out to all groups, "
                "so the next grouped convolution sees some of every group. ShuffleNet puts one "
                "after each unit; it has no weights and costs no arithmetic.",
    inputs=X, outputs=OUT,
    params=(Param("groups", Int(1, 1 << 16), 2, "number of groups the channels are dealt "
                  "across (the groups of the convolution before it)"),),
    check=lambda p, ins: require_channels(ins["x"], p.groups, "groups"), shape=same,
    imports=ImportRule(modules=("ChannelShuffle",),
                       functions=("torch.nn.functional.channel_shuffle", "torch.channel_shuffle",
                                  "torchvision.models.shufflenetv2.channel_shuffle"),
                       params=lambda a: {"groups": a["groups"] if a["kind"] == "module"
                                         else call_arg(a, 1, "groups")}),
    forward=lambda p, a, attr: f"{a['x']}.unflatten(1, ({p.groups}, -1)).transpose(1, 2)"
                               ".flatten(1, 2)",
    examples=({"x": TensorType((8, 5, 5))}, {"x": TensorType((6, 7))}),
)


# --- Mean --------------------------------------------------------------------------------------

def _mean_dims(p, ins) -> list:
    dims = [batch_dim(d, ins["x"].rank, "dims") for d in p.dims]
    if len(set(dims)) != len(dims):
        raise ShapeError(f"dims {list(p.dims)} names one dimension twice", "dims")
    return dims


def _mean_check(p, ins):
    require_float(ins["x"])
    _mean_dims(p, ins)


def _mean_shape(p, ins):
    dims = _mean_dims(p, ins)
    shape = ins["x"].shape
    if p.keepdim:
        return {"out": TensorType(tuple(1 if i in dims else n for i, n in enumerate(shape)))}
    return {"out": TensorType(tuple(n for i, n in enumerate(shape) if i not in dims))}


def _mean_rf(p, ins):
    """Averaging over a spatial dim mixes every position of it; over the channels none."""
    return "global" if any(d > 0 for d in _mean_dims(p, ins)) else None


def _mean_import(a) -> dict:
    dim = call_arg(a, 1, "dim")
    dims = (dim,) if isinstance(dim, int) else tuple(dim) if isinstance(dim, (list, tuple)) else ()
    if not dims or not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
        raise NotImportable(f"a mean over dim {dim!r} (only over given dims of each sample)")
    if a.get("dtype") is not None:
        raise NotImportable("a mean with a dtype")
    return {"dims": dims, "keepdim": bool(call_arg(a, 2, "keepdim", False))}


def _mean_forward(p, a, attr):
    keep = ", keepdim=True" if p.keepdim else ""
    return f"{a['x']}.mean({tuple(p.dims)!r}{keep})"


declare(
    id="Mean", category="structure", title="Mean",
    help="Averages over the chosen dimensions (2, 3: each channel over its pixels).",
    explanation="Replaces the chosen dimensions (counting the batch as 0, which cannot be one of "
                "them) by their average. Over height and width it is a global average pool; "
                "keepdim leaves them as size 1, C x 1 x 1, ready to gate a C x H x W map "
                "through Multiply as a squeeze-and-excitation unit does.",
    inputs=X, outputs=OUT,
    params=(
        Param("dims", IntList(1, 7, min_value=-7), (2, 3), "dimensions averaged over, counting "
              "the batch as 0", label="Dimensions"),
        Param("keepdim", Bool(), False, "keep the averaged dimensions as size 1",
              label="Keep dimensions"),
    ),
    check=_mean_check, shape=_mean_shape, rf=_mean_rf, forward=_mean_forward,
    imports=ImportRule(functions=("torch.mean",), methods=("mean",), params=_mean_import),
    examples=({"x": TensorType((4, 6, 5))}, {"x": TensorType((3, 7, 2))}),
)
