"""Property: any sequence of edits made through the editor (drops, wires, moves, parameter
edits, deletes, duplicates, pastes, undo and redo in between) leaves the canvas mirroring the
document, and undoing everything returns the starting document exactly; redoing everything
returns the end state."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QPointF

from studio.core.document import Document
from studio.core.fileformat import dumps, load
from studio.core.inference import node_ports
from studio.ui.testing import open_window
from tests.helpers import EXAMPLES

BLOCKS = ["Conv2d", "ReLU", "Linear", "Flatten", "BatchNorm2d", "Add", "Tanh", "MaxPool2d"]
OPS = ["drop", "drop_on_wire", "wire", "move", "param", "title", "delete", "delete_reconnect",
       "duplicate", "linked", "copy_paste", "undo", "redo", "disconnect", "layout"]

edit = st.tuples(st.sampled_from(OPS), st.integers(0, 10_000), st.integers(0, 10_000))


def _pick(seq, i):
    seq = list(seq)
    return seq[i % len(seq)] if seq else None


def _apply(window, op, a, b):
    ed, key = window.editor, "training"
    graph = window.session.doc.graph(key)
    scene = window.scene(key)
    ids = list(graph.nodes)
    if op == "drop":
        window.view(key).drop_block(_pick(BLOCKS, a), QPointF(a % 900, b % 600))
    elif op == "drop_on_wire" and scene.wires:
        wire = _pick(scene.wires, a)
        window.view(key).drop_block(_pick(BLOCKS, b), wire._path.pointAtPercent(0.5))
    elif op == "wire" and ids:
        src, dst = _pick(ids, a), _pick(ids, b)
        outs, ins = node_ports(graph, src, "output"), node_ports(graph, dst, "input")
        if outs and ins:
            ed.connect(key, src, _pick(outs, b).name, dst, _pick(ins, a).name)
    elif op == "move" and ids:
        node = _pick(ids, a)
        start = {node: graph.nodes[node].pos}
        for step in range(3):
            scene.drag_nodes(start, (step * (a % 50), step * (b % 50)))
        window.session.end_merge()
    elif op == "param" and ids:
        node = graph.nodes[_pick(ids, a)]
        for name, value in (("out_channels", 1 + b % 32), ("out_features", 1 + b % 64),
                            ("kernel_size", 1 + b % 3)):
            if name in node.params:
                ed.set_params(key, node.id, {name: value})
                break
    elif op == "title" and ids:
        ed.set_title(key, _pick(ids, a), f"n{b % 7}")
    elif op in ("delete", "delete_reconnect") and ids:
        ed.delete(key, [_pick(ids, a)], reconnect=op == "delete_reconnect")
    elif op in ("duplicate", "linked") and ids:
        ed.duplicate(key, [_pick(ids, a)], linked=op == "linked")
    elif op == "copy_paste" and ids:
        text = ed.copy_data(key, [_pick(ids, a), _pick(ids, b)])
        if text:
            ed.paste(key, text)
    elif op == "undo":
        window.session.undo()
    elif op == "redo":
        window.session.redo()
    elif op == "disconnect" and graph.edges:
        ed.disconnect(key, [_pick(graph.edges, a)])
    elif op == "layout":
        ed.auto_layout(key)


def _mirrors(window):
    for key, view in window.views.items():
        graph = window.session.doc.graph(key)
        scene = view.scene()
        assert set(scene.nodes) == set(graph.nodes)
        for n, item in scene.nodes.items():
            assert (item.pos().x(), item.pos().y()) == tuple(graph.nodes[n].pos)
            assert item.title == (graph.nodes[n].title or n)
        drawn = sorted((w.edge.src, w.edge.src_port, w.edge.dst, w.edge.dst_port)
                       for w in scene.wires)
        wired = sorted((e.src, e.src_port, e.dst, e.dst_port) for e in graph.edges
                       if scene.nodes[e.src].port("output", e.src_port) is not None and
                       scene.nodes[e.dst].port("input", e.dst_port) is not None)
        assert drawn == wired


def test_random_edits_undo_to_the_start(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)

    @settings(max_examples=30, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.booleans(), st.lists(edit, min_size=1, max_size=14))
    def run(from_lenet, edits):
        project = load(EXAMPLES / "lenet.studio") if from_lenet else Document().project
        window.set_document(Document(project))
        doc = window.session.doc
        start = dumps(doc.project)
        for op, a, b in edits:
            _apply(window, op, a, b)
            _mirrors(window)
        end = dumps(doc.project)
        undone = 0
        while doc.can_undo:
            window.session.undo()
            undone += 1
        assert dumps(doc.project) == start
        _mirrors(window)
        for _ in range(undone):
            window.session.redo()
        assert dumps(doc.project) == end
        _mirrors(window)
        doc.mark_saved()

    run()
