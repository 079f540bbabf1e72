"""Integer expressions over named symbols.

A reusable network (a ResNet basic block, say) compiles to one class whose constructor takes
its arguments and the feature sizes flowing in. Shape rules are written as plain integer
arithmetic; run on these expressions instead of ints they yield the constructor arguments as
source text (``in_channels``, ``width``) rather than one number per instance.
"""

from __future__ import annotations

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "//": 2, "%": 2}


class Sym:
    """An immutable integer expression: a symbol, or a binary operation on expressions and ints."""

    __slots__ = ("op", "left", "right", "name")

    def __init__(self, name: str | None = None, op: str | None = None, left=None, right=None):
        self.name = name
        self.op = op
        self.left = left
        self.right = right

    # construction -------------------------------------------------------------------------
    @staticmethod
    def _make(op: str, a, b):
        if isinstance(a, float) or isinstance(b, float):
            raise TypeError("symbolic sizes support integer arithmetic only")
        if isinstance(a, int) and isinstance(b, int):
            return {"+": a + b, "-": a - b, "*": a * b, "//": a // b, "%": a % b}[op]
        if op == "+" and b == 0 or op == "-" and b == 0:
            return a
        if op == "+" and a == 0:
            return b
        if op == "*" and (a == 1):
            return b
        if op in ("*", "//") and b == 1:
            return a
        if op == "*" and (a == 0 or b == 0):
            return 0
        # fold "(e + c1) - c2" and "(e - c1) + c2" so conv arithmetic stays short
        if op in ("+", "-") and isinstance(b, int) and isinstance(a, Sym) and a.op in ("+", "-") \
                and isinstance(a.right, int):
            total = (a.right if a.op == "+" else -a.right) + (b if op == "+" else -b)
            return Sym._make("+" if total >= 0 else "-", a.left, abs(total))
        return Sym(op=op, left=a, right=b)

    def __add__(self, o):
        return Sym._make("+", self, o)

    def __radd__(self, o):
        return Sym._make("+", o, self)

    def __sub__(self, o):
        return Sym._make("-", self, o)

    def __rsub__(self, o):
        return Sym._make("-", o, self)

    def __mul__(self, o):
        return Sym._make("*", self, o)

    def __rmul__(self, o):
        return Sym._make("*", o, self)

    def __floordiv__(self, o):
        return Sym._make("//", self, o)

    def __rfloordiv__(self, o):
        return Sym._make("//", o, self)

    def __mod__(self, o):
        return Sym._make("%", self, o)

    def __neg__(self):
        return Sym._make("-", 0, self)

    def __bool__(self):
        raise TypeError("a symbolic size has no truth value; checks run on concrete shapes only")

    # comparison is structural, so identical expressions compare equal ---------------------
    def key(self):
        if self.name is not None:
            return ("sym", self.name)
        return (self.op, _key(self.left), _key(self.right))

    def __eq__(self, o):
        return isinstance(o, Sym) and self.key() == o.key()

    def __hash__(self):
        return hash(self.key())

    # rendering ----------------------------------------------------------------------------
    def render(self, parent_prec: int = 0, right_side: bool = False) -> str:
        if self.name is not None:
            return self.name
        prec = _PRECEDENCE[self.op]
        text = f"{_render(self.left, prec)} {self.op} {_render(self.right, prec, True)}"
        if prec < parent_prec or (prec == parent_prec and right_side):
            return f"({text})"
        return text

    def symbols(self) -> set[str]:
        if self.name is not None:
            return {self.name}
        return _symbols(self.left) | _symbols(self.right)

    def __repr__(self):
        return f"Sym({self.render()})"


def _key(v):
    return v.key() if isinstance(v, Sym) else ("int", v)


def _render(v, prec=0, right_side=False) -> str:
    if isinstance(v, Sym):
        return v.render(prec, right_side)
    return repr(v) if v >= 0 or prec == 0 else f"({v!r})"


def _symbols(v) -> set[str]:
    return v.symbols() if isinstance(v, Sym) else set()


def is_symbolic(v) -> bool:
    return isinstance(v, Sym)


def symbols_in(value) -> set[str]:
    """Names of all symbols inside a value (nested tuples and lists included)."""
    if isinstance(value, Sym):
        return value.symbols()
    if isinstance(value, (tuple, list)):
        out: set[str] = set()
        for v in value:
            out |= symbols_in(v)
        return out
    return set()


def render_expr(v) -> str:
    """Source text for an int or expression."""
    return v.render() if isinstance(v, Sym) else repr(v)
