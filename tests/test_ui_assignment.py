"""An assignment in the window: the Assignment panel shows its goals live, locked nodes and
parameters cannot change (the inspector shows them locked, the status bar says why), the
palette and quick add offer only the allowed blocks, a run judges the accuracy goal, and the
teacher's dialog saves an assignment."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt

from studio.core.fileformat import load, save
from studio.core.goals import Accuracy, MaxParams, OutputShape
from studio.ui.assignment_dialog import AssignmentDialog
from studio.ui.inspector_page import LOCK_MARK
from studio.ui.testing import click_node, mouse_drag, show_points
from tests.helpers import mlp_on_moons
from tests.test_assignment import moons_assignment

WAIT_MS = 60_000


def open_assignment(qtbot, window, tmp_path, **changes):
    path = tmp_path / "moons-assignment.studio"
    save(moons_assignment(**changes), path)
    assert window.open_path(path, ask=False)
    qtbot.waitUntil(lambda: window.assignments.dock.isVisible(), timeout=WAIT_MS)
    return window.assignments.panel


def test_goals_follow_each_edit_and_locked_things_are_refused(qtbot, window, tmp_path):
    panel = open_assignment(qtbot, window, tmp_path)
    rows = panel.row_texts()
    assert rows[0] == "\u2714 At most 100 parameters\n82 parameters, within the 100 allowed"
    assert rows[3].startswith("? At least 80% held-out accuracy within 2 epochs")
    assert panel.summary.text() == "3 of 5 goals met"
    assert panel.rules == ("Locked: moons, loss, adam, fc2 (out_features). Blocks you may add: "
                           "Linear, ReLU, Tanh, Add.")
    assert panel.rules in panel.goals.toPlainText()
    editor, doc = window.editor, window.session.doc
    assert editor.set_params("training", "fc1", {"out_features": 64})
    assert panel.row_texts()[0].endswith("322 parameters, more than the 100 allowed")
    window.session.undo()
    assert panel.row_texts()[0].endswith("82 parameters, within the 100 allowed")

    depth, messages = doc.undo_depth, []
    window.session.message.connect(messages.append)
    assert not editor.set_params("training", "fc2", {"out_features": 3})
    assert messages[-1] == ("Not done: Locked by the assignment: fc2's out_features cannot "
                            "change (2, not 3)")
    assert not editor.delete("training", ["loss"])
    assert messages[-1] == "Not deleted: locked by the assignment: loss cannot be deleted"
    view = window.view("training")
    before = doc.project.training.nodes["moons"].pos
    start = view.scene().nodes["moons"].scene_rect().center()
    show_points(view, start, start + QPointF(120, 60))
    mouse_drag(view, start, start + QPointF(120, 60))
    assert doc.project.training.nodes["moons"].pos == before
    assert "Not done: Locked by the assignment: moons cannot be moved" == messages[-1]
    assert doc.undo_depth == depth

    click_node(view, "fc2")
    page = window.inspector.page
    qtbot.waitUntil(lambda: getattr(page, "node_id", None) == "fc2", timeout=WAIT_MS)
    page = window.inspector.page
    assert not page.editors["out_features"].widget.isEnabled()
    assert page.editors["bias"].widget.isEnabled()
    label = page.findChild(type(page.info), "label_out_features")
    assert label.text() == f"Out features {LOCK_MARK}"

    assert set(window.palette.all_payloads()) == {"Linear", "ReLU", "Tanh", "Add"}


def test_a_run_judges_the_accuracy_goal_until_the_graph_changes(qtbot, window, tmp_path):
    panel = open_assignment(qtbot, window, tmp_path, goals=(
        MaxParams(1000), Accuracy(50.0, 1), OutputShape("training", "fc2", (2,))))
    window.editor.set_settings({"epochs": 1})
    window.dashboard.panel.train()
    qtbot.waitUntil(lambda: window.dashboard.controller.state in ("finished", "failed"),
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not panel.row_texts()[1].startswith("?"), timeout=WAIT_MS)
    assert panel.row_texts()[1].startswith("\u2714 At least 50% held-out accuracy within 1 "
                                           "epoch")
    assert "after 1 epoch, at least the 50% needed" in panel.row_texts()[1]
    moved = {"fc1": (window.session.project.training.nodes["fc1"].pos[0] + 40, 0.0)}
    assert window.editor.move("training", moved)  # moving a node keeps the run's result
    assert panel.row_texts()[1].startswith("\u2714")
    assert window.editor.set_params("training", "fc1", {"out_features": 8})
    assert panel.row_texts()[1].startswith("? At least 50%")


def test_the_teachers_dialog_saves_goals_locks_and_palette(qtbot, window, tmp_path):
    plain = tmp_path / "moons.studio"
    save(mlp_on_moons(), plain)
    assert window.open_path(plain, ask=False)
    assert not window.assignments.dock.isVisible()
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    assert window.assignments.save_action in file_menu.actions()
    window.select_node("training", "moons")
    window.assignments.save_action.trigger()  # File > Save as Assignment...
    dialog = window.findChild(AssignmentDialog, "assignment_dialog")
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT_MS)
    ticked = [dialog.lock_list.item(i).text() for i in range(dialog.lock_list.count())
              if dialog.lock_list.item(i).checkState() == Qt.CheckState.Checked]
    assert ticked == ["moons"]  # the selection, to begin with
    dialog.lock_list.item(4).setCheckState(Qt.CheckState.Checked)  # and the loss
    dialog.use_params.setChecked(True)
    dialog.params.setValue(500)
    dialog.use_shape.setChecked(True)
    dialog.shape_node.setCurrentText("fc2")
    assert dialog.shape.text() == "2"
    dialog.use_skip.setChecked(True)
    dialog.palette_box.setChecked(True)
    dialog.param_locks.setText("fc2.out_features, fc1.bias, loss.weight")  # loss: wholly locked
    target = tmp_path / "set.studio"
    assert dialog.save_to(target)
    saved = load(target)
    a = saved.assignment
    assert [g.describe() for g in a.goals] == ["At most 500 parameters", "Output of fc2 is 2",
                                               "Use a skip connection"]
    assert [(k.node, k.params) for k in a.locks] == [
        ("moons", ()), ("loss", ()), ("fc2", ("out_features",)), ("fc1", ("bias",))]
    assert set(a.palette) == {"Dataset", "Linear", "ReLU", "CrossEntropy", "Adam"}
    assert window.session.project.assignment is None  # the open project stays the teacher's
    dialog.param_locks.setText("fc2.width")
    assert not dialog.save_to(target)
    assert dialog.error.text() == ("Not saved: 'fc2.width' is not a node.parameter of the "
                                   "training graph")
    dialog.param_locks.clear()
    dialog.shape.setText("ten")
    assert not dialog.save_to(target)
    assert "not sizes such as" in dialog.findChild(type(dialog.error), "assignment_error").text()
    dialog.use_shape.setChecked(False)
    dialog.use_params.setChecked(False)
    dialog.use_skip.setChecked(False)
    dialog.palette_box.setChecked(False)
    for i in range(dialog.lock_list.count()):
        dialog.lock_list.item(i).setCheckState(Qt.CheckState.Unchecked)
    assert not dialog.save_to(target)
    assert "set a goal" in dialog.error.text()


def test_replace_with_offers_only_the_allowed_blocks(qtbot, window):
    from tests.helpers import EXAMPLES
    from tests.test_ui_replace_block import choose_replacement, open_context_menu

    assert window.open_path(EXAMPLES / "course" / "lenet_assignment.studio", ask=False)
    view = window.view("training")
    offered = choose_replacement(qtbot, open_context_menu(qtbot, view, "pool1"), "MaxPool2d")
    assert "BlurPool2d" not in offered  # a pooling block, but not in the assignment's palette
    assert window.session.project.training.nodes["pool1"].block == "MaxPool2d"
