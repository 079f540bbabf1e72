"""Build the LeNet example from an empty canvas the way a user does: blocks dropped from the
palette, wires dragged between ports with the mouse, parameters typed into the inspector. Save it,
compare with examples/lenet.studio, undo everything back to empty and redo it all."""

from __future__ import annotations

from PySide6.QtCore import QPointF

from studio.core.fileformat import dumps, load
from studio.core.inference import topological_order
from studio.core.project import Project
from studio.ui.testing import drag_wire, drop_block, type_into
from tests.helpers import EXAMPLES


def canonical(project: Project) -> dict:
    """What must match: blocks, titles, parameters and wiring of every graph, and the training
    settings; ids and positions may differ (nodes are named by their place in the order)."""
    out = {"settings": dict(project.training.settings), "graphs": {}}
    for key, graph in project.graphs():
        order, _ = topological_order(graph)
        index = {n: i for i, n in enumerate(order)}
        nodes = [(graph.nodes[n].block, graph.nodes[n].title, sorted(graph.nodes[n].params.items(),
                                                                     key=str)) for n in order]
        edges = sorted((index[e.src], e.src_port, index[e.dst], e.dst_port) for e in graph.edges)
        out["graphs"][key] = (nodes, edges)
    return out


# (block, title, {parameter: text typed into the inspector})
LENET = [
    ("Dataset", "digits", {}),
    ("Conv2d", "conv1", {"out_channels": "6", "kernel_size": "5"}),
    ("Tanh", "", {}),
    ("AvgPool2d", "pool1", {}),
    ("Conv2d", "conv2", {"out_channels": "16", "kernel_size": "5"}),
    ("Tanh", "", {}),
    ("AvgPool2d", "pool2", {}),
    ("Flatten", "", {}),
    ("Linear", "fc1", {"out_features": "120"}),
    ("Tanh", "", {}),
    ("Linear", "fc2", {"out_features": "84"}),
    ("Tanh", "", {}),
    ("Linear", "fc3", {"out_features": "10"}),
    ("CrossEntropy", "loss", {}),
    ("Adam", "adam", {"lr": "0.001"}),
]


def test_build_lenet_like_a_user(window, qtbot, tmp_path):
    view = window.view("training")
    scene = view.scene()
    doc = window.session.doc
    start = dumps(doc.project)
    ids = []
    for i, (block, title, params) in enumerate(LENET):
        row, col = divmod(i, 5)
        at = QPointF(col * 230 + 75, row * 160 + 12)
        node_id = drop_block(view, block, at)
        assert node_id is not None, block
        ids.append(node_id)
        assert scene.selected_ids() == [node_id]
        ins = window.inspector
        if title:
            type_into(ins.title_edit, title)
        for name, text in params.items():
            type_into(ins.editors[name].widget, text)
    assert len(scene.nodes) == len(LENET)
    # the chain, then the label into the loss, then the loss into the optimizer
    for a, b in zip(ids[:13], ids[1:13]):
        src_port = "image" if a == ids[0] else "out"
        drag_wire(view, a, src_port, b, "x")
    drag_wire(view, ids[12], "out", ids[13], "input")
    drag_wire(view, ids[0], "label", ids[13], "target")
    drag_wire(view, ids[13], "loss", ids[14], "loss")
    assert len(scene.wires) == 15
    # the settings of a run are the Training panel's (the inspector shows only the advanced ones)
    scene.clearSelection()
    assert "settings.epochs" not in window.inspector.editors
    type_into(window.dashboard.panel.editors["epochs"].widget, "12")
    assert window.session.analysis.problems == []
    assert window.session.analysis.total_params == 61_706

    path = tmp_path / "lenet.studio"
    assert window.files.save_to(path)
    assert not doc.modified and "lenet.studio" in window.windowTitle()
    built = canonical(load(path))
    assert built == canonical(load(EXAMPLES / "lenet.studio"))

    steps = 0
    while doc.can_undo:
        window.actions.undo.trigger()
        steps += 1
    # every edit undone; the name the project took from its file on first save is no edit
    assert doc.project.name == "lenet"
    assert dumps(doc.project) == start.replace('"name": "Untitled"', '"name": "lenet"', 1)
    assert not scene.nodes and not scene.wires
    # one step per drop, typing burst, wire and the settings edit
    typed = sum(len(p) + bool(t) for _, t, p in LENET)
    assert steps == len(LENET) + typed + 15 + 1
    while doc.can_redo:
        window.actions.redo.trigger()
    assert canonical(doc.project) == built
    assert len(scene.nodes) == 15 and len(scene.wires) == 15
    assert window.session.analysis.total_params == 61_706
