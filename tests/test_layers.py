"""The layers of docs/architecture.md: imports point one way (ui -> engine -> blocks -> core); no Qt below ui,
no torch in core, blocks or ui (the editor reaches torch only through the engine)."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "studio"
RANK = {"core": 0, "blocks": 1, "engine": 2, "ui": 3}


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_imports_point_one_way():
    bad = []
    for path in PACKAGE.rglob("*.py"):
        layer = path.relative_to(PACKAGE).parts[0]
        if layer not in RANK:
            continue
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "studio" and len(parts) > 1 and parts[1] in RANK:
                if RANK[parts[1]] > RANK[layer]:
                    bad.append(f"{path.relative_to(PACKAGE)} imports {name}")
            if parts[0] in ("PySide6", "pyqtgraph", "shiboken6") and layer != "ui":
                bad.append(f"{path.relative_to(PACKAGE)} imports Qt ({name})")
            if parts[0] == "torch" and layer in ("core", "blocks", "ui"):
                bad.append(f"{path.relative_to(PACKAGE)} imports torch")
    assert not bad, bad


def test_checking_a_project_never_imports_torch():
    code = ("import sys; from studio.core.fileformat import load; from studio.core.inference "
            "import analyze; from studio.engine.codegen import generate; "
            "p = load('examples/lenet.studio'); analyze(p); generate(p); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PACKAGE.parent, check=True)
    assert out.stdout.strip() == "False"
