"""Predict on Image in the window: File > Predict on Image... and a picture file dropped on the
window classify it with the trained LeNet and show the result panel, with the selected node's
feature maps for that picture."""

import shutil

import numpy as np
import pytest

from studio.core.fileformat import load
from studio.engine.library.data import _write_png
from studio.engine.loader import RESOURCES_DATA
from studio.engine.runner import RunConfig
from studio.engine.trainer import train_project
from studio.ui.testing import drop_files
from tests.helpers import EXAMPLES


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """LeNet copied into a folder and trained briefly, its weights beside it as lenet.ckpt (as
    Save Weights leaves them), and a digit drawn as a PNG file."""
    folder = tmp_path_factory.mktemp("predict")
    shutil.copy(EXAMPLES / "lenet.studio", folder / "lenet.studio")
    train_project(load(folder / "lenet.studio"), RunConfig(
        steps=40, device="cpu", checkpoint_path=str(folder / "lenet.ckpt")), progress=False)
    with np.load(RESOURCES_DATA / "digits.npz") as archive:
        digit = archive["images"][0]
    _write_png(folder / "digit.png", np.kron((digit / 16 * 255).astype(np.uint8),
                                             np.ones((4, 4), np.uint8)))
    return folder


def _open(window, trained):
    assert window.open_path(trained / "lenet.studio", ask=False)
    window.select_node("training", "conv1")  # its feature maps come with the answer
    assert window.dashboard.controller.watched == "training/conv1"
    return window.predictor


def _wait_for_answer(qtbot, predictor, count=1):
    panel = predictor.panel
    qtbot.waitUntil(lambda: not predictor.running and len(panel.answers) == count,
                    timeout=120_000)
    assert predictor.dock.isVisible() and panel.bars
    probabilities = [bar.value() for bar in panel.bars]
    assert len(panel.bars) == 5 and probabilities == sorted(probabilities, reverse=True)
    assert panel.maps.mode == "maps" and "conv1" in panel.maps.caption.text()
    assert panel.picture.pixels.shape == (32, 32, 3)  # as LeNet saw it: 32 x 32 grey
    assert "classified" in panel.status.text()


def test_file_predict_on_image_shows_the_result_panel(window, qtbot, trained):
    predictor = _open(window, trained)
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    assert predictor.action in file_menu.actions() and predictor.action.isEnabled()
    predictor.action.trigger()
    dialog = predictor.file_dialog
    assert dialog.isVisible()
    dialog.selectFile(str(trained / "digit.png"))
    dialog.accept()
    assert predictor.running
    _wait_for_answer(qtbot, predictor)
    assert window.dashboard.controller.occupied is None


def test_dropping_a_picture_on_the_window_predicts(window, qtbot, trained, tmp_path):
    predictor = _open(window, trained)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    assert not drop_files(window, [notes])  # not a picture's name: the window does not take it
    broken = tmp_path / "broken.png"
    broken.write_text("not a picture either")
    assert drop_files(window, [broken])
    assert not predictor.running and "broken.png: not a PNG image" in predictor.panel.status.text()
    assert drop_files(window, [trained / "digit.png"])
    _wait_for_answer(qtbot, predictor)
