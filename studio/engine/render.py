"""Rendering validated values as Python source: repr for data, expressions for symbolic sizes."""

from __future__ import annotations

import math

from studio.core.registry import Call, Raw
from studio.core.symbolic import Sym


def value(v) -> str:
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, Sym):
        return v.render()
    if isinstance(v, bool) or v is None or isinstance(v, (int, str)):
        return repr(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"cannot write the non-finite number {v!r} into code")
        return repr(v)
    if isinstance(v, tuple):
        inner = ", ".join(value(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    raise TypeError(f"cannot write a {type(v).__name__} into code")


def call(c: Call, replace: dict | None = None) -> str:
    """``func(arg, kw=value)``; Raw placeholders in ``replace`` become the given source text."""
    replace = replace or {}

    def one(v):
        if isinstance(v, Raw) and str(v) in replace:
            return replace[str(v)]
        return value(v)

    parts = [one(a) for a in c.args] + [f"{k}={one(v)}" for k, v in c.kwargs.items()]
    return f"{c.func}({', '.join(parts)})"


def shape_comment(types) -> str:
    """'# 6 x 28 x 28' when every dim is a number or a plain name; '' otherwise."""
    texts = []
    for t in types:
        if any(isinstance(d, Sym) and d.name is None for d in t.shape):
            return ""
        texts.append(t.describe())
    return "  # " + ", ".join(texts) if texts else ""
