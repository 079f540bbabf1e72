"""File > Import Model... in the window: the dialog says a Python file will be run,
runs ``studio import`` in a process of its own and opens the project it writes; a model Studio
cannot represent leaves no file and its problems are shown in the dialog."""

from __future__ import annotations

import importlib.util

import pytest
from PySide6.QtWidgets import QDialogButtonBox

from tests.test_model_import import BAD, TINY


def _dialog(window, source, factory, out, shape):
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    action = window.files.import_action
    assert action in file_menu.actions() and action.isEnabled()
    action.trigger()
    dialog = window.files.importer
    assert dialog.isVisible()
    assert "runs this Python file" in dialog.warning.text()
    dialog.source.setText(str(source))
    dialog.factory.setText(factory)
    dialog.shape.setText(shape)
    dialog.out.setText(str(out))
    assert dialog.buttons.button(QDialogButtonBox.Cancel).isEnabled()
    dialog.run_button.click()
    return dialog


def test_import_opens_the_imported_project(window, qtbot, tmp_path):
    source = tmp_path / "tiny.py"
    source.write_text(TINY)
    out = tmp_path / "tiny.studio"
    dialog = _dialog(window, source, "make", out, "3x16x16")
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=120_000)
    assert window.session.doc.path == str(out)
    project = window.session.project
    assert {"Dataset", "Network", "CrossEntropy", "Adam"} <= {
        n.block for n in project.training.nodes.values()}
    assert "Unit" in project.networks  # the block used twice is one reusable network
    assert (tmp_path / "tiny.ckpt").is_file()


def test_a_model_studio_cannot_represent_is_refused_in_the_dialog(window, qtbot, tmp_path):
    source = tmp_path / "bad.py"
    source.write_text(BAD)
    out = tmp_path / "bad.studio"
    before = window.session.project
    dialog = _dialog(window, source, "Unsupported", out, "3x8x8")
    qtbot.waitUntil(lambda: dialog.run_button.isEnabled(), timeout=120_000)
    assert dialog.isVisible()
    assert "torch.cumsum" in dialog.message.text() and "odd.0" in dialog.message.text()
    assert not out.exists() and window.session.project is before
    dialog.reject()


def test_an_onnx_file_imports_without_factory_or_shape(window, qtbot, tmp_path, monkeypatch):
    if importlib.util.find_spec("onnx2torch") is None:
        pytest.skip("needs the onnx-import extra")
    import torch
    from torch import nn

    from tests.test_onnx_import import _environment, export_onnx

    path = _environment().get("PYTHONPATH")
    if path:  # the stand-in torchvision, where the installed one cannot be imported
        monkeypatch.setenv("PYTHONPATH", path)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 6 * 6, 5))
    source = tmp_path / "small.onnx"
    export_onnx(model, source, 8)
    window.files.import_action.trigger()
    dialog = window.files.importer
    dialog.source.setText(str(source))
    assert not dialog.factory.isEnabled() and dialog.shape.text() == ""
    assert "nothing in it runs" in dialog.warning.text()
    assert dialog.run_button.text() == "Import"
    out = tmp_path / "small.studio"
    dialog.out.setText(str(out))
    dialog.run_button.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=120_000)
    assert window.session.doc.path == str(out)
    project = window.session.project
    dataset = next(n for n in project.training.nodes.values() if n.block == "Dataset")
    # the file's 3x8x8 input chose the dataset's images
    assert (dataset.params["size"], dataset.params["channels"]) == (8, 3)
    assert (tmp_path / "small.ckpt").is_file()
