"""The window appears before torch is imported (editing never waits for it), and the command line
opens the editor: ``studio`` with no arguments, or ``studio FILE``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, tmp_path, timeout=60) -> str:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT),
               STUDIO_RECOVERY_DIR=str(tmp_path / "recovery"), XDG_CONFIG_HOME=str(tmp_path),
               HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_window_opens_before_torch_is_imported(tmp_path):
    code = """
import sys
from studio.ui.app import build
app, window = build("examples/dcgan.studio", offer_recovery=False)
app.processEvents()
window.session.regenerate()
window.select_node("Generator", "tanh")  # the inspector draws the activation's curve
app.processEvents()
print(window.isVisible(), "torch" in sys.modules, sorted(window.views),
      "class Generator" in window.code_view.text("model.py"),
      len(window.scene("training").nodes), window.inspector.plot is not None)
window.close()
"""
    out = _run(code, tmp_path).split("\n")[-2]
    assert out == "True False ['Discriminator', 'Generator', 'training'] True 10 True"


def test_studio_with_a_file_opens_the_editor(tmp_path):
    code = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
def look():
    window = next(w for w in app.topLevelWidgets() if w.objectName() == "studio_main_window")
    print(window.windowTitle(), "torch" in sys.modules, len(window.scene().nodes))
    window.close()
QTimer.singleShot(200, look)
import os, shutil
from studio.cli import main
own = shutil.copy("examples/lenet.studio", os.path.join(os.environ["HOME"], "lenet.studio"))
print("exit", main([own]))
"""
    out = _run(code, tmp_path).strip().split("\n")
    assert out[-2] == "lenet.studio[*] \u2014 Studio False 15"
    assert out[-1] == "exit 0"


def test_studio_without_arguments_opens_an_empty_editor(tmp_path):
    code = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
def look():
    window = next(w for w in app.topLevelWidgets() if w.objectName() == "studio_main_window")
    print(window.isVisible(), len(window.scene().nodes))
    window.close()
QTimer.singleShot(200, look)
from studio.cli import main
print("exit", main([]))
"""
    out = _run(code, tmp_path).strip().split("\n")
    assert out[-2:] == ["True 0", "exit 0"]


def test_studio_with_a_missing_file_says_so(tmp_path, capsys):
    from studio.cli import main

    assert main([str(tmp_path / "missing.studio")]) == 2
    assert "no such file" in capsys.readouterr().err
