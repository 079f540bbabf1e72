"""Wirings that cannot work are refused with the reason shown (on the canvas and in the status
bar), and nothing changes; dropping a block on a wire inserts it; a taken input is rewired."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt

from studio.ui.testing import drag_wire, drop_block


def _blocks(window, *blocks):
    view = window.view("training")
    return [drop_block(view, b, QPointF(75 + 230 * i, 12 + 140 * (i % 2)))
            for i, b in enumerate(blocks)]


def _refused(window, view, src, sp, dst, dp, words):
    doc = window.session.doc
    before = (list(doc.graph("training").edges), doc.undo_depth)
    drag_wire(view, src, sp, dst, dp)
    assert (list(doc.graph("training").edges), doc.undo_depth) == before
    reason = view.scene().last_refusal
    assert all(w in reason for w in words), reason
    assert reason in window.statusBar().currentMessage()
    bubble = view.scene().wiring.note.bubble
    assert bubble is not None and bubble.isVisible() and reason in bubble.text()
    return reason


def test_bad_wirings_are_refused_with_the_reason(window):
    view = window.view("training")
    data, conv, relu, loss, adam = _blocks(window, "Dataset", "Conv2d", "ReLU", "CrossEntropy",
                                           "Adam")
    drag_wire(view, data, "image", conv, "x")
    drag_wire(view, conv, "out", relu, "x")
    assert len(view.scene().wires) == 2
    # a tensor into an optimizer's loss input
    _refused(window, view, relu, "out", adam, "loss", ["takes a loss"])
    # a loop back into the chain
    _refused(window, view, relu, "out", conv, "x", ["cycle"])
    # a node into itself
    _refused(window, view, conv, "out", conv, "x", ["itself"])
    # a loss into a layer
    drag_wire(view, relu, "out", loss, "input")
    drag_wire(view, data, "label", loss, "target")
    _refused(window, view, loss, "loss", relu, "x", ["takes a tensor", "loss"])


def test_hovering_a_bad_port_shows_why_before_release(window):
    view = window.view("training")
    scene = view.scene()
    conv, adam = _blocks(window, "Conv2d", "Adam")
    start = scene.nodes[conv].port("output", "out")
    target = scene.nodes[adam].port("input", "loss")
    scene.begin_wire(start)
    assert scene.drag_wire_to(target.scenePos()) is target
    assert target.highlight == "bad"
    assert "takes a loss" in window.statusBar().currentMessage()
    scene.cancel_drag()


def test_a_taken_input_is_kept_unless_shift_replaces_it_in_one_step(window):
    view = window.view("training")
    doc = window.session.doc
    data, conv_a, conv_b = _blocks(window, "Dataset", "Conv2d", "Conv2d")
    drag_wire(view, data, "image", conv_a, "x")
    drag_wire(view, conv_a, "out", conv_b, "x")
    depth = doc.undo_depth
    # a plain drop on the taken input is refused, saying which wire is there and what to do
    _refused(window, view, data, "image", conv_b, "x", ["already has a wire from conv2d1.out",
                                                         "Shift"])
    # with Shift held it replaces that wire, in one undo step, and the status bar says so
    drag_wire(view, data, "image", conv_b, "x", modifiers=Qt.KeyboardModifier.ShiftModifier)
    edges = [(e.src, e.dst) for e in doc.graph("training").edges]
    assert (data, conv_b) in edges and (conv_a, conv_b) not in edges
    assert doc.undo_depth == depth + 1
    assert "Replaced the wire conv2d1.out" in window.statusBar().currentMessage()
    window.actions.undo.trigger()
    assert (conv_a, conv_b) in [(e.src, e.dst) for e in doc.graph("training").edges]
    assert (data, conv_b) not in [(e.src, e.dst) for e in doc.graph("training").edges]


def test_dropping_a_block_on_a_wire_inserts_it(window):
    view = window.view("training")
    scene = view.scene()
    doc = window.session.doc
    data, conv = _blocks(window, "Dataset", "Conv2d")
    drag_wire(view, data, "image", conv, "x")
    wire = scene.wires[0]
    at = wire.shape().boundingRect().center()
    at = wire._path.pointAtPercent(0.3)
    depth = doc.undo_depth
    new = drop_block(view, "BatchNorm2d", at)
    assert new is not None
    edges = {(e.src, e.src_port, e.dst, e.dst_port) for e in doc.graph("training").edges}
    assert edges == {(data, "image", new, "x"), (new, "out", conv, "x")}
    assert doc.undo_depth == depth + 1
    assert len(scene.wires) == 2


def test_wiring_from_an_input_port_backwards(window):
    view = window.view("training")
    scene = view.scene()
    data, conv = _blocks(window, "Dataset", "Conv2d")
    start = scene.nodes[conv].port("input", "x")
    end = scene.nodes[data].port("output", "image")
    scene.begin_wire(start)
    assert scene.end_wire(end.scenePos())
    assert [(e.src, e.dst) for e in window.session.doc.graph("training").edges] == [(data, conv)]
