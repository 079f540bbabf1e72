"""Measured time per layer beside the counted multiply-adds: the engine's measurement, ``studio lab
timing`` and Train > Measure Layer Times (the conv-costs lesson)."""

import json
import threading

import pytest

from studio.cli import main
from studio.core.fileformat import load, save
from studio.core.inference import analyze
from studio.core.project import Project
from studio.engine.layer_timing import LayerTimingError, TimingOptions, TimingReport
from studio.engine.layer_timing_process import TimingProcess
from studio.engine.layer_timing_run import measure
from studio.ui.canvas.node_item import compact
from tests.helpers import EXAMPLES, mlp_on_moons, nested_blocks_project

QUICK = TimingOptions(batch=4, repeats=2, threads=1)
CONV_COSTS_LAYERS = ["stem", "conv5x5", "fc_5_5", "conv3x3_a", "conv3x3_b", "fc_3_3", "conv1x5",
                     "conv5x1", "fc_1_5", "depth5x5", "point1x1", "fc_sep"]


def counted_macs(project) -> dict:
    return {row.path: row.macs for row in analyze(project).rows}


def test_every_layer_of_conv_costs_gets_a_time_and_the_multiply_adds_its_cost_rule_counts():
    project = load(EXAMPLES / "conv_costs.studio")
    report = measure(project, QUICK)
    assert [layer.node for layer in report.layers] == CONV_COSTS_LAYERS
    counted = counted_macs(project)
    for layer in report.layers:
        assert layer.ms > 0 and layer.calls == 1
        assert layer.macs == counted[layer.node] > 0
        assert report.macs_per_second(layer) > 0
    assert report.batch == 4 and report.threads == 1 and report.device == "cpu"
    assert list(report.networks) == ["convcosts"] and report.forward_ms > 0
    assert sum(report.macs_share(layer) for layer in report.layers) == pytest.approx(1.0)
    # the 5x5 convolution counts 25 per channel pair, the separable pair 25 + 32 per channel
    by_node = {layer.node: layer for layer in report.layers}
    assert by_node["conv5x5"].macs == 32 * 32 * 25 * 32 * 32
    assert by_node["depth5x5"].macs + by_node["point1x1"].macs == 32 * 32 * (25 + 32) * 32


def test_a_mixed_precision_project_is_timed_under_its_training_autocast():
    """With bf16 autocast the layers after the first get bf16 inputs, as in a training step;
    called outside autocast they failed ('Input type BFloat16 and bias type float')."""
    import torch

    project = load(EXAMPLES / "conv_costs.studio")
    project.training.configure(amp="bf16")
    dtypes = []

    def conv_output(module, args, out):
        if isinstance(module, torch.nn.Conv2d):
            dtypes.append(out.dtype)

    hook = torch.nn.modules.module.register_module_forward_hook(conv_output)
    try:
        report = measure(project, QUICK)
    finally:
        hook.remove()
    assert [layer.node for layer in report.layers] == CONV_COSTS_LAYERS
    assert dtypes and set(dtypes) == {torch.bfloat16}


def test_nodes_inside_network_instances_are_timed_under_their_instance():
    report = measure(nested_blocks_project(), QUICK)
    counted = counted_macs(nested_blocks_project())
    assert [layer.node for layer in report.layers] == ["b1/conv", "b2/conv", "fc"]
    assert all(layer.macs == counted[layer.node] and layer.ms > 0 for layer in report.layers)
    again = TimingReport.from_json(json.loads(json.dumps(report.as_json())))
    assert again.layers == report.layers and again.networks == report.networks


def test_backward_times_each_layer_that_needs_a_gradient():
    project = load(EXAMPLES / "conv_costs.studio")
    project.training.nodes["stem"].frozen = True  # its input is the batch: nothing to compute
    report = measure(project, TimingOptions(batch=4, repeats=2, threads=1, backward=True))
    rows = {layer.node: layer for layer in report.layers}
    assert rows["stem"].backward_ms is None and rows["stem"].backward_cells() == ("-", "-")
    assert all(rows[node].backward_ms > 0 for node in CONV_COSTS_LAYERS if node != "stem")
    assert report.backward and report.backward_ms > 0
    again = TimingReport.from_json(json.loads(json.dumps(report.as_json())))
    assert again.layers == report.layers and again.networks_backward == report.networks_backward
    assert not measure(project, QUICK).backward  # only when asked


def linked_twice() -> Project:
    """A separable convolution (one node holding two modules), then ``mid`` and its linked
    duplicate ``mid_again``: one module called twice in one forward."""
    p = Project("Linked")
    t = p.training
    data = t.add("Dataset", id="data", dataset="digits", size=16)
    x = t.stack(data["image"], ("SeparableConv2d", "sep", dict(out_channels=8, kernel_size=3,
                                                               padding=1)),
                "Flatten", ("Linear", "pre", dict(out_features=16)),
                ("Linear", "mid", dict(out_features=16)))
    again = t.add("Linear", id="mid_again", shares="mid", out_features=16)
    t.connect(x, again)
    loss = t.add("CrossEntropy", id="loss")
    t.connect(t.stack(again, ("Linear", "fc", dict(out_features=10))), loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add("Adam", id="adam"))
    return p


def test_a_module_run_twice_is_one_row_with_its_time_per_call_and_both_calls_in_its_share():
    report = measure(linked_twice(), QUICK)
    counted = counted_macs(linked_twice())
    rows = {layer.node: layer for layer in report.layers}
    assert list(rows) == ["sep", "pre", "mid", "fc"]
    assert rows["sep"].block == "SeparableConv2d" and rows["sep"].calls == 1
    assert rows["mid"].calls == 2 and rows["mid"].label == "mid \u00d72"
    assert rows["mid"].macs == counted["mid"] == counted["mid_again"]
    assert rows["mid"].forward_ms == pytest.approx(2 * rows["mid"].ms)
    weighted = sum(layer.macs * layer.calls for layer in report.layers)
    assert report.macs_share(rows["mid"]) == pytest.approx(2 * counted["mid"] / weighted)
    assert report.layers_ms == pytest.approx(sum(layer.forward_ms for layer in report.layers))


def test_a_measurement_stopped_in_its_process_answers_that_it_was_stopped():
    answers, done = [], threading.Event()
    job = TimingProcess(mlp_on_moons(), QUICK,
                        lambda report, error: (answers.append((report, error)), done.set()))
    job.stop()
    assert done.wait(60)
    (report, error), = answers
    assert report is None and str(error) == "the measurement was stopped"
    assert not job.process.is_alive()


def test_a_graph_that_cannot_train_is_refused_naming_the_node():
    project = mlp_on_moons()
    project.training.remove("adam")
    with pytest.raises(LayerTimingError, match="training/loss"):
        measure(project, QUICK)


def test_lab_timing_json_has_a_row_per_layer_with_its_counted_multiply_adds(capsys):
    assert main(["lab", "timing", str(EXAMPLES / "conv_costs.studio"), "--batch", "2",
                 "--repeats", "1", "--threads", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    counted = counted_macs(load(EXAMPLES / "conv_costs.studio"))
    assert [row["node"] for row in out["layers"]] == CONV_COSTS_LAYERS
    assert all(row["macs"] == counted[row["node"]] and row["ms"] > 0 for row in out["layers"])
    assert out["batch"] == 2 and out["repeats"] == 1
    assert out["forward_ms"] == pytest.approx(sum(out["networks"].values()))


def test_lab_timing_prints_a_table_and_refuses_bad_input_in_one_line(capsys, tmp_path):
    assert main(["lab", "timing", str(EXAMPLES / "conv_costs.studio"), "--batch", "2",
                 "--repeats", "1", "--threads", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["node", "block", "MACs/sample", "ms/call", "GMAC/s", "MACs",
                                "share", "time", "share"]
    assert lines[3].split()[:3] == ["stem", "Conv2d", "294,912"]
    assert lines[-1].startswith("time share: of the whole forward")
    broken = mlp_on_moons()
    broken.training.remove("adam")
    save(broken, tmp_path / "broken.studio")
    assert main(["lab", "timing", str(tmp_path / "broken.studio")]) == 2
    err = capsys.readouterr().err
    assert "broken.studio: cannot build the networks: training/loss" in err
    with pytest.raises(SystemExit):
        main(["lab", "timing", str(EXAMPLES / "conv_costs.studio"), "--repeats", "0"])
    assert "--repeats: must be at least 1" in capsys.readouterr().err


def test_measure_layer_times_shows_the_table_when_the_process_answers(window, qtbot, tmp_path):
    project = mlp_on_moons(hidden=8)
    project.training.configure(batch_size=8)
    save(project, tmp_path / "moons.studio")
    assert window.open_path(tmp_path / "moons.studio", ask=False)
    train_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "T&rain")
    assert window.layer_times.action in train_menu.actions()
    window.layer_times.action.trigger()
    dialog = window.layer_times.dialog
    assert dialog.isVisible() and dialog.running and dialog.batch.value() == 8
    assert window.dashboard.controller.occupied  # Train waits while the cores are measured
    qtbot.waitUntil(lambda: not dialog.running, timeout=120_000)
    assert "A batch of 8 on cpu" in dialog.status.text(), dialog.status.text()
    table, counted = dialog.table, counted_macs(project)
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == ["fc1", "fc2"]
    for r in range(table.rowCount()):
        assert table.item(r, 2).text() == compact(counted[table.item(r, 0).text()])
        assert float(table.item(r, 3).text()) > 0
    assert window.dashboard.controller.occupied is None and dialog.again.isEnabled()
    assert table.isColumnHidden(4) and table.isColumnHidden(5)  # no backward asked for
    table.cellDoubleClicked.emit(1, 0)
    assert window.tabs.scene("training").selected_ids() == ["fc2"]
    dialog.backward.setChecked(True)
    dialog.again.click()
    assert dialog.running
    qtbot.waitUntil(lambda: not dialog.running, timeout=120_000)
    assert not table.isColumnHidden(4) and "The whole backward takes" in dialog.status.text()
    assert all(float(table.item(r, 4).text()) > 0 for r in range(table.rowCount()))
    dialog.close()


def test_measure_layer_times_names_the_node_that_stops_the_graph(window, tmp_path):
    project = mlp_on_moons()
    project.training.remove("adam")
    save(project, tmp_path / "broken.studio")
    assert window.open_path(tmp_path / "broken.studio", ask=False)
    dialog = window.layer_times.open()
    assert not dialog.running
    assert dialog.status.text().startswith("Cannot measure: training/loss")
    dialog.close()
