"""Helper code shared by Studio and the files it exports.

Everything here is real, importable and tested Python; the generator copies the source of what a
project needs (``source_of``) into the exported files, so the exported code and the code Studio
runs are the same text.
"""

from __future__ import annotations

import importlib
import inspect

_MODULES = ("studio.engine.library.modules", "studio.engine.library.losses",
            "studio.engine.library.data")


def _find(name: str):
    for mod_name in _MODULES:
        try:
            mod = importlib.import_module(mod_name)
        except ModuleNotFoundError:
            continue
        if hasattr(mod, name):
            return mod
    raise KeyError(f"no helper named {name!r} in the Studio library")


def with_dependencies(names) -> list[str]:
    """``names`` and everything they use, dependencies first, each once."""
    out: list[str] = []

    def visit(name):
        if name in out:
            return
        mod = _find(name)
        for dep in getattr(mod, "DEPENDS", {}).get(name, ()):
            visit(dep)
        out.append(name)

    for n in names:
        visit(n)
    return out


def source_of(names) -> str:
    """The source text of the named helpers and their dependencies, ready to paste in a file."""
    chunks = []
    for name in with_dependencies(names):
        obj = getattr(_find(name), name)
        chunks.append(inspect.getsource(inspect.unwrap(obj) if not isinstance(obj, type) else obj))
    return "\n\n".join(c.rstrip() + "\n" for c in chunks)
