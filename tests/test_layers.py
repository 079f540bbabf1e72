"""The layers of docs/architecture.md: imports point one way (ui -> engine -> blocks -> core); no Qt below ui,
no torch in core, blocks or ui (the editor reaches torch only through the engine)."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "studio"
RANK = {"core": 0, "blocks": 1, "engine": 2, "ui": 3}


DYNAMIC = {"import_module", "__import__"}  # importlib.import_module(name), __import__(name)


def _imports(path: Path):
    """Every module a file imports: import statements, and the names given to
    importlib.import_module and __import__ (which must be written out, so they can be checked)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Call) and _called_name(node.func) in DYNAMIC:
            target = node.args[0] if node.args else None
            if isinstance(target, ast.Constant) and isinstance(target.value, str):
                yield target.value
            else:
                yield f"<a module named at run time, line {node.lineno}>"


def _called_name(func) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def test_imports_point_one_way():
    bad = []
    for path in PACKAGE.rglob("*.py"):
        layer = path.relative_to(PACKAGE).parts[0]
        if layer not in RANK:
            continue
        for name in _imports(path):
            if name.startswith("<"):
                bad.append(f"{path.relative_to(PACKAGE)} imports {name}")
                continue
            parts = name.split(".")
            if parts[0] == "studio" and len(parts) > 1 and parts[1] in RANK:
                if RANK[parts[1]] > RANK[layer]:
                    bad.append(f"{path.relative_to(PACKAGE)} imports {name}")
            if parts[0] in ("PySide6", "pyqtgraph", "shiboken6") and layer != "ui":
                bad.append(f"{path.relative_to(PACKAGE)} imports Qt ({name})")
            if parts[0] == "torch" and layer in ("core", "blocks", "ui"):
                bad.append(f"{path.relative_to(PACKAGE)} imports torch")
    assert not bad, bad


def _module_names() -> dict:
    """studio's modules by dotted name (a package by its own name) -> file."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imported_modules(path: Path):
    """_imports, plus each name a ``from package import name`` takes (it may be a module)."""
    yield from _imports(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_no_import_circles():
    """No two modules need each other, at the top or inside a function: a circle is two modules
    that are one in truth, or a helper kept in the wrong one of them."""
    import networkx

    modules = _module_names()
    graph = networkx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        graph.add_edges_from((name, target) for target in _imported_modules(path)
                             if target in modules and target != name)
    circles = [sorted(c) for c in networkx.strongly_connected_components(graph) if len(c) > 1]
    assert not circles, circles


def test_checking_a_project_never_imports_torch():
    code = ("import sys; from studio.core.fileformat import load; from studio.core.inference "
            "import analyze; from studio.engine.codegen import generate; "
            "p = load('examples/lenet.studio'); analyze(p); generate(p); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PACKAGE.parent, check=True)
    assert out.stdout.strip() == "False"


def test_dynamic_imports_are_seen():
    """An import by name counts like an import statement: core naming the catalogue would fail."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "probe.py"
        path.write_text("import importlib\nimportlib.import_module('studio.blocks')\n"
                        "__import__(name)\n", encoding="utf-8")
        found = list(_imports(path))
    assert found[1] == "studio.blocks"
    assert found[2].startswith("<a module named at run time")


def test_the_catalogue_is_provided_from_above():
    """core never imports studio.blocks; the studio package provides it, so the registry is
    filled whichever module is imported first."""
    code = ("from studio.core.registry import all_blocks, REGISTRY; "
            "print(len(all_blocks()) > 50, 'studio.blocks' in __import__('sys').modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PACKAGE.parent, check=True)
    assert out.stdout.split() == ["True", "True"]
