"""Pooling: downsampling by windows (max, average), adaptive and global pooling, and BlurPool."""

from __future__ import annotations

import re

from studio.blocks._common import (
    OUT,
    RF,
    Call,
    Cost,
    Param,
    ShapeError,
    TensorType,
    X,
    conv_size,
    declare,
    numel,
    require_rank,
    tup,
)
from studio.core.import_rules import ImportRule, NotImportable, TensorArg, call_arg
from studio.core.params import Bool, Choice, Int, IntTuple, Optional


def pool_params() -> tuple:
    return (
        Param("kernel_size", IntTuple(2, 1, 1024), 2, "window size"),
        Param("stride", Optional(IntTuple(2, 1, 1024)), None, "step between windows (default: the "
              "window size)", torch_default=None),
        Param("padding", IntTuple(2, 0, 512), 0, "zeros (or -inf for max) added at each border",
              torch_default=0),
        Param("ceil_mode", Bool(), False, "round output sizes up instead of down",
              torch_default=False),
    )


def _pool_window(p):
    k = tup(p.kernel_size, 2)
    s = tup(p.stride, 2) if p.stride is not None else k
    return k, s, tup(p.padding, 2)


def _pool_check(p, ins):
    x = ins["x"]
    require_rank(x, (3,), "an image (channels x height x width)")
    k, s, pad = _pool_window(p)
    for size, kk, pp in zip(x.shape[1:], k, pad):
        if pp * 2 > kk:
            raise ShapeError(f"padding {pp} is more than half the window {kk}", "padding")
        if size + 2 * pp < kk:
            raise ShapeError(f"window {kk} is larger than the input {size} of {x.describe()}; "
                             "use a smaller window or less downsampling before it", "kernel_size")


def _pool_size(size, k, s, pad, ceil_mode):
    if not ceil_mode:
        return conv_size(size, k, s, pad)
    out = -((-(size + 2 * pad - k)) // s) + 1
    # torch drops a last window that would start inside the right padding
    return out - 1 if (out - 1) * s >= size + pad else out


def _pool_shape(p, ins):
    x = ins["x"]
    k, s, pad = _pool_window(p)
    sizes = tuple(_pool_size(n, kk, ss, pp, p.ceil_mode) for n, kk, ss, pp in
                  zip(x.shape[1:], k, s, pad))
    return {"out": TensorType((x.shape[0],) + sizes, x.dtype)}


def _pool_call(cls):
    def call(p, ins):
        kwargs = {}
        if p.stride is not None and p.stride != p.kernel_size:
            kwargs["stride"] = p.stride
        if p.padding != 0:
            kwargs["padding"] = p.padding
        if p.ceil_mode:
            kwargs["ceil_mode"] = True
        return Call(cls, (p.kernel_size,), kwargs)
    return call


def _functional(cls: str) -> str:
    """torch's functional form of a pooling layer: ``MaxPool2d`` -> ``F.max_pool2d``."""
    return "torch.nn.functional." + re.sub(r"(?<=[a-z])(?=[A-Z])", "_", cls).lower()


def _pool_import(cls: str) -> ImportRule:
    """torch's pooling layer or its functional form (``F.max_pool2d(x, 3, 2, 1)``)."""
    def params(a) -> dict:
        names = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
        if a["kind"] == "module":
            got = {n: a.get(n) for n in names}
        else:
            got = {n: call_arg(a, i + 1, n) for i, n in enumerate(names)}
        if got["dilation"] not in (None, 1, (1, 1)):
            raise NotImportable(f"dilation {got['dilation']} (only 1)")
        # every window lies inside the input without padding or ceil_mode: the count is the same
        partial = got["padding"] not in (None, 0, (0, 0)) or bool(got["ceil_mode"])
        if (partial and a.get("count_include_pad", True) is False) or \
                a.get("divisor_override") is not None:
            raise NotImportable("count_include_pad=False with padding or ceil_mode, or a "
                                "divisor_override")
        if a.get("return_indices"):
            raise NotImportable("return_indices=True")
        stride = got["stride"] if got["stride"] not in ((), []) else None
        return {"kernel_size": got["kernel_size"], "stride": stride,
                "padding": got["padding"] or 0, "ceil_mode": bool(got["ceil_mode"])}
    return ImportRule(modules=(cls,), functions=(_functional(cls),), params=params)


def _pool_rf(p, ins):
    k, s, pad = _pool_window(p)
    return RF(k, s, None, pad)


for _id, _cls, _help, _expl in (
    ("MaxPool2d", "nn.MaxPool2d", "Keeps the largest value in each window.",
     "Downsamples each feature map by keeping the strongest response in each window. It adds "
     "some tolerance to small shifts, but breaks exact shift equivariance (see BlurPool)."),
    ("AvgPool2d", "nn.AvgPool2d", "Averages each window.",
     "Downsamples each feature map by averaging windows (LeNet's subsampling). Channels are "
     "pooled separately, so their number is unchanged."),
):
    declare(
        id=_id, category="pooling", title=_id, help=_help, explanation=_expl,
        inputs=X, outputs=OUT, params=pool_params(), check=_pool_check, shape=_pool_shape,
        cost=lambda p, ins, outs: Cost(0, 0), rf=_pool_rf, module=_pool_call(_cls),
        imports=_pool_import(_id),
        examples=({"x": TensorType((3, 16, 16))}, {"x": TensorType((2, 9, 7))}),
    )



# --- adaptive and global pooling ----------------------------------------------------------------

def _image_check(p, ins):
    require_rank(ins["x"], (3,), "an image (channels x height x width)")


def _adaptive_import(cls: str) -> ImportRule:
    def params(a) -> dict:
        size = a.get("output_size") if a["kind"] == "module" else call_arg(a, 1, "output_size")
        if size is None or (isinstance(size, tuple) and None in size):
            raise NotImportable("an output size of None (keep the input's size)")
        return {"output_size": size}
    return ImportRule(modules=(cls,), functions=(_functional(cls),), params=params)


def _adaptive_shape(p, ins):
    x = ins["x"]
    return {"out": TensorType((x.shape[0],) + tup(p.output_size, 2), x.dtype)}


def _adaptive_rf(p, ins):
    """The largest window and the typical step, from torch's window bounds (concrete sizes)."""
    sizes, outs = ins["x"].shape[1:], tup(p.output_size, 2)
    if not all(isinstance(n, int) for n in sizes):
        return "global"  # symbolic sizes (writing a reusable class): no receptive field needed
    if all(o == 1 for o in outs):
        return "global"
    kernel = tuple(max(-(-(i + 1) * n // o) - (i * n // o) for i in range(o))
                   for n, o in zip(sizes, outs))
    stride = tuple(max(n // o, 1) for n, o in zip(sizes, outs))
    return RF(kernel, stride)


for _id, _cls, _help, _expl in (
    ("AdaptiveAvgPool2d", "nn.AdaptiveAvgPool2d",
     "Averages windows sized so the output has exactly output_size pixels.",
     "Chooses its windows from the input size so that the output always has the requested "
     "height and width. Placed before the classifier head, it lets a network accept images of "
     "any size (ResNet pools to 1x1, VGG to 7x7)."),
    ("AdaptiveMaxPool2d", "nn.AdaptiveMaxPool2d",
     "Keeps the maximum of windows sized so the output has exactly output_size pixels.",
     "Like AdaptiveAvgPool2d, but keeps the strongest response of each window: the output size "
     "is fixed whatever the input size, and each output tells whether a feature occurred "
     "somewhere in its region."),
):
    declare(
        id=_id, category="pooling", title=_id, help=_help, explanation=_expl,
        inputs=X, outputs=OUT,
        params=(Param("output_size", IntTuple(2, 1, 1024), 1,
                      "height and width of the output; an int or [height, width]"),),
        check=_image_check, shape=_adaptive_shape, cost=lambda p, ins, outs: Cost(0, 0),
        rf=_adaptive_rf, module=lambda p, ins, _cls=_cls: Call(_cls, (p.output_size,)),
        imports=_adaptive_import(_id),
        examples=({"x": TensorType((4, 8, 8))}, {"x": TensorType((3, 7, 5))}),
    )


def _global_shape(p, ins):
    return {"out": TensorType(ins["x"].shape[:1], ins["x"].dtype)}


def _global_import(methods: tuple, functions: tuple) -> ImportRule:
    """``x.mean((2, 3))`` / ``torch.amax(x, dim=(2, 3))``: the spatial dims, not kept."""
    def params(a) -> dict:
        dims = call_arg(a, 1, "dim")
        dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
        rank = len(a["in_shape"]) + 1
        if rank != 4 or sorted(d % rank for d in dims if isinstance(d, int)) != [2, 3]:
            raise NotImportable(f"a reduction over dims {dims} (only the spatial dims 2, 3)")
        if call_arg(a, 2, "keepdim", False) or any(isinstance(x, TensorArg)
                                                    for x in a["args"][1:]):
            raise NotImportable("keepdim=True")
        return {}
    return ImportRule(methods=methods, functions=functions, params=params)


declare(
    id="GlobalAvgPool", category="pooling", title="Global average pool",
    help="Averages each channel over the whole image: C x H x W -> C.",
    explanation="Replaces each feature map by its mean, giving one number per channel, ready for "
                "a Linear classifier. It has no parameters, works for any image size and "
                "replaced the large fully connected layers of early CNNs (Network in Network, "
                "ResNet).",
    inputs=X, outputs=OUT, check=_image_check, shape=_global_shape,
    cost=lambda p, ins, outs: Cost(0, 0), rf=lambda p, ins: "global",
    forward=lambda p, a, attr: f"{a['x']}.mean((2, 3))",
    imports=_global_import(("mean",), ("torch.mean",)),
    examples=({"x": TensorType((8, 4, 4))}, {"x": TensorType((3, 5, 9))}),
)

declare(
    id="GlobalMaxPool", category="pooling", title="Global max pool",
    help="Keeps each channel's maximum over the whole image: C x H x W -> C.",
    explanation="Replaces each feature map by its largest value: one number per channel saying "
                "how strongly that feature occurs anywhere in the image, wherever it is.",
    inputs=X, outputs=OUT, check=_image_check, shape=_global_shape,
    cost=lambda p, ins, outs: Cost(0, 0), rf=lambda p, ins: "global",
    forward=lambda p, a, attr: f"torch.amax({a['x']}, dim=(2, 3))",
    imports=_global_import(("amax",), ("torch.amax",)),
    examples=({"x": TensorType((8, 4, 4))}, {"x": TensorType((3, 5, 9))}),
)


# --- BlurPool -------------------------------------------------------------------------------------

def _blur_check(p, ins):
    x = ins["x"]
    require_rank(x, (3,), "an image (channels x height x width)")
    if x.dtype != "float":
        raise ShapeError(f"expects floating-point values but receives {x.describe()}", "x")
    for size in x.shape[1:]:
        if size <= p.filt_size // 2:
            raise ShapeError(f"the reflect padding of a size-{p.filt_size} filter needs at least "
                             f"{p.filt_size // 2 + 1} pixels per side, but receives {x.describe()}",
                             "filt_size")


def _blur_shape(p, ins):
    # reflect padding of filt_size - 1 in total, so every size becomes ceil(size / stride)
    x = ins["x"]
    return {"out": TensorType((x.shape[0],) + tuple((n - 1) // p.stride + 1 for n in x.shape[1:]))}


def _blur_call(p, ins):
    kwargs = {}
    if p.filt_size != 3:
        kwargs["filt_size"] = p.filt_size
    if p.stride != 2:
        kwargs["stride"] = p.stride
    return Call("BlurPool2d", (ins["x"].shape[0],), kwargs)


declare(
    id="BlurPool2d", category="pooling", title="BlurPool2d",
    help="Anti-aliased downsampling: a fixed binomial blur per channel, then subsampling.",
    explanation="Subsampling (a strided conv, or the stride of max-pooling) keeps every n-th "
                "pixel, so a one-pixel shift of the input can change the output completely: "
                "max-pooling breaks shift equivariance. Blurring with a small fixed low-pass "
                "filter before subsampling removes the frequencies that alias and restores much "
                "of it (Zhang, 2019, 'Making convolutional networks shift-invariant again'). Use "
                "MaxPool2d(2, stride 1) then BlurPool2d in place of MaxPool2d(2). The filter is a "
                "row of Pascal's triangle (3: [1, 2, 1]) times itself, normalized; borders are "
                "reflect-padded, so each side becomes ceil(size / stride). No trainable "
                "parameters.",
    inputs=X, outputs=OUT,
    params=(
        Param("filt_size", Choice((2, 3, 4, 5)), 3, "size of the binomial blur filter (larger "
              "blurs more)", label="Filter size"),
        Param("stride", Int(1, 16), 2, "subsampling factor"),
    ),
    check=_blur_check, shape=_blur_shape,
    cost=lambda p, ins, outs: Cost(0, numel(outs["out"].shape) * p.filt_size ** 2),
    rf=lambda p, ins: RF((p.filt_size, p.filt_size), (p.stride, p.stride), None,
                         ((p.filt_size - 1) // 2,) * 2),
    module=_blur_call, helpers=("BlurPool2d",),
    examples=({"x": TensorType((4, 16, 16))}, {"x": TensorType((3, 9, 7))}),
)
