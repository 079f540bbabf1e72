"""Train > Sweep... (ui/sweep/): the spec checked live with the error under its row, a 2x2 LeNet
sweep (width x pooling block) run off the UI thread into the table, the scatter's Pareto front
and the Runs panel, Apply Best as one undo step, Cancel, and the window's close ending the
sweep's processes. Real Qt (offscreen) and real torch; trials train a few steps."""

from __future__ import annotations

import multiprocessing

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from studio.core.document import Document
from studio.core.fileformat import dumps, load
from studio.core.sweep import SweepSpace, block_alternatives
from studio.engine.run_history import FINISHED, STOPPED, RunHistory
from studio.ui.training_guard import TRAINING_GOING
from tests.helpers import EXAMPLES

WAIT_MS = 120_000
WIDTH = ("training", "conv1"), "out_channels"
POOLING = ("training", "pool1"), "block"


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    folder = tmp_path / "histories"
    monkeypatch.setenv("STUDIO_RUNS_DIR", str(folder))
    return folder


def sweep_dialog(window, *rows, steps: int = 6):
    dialog = window.sweeps.open()
    for row, (target, field, values) in zip([*dialog.rows.rows, *[None] * len(rows)], rows):
        (row or dialog.rows.add()).choose(target, field, values)
    dialog.how.length.setValue(steps)
    return dialog


def type_devices(dialog, text: str) -> None:
    """Type into the Devices field (without Enter, which would press Start)."""
    dialog.how.devices.setFocus()
    dialog.how.devices.selectAll()
    QTest.keyClicks(dialog.how.devices, text)


def shown(table) -> list[list[str]]:
    return [[table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())]


# the spec, without training ----------------------------------------------------------------------
def test_a_block_swap_offers_the_blocks_of_its_kind_that_take_its_wires():
    lenet = load(EXAMPLES / "lenet.studio")
    pooling = block_alternatives(lenet, "training", "pool1")
    assert "MaxPool2d" in pooling and "BlurPool2d" in pooling and "AvgPool2d" not in pooling
    assert "Conv2d" not in pooling
    assert "GELU" in block_alternatives(lenet, "training", "tanh1")


def test_a_trials_values_are_one_command_keeping_the_nodes_they_leave_alone():
    lenet = load(EXAMPLES / "lenet.studio")
    before, untouched = dumps(lenet), lenet.training.nodes["conv2"]
    space = SweepSpace(lenet, ["conv1.out_channels=4,8", "pool1.block=MaxPool2d,BlurPool2d",
                               "training.batch_size=32,64"])
    values = {"conv1.out_channels": 8, "pool1.block": "MaxPool2d", "training.batch_size": 32}
    doc = Document(lenet)
    doc.push(space.edit(values, "apply"))
    assert lenet.training.nodes["conv1"].params["out_channels"] == 8
    assert lenet.training.nodes["pool1"].block == "MaxPool2d"
    assert lenet.training.settings["batch_size"] == 32
    assert lenet.training.nodes["conv2"] is untouched
    assert doc.undo_depth == 1
    doc.undo()
    assert dumps(lenet) == before
    same = {"conv1.out_channels": 6, "pool1.block": "AvgPool2d", "training.batch_size": 64}
    assert space.edit(same, "apply") is None  # LeNet has these values already


def test_the_dialog_names_the_node_and_field_of_a_bad_value(lenet):
    train_menu = next(a.menu() for a in lenet.menuBar().actions() if a.text() == "T&rain")
    assert lenet.sweeps.action in train_menu.actions()
    lenet.sweeps.action.trigger()
    dialog = lenet.sweeps.dialog
    assert dialog.isVisible() and not dialog.isModal()
    row = dialog.rows.rows[0]
    assert (row.target, row.field) == WIDTH  # proposed: the first layer's width
    assert not dialog.start_button.isEnabled()  # no values yet
    assert "conv1.out_channels" in dialog.start_button.toolTip()
    row.values.setText("0,8")
    assert row.error.isVisible() and "conv1.out_channels" in row.error.text()
    assert not dialog.start_button.isEnabled()
    row.values.setText("4,8")
    assert not row.error.isVisible() and dialog.start_button.isEnabled()
    assert dialog.how.grid_count.text() == "2 trials"
    second = dialog.rows.add()
    second.choose(*POOLING, "MaxPool2d,Pool9")
    assert "pool1.block" in second.error.text() and "Pool9" in second.error.text()
    assert not row.error.isVisible() and not dialog.start_button.isEnabled()
    second.field_box.setCurrentIndex(0)
    second.field_box.setCurrentIndex(second.field_box.findData("block"))  # as a user picks it
    assert second.values.text().startswith("AvgPool2d,MaxPool2d,")  # the alternatives, proposed
    assert dialog.how.grid_count.text().endswith("trials") and dialog.start_button.isEnabled()
    dialog.how.method.setCurrentIndex(dialog.how.method.findData("grid"))
    second.choose(("training", "adam"), "lr", "log:1e-4..1e-2")  # a grid cannot try them all
    assert "adam.lr" in second.error.text() and not dialog.start_button.isEnabled()
    dialog.how.method.setCurrentIndex(dialog.how.method.findData("bayesian"))
    assert dialog.start_button.isEnabled() and dialog.how.prune.isChecked()
    second.remove.click()
    assert dialog.rows.rows == [row]
    # the devices trials run on: empty is the engine's choice; a bad entry is named
    assert dialog.options()["devices"] is None
    type_devices(dialog, "cpu, gpu0")
    assert not dialog.start_button.isEnabled()
    assert "Devices" in dialog.start_button.toolTip() and "gpu0" in dialog.start_button.toolTip()
    assert "Devices" in dialog.status.text()
    type_devices(dialog, "cuda:0,cuda:1")
    assert dialog.start_button.isEnabled()
    assert dialog.options()["devices"] == ("cuda:0", "cuda:1")
    dialog.how.devices.clear()

    controller = lenet.dashboard.controller
    assert controller.start() is None  # a training run going disables Start, saying why
    assert not dialog.start_button.isEnabled()
    assert TRAINING_GOING in dialog.start_button.toolTip()
    controller.shutdown()
    dialog.close()


# sweeping ----------------------------------------------------------------------------------------
def test_a_2x2_sweep_fills_the_table_the_front_and_the_runs_and_applies_the_best(lenet, qtbot,
                                                                                 runs_dir):
    doc = lenet.session.doc
    dialog = sweep_dialog(lenet, (*WIDTH, "4,8"), (*POOLING, "MaxPool2d,BlurPool2d"))
    assert dialog.how.grid_count.text() == "4 trials" and not dialog.how.prune.isChecked()
    type_devices(dialog, "cpu,cpu")  # two trials at a time, each on the CPU
    QTest.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.running and not dialog.start_button.isEnabled()
    assert lenet.editor.set_params("training", "fc1", {"out_features": 100}, merge=False)
    qtbot.waitUntil(lambda: not dialog.running and dialog.result is not None
                    and dialog.result.sweep > 0, timeout=WAIT_MS)
    rows = shown(dialog.table)
    assert len(rows) == 4, dialog.status.text()
    assert sorted((r[1], r[2]) for r in rows) == [
        ("4", "BlurPool2d"), ("4", "MaxPool2d"), ("8", "BlurPool2d"), ("8", "MaxPool2d")]
    assert all(r[6] == FINISHED for r in rows), rows
    front = dialog.scatter.front_trials
    assert front and len(dialog.scatter.front.getData()[0]) == len(front)
    assert len(dialog.scatter.points.data) == 4
    best = dialog.result.best
    assert dialog.table.selected_trial() == best.number  # selected and bold
    assert dialog.table.item(dialog.table.numbers.index(best.number), 0).font().bold()
    dialog.scatter.trial_chosen.emit(front[0])  # a point clicked selects its row
    assert dialog.table.selected_trial() == front[0]

    with RunHistory(lenet.dashboard.controller.history_location(), create=False) as history:
        runs = history.runs()
    assert sorted((r.sweep, r.trial, r.status, r.device) for r in runs) == [
        (dialog.result.sweep, i, FINISHED, "cpu") for i in range(4)]
    view = lenet.dashboard.runs
    lenet.dashboard.docks["runs"].raise_()
    qtbot.waitUntil(lambda: view.proxy.rowCount() == 4, timeout=WAIT_MS)

    undo_before = doc.undo_text
    assert dialog.apply_button.isEnabled()
    QTest.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    nodes = lenet.session.project.training.nodes
    assert nodes["conv1"].params["out_channels"] == best.values["conv1.out_channels"]
    assert nodes["pool1"].block == best.values["pool1.block"]
    assert nodes["fc1"].params["out_features"] == 100  # the edit made meanwhile stays
    lenet.session.undo()
    assert nodes["conv1"].params["out_channels"] == 6
    assert lenet.session.project.training.nodes["pool1"].block == "AvgPool2d"
    assert doc.undo_text == undo_before  # Apply Best was one edit
    dialog.close()


def test_cancel_stops_the_sweep_and_closing_the_window_ends_its_processes(lenet, qtbot,
                                                                        runs_dir, monkeypatch):
    before = set(multiprocessing.active_children())
    dialog = sweep_dialog(lenet, (*WIDTH, "4,8,16"), steps=100_000)
    dialog.start()
    qtbot.waitUntil(lambda: "step" in dialog.status.text(), timeout=WAIT_MS)  # trial 1 trains
    panel = lenet.dashboard.panel
    panel.train_action.trigger()  # F5 while the sweep trains: refused, saying why
    assert lenet.dashboard.controller.session is None and "a sweep is running" in \
        panel.error_label.text()
    QTest.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT_MS)
    assert [t.status for t in dialog.result.trials] == [STOPPED] and dialog.result.cancelled
    assert dialog.start_button.isEnabled() and not dialog.apply_button.isEnabled()
    assert "cancelled" in dialog.status.text()
    assert lenet.dashboard.controller.occupied is None  # Train may start again

    dialog.start()  # again, and the window closes while it trains
    qtbot.waitUntil(lambda: "step" in dialog.status.text(), timeout=WAIT_MS)
    asked = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: asked.append(box.objectName()) or
                        QMessageBox.StandardButton.Yes)
    lenet.session.doc.mark_saved()
    lenet.close()
    assert asked == ["cancel_sweep_box"] and not dialog.thread.running  # joined
    assert set(multiprocessing.active_children()) <= before  # no trial's process left
    with RunHistory(lenet.dashboard.controller.history_location(), create=False) as history:
        assert [r.status for r in history.runs()] == [STOPPED, STOPPED]
