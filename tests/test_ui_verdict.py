"""Every panel shows the one verdict, and the inspector shows labels, only the fields that
apply, and why a value is refused, as a user drives them (typing, choosing)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel

from studio.cli import main
from studio.core.fileformat import save
from studio.ui.testing import click_node, type_into
from tests.helpers import EXAMPLES


def choose(combo, text: str) -> None:
    """Pick a choice as a user does: open the list and click the option."""
    combo.showPopup()
    view = combo.view()
    rect = view.visualRect(view.model().index(combo.findText(text), 0))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     rect.center())
    QApplication.processEvents()
    assert combo.currentText() == text


def what_panels_say(window, tmp_path, capsys) -> dict:
    """The texts a user reads about the project's state, in each place, and `studio check`."""
    window.session.ensure_code()
    path = tmp_path / "now.studio"
    save(window.session.project, path)
    capsys.readouterr()
    status = main(["check", str(path)])
    return {"problems": window.problems.messages(), "banner": window.code_view.banner(),
            "training": window.dashboard.panel.state_label.text(),
            "status": window.totals.text(), "check": capsys.readouterr().out,
            "check_status": status, "verdict": window.session.verdict}


def assert_all_agree(said: dict) -> None:
    verdict = said["verdict"]
    n = len(verdict.problems)
    assert len(said["problems"]) == n
    assert said["status"].endswith(verdict.summary) and verdict.params_text in said["status"]
    for problem in verdict.problems:
        assert str(problem) in said["check"]
        assert any(problem.message in line for line in said["problems"])
    if verdict.can_train:
        assert said["training"].startswith("Ready to train")
    else:
        blocker = verdict.train_blocker
        assert said["training"] == f"Cannot train yet: {blocker}"
        assert verdict.problems[0].message in said["problems"][0]
    if verdict.can_generate:
        assert said["banner"] == "" and said["check_status"] == 0
    else:
        assert said["check_status"] == 2
        for problem in verdict.errors:
            assert str(problem) in said["banner"]


def test_an_empty_project_says_the_same_everywhere(window, tmp_path, capsys):
    said = what_panels_say(window, tmp_path, capsys)
    assert_all_agree(said)
    assert said["problems"] == ["Not ready to train: the training graph has no loss to train: "
                                "add a loss and an optimizer"]
    assert said["training"].startswith("Cannot train yet: the training graph has no loss")
    assert said["status"] == "0 parameters \u00b7 0 multiply-adds \u00b7 1 problem"
    assert said["banner"] == ""


def test_a_project_without_a_loss_says_the_same_everywhere(lenet, tmp_path, capsys):
    click_node(lenet.view(), "loss")
    lenet.editor.delete("training", ["loss"])
    said = what_panels_say(lenet, tmp_path, capsys)
    assert_all_agree(said)
    assert any("input 'loss' is not connected" in line for line in said["problems"])
    assert any("no loss to train" in line for line in said["problems"])
    assert said["training"].startswith("Cannot train yet: training/adam: loss: input 'loss' is "
                                       "not connected")


def test_a_shape_error_says_the_same_everywhere(lenet, tmp_path, capsys):
    click_node(lenet.view(), "conv2")
    type_into(lenet.inspector.editors["kernel_size"].widget, "30")
    said = what_panels_say(lenet, tmp_path, capsys)
    assert_all_agree(said)
    assert said["problems"][0].startswith("conv2 (kernel_size)")
    assert said["banner"].startswith("The code below is from the last version without problems")
    # the totals say what they leave out instead of reading 0 or a partial sum as all
    assert "156 parameters (11 nodes unknown)" in said["status"]
    reason = lenet.inspector.editors["kernel_size"].message_label()
    assert reason.isVisible() and "30" in reason.text()


def test_the_problems_list_is_rebuilt_only_when_its_problems_change(lenet):
    lenet.editor.set_params("training", "conv2", {"kernel_size": 30}, merge=False)
    listed = lenet.problems.list
    listed.setCurrentRow(0)
    first = listed.item(0)
    lenet.editor.set_params("training", "fc1", {"out_features": 100}, merge=False)
    # another edit, the same problems: the entry the user picked stays, picked
    assert listed.item(0) is first and listed.currentRow() == 0
    lenet.editor.set_params("training", "conv2", {"kernel_size": 31}, merge=False)
    assert listed.item(0) is not first and "31" in lenet.problems.messages()[0]
    lenet.editor.set_params("training", "conv2", {"kernel_size": 5}, merge=False)
    assert lenet.problems.count() == 0 and lenet.problems.empty.isVisibleTo(lenet.problems)


def test_a_dangling_wire_after_switching_the_dataset_says_the_same_everywhere(lenet, tmp_path,
                                                                               capsys):
    view = lenet.view()
    click_node(view, "digits")
    choose(lenet.inspector.editors["dataset"].widget, "csv")
    assert lenet.session.project.training.nodes["digits"].params["dataset"] == "csv"
    # the edit says at once that it kept a wire it broke
    told = lenet.statusBar().currentMessage()
    assert told.startswith("Kept the wire digits.image \u2192 conv1.x") and "undo" in told
    # the canvas still draws the wire, from the output that is gone, in the error colour
    scene = view.scene()
    kept = [w for w in scene.wires if (w.edge.src, w.edge.src_port) == ("digits", "image")]
    assert kept and kept[0].src_port.kind == "gone" and kept[0].isVisible()
    assert kept[0].src_port.parentItem() is scene.nodes["digits"]
    said = what_panels_say(lenet, tmp_path, capsys)
    assert_all_agree(said)
    wire = [line for line in said["problems"] if "conv1 (x)" in line]
    assert wire and "digits.image" in wire[0] and "its outputs: x, label" in wire[0]
    assert "training/conv1: x: is wired from digits.image" in said["check"]
    # with the csv file chosen, the wire is what is left; Train refuses with the same words,
    # naming the node and the port, not a bare 'image'
    type_into(lenet.inspector.editors["path"].widget, "table.csv")
    type_into(lenet.inspector.editors["features"].widget, "4")
    assert [str(p) for p in lenet.session.verdict.problems] == [
        "training/conv1: x: is wired from digits.image, but digits has no output 'image' now "
        "(its outputs: x, label); rewire conv1.x or delete the wire"]
    panel = lenet.dashboard.panel
    panel.train_action.trigger()
    assert lenet.dashboard.controller.state == "idle"
    assert panel.error_text.startswith("Cannot train yet: training/conv1: x: is wired from "
                                       "digits.image")
    # the wire is still there: going back to digits mends it
    while lenet.session.project.training.nodes["digits"].params["dataset"] != "digits":
        lenet.actions.undo.trigger()
    said = what_panels_say(lenet, tmp_path, capsys)
    assert said["problems"] == [] and said["training"] == "Ready to train"
    assert scene.nodes["digits"].port("output", "image").kind == "tensor"
    assert said["status"].endswith("no problems")


def test_adam_shows_schedule_fields_only_with_their_schedule(lenet):
    click_node(lenet.view(), "adam")
    ins = lenet.inspector
    shown = ins.shown_fields()
    assert "Learning rate" in shown and "LR schedule" in shown
    assert not {"Decay every (steps)", "Decay factor", "Warm-up share"} & set(shown)
    assert "lr" not in shown and "step_size" not in shown  # labels, not raw names
    choose(ins.editors["schedule"].widget, "step")
    assert lenet.session.project.training.nodes["adam"].params["schedule"] == "step"
    shown = ins.shown_fields()
    assert {"Decay every (steps)", "Decay factor"} <= set(shown) and "Warm-up share" not in shown
    choose(ins.editors["schedule"].widget, "onecycle")
    shown = ins.shown_fields()
    assert "Warm-up share" in shown and "Decay factor" not in shown


def test_a_refused_value_says_why_under_the_field(lenet):
    click_node(lenet.view(), "adam")
    ed = lenet.inspector.editors["lr"]
    reason = ed.message_label()
    assert not reason.isVisible()
    type_into(ed.widget, "fast")
    assert reason.isVisible() and reason.text() == "expected a number, got 'fast'"
    type_into(ed.widget, "20")
    assert reason.isVisible() and "above the maximum 10.0" in reason.text()
    assert lenet.session.project.training.nodes["adam"].params["lr"] != 20  # refused
    type_into(ed.widget, "0.01")
    assert not reason.isVisible()
    assert lenet.session.project.training.nodes["adam"].params["lr"] == 0.01


def test_a_dataset_shows_the_fields_of_its_kind(lenet):
    click_node(lenet.view(), "digits")
    ins = lenet.inspector
    digits = ins.shown_fields()
    assert not {"File or folder", "Features", "Label column", "Validation share"} & set(digits)
    assert "Image size (px)" in digits
    choose(ins.editors["dataset"].widget, "csv")
    csv = ins.shown_fields()
    assert {"File or folder", "Features", "Label column"} <= set(csv)
    assert not {"Image size (px)", "Random flips", "Pixel range"} & set(csv)
    path = ins.editors["path"]
    assert path.message_label().isVisible()
    assert path.message_label().text() == "choose the CSV file to load"
    type_into(path.widget, "table.csv")
    assert not path.message_label().isVisible()
    features = ins.editors["features"]
    assert "set the number of feature columns" in features.message_label().text()


def test_a_field_at_fault_is_shown_even_where_it_does_not_apply(lenet):
    """A value set for another dataset and refused for this one stays visible to be fixed."""
    click_node(lenet.view(), "digits")
    ins = lenet.inspector
    choose(ins.editors["dataset"].widget, "mnist")
    ins.editors["normalize"].widget.click()
    choose(ins.editors["dataset"].widget, "digits")
    assert "Normalize" in ins.shown_fields()
    assert "only the standard sets and files" in ins.editors["normalize"].message_label().text()


def test_the_training_panel_owns_the_run_settings_and_the_inspector_the_advanced(window):
    window.scene().clearSelection()
    ins = window.inspector
    shown = ins.shown_fields()
    assert "Log every (steps)" in shown and "Batch size" not in shown and "Epochs" not in shown
    assert not [name for name in shown if "_" in name]
    panel = window.dashboard.panel
    assert {panel.form.labelForField(ed.widget).text() for ed in panel.editors.values()} >= {
        "Batch size", "Epochs", "Mixed precision"}
    type_into(ins.editors["settings.log_every"].widget, "25")
    assert window.session.project.training.settings["log_every"] == 25


def test_the_training_graph_form_shows_the_verdicts_totals_and_memory(lenet):
    lenet.scene().clearSelection()
    totals = lenet.inspector.findChild(QLabel, "totals")
    assert "61,706 parameters" in totals.text() and "no problems" in totals.text()
    assert "Memory to train: about 5.09 MB for a batch of 64" in totals.text()
    assert "optimizer state" in totals.toolTip()


def test_a_network_too_big_for_this_machine_is_a_warning_everywhere(window, tmp_path, capsys):
    from studio.core.document import Document
    from studio.core.project import Project

    p = Project("Huge")
    t = p.training
    data = t.add("Dataset", id="data", dataset="shapes", size=1024, channels=3)
    wide = t.add("Linear", id="wide", out_features=1 << 20)  # 3.3e12 weights: 13 TB
    fc = t.add("Linear", id="fc", out_features=4)
    t.chain(data["image"], t.add("Flatten"), wide, fc)
    loss = t.add("CrossEntropy", id="loss")
    t.connect(fc, loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add("Adam", id="adam"))
    window.set_document(Document(p))
    said = what_panels_say(window, tmp_path, capsys)
    assert_all_agree(said)
    assert said["problems"][0].startswith("Warning: wide: training needs about")
    assert "TB of memory" in said["problems"][0]
    assert said["training"] == "Ready to train (1 warning in Problems)"
    assert said["status"].endswith("1 warning") and said["check_status"] == 0
    assert "warning: training/wide: training needs about" in said["check"]


def test_a_refused_network_argument_says_why_under_its_field(window):
    assert window.open_path(EXAMPLES / "resnet18.studio", ask=False)
    window.open_network_tab("ResNet18")
    click_node(window.view("ResNet18"), "layer2_0")
    ed = window.inspector.editors["args.stride"]
    type_into(ed.widget, "two")
    assert ed.message_label().isVisible()
    assert ed.message_label().text() == "expected a number, got 'two'"
    type_into(ed.widget, "1")
    assert not ed.message_label().isVisible()
    layer = window.session.project.networks["ResNet18"].nodes["layer2_0"]
    assert layer.params["args"]["stride"] == 1
