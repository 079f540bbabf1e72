"""Pooling: downsampling by windows (max, average), adaptive and global pooling, and BlurPool."""

from __future__ import annotations

from studio.blocks._common import OUT, RF, X, Call, Cost, Param, ShapeError, TensorType, conv_size, \
    declare, numel, require_rank, tup
from studio.core.params import Bool, Int, IntTuple, Optional


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


def _pool_rf(p, ins):
    k, s, _ = _pool_window(p)
    return RF(k, s)


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
        examples=({"x": TensorType((3, 16, 16))}, {"x": TensorType((2, 9, 7))}),
    )

__all__ = ["Int", "numel"]
