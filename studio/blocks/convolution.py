"""Convolutions. Channel counts flowing in are inferred; the user sets what comes out."""

from __future__ import annotations

from studio.blocks._common import OUT, RF, X, Call, Cost, Param, ShapeError, TensorType, conv_size, \
    declare, numel, require_float, require_rank, tup
from studio.core.params import Bool, Choice, Int, IntTuple, ParamError, Padding


def conv_params(dims: int, default_kernel: int = 3) -> tuple:
    """Parameters shared by Conv1d/Conv2d, named as torch names them."""
    return (
        Param("out_channels", Int(1, 1 << 16), 16, "number of output feature maps"),
        Param("kernel_size", IntTuple(dims, 1, 1024), default_kernel,
              "window size; an int or one per dimension (e.g. [1, 5])"),
        Param("stride", IntTuple(dims, 1, 1024), 1, "step between windows", torch_default=1),
        Param("padding", Padding(dims), 0, "zeros added at each border, or 'same' / 'valid'",
              torch_default=0),
        Param("dilation", IntTuple(dims, 1, 1024), 1, "spacing between kernel taps",
              torch_default=1),
        Param("groups", Int(1, 1 << 16), 1, "split channels into independent groups",
              torch_default=1),
        Param("bias", Bool(), True, "learn an additive bias per output channel", torch_default=True),
        Param("padding_mode", Choice(("zeros", "reflect", "replicate", "circular")), "zeros",
              "how the border is padded", torch_default="zeros"),
    )


def _validate_conv(p):
    if p.padding == "same" and any(s != 1 for s in tup(p.stride, 2)):
        raise ParamError("padding: 'same' needs stride 1 (torch refuses strided 'same' padding)")
    if p.out_channels % p.groups:
        raise ParamError(f"groups: out_channels {p.out_channels} is not divisible by groups "
                         f"{p.groups}")


def conv_check(dims: int, what: str):
    def check(p, ins):
        x = ins["x"]
        require_float(x)
        require_rank(x, (dims + 1,), what)
        if x.shape[0] % p.groups:
            raise ShapeError(f"receives {x.shape[0]} channels, not divisible by groups "
                             f"{p.groups}", "groups")
        k, d = tup(p.kernel_size, dims), tup(p.dilation, dims)
        pad = (0,) * dims if p.padding in ("same", "valid") else tup(p.padding, dims)
        for size, kk, dd, pp in zip(x.shape[1:], k, d, pad):
            if p.padding != "same" and size + 2 * pp < dd * (kk - 1) + 1:
                raise ShapeError(f"kernel {kk} (dilation {dd}) is larger than the padded input "
                                 f"{size + 2 * pp} of {x.describe()}; use a smaller kernel, "
                                 "padding, or less downsampling before it", "kernel_size")
    return check


def conv_shape(dims: int):
    def shape(p, ins):
        x = ins["x"]
        if p.padding == "same":
            sizes = x.shape[1:]
        else:
            pad = (0,) * dims if p.padding == "valid" else tup(p.padding, dims)
            sizes = tuple(conv_size(s, k, st, pp, d) for s, k, st, pp, d in zip(
                x.shape[1:], tup(p.kernel_size, dims), tup(p.stride, dims), pad,
                tup(p.dilation, dims)))
        return {"out": TensorType((p.out_channels,) + tuple(sizes))}
    return shape


def conv_cost(dims: int):
    def cost(p, ins, outs):
        cin = ins["x"].shape[0]
        taps = numel(tup(p.kernel_size, dims)) * (cin // p.groups)
        weights = p.out_channels * taps + (p.out_channels if p.bias else 0)
        return Cost(weights, numel(outs["out"].shape) * taps)
    return cost


def conv_rf(dims: int):
    return lambda p, ins: RF(tup(p.kernel_size, dims), tup(p.stride, dims), tup(p.dilation, dims))


def conv_call(cls: str, p, cin) -> Call:
    kwargs = {"kernel_size": p.kernel_size}
    for name, default in (("stride", 1), ("padding", 0), ("dilation", 1), ("groups", 1),
                          ("bias", True), ("padding_mode", "zeros")):
        value = getattr(p, name)
        if value != default and value != (default,) * len(tup(value, 1)):
            kwargs[name] = value
    return Call(cls, (cin, p.out_channels), kwargs)


declare(
    id="Conv2d", category="convolution", title="Conv2d",
    help="2-D convolution: learned filters slid over an image.",
    explanation="Each output map is a learned kernel slid across every input map and summed. "
                "Weights are shared across positions, so a conv layer has far fewer parameters "
                "than a dense layer on the same image and responds to a pattern wherever it is. "
                "Non-square kernels (1x5 then 5x1) cover a 5x5 area for less cost.",
    inputs=X, outputs=OUT, params=conv_params(2), validate_params=_validate_conv,
    check=conv_check(2, "an image (channels x height x width)"), shape=conv_shape(2),
    cost=conv_cost(2), rf=conv_rf(2),
    module=lambda p, ins: conv_call("nn.Conv2d", p, ins["x"].shape[0]),
    examples=({"x": TensorType((3, 16, 16))}, {"x": TensorType((4, 9, 12))}),
)
