"""Shared pieces of block declarations: port sets, shape arithmetic and checks."""

from __future__ import annotations

from math import prod

from studio.core.registry import (
    LOSS,
    RF,
    BlockSpec,
    Call,
    Cost,
    Param,
    Port,
    Raw,
    ShapeError,
    TensorType,
    register,
)

__all__ = [
    "LOSS", "OUT", "X", "BlockSpec", "Call", "Cost", "Param", "Port", "RF", "Raw", "ShapeError",
    "TensorType", "batch_dim", "conv_size", "declare", "numel", "require_channels",
    "require_float", "require_rank", "same", "spatial", "tup",
]

X = (Port("x"),)
OUT = (Port("out"),)


def declare(**fields) -> BlockSpec:
    """Register one block declaration."""
    return register(BlockSpec(**fields))


def tup(value, n: int) -> tuple:
    """A kernel/stride/padding value as an n-tuple (``5`` -> ``(5, 5)``)."""
    return tuple(value) if isinstance(value, tuple) else (value,) * n


def conv_size(size, kernel, stride, padding, dilation=1):
    """Output length of a convolution or pooling window along one dim (torch's formula)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def numel(shape) -> int:
    return prod(shape) if shape else 1


def require_rank(t: TensorType, ranks: tuple, what: str, field: str = "x") -> None:
    """Raise a ShapeError unless ``t`` has one of ``ranks`` dims (batch not counted)."""
    if t.rank not in ranks:
        raise ShapeError(f"expects {what} but receives {t.describe()}", field)


def require_float(t: TensorType, field: str = "x") -> None:
    if t.dtype != "float":
        raise ShapeError(f"expects floating-point values but receives {t.describe()}; class "
                         "labels need a OneHot block or an embedding first", field)


def require_channels(t: TensorType, groups: int = 1, field: str = "x") -> None:
    """Raise a ShapeError unless ``t`` holds floats with channels (C, C x L or C x H x W) that
    divide into ``groups`` equal groups (``field``: the parameter setting the groups)."""
    require_float(t)
    if t.rank < 1:
        raise ShapeError("expects channels (C, C x L or C x H x W) but receives a scalar", "x")
    if t.shape[0] % groups:
        raise ShapeError(f"receives {t.shape[0]} channels, not divisible into {groups} groups; "
                         f"choose a divisor of {t.shape[0]}", field)


def spatial(t: TensorType) -> tuple:
    return t.shape[1:]


def batch_dim(dim: int, rank: int, what: str = "dim") -> int:
    """A dim counting the batch as 0 (negative from the end) as an index into the per-sample
    shape; refuses the batch itself and dims outside the tensor."""
    full = rank + 1
    if not -full <= dim < full:
        raise ShapeError(f"{what} {dim} is outside a {full}-dim batch (the batch counts as dim 0)",
                         what)
    d = dim % full
    if d == 0:
        raise ShapeError(f"{what} {dim} is the batch dimension; choose a dimension of each sample "
                         "(1 is the first after the batch)", what)
    return d - 1


def same(p, ins) -> dict:
    """Shape rule of element-wise blocks: the output is shaped like the input."""
    return {"out": ins["x"]}
