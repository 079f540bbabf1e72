"""The canvas at scale: after edits, the items updated from an analysis that names what changed
show what a freshly built scene shows; zoomed out, wires are drawn by one overview item and
ports are not asked to paint, yet both can still be hit; zoomed in, each draws itself."""

from __future__ import annotations

import random

import pytest
from PySide6.QtWidgets import QApplication, QGraphicsItem

from studio.ui.canvas.node_item import BOX_ZOOM
from studio.ui.canvas.port_item import DRAWN_FROM
from studio.ui.canvas.scene import GraphScene
from studio.ui.testing import open_window
from tests.helpers import EXAMPLES

NO_CONTENTS = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents


@pytest.fixture
def lenet(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    assert window.open_path(EXAMPLES / "lenet.studio", ask=False)
    return window


def _shown(scene: GraphScene) -> dict:
    nodes = {n: (i.shape_label, i.params_label, [str(p) for p in i.problems], i.toolTip())
             for n, i in scene.nodes.items()}
    wires = [(w.edge, w.label, w.kind) for w in scene.wires]
    return {"nodes": nodes, "wires": wires}


def test_edits_show_what_a_fresh_scene_shows(lenet):
    rng = random.Random(7)
    scene = lenet.scene()
    before = scene._shown
    for _ in range(25):
        node = rng.choice(["conv1", "conv2", "pool1", "fc1", "fc2"])
        params = lenet.session.doc.graph("training").nodes[node].params
        name = "out_channels" if "out_channels" in params else \
            "out_features" if "out_features" in params else "kernel_size"
        value = rng.choice([2, 3, 6, 16, 120] if name != "kernel_size" else [1, 2, 3, 5, 40])
        lenet.editor.set_params("training", node, {name: value}, merge=False)
        if rng.random() < 0.3:
            lenet.session.undo()
    assert scene._shown != before and lenet.session.analysis.changed is not None
    fresh = GraphScene(lenet.editor, "training")
    assert _shown(scene) == _shown(fresh)
    problems = [p for p in lenet.session.analysis.problems if p.node]
    assert problems  # some edits broke the graph, and the fresh scene agrees on where


def test_an_edit_updates_only_the_nodes_it_changed(lenet):
    scene = lenet.scene()
    calls = []
    for node_id, item in scene.nodes.items():
        original = item.set_result
        item.set_result = lambda row, problems, n=node_id, f=original: (calls.append(n),
                                                                         f(row, problems))[1]
    lenet.editor.set_params("training", "fc2", {"out_features": 12}, merge=False)
    assert set(calls) == set(n for g, n in lenet.session.analysis.changed if g == "training")
    assert "conv1" not in calls and "fc2" in calls


def test_zoomed_out_wires_and_ports_are_drawn_as_a_whole_yet_can_be_hit(lenet):
    view, scene = lenet.view(), lenet.scene()
    view.set_zoom(BOX_ZOOM / 2)
    ports = [p for item in scene.nodes.values() for p in item.inputs.values()]
    assert all(w.flags() & NO_CONTENTS for w in scene.wires)
    assert all(p.flags() & NO_CONTENTS for p in ports)
    assert not scene._overview.items_draw
    port = ports[0]
    assert scene.port_at(port.scenePos()) is not None  # still grabbed where it is
    wire = scene.wires[0]
    assert scene.wire_at(wire.path().pointAtPercent(0.5)) is not None
    image = view.viewport().grab().toImage()
    background = image.pixel(2, 2)
    assert any(image.pixel(x, y) != background for x in range(0, image.width(), 7)
               for y in range(0, image.height(), 7))
    view.set_zoom(max(DRAWN_FROM, 1.0))
    assert not any(w.flags() & NO_CONTENTS for w in scene.wires)
    assert not any(p.flags() & NO_CONTENTS for p in ports)
    assert scene._overview.items_draw


def test_a_node_added_while_zoomed_out_follows_the_zoom(lenet):
    view, scene = lenet.view(), lenet.scene()
    view.set_zoom(DRAWN_FROM / 2)
    node_id = lenet.editor.drop_block("training", "ReLU", (0.0, 900.0))
    item = scene.nodes[node_id]
    assert all(p.flags() & NO_CONTENTS for p in item.inputs.values())
    view.set_zoom(1.0)
    assert not any(p.flags() & NO_CONTENTS for p in item.inputs.values())


def test_the_minimap_is_drawn_again_once_edits_settle_and_never_for_a_pan(lenet, qtbot):
    view, scene = lenet.view(), lenet.scene()
    minimap = view.minimap
    view.set_zoom(3.0)  # the graph no longer fits: the minimap shows it
    qtbot.waitUntil(lambda: minimap.isVisible() and minimap._pixmap is not None)
    minimap._settling.stop()
    drawn, measured = [], []
    draw, measure = minimap._render, scene.content_rect
    minimap._render = lambda *args: (drawn.append(1), draw(*args))
    scene.content_rect = lambda: (measured.append(1), measure())[1]
    view.pan_by(40, 20)
    minimap.refresh()  # what the view's move asks for
    assert not drawn and not measured  # a pan moves the outline only
    for width in (3, 4, 5):  # a burst of edits: each one puts the drawing off again
        lenet.editor.set_params("training", "fc2", {"out_features": width}, merge=False)
        QApplication.processEvents()  # the scene tells of its change
        assert minimap._settling.isActive()
        minimap.refresh()
    assert not drawn and not measured
    minimap._settling.stop()  # the scene settled
    minimap.refresh()
    assert len(drawn) == 1 and len(measured) == 1


def _label_rects(scene: GraphScene) -> dict:
    return {(w.edge.src, w.edge.dst, w.edge.dst_port): w.label_rect() for w in scene.wires
            if w.label}


def test_labels_an_error_took_away_come_back_where_they_were_and_never_overlap(lenet):
    scene = lenet.scene()
    before = _label_rects(scene)
    lenet.editor.set_params("training", "conv1", {"kernel_size": 40}, merge=False)
    gone = before.keys() - _label_rects(scene).keys()
    assert len(gone) >= 5  # everything after conv1 lost its shape
    lenet.session.undo()
    assert _label_rects(scene) == before
    rng = random.Random(3)
    for _ in range(20):  # labels that grow, shrink, go and come back
        node, name, values = rng.choice([("conv1", "out_channels", [2, 6, 120, 1000]),
                                         ("conv1", "kernel_size", [3, 5, 40]),
                                         ("fc1", "out_features", [8, 120, 12345])])
        lenet.editor.set_params("training", node, {name: rng.choice(values)}, merge=False)
        labels = list(_label_rects(scene).values())
        for i, a in enumerate(labels):
            assert not any(a.intersects(b) for b in labels[i + 1:])
            assert not any(a.intersects(item.scene_rect()) for item in scene.nodes.values())
