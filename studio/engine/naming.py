"""Python identifiers for generated code, made from user text by sanitizing, never by pasting."""

from __future__ import annotations

import keyword
import re

from studio.core.project import split_camel

# attributes nn.Module already has, and names the generated code itself uses
RESERVED = {
    "training", "forward", "parameters", "modules", "children", "train", "eval", "to", "cuda",
    "cpu", "state_dict", "load_state_dict", "apply", "buffers", "named_modules", "zero_grad",
    "type", "float", "double", "half", "register_buffer", "self", "torch", "nn", "F", "np", "math",
    "device", "batch", "n", "data_dir", "super", "print", "len", "range", "list", "dict", "tuple",
    "int", "str", "sum", "min", "max", "abs", "input", "object", "id", "Path", "time",
}


def identifier(text: str, fallback: str = "x") -> str:
    """snake_case identifier from a title or id: 'Conv 1' -> 'conv_1', '2nd' -> 'n2nd'."""
    s = split_camel(text or "")
    s = re.sub(r"[^0-9a-zA-Z_]+", "_", s).strip("_").lower()
    if not s:
        s = fallback
    if s[0].isdigit():
        s = "n" + s
    if keyword.iskeyword(s) or s in RESERVED:
        s += "_"
    return s


def class_name(text: str) -> str:
    """CamelCase class name: 'basic block' -> 'BasicBlock', 'LeNet' stays 'LeNet'."""
    parts = re.split(r"[^0-9a-zA-Z]+", text or "")
    s = "".join(p[:1].upper() + p[1:] for p in parts if p)
    if not s:
        s = "Model"
    if s[0].isdigit():
        s = "Net" + s
    if keyword.iskeyword(s) or s in RESERVED:
        s += "_"
    return s


class Namer:
    """Hands out unique names in one scope."""

    def __init__(self, taken=()):
        self.taken = set(taken)

    def take(self, base: str) -> str:
        name, i = base, 1
        while name in self.taken:
            i += 1
            name = f"{base}{i}" if not base[-1].isdigit() else f"{base}_{i}"
        self.taken.add(name)
        return name
