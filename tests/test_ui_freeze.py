"""Freeze from the window: the inspector's Frozen box on a layer is one undoable edit, drawn on
the canvas (a snowflake badge), saved with the project, and the generated code shows it."""

from __future__ import annotations

from studio.core.document import Document
from studio.core.fileformat import load
from studio.engine.codegen import generate
from studio.ui.testing import click_node, open_window
from tests.helpers import EXAMPLES


def test_the_frozen_box_freezes_a_layer_undoably(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    window.set_document(Document(load(EXAMPLES / "lenet.studio")))
    view = window.view()
    doc = window.session.doc
    click_node(view, "conv1")
    box = window.inspector.page.frozen_box
    assert box is not None and not box.isChecked()
    box.click()
    assert doc.graph("training").nodes["conv1"].frozen
    assert "self.conv1.requires_grad_(False)" in generate(doc.project).model_source
    # drawn visibly: the node carries the frozen badge (a snowflake) and says so
    item = view.scene().nodes["conv1"]
    assert item.frozen and "Frozen" in item.toolTip()
    assert not view.scene().nodes["conv2"].frozen
    window.actions.undo.trigger()
    assert not doc.graph("training").nodes["conv1"].frozen and not box.isChecked()
    assert not view.scene().nodes["conv1"].frozen
    window.actions.redo.trigger()
    assert doc.graph("training").nodes["conv1"].frozen and box.isChecked()
    assert view.scene().nodes["conv1"].frozen
    assert window.files.save_to(tmp_path / "frozen.studio")
    assert load(tmp_path / "frozen.studio").training.nodes["conv1"].frozen
    # a block without weights has no box
    click_node(view, "tanh1")
    assert window.inspector.page.frozen_box is None
