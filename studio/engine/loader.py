"""Turning generated source into live modules: the same text Export writes, executed here."""

from __future__ import annotations

import itertools
import linecache
import sys
import types

from studio.core import package_files
from studio.engine.codegen import GeneratedCode

RESOURCES_DATA = package_files.data_folder()
_counter = itertools.count(1)


def _module(name: str, filename: str, source: str, extra_modules: dict) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = filename
    # register the text so tracebacks through generated code show its lines
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    code = compile(source, filename, "exec")
    saved = {k: sys.modules.get(k) for k in extra_modules}
    sys.modules.update(extra_modules)
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return module


def load(code: GeneratedCode) -> types.ModuleType:
    """Execute model.py and train.py; returns the train module (its ``Training`` class)."""
    run = next(_counter)
    model = _module(f"studio_generated_{run}.model", f"<studio model.py #{run}>",
                    code.model_source, {})
    train = _module(f"studio_generated_{run}.train", f"<studio train.py #{run}>",
                    code.train_source, {"model": model})
    train.model_module = model
    return train


def node_at(code: GeneratedCode, filename: str, line: int):
    """(graph, node id) that wrote a line of generated code, from a traceback's file and line."""
    which = "model.py" if "model.py" in filename else "train.py" if "train.py" in filename else None
    return code.line_map.get((which, line)) if which else None
