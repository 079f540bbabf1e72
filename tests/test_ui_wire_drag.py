"""Dragging a wire as a user does, with real mouse events: ports that would not take it are
dimmed while dragging and the hovered one says why; a refused drop adds nothing; a taken input
is never rewired unseen; a wire let go on empty canvas offers the blocks that take it, and the
chosen one is added and wired in one undo step."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from studio.core.fileformat import dumps
from studio.ui.testing import drag_wire, drag_wire_to_canvas


def _state(window):
    doc = window.session.doc
    return dumps(doc.project), doc.undo_depth


def test_a_conv_output_is_refused_at_the_loss_target_while_dragging(lenet):
    """The symptom: conv2's 16x10x10 dropped on loss.target replaced the label wire unseen."""
    view = lenet.view("training")
    scene = view.scene()
    before = _state(lenet)
    target = scene.nodes["loss"].port("input", "target")
    seen = {}

    def look():
        seen["target"] = (target.drag_state, target.highlight, target.opacity())
        seen["fc1"] = scene.nodes["fc1"].port("input", "x").drag_state
        seen["tanh2"] = scene.nodes["tanh2"].port("input", "x").drag_state
        seen["reason"] = scene.hover_reason
        seen["status"] = lenet.statusBar().currentMessage()
        bubble = scene.wiring.note.bubble
        seen["bubble"] = bubble is not None and bubble.isVisible()

    drag_wire(view, "conv2", "out", "loss", "target", before_release=look)
    # while dragging: the target is dimmed and marked refused, and says why in words
    assert seen["target"][0] == "refused" and seen["target"][1] == "bad"
    assert seen["target"][2] < 0.5
    assert "16 x 10 x 10" in seen["reason"] and "target" in seen["reason"]
    assert seen["reason"] in seen["status"] and seen["bubble"]
    # a Linear cannot take an image-shaped tensor either; a Tanh can (it would replace a wire)
    assert seen["fc1"] == "refused" and seen["tanh2"] == "open"
    # the drop added nothing and replaced nothing; the marks are gone
    assert _state(lenet) == before
    assert "loss.target" in scene.last_refusal
    assert all(p.drag_state is None for n in scene.nodes.values() for p in n.inputs.values())


def test_a_taken_input_needs_shift_and_is_one_visible_undoable_edit(lenet):
    view = lenet.view("training")
    scene = view.scene()
    doc = lenet.session.doc
    before = _state(lenet)
    edges = lambda: {(e.src, e.src_port, e.dst, e.dst_port) for e in doc.graph("training").edges}  # noqa: E731
    # pool1 gives 6x14x14: tanh2 could take it, but tanh2.x has conv2's wire
    hovered = {}
    drag_wire(view, "pool1", "out", "tanh2", "x",
              before_release=lambda: hovered.update(
                  state=scene.nodes["tanh2"].port("input", "x").highlight,
                  reason=scene.hover_reason))
    assert hovered["state"] == "taken" and "Shift" in hovered["reason"]
    assert _state(lenet) == before
    assert "already has a wire from conv2.out" in lenet.statusBar().currentMessage()
    drag_wire(view, "pool1", "out", "tanh2", "x", modifiers=Qt.KeyboardModifier.ShiftModifier)
    assert ("pool1", "out", "tanh2", "x") in edges()
    assert ("conv2", "out", "tanh2", "x") not in edges()
    assert doc.undo_depth == before[1] + 1
    message = lenet.statusBar().currentMessage()
    assert "Replaced the wire conv2.out" in message and "pool1.out" in message
    lenet.actions.undo.trigger()
    assert _state(lenet)[0] == before[0]
    lenet.actions.redo.trigger()
    assert ("pool1", "out", "tanh2", "x") in edges()


def test_shift_does_not_force_a_wire_that_cannot_work(lenet):
    view = lenet.view("training")
    before = _state(lenet)
    drag_wire(view, "conv2", "out", "loss", "target", modifiers=Qt.KeyboardModifier.ShiftModifier)
    assert _state(lenet) == before
    assert "loss.target cannot take conv2.out" in view.scene().last_refusal


def _free_spot(view):
    """Empty canvas right of the graph, level with conv2."""
    scene = view.scene()
    right = max(item.scene_rect().right() for item in scene.nodes.values())
    return QPointF(right + 140, scene.nodes["conv2"].scene_rect().center().y())


def test_a_wire_let_go_on_empty_canvas_offers_only_blocks_that_take_it(lenet):
    view = lenet.view("training")
    doc = lenet.session.doc
    before = _state(lenet)
    at = _free_spot(view)
    assert view.scene().node_at(at) is None
    drag_wire_to_canvas(view, "conv2", "out", at)
    popup = lenet.quick_add
    assert popup.isVisible()
    assert "conv2.out" in popup.header.text()
    offered = popup.shown()
    # an image-shaped tensor: convolutions, pooling, activations; no Linear, no optimizer,
    # no data source (it has no input)
    assert {"Conv2d", "MaxPool2d", "ReLU", "Flatten", "BatchNorm2d"} <= set(offered)
    assert not {"Linear", "Adam", "Dataset", "BatchNorm1d"} & set(offered)
    # typing filters: by category word and help words
    QTest.keyClicks(popup.edit, "pool")
    assert popup.shown()[0].endswith("Pool2d") and "Conv2d" not in popup.shown()
    QTest.keyClick(popup.edit, Qt.Key.Key_Down)
    chosen = popup.list.currentItem().data(Qt.ItemDataRole.UserRole)
    QTest.keyClick(popup.edit, Qt.Key.Key_Return)
    assert not popup.isVisible()
    graph = doc.graph("training")
    new = lenet.scene().selected_ids()  # the added block is selected
    assert len(new) == 1 and graph.nodes[new[0]].block == chosen
    assert any(e.src == "conv2" and e.dst == new[0] for e in graph.edges)
    assert doc.undo_depth == before[1] + 1
    assert lenet.session.analysis.result("training", new[0]).ok
    # one undo step takes both the block and its wire away
    lenet.actions.undo.trigger()
    assert _state(lenet) == (before[0], before[1])


def test_escape_closes_the_popup_and_adds_nothing(lenet):
    view = lenet.view("training")
    before = _state(lenet)
    drag_wire_to_canvas(view, "fc3", "out", _free_spot(view))
    popup = lenet.quick_add
    assert popup.isVisible()
    offered = set(popup.shown())
    assert "Linear" in offered and "Conv2d" not in offered  # a vector of 10 scores
    QTest.keyClick(popup.edit, Qt.Key.Key_Escape)
    assert not popup.isVisible()
    assert _state(lenet) == before


def test_quick_add_shows_title_category_and_help(lenet):
    view = lenet.view("training")
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Tab)
    popup = lenet.quick_add
    assert popup.isVisible()
    QTest.keyClicks(popup.edit, "normalization")  # a category word finds its blocks
    shown = popup.shown()
    assert "BatchNorm2d" in shown and "ReLU" not in shown
    text = popup.list.item(shown.index("BatchNorm2d")).text()
    from studio.core.registry import get_block
    spec = get_block("BatchNorm2d")
    assert spec.title in text and "normalization" in text and spec.help in text
    QTest.keyClick(popup.edit, Qt.Key.Key_Escape)
