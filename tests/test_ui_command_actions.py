"""The parts of the window that have commands of their own (Compare With File, Find Learning
Rate, Sweep, the Runs panel's buttons, View > Diff) make them with ``actions.command_action``:
named, saying what they do in the tooltip and the status bar, and calling their command
without the checked flag."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from studio.ui.actions import command_action
from studio.ui.comparison import COMPARE_TIP
from studio.ui.lr_finder_dialog import ACTION_TIP as LR_TIP
from studio.ui.sweep.dialog import ACTION_TIP as SWEEP_TIP


def test_a_command_action_calls_its_slot_without_the_checked_flag(qtbot):
    got = []
    parent = QObject()
    action = command_action("&Go", "go", "Go somewhere", lambda name="no flag": got.append(name),
                            parent)
    action.setCheckable(True)  # a checkable action's triggered carries True
    action.trigger()
    assert got == ["no flag"]
    assert (action.text(), action.objectName(), action.toolTip(), action.statusTip()) == (
        "&Go", "go", "Go somewhere", "Go somewhere")
    assert action.parent() is parent


def test_the_parts_commands_are_named_say_what_they_do_and_run(lenet, monkeypatch):
    runs = lenet.dashboard.runs.actions_of
    for action, name, tip in ((lenet.lr_finder.action, "find_learning_rate", LR_TIP),
                              (lenet.sweeps.action, "sweep", SWEEP_TIP),
                              (lenet.comparison.action, "action_compare_file", COMPARE_TIP),
                              (runs["compare"], "runs_compare", runs["compare"].statusTip())):
        assert action.objectName() == name
        assert action.toolTip() == action.statusTip() == tip and tip
    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda *args, **kwargs: asked.append(args) or ("", ""))
    lenet.comparison.action.trigger()
    assert asked and not lenet.comparison.active  # asked for a file; none chosen
    lenet.sweeps.action.trigger()
    assert lenet.sweeps.dialog.isVisible()
    lenet.sweeps.dialog.close()
    assert lenet.comparison.view_action.objectName() == "action_view_diff"
