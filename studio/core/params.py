"""Parameter kinds: what values a block parameter may take, checked the same way everywhere.

The inspector builds its widgets from these, the file loader validates with them, and the code
generator renders the validated value with ``repr``: a string from a file never reaches
generated source unless a kind has accepted it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from studio.core.symbolic import Sym


class ParamError(ValueError):
    """A parameter value that its kind does not accept. The message says what would."""


@dataclass(frozen=True)
class Arg:
    """A reference to an argument of the enclosing reusable network (``{"arg": "width"}``)."""

    name: str


class Kind:
    """Base of parameter kinds. ``validate`` returns the normalized value or raises ParamError."""

    name = "value"

    def validate(self, value):
        raise NotImplementedError

    def to_json(self, value):
        return value

    def describe(self) -> str:
        return self.name


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_range(v, lo, hi, what):
    if lo is not None and v < lo:
        raise ParamError(f"{what} {v!r} is below the minimum {lo!r}")
    if hi is not None and v > hi:
        raise ParamError(f"{what} {v!r} is above the maximum {hi!r}")


@dataclass(frozen=True)
class Int(Kind):
    min: int | None = None
    max: int | None = None
    name = "int"

    def validate(self, value):
        if isinstance(value, Sym):
            return value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not _is_int(value):
            raise ParamError(f"expected a whole number, got {value!r}")
        _check_range(value, self.min, self.max, "value")
        return value

    def describe(self):
        return f"int in [{self.min if self.min is not None else '-inf'}, " \
               f"{self.max if self.max is not None else 'inf'}]"


@dataclass(frozen=True)
class Float(Kind):
    min: float | None = None
    max: float | None = None
    name = "float"

    def validate(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamError(f"expected a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ParamError(f"expected a finite number, got {value!r}")
        _check_range(value, self.min, self.max, "value")
        return value

    def describe(self):
        return f"float in [{self.min if self.min is not None else '-inf'}, " \
               f"{self.max if self.max is not None else 'inf'}]"


@dataclass(frozen=True)
class Bool(Kind):
    name = "bool"

    def validate(self, value):
        if not isinstance(value, bool):
            raise ParamError(f"expected true or false, got {value!r}")
        return value


@dataclass(frozen=True)
class Choice(Kind):
    options: tuple = ()
    name = "choice"

    def validate(self, value):
        if value not in self.options or isinstance(value, bool) != any(
                isinstance(o, bool) and o == value for o in self.options):
            raise ParamError(f"expected one of {', '.join(map(repr, self.options))}, got {value!r}")
        return value

    def describe(self):
        return "one of " + ", ".join(map(repr, self.options))


@dataclass(frozen=True)
class IntTuple(Kind):
    """An int, or a tuple of ``length`` ints (kernel sizes, strides: ``5`` or ``(1, 5)``)."""

    length: int = 2
    min: int | None = 1
    max: int | None = None
    name = "int or tuple"

    def validate(self, value):
        if isinstance(value, list):
            value = tuple(value)
        if isinstance(value, tuple):
            if len(value) != self.length:
                raise ParamError(f"expected {self.length} numbers, got {len(value)}")
            return tuple(Int(self.min, self.max).validate(v) for v in value)
        return Int(self.min, self.max).validate(value)

    def to_json(self, value):
        return list(value) if isinstance(value, tuple) else value

    def describe(self):
        return f"int >= {self.min} or a list of {self.length}"


@dataclass(frozen=True)
class Padding(Kind):
    """Convolution padding: an int, a tuple, or 'same' / 'valid' as torch accepts them."""

    length: int = 2
    name = "padding"

    def validate(self, value):
        if value in ("same", "valid"):
            return value
        return IntTuple(self.length, 0).validate(value)

    def to_json(self, value):
        return IntTuple(self.length, 0).to_json(value)

    def describe(self):
        return f"'same', 'valid', an int >= 0 or a list of {self.length}"


@dataclass(frozen=True)
class IntList(Kind):
    """A list of ints (a target shape; -1 allowed where ``allow_infer``)."""

    min_len: int = 1
    max_len: int = 8
    allow_infer: bool = False
    min_value: int = 1  # 0 or below for lists of dimensions (``(0, 2, 3, 1)``, ``(-2, -1)``)
    name = "int list"

    def validate(self, value):
        if not isinstance(value, (list, tuple)):
            raise ParamError(f"expected a list of whole numbers, got {value!r}")
        if not self.min_len <= len(value) <= self.max_len:
            raise ParamError(f"expected {self.min_len} to {self.max_len} numbers, got {len(value)}")
        out = []
        for v in value:
            if not _is_int(v):
                raise ParamError(f"expected whole numbers, got {v!r}")
            if v < self.min_value and not (self.allow_infer and v == -1):
                if self.min_value != 1:
                    raise ParamError(f"expected numbers of at least {self.min_value}, got {v}")
                extra = " (or -1 once)" if self.allow_infer else ""
                raise ParamError(f"sizes must be positive{extra}, got {v}")
            out.append(v)
        if self.allow_infer and out.count(-1) > 1:
            raise ParamError("only one size may be -1")
        return tuple(out)

    def to_json(self, value):
        return list(value)


@dataclass(frozen=True)
class FloatList(Kind):
    """A list of numbers (class weights, loss weights); empty means 'not set'."""

    max_len: int = 100_000
    min: float | None = None
    name = "number list"

    def validate(self, value):
        if not isinstance(value, (list, tuple)):
            raise ParamError(f"expected a list of numbers, got {value!r}")
        if len(value) > self.max_len:
            raise ParamError(f"expected at most {self.max_len} numbers")
        return tuple(Float(self.min).validate(v) for v in value)

    def to_json(self, value):
        return list(value)


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_ \-]{0,63}$")


@dataclass(frozen=True)
class FloatTuple(Kind):
    """Exactly ``length`` numbers in a range (Adam's ``betas``)."""

    length: int = 2
    min: float | None = None
    max: float | None = None
    name = "number tuple"

    def validate(self, value):
        if not isinstance(value, (list, tuple)) or len(value) != self.length:
            raise ParamError(f"expected {self.length} numbers, got {value!r}")
        return tuple(Float(self.min, self.max).validate(v) for v in value)

    def to_json(self, value):
        return list(value)

    def describe(self):
        return f"{self.length} numbers in [{self.min}, {self.max}]"


@dataclass(frozen=True)
class Name(Kind):
    """A short name (of a network, of a node): letters, digits, spaces, '-' and '_'."""

    name = "name"

    def validate(self, value):
        if not isinstance(value, str) or not _NAME.match(value):
            raise ParamError(f"expected a name of letters, digits, spaces, '-' or '_' "
                             f"(at most 64, starting with a letter), got {value!r}")
        return value


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_PATH_REFUSED = set("`$|;&<>*?\"'!{}")


@dataclass(frozen=True)
class FilePath(Kind):
    """A file or folder path from a project file; empty means 'not set'.

    A path is data that is only ever opened, never run: text of at most ``max_len`` characters,
    no control characters, no URL (``http:``, ``file:``: downloads come only from the library's
    own constants), and none of the characters a shell would act on (`` ` $ | ; & < > * ? " ' !
    { } ``), so a path shown in a message or pasted into a terminal stays a path. ``~`` and ``..``
    are allowed. A relative path resolves against the data root the engine passes to the
    loader (the folder of the project file when the app runs it), else ``$STUDIO_DATA_ROOT``,
    else the current directory.
    """

    max_len: int = 1024
    name = "path"

    def validate(self, value):
        if not isinstance(value, str):
            raise ParamError(f"expected a path as text, got {value!r}")
        if len(value) > self.max_len:
            raise ParamError(f"a path may have at most {self.max_len} characters, this one has "
                             f"{len(value)}")
        if value != value.strip():
            raise ParamError("a path may not start or end with spaces")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ParamError(f"a path may not contain control characters, got {value!r}")
        if _SCHEME.match(value) or "://" in value:
            raise ParamError(f"expected a path on this computer, not a URL: {value!r}")
        if ":" in value and not (_DRIVE.match(value) and ":" not in value[2:]):
            raise ParamError(f"a path may not contain ':' (except a drive letter), got {value!r}")
        refused = sorted(set(value) & _PATH_REFUSED)
        if refused:
            raise ParamError(f"a path may not contain {' '.join(refused)}; rename the file or "
                             f"folder, got {value!r}")
        return value

    def describe(self):
        return "a file or folder path (empty: not set)"


@dataclass(frozen=True)
class NameList(Kind):
    name = "name list"

    def validate(self, value):
        if not isinstance(value, (list, tuple)):
            raise ParamError(f"expected a list of names, got {value!r}")
        return tuple(Name().validate(v) for v in value)

    def to_json(self, value):
        return list(value)


@dataclass(frozen=True)
class ArgValues(Kind):
    """Argument values of a network instance; checked against the network's declarations."""

    name = "arguments"

    def validate(self, value):
        if not isinstance(value, dict):
            raise ParamError(f"expected a mapping of argument names to values, got {value!r}")
        for k in value:
            Name().validate(k)
        return dict(value)

    def to_json(self, value):
        return {k: ({"arg": v.name} if isinstance(v, Arg) else v) for k, v in value.items()}


@dataclass(frozen=True)
class Optional(Kind):
    """``inner`` or None (for example, no class weights)."""

    inner: Kind = field(default_factory=Int)
    name = "optional"

    def validate(self, value):
        return None if value is None else self.inner.validate(value)

    def to_json(self, value):
        return None if value is None else self.inner.to_json(value)

    def describe(self):
        return f"none or {self.inner.describe()}"


def kind_from_json(data) -> Kind:
    """Kinds a network argument may be declared with in a file."""
    kinds = {"int": Int, "float": Float, "bool": Bool}
    if not isinstance(data, dict) or data.get("kind") not in kinds:
        raise ParamError("an argument kind must be one of 'int', 'float', 'bool'")
    cls = kinds[data["kind"]]
    if cls is Bool:
        return Bool()
    lo, hi = data.get("min"), data.get("max")
    for bound in (lo, hi):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float))):
            raise ParamError(f"argument bounds must be numbers, got {bound!r}")
    return cls(lo, hi)


def kind_to_json(kind: Kind) -> dict:
    out = {"kind": kind.name}
    if isinstance(kind, (Int, Float)):
        if kind.min is not None:
            out["min"] = kind.min
        if kind.max is not None:
            out["max"] = kind.max
    return out
