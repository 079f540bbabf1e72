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
    "TensorType", "conv_size", "declare", "numel", "require_float", "require_rank", "same",
    "spatial", "tup",
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


def spatial(t: TensorType) -> tuple:
    return t.shape[1:]


def same(p, ins) -> dict:
    """Shape rule of element-wise blocks: the output is shaped like the input."""
    return {"out": ins["x"]}
