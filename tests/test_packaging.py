"""Installing Studio: a wheel carries everything the app reads at run time, the app reads it as
package data (never through the source tree), the build gives no deprecation warnings, and
scripts/setup.sh runs pip only when the build files changed. scripts/check_wheel.sh installs the
wheel in a fresh environment and drives it; these tests keep the pieces honest in the suite."""

import ast
import importlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from studio.cli import main
from studio.core import package_files
from tests.helpers import ROOT

SHIPPED_FOLDERS = {"resources": "studio/resources", "examples": "studio/examples"}


def _source_copy(dest: Path) -> Path:
    """What the build reads, copied, so the test never writes build/ into the checkout."""
    dest.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    for folder in ("studio", *SHIPPED_FOLDERS):
        shutil.copytree(ROOT / folder, dest / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def test_wheel_ships_every_run_time_file_and_builds_without_warnings(tmp_path):
    source = _source_copy(tmp_path / "src")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--wheel-dir",
                           str(tmp_path / "dist"), str(source)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    output = proc.stdout + proc.stderr
    for word in ("DeprecationWarning", "is deprecated", "SetuptoolsWarning", "absent from the `packages`"):
        assert word not in output, output[output.index(word) - 1500:][:3000]
    [wheel] = (tmp_path / "dist").glob("studio-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, package in SHIPPED_FOLDERS.items():
        expected = {f"{package}/{p.relative_to(source / folder).as_posix()}"
                    for p in (source / folder).rglob("*") if p.is_file()}
        assert expected, folder
        assert expected <= names, sorted(expected - names)
    assert "studio/resources/data/digits.npz" in names
    assert "studio/examples/lenet.studio" in names
    stray = sorted(n for n in names if n.split("/")[0] in SHIPPED_FOLDERS)
    assert not stray, f"installed as top-level packages: {stray}"


def test_run_time_files_are_read_as_package_data():
    resources_package = Path(importlib.import_module("studio.resources").__file__).parent
    assert package_files.resources_folder() == resources_package
    assert (package_files.data_folder() / "digits.npz").is_file()
    assert package_files.resource("icons", "studio.svg").is_file()
    names = [p.name for p in package_files.example_paths()]
    assert names == sorted(p.name for p in (ROOT / "examples").glob("*.studio"))
    assert package_files.example_path("lenet") == package_files.examples_folder() / "lenet.studio"
    assert package_files.example_path("lenet.studio") == package_files.example_path("lenet")
    assert package_files.example_path("no_such_example") is None


def test_no_module_finds_run_time_files_through_the_source_tree():
    """``Path(__file__).parents[2] / "resources"`` works in a checkout and nowhere else."""
    bad = []
    for path in (ROOT / "studio").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "parents" and any(
                    isinstance(n, ast.Name) and n.id == "__file__" for n in ast.walk(node.value)):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} climbs from __file__")
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and any(
                    isinstance(side, ast.Constant) and side.value in SHIPPED_FOLDERS
                    for side in (node.left, node.right)):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} joins a path to a shipped folder")
    assert not bad, bad


def test_examples_command_lists_copies_and_trains_by_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["examples"]) == 0
    listed = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines())
    assert listed == {p.stem: str(p) for p in package_files.example_paths()}
    assert main(["examples", "--copy", "mine"]) == 0
    copied = sorted(p.name for p in (tmp_path / "mine").iterdir())
    assert copied == [p.name for p in package_files.example_paths()]
    (tmp_path / "mine" / "lenet.studio").write_text("edited")
    assert main(["examples", "--copy", "mine"]) == 2
    assert "lenet.studio" in capsys.readouterr().err
    assert (tmp_path / "mine" / "lenet.studio").read_text() == "edited"
    assert main(["check", "lenet"]) == 0
    assert "LeNet" in capsys.readouterr().out


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("studio ")


def _fake_tree(root: Path) -> Path:
    """setup.sh beside the three build files, and a .venv whose python logs its arguments."""
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "setup.sh", root / "scripts" / "setup.sh")
    for name in ("pyproject.toml", "setup.py", "constraints.txt"):
        shutil.copy2(ROOT / name, root / name)
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    python = bin_dir / "python"
    python.write_text('#!/bin/sh\necho "$*" >> "$(dirname "$0")/../pip.log"\n')
    (bin_dir / "studio").write_text("#!/bin/sh\n")
    for exe in (python, bin_dir / "studio"):
        exe.chmod(0o755)
    return root / ".venv" / "pip.log"


def test_setup_runs_pip_only_when_the_build_files_change(tmp_path):
    log = _fake_tree(tmp_path)

    def setup() -> list[str]:
        before = log.read_text().splitlines() if log.exists() else []
        subprocess.run(["bash", str(tmp_path / "scripts" / "setup.sh")], check=True,
                       capture_output=True, env={**os.environ, "PYTHON": "false"})
        return log.read_text().splitlines()[len(before):] if log.exists() else []

    first = setup()
    assert any("install" in line and "-e .[test]" in line for line in first), first
    assert setup() == []
    with (tmp_path / "constraints.txt").open("a") as f:
        f.write("numpy<3\n")
    assert any("-e .[test]" in line for line in setup())
    assert setup() == []
