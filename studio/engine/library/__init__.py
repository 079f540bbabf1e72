"""Helper code shared by Studio and the files it exports.

Everything here is real, importable and tested Python; the generator copies the source of what a
project needs (``source_of``) into the exported files, so the exported code and the code Studio
runs are the same text. The source is read from the files with ``ast``, without importing them:
writing code (the editor's code view) must not wait for torch.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent
# the modules helpers live in; model.py takes those of the first two, train.py all of them
MODEL_MODULES = ("modules", "losses")
MODULES = MODEL_MODULES + ("data", "distributed")


@cache
def _index(module: str) -> tuple[dict, dict]:
    """(name -> source text, name -> dependency names) of one library module."""
    text = (_HERE / f"{module}.py").read_text(encoding="utf-8")
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    sources, depends = {}, {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            start = min([d.lineno for d in node.decorator_list] + [node.lineno]) - 1
            sources[node.name] = "".join(lines[start:node.end_lineno])
        elif (isinstance(node, (ast.Assign, ast.AnnAssign))
              and any(isinstance(t, ast.Name) and t.id == "DEPENDS"
                      for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))):
            depends = ast.literal_eval(node.value)
    return sources, depends


def module_of(name: str) -> str:
    for module in MODULES:
        if name in _index(module)[0]:
            return module
    raise KeyError(f"no helper named {name!r} in the Studio library")


def with_dependencies(names) -> list[str]:
    """``names`` and everything they use, dependencies first, each once."""
    out: list[str] = []

    def visit(name):
        if name in out:
            return
        for dep in _index(module_of(name))[1].get(name, ()):
            visit(dep)
        out.append(name)

    for n in names:
        visit(n)
    return out


def source_of(names) -> str:
    """The source text of the named helpers and their dependencies, ready to paste in a file."""
    chunks = [_index(module_of(n))[0][n] for n in with_dependencies(names)]
    return "\n\n".join(c.rstrip() + "\n" for c in chunks)


def is_model_helper(name: str) -> bool:
    """Helpers that belong in model.py (modules, init functions), not only in train.py."""
    return module_of(name) in MODEL_MODULES
