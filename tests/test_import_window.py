"""File > Import PyTorch Model... in the window: the dialog says the Python file will be run,
runs ``studio import`` in a process of its own and opens the project it writes; a model Studio
cannot represent leaves no file and its problems are shown in the dialog."""

from __future__ import annotations

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
