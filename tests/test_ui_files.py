"""Files from the window as a user meets them: nothing made is lost without asking (trained
weights included), examples open as copies, a new project takes its file's name, and Export
suggests a folder beside the project, can make one, and names every file it wrote."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QLineEdit,
    QMessageBox,
    QToolButton,
)

from studio.core.document import Document
from studio.core.fileformat import dumps, load
from studio.ui.testing import open_window
from tests.helpers import EXAMPLES, ROOT

WAIT_MS = 60_000


class BoxAnswer:
    """Answer the next modal message box with a button (by its text); keep what it said."""

    def __init__(self, button_text: str):
        self.text = None

        def answer():  # a closure: the timer keeps it (and this object) alive
            box = QApplication.activeModalWidget()
            if isinstance(box, QMessageBox):
                self.text = f"{box.text()} {box.informativeText()}"
                for b in box.buttons():
                    if b.text().replace("&", "") == button_text:
                        b.click()
                        return
            QTimer.singleShot(20, answer)

        QTimer.singleShot(20, answer)


def answer_file_dialog(path):
    """Type ``path`` into the next (non-native) file dialog and accept it."""
    def answer():
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QFileDialog):
            dialog.findChild(QLineEdit, "fileNameEdit").setText(str(path))
            dialog.accept()
            return
        QTimer.singleShot(20, answer)
    QTimer.singleShot(20, answer)


def trained_lenet(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    assert window.files.open_example(EXAMPLES / "lenet.studio")
    window.editor.set_settings({"steps": 30})
    window.dashboard.panel.train_action.trigger()
    controller = window.dashboard.controller
    qtbot.waitUntil(lambda: controller.state == "finished" and controller.weights_unsaved,
                    timeout=WAIT_MS)
    window.session.doc.mark_saved()  # only the weights are unsaved now
    return window


def test_trained_weights_are_not_thrown_away_without_asking(qtbot, tmp_path):
    window = trained_lenet(qtbot, tmp_path)
    controller = window.dashboard.controller
    run = controller.run
    box = BoxAnswer("Cancel")
    assert not window.files.open_example(EXAMPLES / "dcgan.studio")
    assert "trained weights from the last run (2 epochs)" in box.text
    assert "unsaved changes" not in box.text
    # Cancel keeps everything: the project, its run and its weights
    assert window.session.project.name == "LeNet"
    assert controller.run is run and controller.weights_unsaved
    # Save keeps both: Save As asks where, the weights go beside the project
    target = tmp_path / "mine" / "lenet.studio"
    target.parent.mkdir()
    box = BoxAnswer("Save")
    answer_file_dialog(target)
    assert window.files.open_example(EXAMPLES / "dcgan.studio")
    assert target.exists() and (tmp_path / "mine" / "lenet.ckpt").exists()
    assert window.session.project.name == "DCGAN"


def test_quitting_names_the_changes_and_the_weights(qtbot, tmp_path):
    window = trained_lenet(qtbot, tmp_path)
    window.editor.set_params("training", "fc1", {"out_features": 99})
    box = BoxAnswer("Cancel")
    window.close()
    assert window.isVisible()
    assert "unsaved changes to LeNet" in box.text
    assert "trained weights from the last run" in box.text
    box = BoxAnswer("Discard")
    window.close()
    assert not window.isVisible()


def test_a_bundled_example_opened_by_path_is_an_untitled_copy(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    example = EXAMPLES / "lenet.studio"
    shipped = example.read_bytes()
    assert window.open_path(example, ask=False)
    assert window.session.doc.path is None
    window.editor.set_params("training", "fc1", {"out_features": 99})
    target = tmp_path / "my_lenet.studio"
    answer_file_dialog(target)
    window.actions.save.trigger()  # Ctrl+S asks where: the example is never overwritten
    assert example.read_bytes() == shipped
    assert load(target).name == "LeNet"  # a name its author chose stays
    assert window.session.doc.path == str(target)


def test_studio_file_on_an_example_opens_a_copy(tmp_path):
    code = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
def look():
    window = next(w for w in app.topLevelWidgets() if w.objectName() == "studio_main_window")
    print(window.windowTitle(), window.session.doc.path)
    window.close()
QTimer.singleShot(200, look)
from studio.cli import main
print("exit", main(["examples/lenet.studio"]))
"""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT),
               STUDIO_RECOVERY_DIR=str(tmp_path / "recovery"), XDG_CONFIG_HOME=str(tmp_path),
               HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env=env, timeout=60)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    assert lines[-2] == "LeNet (unsaved)[*] \u2014 Studio None"
    assert lines[-1] == "exit 0"


def test_a_new_project_takes_its_name_from_the_file_it_is_saved_as(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    assert window.files.new_project("classifier")
    assert window.session.project.name == "Classifier"
    assert window.files.save_to(tmp_path / "tiny.studio")
    assert window.session.project.name == "tiny"
    assert load(tmp_path / "tiny.studio").name == "tiny"
    assert "class Tiny" in window.session.ensure_code().model_source
    assert "tiny.studio" in window.windowTitle()
    # once saved, the name is the user's: Save As elsewhere keeps it
    assert window.files.save_to(tmp_path / "other.studio")
    assert load(tmp_path / "other.studio").name == "tiny"


def test_export_suggests_a_folder_beside_the_project_and_can_create_one(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    project_dir = tmp_path / "work"
    project_dir.mkdir()
    shutil.copy(EXAMPLES / "lenet.studio", project_dir / "lenet.studio")
    assert window.open_path(project_dir / "lenet.studio", ask=False)
    dialog = window.exporter.export_code_dialog()
    qtbot.waitExposed(dialog)
    assert dialog.target() == project_dir / "lenet_export"
    assert not dialog.weights.isEnabled()  # nothing trained: no weights to offer
    dialog.browse.click()
    chooser = dialog.chooser
    qtbot.waitExposed(chooser)
    assert Path(chooser.directory().absolutePath()) == project_dir  # starts beside the project
    new_folder = chooser.findChild(QToolButton, "newFolderButton")
    assert new_folder is not None and new_folder.isVisible() and new_folder.isEnabled()
    chooser.reject()
    dialog.folder.setText(str(project_dir / "fresh" / "code"))  # a folder that does not exist
    dialog.export_button.click()
    out = project_dir / "fresh" / "code"
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["data/digits.npz", "model.py", "train.py"]
    message = window.statusBar().currentMessage()
    assert all(name in message for name in written) and "(3 files)" in message


def test_export_asks_before_replacing_files_there(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    window.set_document(Document(load(EXAMPLES / "lenet.studio")))
    out = tmp_path / "out"
    out.mkdir()
    (out / "train.py").write_text("# my own edits")
    box = BoxAnswer("Cancel")
    assert not window.exporter.export_code(out)
    assert "train.py" in box.text
    assert (out / "train.py").read_text() == "# my own edits"
    BoxAnswer("Yes")
    assert window.exporter.export_code(out)
    assert (out / "train.py").read_text() == window.session.ensure_code().exported_train_source
    assert dumps(window.session.project)  # the project itself is untouched by exporting


def test_export_from_the_window_carries_the_trained_weights_into_onnx(qtbot, tmp_path):
    onnx = pytest.importorskip("onnx")
    import torch
    from onnx import numpy_helper

    window = trained_lenet(qtbot, tmp_path)
    checkpoint = window.dashboard.controller.trained_checkpoint()
    trained = torch.load(checkpoint, weights_only=True)["networks"]["lenet"]
    out = tmp_path / "export"
    assert window.exporter.export_code(out, weights=True, onnx=True)
    message = window.statusBar().currentMessage()
    for name in ("model.py", "train.py", "data/digits.npz", "weights.pt", "model.onnx"):
        assert name in message
    assert "(5 files)" in message
    graph = onnx.load(out / "model.onnx").graph
    initializers = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for name, tensor in trained.items():
        np.testing.assert_array_equal(initializers[name], tensor.numpy(), err_msg=name)


def test_the_export_dialog_writes_safetensors_torchscript_and_torch_export_programs(qtbot, tmp_path):
    import torch

    from tests.test_export_programs import exported_module, largest_difference, run_without_studio

    window = trained_lenet(qtbot, tmp_path)
    dialog = window.exporter.export_code_dialog()
    qtbot.waitExposed(dialog)
    out = tmp_path / "deploy"
    dialog.folder.setText(str(out))
    formats = dialog.findChild(QComboBox, "export_weights_format")
    assert formats.isEnabled() and formats.currentText() == "weights.pt"
    formats.setCurrentIndex(formats.findText("weights.safetensors"))
    for kind in ("torchscript", "torch_export"):
        box = dialog.findChild(QCheckBox, f"export_{kind}")
        assert box.isEnabled() and not box.isChecked()
        box.click()
    dialog.export_button.click()
    qtbot.waitUntil(lambda: (out / "model.pt2").exists(), timeout=WAIT_MS)
    message = window.statusBar().currentMessage()
    assert "model.torchscript.pt" in message and "model.pt2" in message
    assert "weights.safetensors" in message and not (out / "weights.pt").exists()
    module = exported_module(out, "LeNet", "lenet", "weights.safetensors")
    images = (torch.randn(2, 1, 32, 32),)
    for kind, name in (("torchscript", "model.torchscript.pt"), ("torch-export", "model.pt2")):
        got = run_without_studio(kind, out / name, images, tmp_path)
        assert largest_difference(got, module, images) < 1e-5, kind
