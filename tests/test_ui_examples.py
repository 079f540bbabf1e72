"""Every example opens in the editor without problems and looks tidy without manual moving: no
node overlaps another, and no wire label sits on a node or on another label."""

from __future__ import annotations

import pytest

from studio.ui.canvas.wire_item import WireItem
from studio.ui.testing import open_window
from tests.helpers import EXAMPLES

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.studio"))


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    return tmp_path_factory.mktemp("examples")


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_opens_tidy(qtbot, shared, path):
    window = open_window(qtbot, shared)
    assert window.open_path(path, ask=False)
    session = window.session
    assert session.analysis.problems == []
    assert window.problems.count() == 0
    assert "problems" not in window.problems_dock.windowTitle().lower() or \
        window.problems_dock.windowTitle() == "Problems"
    assert set(window.views) == {"training", *session.project.networks}
    for key, view in window.views.items():
        scene = view.scene()
        graph = session.doc.graph(key)
        assert set(scene.nodes) == set(graph.nodes)
        assert len(scene.wires) == len(graph.edges)
        rects = {n: item.scene_rect() for n, item in scene.nodes.items()}
        names = sorted(rects)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                assert not rects[a].intersects(rects[b]), f"{key}: {a} overlaps {b}"
        labels = []
        for wire in scene.wires:
            assert isinstance(wire, WireItem)
            assert wire.label, f"{key}: the wire {wire.edge} has no shape label"
            box = wire.label_rect()
            for n, r in rects.items():
                assert not box.intersects(r), f"{key}: the label of {wire.edge} covers {n}"
            labels.append((wire.edge, box))
            path = wire.shape()  # the wire's stroke; it passes behind no other node
            for n, r in rects.items():
                if n not in (wire.edge.src, wire.edge.dst):
                    assert not path.intersects(r.adjusted(3, 3, -3, -3)), \
                        f"{key}: the wire {wire.edge} runs under {n}"
        for i, (ea, a) in enumerate(labels):
            for eb, b in labels[i + 1:]:
                same_source = (ea.src, ea.src_port) == (eb.src, eb.src_port)
                assert same_source or not a.intersects(b), f"{key}: labels of {ea} and {eb} overlap"
        # every node shows its output shape (those with outputs) and the badge is off
        for n, item in scene.nodes.items():
            assert not item.problems
            if item.outputs:
                assert item.shape_label, f"{key}/{n} shows no output shape"
    window.session.doc.mark_saved()
