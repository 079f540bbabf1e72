"""Keeping weights in the window: Continue Training after an edit keeps the layers that still
fit, says which started afresh (status bar, Continue's tooltip) and marks them on the canvas
until the next edit; Train > Load Weights starts the next run from a file's weights."""

from __future__ import annotations

import torch

from studio.core.document import Document
from studio.core.fileformat import load
from studio.engine import checkpoint
from studio.ui.testing import open_window
from tests.helpers import EXAMPLES

WAIT_MS = 60_000


def lenet_window(qtbot, tmp_path, **settings):
    window = open_window(qtbot, tmp_path / "app")
    project = load(EXAMPLES / "lenet.studio")
    project.training.configure(**settings)
    window.set_document(Document(project))
    return window


def train(qtbot, window, resume: bool = False) -> None:
    dash = window.dashboard
    assert dash.panel.train(resume=resume)
    qtbot.waitUntil(lambda: dash.controller.state in ("finished", "stopped", "failed"),
                    timeout=WAIT_MS)
    assert dash.controller.state == "finished", dash.panel.error_text


def marked(window, graph: str = "training") -> dict:
    return {node_id: item.fresh_mark for node_id, item in window.scene(graph).nodes.items()
            if item.fresh_mark is not None}


def test_continue_after_widening_a_layer_keeps_the_rest_and_marks_what_started_afresh(
        qtbot, tmp_path):
    window = lenet_window(qtbot, tmp_path, steps=10)
    panel, controller = window.dashboard.panel, window.dashboard.controller
    train(qtbot, window)
    trained = checkpoint.load(controller.trained_checkpoint())["networks"]["lenet"]
    window.editor.set_params("training", "conv1", {"out_channels": 8})  # widened: conv2 too
    window.editor.set_settings({"steps": 10})  # no steps left: the weights stay as loaded
    # Continue stays offered, saying which layers will start afresh
    assert panel.continue_action.isEnabled()
    tip = panel.continue_action.toolTip()
    assert "start afresh" in tip and "conv1" in tip and "conv2" in tip and "fc1" not in tip
    train(qtbot, window, resume=True)
    assert window.dashboard.store.current.final.steps == 10
    # the status bar names them; the canvas marks them, with the reason in the tooltip
    message = window.statusBar().currentMessage()
    assert "started afresh: conv1, conv2" in message
    marks = marked(window)
    assert sorted(marks) == ["conv1", "conv2"]
    assert "6x1x5x5" in marks["conv1"] and "8x1x5x5" in marks["conv1"]
    item = window.scene("training").nodes["conv1"]
    assert "started afresh" in item.toolTip()
    # every layer that fits kept its trained weights
    kept = checkpoint.load(controller.trained_checkpoint())["networks"]["lenet"]
    for name in ("fc1.weight", "fc2.weight", "fc3.bias"):
        assert torch.equal(kept[name], trained[name]), name
    assert kept["conv1.weight"].shape == (8, 1, 5, 5)
    # the next edit clears the marks; the trained state now fits: Continue continues exactly
    window.editor.set_settings({"steps": 20})
    assert marked(window) == {}
    assert "start afresh" not in panel.continue_action.toolTip()
    train(qtbot, window, resume=True)
    assert marked(window) == {} and window.dashboard.store.current.final.steps == 20


def test_load_weights_starts_the_next_run_from_a_file(qtbot, tmp_path):
    window = lenet_window(qtbot, tmp_path, steps=5)
    panel, controller = window.dashboard.panel, window.dashboard.controller
    assert panel.load_weights_action.isEnabled()
    train(qtbot, window)
    weights = dict(checkpoint.load(controller.trained_checkpoint())["networks"]["lenet"])
    weights["fc3.weight"] = torch.zeros(4, 84)  # another head: refused
    path = tmp_path / "pretrained.pt"
    torch.save(weights, path)
    assert not panel.load_weights(tmp_path / "missing.pt")
    assert "no weights file" in panel.error_text
    assert panel.load_weights(path)
    assert "pretrained.pt" in panel.state_label.text()
    window.editor.set_settings({"steps": 1})
    train(qtbot, window)
    assert controller.init_from is None  # for that run only
    assert "pretrained.pt" not in panel.state_label.text()
    assert "started afresh: fc3" in window.statusBar().currentMessage()
    assert sorted(marked(window)) == ["fc3"] and "4x84" in marked(window)["fc3"]
    # the run after starts from scratch again, and clears the marks
    train(qtbot, window)
    assert marked(window) == {}
