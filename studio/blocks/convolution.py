"""Convolutions. Channel counts flowing in are inferred; the user sets what comes out."""

from __future__ import annotations

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
    require_float,
    require_rank,
    tup,
)
from studio.core.import_rules import ImportRule, NotImportable
from studio.core.params import Bool, Choice, Int, IntTuple, Padding, ParamError


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


def conv_import(cls: str) -> ImportRule:
    """Stands for torch's layer of the same name, its arguments as they are."""
    def params(a) -> dict:
        if a.get("transposed"):
            raise NotImportable("a transposed convolution is not this block")
        return {"out_channels": a["out_channels"], "kernel_size": a["kernel_size"],
                "stride": a["stride"], "padding": a["padding"], "dilation": a["dilation"],
                "groups": a["groups"], "bias": a["bias"] is not None,
                "padding_mode": a["padding_mode"]}
    return ImportRule(modules=(cls,), params=params)


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
    return lambda p, ins: RF(tup(p.kernel_size, dims), tup(p.stride, dims), tup(p.dilation, dims),
                             leading_padding(p, dims))


def leading_padding(p, dims: int) -> tuple:
    """The zeros added before each spatial dim (torch puts the odd one of 'same' after)."""
    if p.padding == "valid":
        return (0,) * dims
    if p.padding == "same":
        return tuple(d * (k - 1) // 2 for k, d in zip(tup(p.kernel_size, dims),
                                                      tup(p.dilation, dims)))
    return tup(p.padding, dims)


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
    imports=conv_import("Conv2d"),
    examples=({"x": TensorType((3, 16, 16))}, {"x": TensorType((4, 9, 12))}),
)


def changed_kwargs(params: tuple, p, names) -> dict:
    """Keyword arguments of a torch call: the named parameters whose value differs from the
    ``torch_default`` declared with them (an int default also matches a tuple of it)."""
    out = {}
    for prm in params:
        if prm.name not in names:
            continue
        value = getattr(p, prm.name)
        default = prm.torch_default
        same_value = value == default or (isinstance(value, tuple) and bool(value)
                                          and all(v == default for v in value))
        if not same_value:
            out[prm.name] = value
    return out


declare(
    id="Conv1d", category="convolution", title="Conv1d",
    help="1-D convolution: learned filters slid along a sequence or signal.",
    explanation="The one-dimensional twin of Conv2d: each output channel is a learned kernel slid "
                "along the length of every input channel and summed. Used on audio, sensor "
                "traces and other sequences, where a pattern matters wherever in time it occurs.",
    inputs=X, outputs=OUT, params=conv_params(1), validate_params=_validate_conv,
    check=conv_check(1, "a sequence (channels x length)"), shape=conv_shape(1),
    cost=conv_cost(1), rf=conv_rf(1),
    module=lambda p, ins: conv_call("nn.Conv1d", p, ins["x"].shape[0]),
    imports=conv_import("Conv1d"),
    examples=({"x": TensorType((3, 20))}, {"x": TensorType((4, 13))}),
)


# --- transposed convolution -------------------------------------------------------------------

_TRANSPOSE_PARAMS = (
    Param("out_channels", Int(1, 1 << 16), 16, "number of output feature maps"),
    Param("kernel_size", IntTuple(2, 1, 1024), 4, "window size; an int or one per dimension"),
    Param("stride", IntTuple(2, 1, 1024), 2, "upsampling factor: spacing of the input pixels in "
          "the output", torch_default=1),
    Param("padding", IntTuple(2, 0, 1024), 1, "rows and columns removed at each border of the "
          "output (dilation * (kernel_size - 1) - padding zeros around the input)",
          torch_default=0),
    Param("output_padding", IntTuple(2, 0, 1024), 0, "extra rows and columns added on one side to "
          "reach an exact size; smaller than stride or dilation", torch_default=0),
    Param("groups", Int(1, 1 << 16), 1, "split channels into independent groups", torch_default=1),
    Param("bias", Bool(), True, "learn an additive bias per output channel", torch_default=True),
    Param("dilation", IntTuple(2, 1, 1024), 1, "spacing between kernel taps", torch_default=1),
)


def _transpose_size(size, kernel, stride, padding, output_padding, dilation):
    """Output length of a transposed convolution along one dim: torch's formula
    (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1, written so
    that symbolic sizes fold into short expressions (``in_height * 2``)."""
    return size * stride - stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def _transpose_dims(p):
    return (tup(p.kernel_size, 2), tup(p.stride, 2), tup(p.padding, 2), tup(p.output_padding, 2),
            tup(p.dilation, 2))


def _validate_transpose(p):
    if p.out_channels % p.groups:
        raise ParamError(f"groups: out_channels {p.out_channels} is not divisible by groups "
                         f"{p.groups}")
    for op, s, d in zip(tup(p.output_padding, 2), tup(p.stride, 2), tup(p.dilation, 2)):
        if op >= s and op >= d:
            raise ParamError(f"output_padding: {op} must be smaller than the stride {s} or the "
                             f"dilation {d}")


def _transpose_check(p, ins):
    x = ins["x"]
    require_float(x)
    require_rank(x, (3,), "an image (channels x height x width)")
    if x.shape[0] % p.groups:
        raise ShapeError(f"receives {x.shape[0]} channels, not divisible by groups {p.groups}",
                         "groups")
    for size, *dims in zip(x.shape[1:], *_transpose_dims(p)):
        if _transpose_size(size, *dims) < 1:
            raise ShapeError(f"padding {dims[2]} removes the whole output of {x.describe()}; use "
                             "less padding or a larger kernel", "padding")


def _transpose_shape(p, ins):
    x = ins["x"]
    sizes = tuple(_transpose_size(size, *dims) for size, *dims in zip(x.shape[1:],
                                                                      *_transpose_dims(p)))
    return {"out": TensorType((p.out_channels,) + sizes)}


def _transpose_cost(p, ins, outs):
    x = ins["x"]
    taps = numel(tup(p.kernel_size, 2)) * (p.out_channels // p.groups)
    weights = x.shape[0] * taps + (p.out_channels if p.bias else 0)
    # every input value is multiplied into a kernel-sized patch of each output channel in its group
    return Cost(weights, numel(x.shape) * taps)


def _transpose_rf(p, ins):
    # An output pixel sees ceil(span / stride) input pixels per dim. The finer output grid (a
    # fractional step in input pixels) cannot be expressed, so later layers are over-estimated.
    k, s, _, _, d = _transpose_dims(p)
    return RF(tuple(-(-((kk - 1) * dd + 1) // ss) for kk, ss, dd in zip(k, s, d)), (1, 1))


declare(
    id="ConvTranspose2d", category="convolution", title="ConvTranspose2d",
    help="Transposed 2-D convolution: learned upsampling, the mirror image of a strided Conv2d.",
    explanation="Each input pixel stamps a learned kernel, weighted by its value, onto a larger "
                "output grid spaced stride pixels apart; overlapping stamps add up. It undoes the "
                "shape change of a Conv2d with the same settings, which is why generators and "
                "decoders use it: kernel 4, stride 2, padding 1 doubles the height and width. "
                "Output size: (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + "
                "output_padding + 1. Kernels not divisible by the stride can leave "
                "checkerboard artifacts.",
    inputs=X, outputs=OUT, params=_TRANSPOSE_PARAMS, validate_params=_validate_transpose,
    check=_transpose_check, shape=_transpose_shape, cost=_transpose_cost, rf=_transpose_rf,
    module=lambda p, ins: Call("nn.ConvTranspose2d", (ins["x"].shape[0], p.out_channels),
                               {"kernel_size": p.kernel_size, **changed_kwargs(
                                   _TRANSPOSE_PARAMS, p, ("stride", "padding", "output_padding",
                                                          "groups", "bias", "dilation"))}),
    examples=({"x": TensorType((8, 4, 4))}, {"x": TensorType((6, 5, 7))}),
)


# --- depthwise-separable convolution ---------------------------------------------------------

_SEPARABLE_PARAMS = tuple(prm for prm in conv_params(2) if prm.name not in ("groups",
                                                                            "padding_mode"))


def _validate_separable(p):
    if p.padding == "same" and any(s != 1 for s in tup(p.stride, 2)):
        raise ParamError("padding: 'same' needs stride 1 (torch refuses strided 'same' padding)")


def _separable_check(p, ins):
    from studio.core.registry import Values

    conv_check(2, "an image (channels x height x width)")(Values(dict(p.as_dict(), groups=1)), ins)


def _separable_cost(p, ins, outs):
    cin = ins["x"].shape[0]
    k = numel(tup(p.kernel_size, 2))
    positions = numel(outs["out"].shape[1:])
    weights = cin * k + cin * p.out_channels + (p.out_channels if p.bias else 0)
    return Cost(weights, positions * cin * k + positions * cin * p.out_channels)


def _separable_call(p, ins):
    return Call("SeparableConv2d", (ins["x"].shape[0], p.out_channels, p.kernel_size),
                changed_kwargs(_SEPARABLE_PARAMS, p, ("stride", "padding", "dilation", "bias")))


declare(
    id="SeparableConv2d", category="convolution", title="SeparableConv2d",
    help="Depthwise-separable convolution: a per-channel k x k filter, then a 1x1 mix of channels.",
    explanation="Splits a convolution into two cheap steps: a depthwise conv filters each input "
                "channel on its own (spatial pattern), then a pointwise 1x1 conv mixes the "
                "channels (which features combine). With C input and D output channels and a "
                "k x k kernel it needs C*k*k + C*D weights instead of C*D*k*k, nearly k*k times "
                "fewer, at a small loss of expressiveness. MobileNet and Xception are built "
                "from it.",
    inputs=X, outputs=OUT, params=_SEPARABLE_PARAMS, validate_params=_validate_separable,
    check=_separable_check, shape=conv_shape(2), cost=_separable_cost, rf=conv_rf(2),
    module=_separable_call, helpers=("SeparableConv2d",),
    examples=({"x": TensorType((8, 12, 12))}, {"x": TensorType((3, 9, 10))}),
)
