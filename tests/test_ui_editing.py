"""Editing in the window: selection commands, networks, the inspector, the code view, the
problems list, shortcuts and tooltips, files. Every edit is one undo step."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from studio.core.fileformat import dumps, load
from studio.core.registry import get_block
from studio.ui import theme
from studio.ui.testing import click_node, drag_wire, drop_block, mouse_drag, open_window, type_into
from tests.helpers import EXAMPLES


def _answer_box(button_text: str):
    def answer():
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            for b in box.buttons():
                if b.text().replace("&", "") == button_text:
                    b.click()
                    return
        QTimer.singleShot(20, answer)
    QTimer.singleShot(20, answer)


def _edges(window, key="training"):
    return {(e.src, e.src_port, e.dst, e.dst_port) for e in window.session.doc.graph(key).edges}


def test_delete_in_a_chain_offers_to_reconnect(lenet):
    scene = lenet.scene()
    scene.select_nodes(["tanh2"])
    _answer_box("Delete and Reconnect")
    lenet.actions.delete.trigger()
    assert "tanh2" not in scene.nodes
    assert ("conv2", "out", "pool2", "x") in _edges(lenet)
    lenet.actions.undo.trigger()
    assert "tanh2" in scene.nodes and ("conv2", "out", "tanh2", "x") in _edges(lenet)
    scene.select_nodes(["tanh2"])
    _answer_box("Just Delete")
    lenet.actions.delete.trigger()
    assert "tanh2" not in scene.nodes
    assert not any(e[0] == "conv2" for e in _edges(lenet))


def test_deleting_a_selected_wire(lenet):
    scene = lenet.scene()
    wire = next(w for w in scene.wires if w.edge.src == "fc1")
    scene.clearSelection()
    wire.setSelected(True)
    lenet.actions.delete.trigger()
    assert not any(e[0] == "fc1" for e in _edges(lenet))
    assert len(scene.wires) == 14


def test_copy_paste_duplicate_and_linked_duplicate(lenet):
    scene = lenet.scene()
    doc = lenet.session.doc
    scene.select_nodes(["conv1", "tanh1"])
    assert lenet.actions.copy.isEnabled()
    lenet.actions.copy.trigger()
    depth = doc.undo_depth
    lenet.actions.paste.trigger()
    pasted = scene.selected_ids()
    assert len(pasted) == 2 and doc.undo_depth == depth + 1
    between = {(a, b) for a, _, b, _ in _edges(lenet) if a in pasted and b in pasted}
    assert len(between) == 1  # the wire between them came along
    scene.select_nodes(["fc1"])
    lenet.actions.duplicate.trigger()
    dup = scene.selected_ids()[0]
    assert doc.graph("training").nodes[dup].shares is None
    scene.select_nodes(["fc2"])
    lenet.actions.linked_duplicate.trigger()
    link = scene.selected_ids()[0]
    assert doc.graph("training").nodes[link].shares == "fc2"
    assert scene.nodes[link].shares == "fc2"  # drawn dashed, named as a link
    assert doc.undo_depth == depth + 3


def test_make_network_and_explode(lenet):
    doc = lenet.session.doc
    before = dumps(doc.project)
    params = lenet.session.analysis.total_params
    lenet.scene().select_nodes(["conv1", "tanh1", "pool1"])
    instance = lenet.commands.make_network("Stem")
    assert instance is not None
    assert "Stem" in lenet.views and lenet.tabs.count() == 2
    assert lenet.session.analysis.total_params == params
    assert lenet.session.analysis.problems == []
    assert set(lenet.scene("Stem").nodes) >= {"conv1", "tanh1", "pool1"}
    # double-clicking the instance opens its network's tab
    scene = lenet.scene("training")
    view = lenet.view("training")
    center = scene.nodes[instance].scene_rect().center()
    view.centerOn(center)
    QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                      view.mapFromScene(center))
    assert lenet.current_key() == "Stem"
    lenet.tabs.setCurrentIndex(0)
    scene.select_nodes([instance])
    assert lenet.actions.explode.isEnabled()
    lenet.actions.explode.trigger()
    assert "Stem" not in lenet.views and lenet.tabs.count() == 1
    assert lenet.session.analysis.total_params == params
    lenet.actions.undo.trigger()
    lenet.actions.undo.trigger()
    assert dumps(doc.project) == before


def test_tab_adds_a_block_at_the_pointer(window, qtbot):
    view = window.view("training")
    view.setFocus()
    QTest.mouseMove(view.viewport(), QPoint(200, 150))
    QTest.keyClick(view, Qt.Key.Key_Tab)
    popup = window.quick_add
    assert popup.isVisible()
    QTest.keyClicks(popup.edit, "leaky")
    # the name first; PReLU matches by its help ("LeakyReLU whose negative slope is learned")
    assert popup.shown() == ["LeakyReLU", "PReLU"]
    QTest.keyClick(popup.edit, Qt.Key.Key_Return)
    nodes = window.session.doc.graph("training").nodes
    assert [n.block for n in nodes.values()] == ["LeakyReLU"]
    assert window.scene().selected_ids() == list(nodes)


def test_palette_search_and_enter_adds_at_the_centre(window):
    palette = window.palette
    palette.search.setText("batchnorm2")
    assert palette.payloads() == ["BatchNorm2d"]
    QTest.keyClick(palette.search, Qt.Key.Key_Return)
    assert [n.block for n in window.session.doc.graph("training").nodes.values()] == ["BatchNorm2d"]
    # blocks that cannot go in the training graph are not offered there
    palette.search.setText("")
    assert "Input" not in palette.payloads() and "Dataset" in palette.payloads()


def test_dragging_nodes_is_one_undo_step_and_snaps(lenet):
    view = lenet.view()
    scene = view.scene()
    doc = lenet.session.doc
    click_node(view, "fc1")
    depth = doc.undo_depth
    start = doc.graph("training").nodes["fc1"].pos
    item = scene.nodes["fc1"]
    a = item.scene_rect().center()
    mouse_drag(view, a, a + QPointF(37, 53), steps=6)
    pos = doc.graph("training").nodes["fc1"].pos
    assert pos != start and pos[0] % 10 == 0 and pos[1] % 10 == 0
    assert doc.undo_depth == depth + 1
    assert item.pos().x() == pos[0] and item.pos().y() == pos[1]
    lenet.actions.undo.trigger()
    assert doc.graph("training").nodes["fc1"].pos == start


def test_inspector_edits_apply_at_once_and_refuse_bad_text(lenet):
    scene = lenet.scene()
    scene.select_nodes(["conv1"])
    ins = lenet.inspector
    doc = lenet.session.doc
    depth = doc.undo_depth
    type_into(ins.editors["out_channels"].widget, "12")
    assert doc.graph("training").nodes["conv1"].params["out_channels"] == 12
    assert doc.undo_depth == depth + 1  # typing "1", "12": one step
    assert scene.nodes["conv1"].shape_label.startswith("12\u00d728")
    assert "nn.Conv2d(1, 12" in (lenet.session.ensure_code() and lenet.code_view.text() or "") or \
        "nn.Conv2d(1, 12" in lenet.session.code.model_source
    type_into(ins.editors["kernel_size"].widget, "1, 5")
    assert doc.graph("training").nodes["conv1"].params["kernel_size"] == (1, 5)
    editor = ins.editors["padding"]
    type_into(editor.widget, "wide")
    assert editor.error and doc.graph("training").nodes["conv1"].params["padding"] == 0
    combo = ins.editors["padding_mode"].widget
    combo.setCurrentIndex(combo.findText("reflect"))
    combo.activated.emit(combo.currentIndex())
    assert doc.graph("training").nodes["conv1"].params["padding_mode"] == "reflect"
    box = ins.editors["bias"].widget
    box.click()
    assert doc.graph("training").nodes["conv1"].params["bias"] is False
    # undo puts the form back too
    lenet.actions.undo.trigger()
    assert box.isChecked()


def test_activation_plot_shows_the_function_and_its_derivative(lenet):
    lenet.scene().select_nodes(["tanh1"])
    (x, y), (dx, dy) = lenet.inspector.plot_data()
    assert np.allclose(y, np.tanh(x))
    inner = slice(2, -2)
    assert np.allclose(dy[inner], 1 - np.tanh(dx[inner]) ** 2, atol=1e-3)
    explanation = lenet.inspector.widget().findChild(QLabel, "explanation")
    assert explanation.text() == get_block("Tanh").explanation


def test_code_view_highlights_the_selected_nodes_lines(lenet):
    lenet.session.regenerate()
    lenet.scene().select_nodes(["conv2"])
    lines = lenet.code_view.highlighted["model.py"]
    text = lenet.code_view.text("model.py").split("\n")
    assert lines and all("conv2" in text[n - 1] for n in lines)
    assert len(lenet.code_view.editors["model.py"].extraSelections()) == len(set(lines))


def test_problems_are_badged_listed_and_lead_to_the_node(window):
    view = window.view("training")
    conv = drop_block(view, "Conv2d", QPointF(75, 12))
    item = view.scene().nodes[conv]
    assert item.problems and "not connected" in item.toolTip()
    # the conv's error, then why the project cannot train yet (as the Training panel says)
    assert window.problems.count() == 2
    assert "not connected" in window.problems.messages()[0]
    assert window.problems.messages()[1].startswith("Not ready to train: the training "
                                                    "graph has no loss")
    view.scene().clearSelection()
    problems = window.problems.list
    problems.itemActivated.emit(problems.item(0))
    assert window.scene().selected_ids() == [conv]
    data = drop_block(view, "Dataset", QPointF(-300, 12))
    drag_wire(view, data, "image", conv, "x")
    assert not item.problems and window.problems.count() == 1
    assert "no loss" in window.problems.messages()[0]


def test_every_example_opens_from_the_menu(window):
    actions = window.examples_menu.actions()
    assert {a.text() for a in actions} >= {"lenet", "dcgan", "vae", "resnet18"}
    next(a for a in actions if a.text() == "vae").trigger()
    assert set(window.views) == {"training", "Encoder", "Decoder"}
    assert window.session.doc.path is None  # a copy: Save asks where


def test_new_from_a_template(window):
    assert window.files.new_project("gan")
    assert {"Generator", "Discriminator"} <= set(window.views)
    assert window.session.analysis.problems == []
    assert not window.session.doc.modified


def test_damaged_file_opens_with_what_could_be_read(window, tmp_path):
    data = json.loads((EXAMPLES / "lenet.studio").read_text())
    data["training"]["nodes"][1]["params"]["kernel_size"] = "huge"
    bad = tmp_path / "bad.studio"
    bad.write_text(json.dumps(data))
    assert window.open_path(bad, ask=False)
    assert any("kernel_size" in m for m in window.problems.messages())
    broken = tmp_path / "broken.studio"
    broken.write_text("{not json")
    assert not window.open_path(broken, ask=False)
    assert "broken.studio" in window.last_error


def test_closing_with_unsaved_changes_asks(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    window.editor.add_block("training", "Dataset", (0, 0))
    assert "*" in window.windowTitle() and window.isWindowModified()
    _answer_box("Cancel")
    window.close()
    assert window.isVisible()
    _answer_box("Discard")
    window.close()
    assert not window.isVisible()


def test_export_writes_the_code_studio_trains(lenet, tmp_path):
    assert lenet.exporter.export_code(tmp_path / "out")
    code = lenet.session.ensure_code()
    assert (tmp_path / "out" / "model.py").read_text() == code.model_source
    exported = (tmp_path / "out" / "train.py").read_text()
    assert exported == code.exported_train_source
    assert code.train_source.startswith(exported.rstrip())  # Studio runs it, then its probe pass
    assert (tmp_path / "out" / "data" / "digits.npz").exists()


def test_save_as_round_trips(lenet, tmp_path):
    path = tmp_path / "copy.studio"
    assert lenet.files.save_to(path)
    assert dumps(load(path)) == dumps(lenet.session.project)
    assert str(path.resolve()) in lenet.files.recent_files()


def test_standard_shortcuts_and_tooltips(window):
    a = window.actions
    def keys(action):
        return {s.toString() for s in action.shortcuts()}
    assert "Ctrl+N" in keys(a.new) and "Ctrl+O" in keys(a.open) and "Ctrl+S" in keys(a.save)
    assert "Ctrl+Shift+S" in keys(a.save_as)
    assert "Ctrl+Z" in keys(a.undo) and {"Ctrl+Shift+Z", "Ctrl+Y"} <= keys(a.redo)
    assert "Ctrl+C" in keys(a.copy) and "Ctrl+V" in keys(a.paste) and "Ctrl+D" in keys(a.duplicate)
    assert "Ctrl+A" in keys(a.select_all) and "Del" in keys(a.delete)
    assert "F" in keys(a.fit) and "Tab" in keys(a.add_block)
    for action in a:
        assert action.toolTip() and action.statusTip(), action.objectName()
    for dock in (window.palette_dock, window.inspector_dock, window.code_dock,
                 window.problems_dock):
        assert dock.toolTip()
    # every action is in a menu (keyboard reachable through the menu bar)
    in_menus = set()
    for menu in window.menuBar().findChildren(type(window.examples_menu)):
        in_menus |= {x.objectName() for x in menu.actions()}
    assert {f"action_{n}" for n, _ in a.items()} <= in_menus
    QKeySequence  # noqa: B018 - imported for the shortcut strings above


def test_fit_zoom_and_low_detail_painting(lenet):
    view = lenet.view()
    lenet.actions.fit.trigger()
    fitted = view.zoom()
    # the whole chain (wrapped into bands by the layout, so at a readable zoom)
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    assert all(shown.contains(item.scene_rect()) for item in view.scene().nodes.values())
    view.set_zoom(0.3)
    assert not view.grab().isNull()  # painted at low detail
    view.set_zoom(0.1)
    assert not view.grab().isNull()  # as boxes
    lenet.actions.fit.trigger()
    assert view.zoom() == pytest.approx(fitted)
    lenet.actions.zoom_in.trigger()
    assert view.zoom() == pytest.approx(fitted * 1.25)
    lenet.actions.zoom_reset.trigger()
    assert view.zoom() == pytest.approx(1.0)
    assert not view.grab().isNull()


def test_dark_theme(window):
    theme.apply_theme(QApplication.instance(), dark=True)
    try:
        window.apply_theme()
        assert theme.current().dark
        assert QApplication.palette().color(QApplication.palette().ColorRole.Window).lightness() < 80
        assert not window.grab().isNull()
    finally:
        theme.apply_theme(QApplication.instance(), dark=False)
        window.apply_theme()


def test_dock_layout_is_remembered(qtbot, tmp_path):
    first = open_window(qtbot, tmp_path)
    first.code_dock.hide()
    first.close()
    second = open_window(qtbot, tmp_path)
    assert not second.code_dock.isVisible()
    second.actions.reset_layout.trigger()
    assert second.code_dock.isVisible()


def test_dragging_a_selection_moves_all_of_it_in_one_step(lenet):
    view = lenet.view()
    scene = view.scene()
    doc = lenet.session.doc
    graph = doc.graph("training")
    before = {n: graph.nodes[n].pos for n in ("fc1", "tanh3", "fc2", "fc3")}
    scene.select_nodes(["fc1", "tanh3", "fc2"])
    depth = doc.undo_depth
    a = scene.nodes["fc1"].scene_rect().center()
    mouse_drag(view, a, a + QPointF(40, 60))
    after = {n: graph.nodes[n].pos for n in before}
    for n in ("fc1", "tanh3", "fc2"):
        assert after[n] == (before[n][0] + 40, before[n][1] + 60)
    assert after["fc3"] == before["fc3"]
    assert doc.undo_depth == depth + 1
    assert sorted(scene.selected_ids()) == ["fc1", "fc2", "tanh3"]


def test_align_and_auto_layout(lenet):
    doc = lenet.session.doc
    graph = doc.graph("training")
    laid_out = graph.nodes["fc2"].pos  # where the layout put it when the example was made
    lenet.scene().select_nodes(["fc1", "fc2"])
    lenet.editor.move("training", {"fc2": (2300.0, 250.0)})
    lenet.actions.align_top.trigger()
    assert graph.nodes["fc2"].pos[1] == graph.nodes["fc1"].pos[1]
    lenet.editor.move("training", {"fc2": (2300.0, 250.0)})
    assert lenet.commands.auto_layout()
    assert graph.nodes["fc2"].pos == laid_out


def test_export_onnx_says_what_it_needs(lenet, tmp_path):
    import importlib.util

    target = tmp_path / "lenet.onnx"
    done = lenet.exporter.export_onnx(target)
    if importlib.util.find_spec("onnx") is None:
        assert not done and "pip install onnx" in lenet.last_error
    else:
        assert done and target.exists()
