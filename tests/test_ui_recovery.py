"""Nothing is lost: after a crash, the next start offers the autosaved document and recovers it
with its unsaved changes; closing normally leaves no recovery file behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from studio.core import recovery
from studio.core.fileformat import dumps
from studio.ui.autosave import RecoveryDialog
from studio.ui.testing import open_window

ROOT = Path(__file__).resolve().parents[1]

CRASH = """
import os, shutil, sys
from PySide6.QtCore import QPointF, QSettings
from studio.ui.app import build
folder = sys.argv[1]
settings = QSettings(os.path.join(folder, "settings.ini"), QSettings.Format.IniFormat)
# the user's own file (a bundled example would open as an untitled copy)
project = shutil.copy("examples/lenet.studio", os.path.join(folder, "lenet.studio"))
app, window = build(project, settings=settings,
                    recovery_folder=os.path.join(folder, "recovery"), offer_recovery=False)
view = window.view("training")
node = view.drop_block("ReLU", QPointF(400, 300))
window.editor.set_params("training", "fc1", {"out_features": 99})
window.autosaver.autosave()
with open(os.path.join(folder, "expected.studio"), "w") as f:
    from studio.core.fileformat import dumps
    f.write(dumps(window.session.project))
os._exit(3)  # a crash: no close, no cleanup
"""


def _click_when_shown(qtbot, pick):
    """Answer the recovery dialog once it is shown (it is modal)."""
    def answer():
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, RecoveryDialog):
            pick(dialog).click()
        else:
            QTimer.singleShot(20, answer)
    QTimer.singleShot(20, answer)


def test_recovery_after_a_crash(qtbot, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", CRASH, str(tmp_path)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 3, out.stderr[-2000:]
    expected = (tmp_path / "expected.studio").read_text()
    assert len(recovery.pending(tmp_path / "recovery")) == 1

    window = open_window(qtbot, tmp_path)
    _click_when_shown(qtbot, lambda d: d.recover_button)
    assert window.offer_recovery()
    doc = window.session.doc
    assert dumps(doc.project) == expected
    assert doc.modified and window.isWindowModified()
    assert str(doc.path).endswith("lenet.studio")
    assert "fc1" in window.scene("training").nodes
    assert window.session.analysis.result("training", "fc1").outputs["out"].shape == (99,)
    # saving makes it safe: the recovery file goes
    target = tmp_path / "recovered.studio"
    assert window.files.save_to(target)
    assert recovery.pending(tmp_path / "recovery") == []
    assert not (tmp_path / "recovery").exists() or not list((tmp_path / "recovery").iterdir())


def test_discarding_recovery_files(qtbot, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", CRASH, str(tmp_path)], cwd=ROOT, env=env,
                   capture_output=True, text=True, timeout=60)
    window = open_window(qtbot, tmp_path)
    _click_when_shown(qtbot, lambda d: d.discard_button)
    assert not window.offer_recovery()
    assert recovery.pending(tmp_path / "recovery") == []
    assert not window.session.doc.modified


def test_autosave_writes_only_with_unsaved_changes_and_close_cleans_up(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    assert window.autosaver.autosave() is None
    window.editor.add_block("training", "Dataset", (0, 0))
    path = window.autosaver.autosave()
    assert path is not None and path.exists()
    assert window.autosaver.timer.interval() == 60_000 and window.autosaver.timer.isActive()
    window.session.doc.mark_saved()
    window.close()
    assert not path.exists()
