"""Training health on the canvas: thresholds, the mapping from probe paths to the nodes of each
tab (nested network instances included), and the indicators drawn on the DCGAN example's nodes
from a real short run."""

from __future__ import annotations

import math

import pytest

from studio.core import fileformat
from studio.engine.events import Error
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig, Runner
from studio.ui.dashboard.health import (
    DEAD_FRACTION,
    EXPLODING_RATIO,
    VANISHING_RATIO,
    Health,
    classify,
    error_health,
    health_by_graph,
)
from studio.ui.dashboard.store import Run, RunStore
from tests.helpers import EXAMPLES

HEALTHY = {"grad_norm": 0.3, "weight_norm": 2.0, "update_ratio": 1e-3}


def trained(name: str, steps: int = 30):
    """The example and the run its in-process training reported (probes often)."""
    project = fileformat.load(EXAMPLES / f"{name}.studio")
    store = RunStore()
    store.new_run()
    events: list = []
    config = RunConfig(steps=steps, probes=ProbeRates(stats_every=5, activations_every=10,
                                                      histograms_every=0, budget=None))
    Runner(project, config, events.append).run()
    store.apply(events)
    assert store.current.state == "finished", store.current.error
    return project, store.current


@pytest.fixture(scope="module")
def dcgan():
    return trained("dcgan")


@pytest.fixture(scope="module")
def resnet_digits():
    return trained("resnet_digits")


def copy_run(run: Run) -> Run:
    """A run with the same figures whose tables a test may change."""
    out = Run(run.number)
    out.latest_stats = {k: dict(v) for k, v in run.latest_stats.items()}
    out.dead_units = dict(run.dead_units)
    out.error = run.error
    return out


# thresholds ------------------------------------------------------------------------------------
def test_a_healthy_layer_is_ok_and_says_its_figures():
    h = classify(HEALTHY)
    assert h.level == "ok" and h.note == ""
    assert h.text == "grad 3.0e-01 \u00b7 update/weight 1.0e-03"
    assert (h.grad_norm, h.update_ratio, h.dead_fraction) == (0.3, 1e-3, None)


@pytest.mark.parametrize("ratio, level", [
    (VANISHING_RATIO / 10, "vanishing"), (VANISHING_RATIO, "ok"), (1e-3, "ok"),
    (EXPLODING_RATIO, "ok"), (EXPLODING_RATIO * 2, "exploding"),
])
def test_the_update_to_weight_ratio_decides_vanishing_and_exploding(ratio, level):
    assert classify(dict(HEALTHY, update_ratio=ratio)).level == level


def test_exploding_says_how_much_one_step_changes_the_weights():
    h = classify(dict(HEALTHY, update_ratio=0.4))
    assert h.level == "exploding" and h.note == "exploding"
    assert "40%" in h.text and "update/weight 4.0e-01" in h.text


@pytest.mark.parametrize("bad", ["grad_norm", "weight_norm", "update_ratio"])
@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_non_finite_norms_are_exploding(bad, value):
    h = classify(dict(HEALTHY, **{bad: value}))
    assert h.level == "exploding" and "not finite" in h.text


def test_a_vanished_gradient_counts_even_when_adam_keeps_the_update_size():
    assert classify(dict(HEALTHY, grad_norm=1e-10)).level == "vanishing"


def test_a_layer_no_optimizer_steps_is_not_called_vanishing():
    h = classify(dict(HEALTHY, update_ratio=0.0))
    assert h.level == "ok" and "not updated" in h.text
    assert classify({"grad_norm": 0.0, "weight_norm": 2.0, "update_ratio": 0.0}).level == \
        "vanishing"


def test_without_an_update_ratio_the_gradient_norm_alone_decides():
    assert classify({"grad_norm": 0.5, "weight_norm": 1.0}).level == "ok"
    assert classify({"grad_norm": math.inf, "weight_norm": 1.0}).level == "exploding"


def test_half_the_units_dead_is_a_warning_with_a_footer_note():
    h = classify(None, 0.62)
    assert h.level == "dead" and h.note == "62% dead" and h.text.startswith("62% dead units")
    assert classify(None, DEAD_FRACTION).level == "dead"
    below = classify(None, DEAD_FRACTION - 0.01)
    assert below.level == "ok" and below.text == "49% dead units"
    assert classify(None, None) is None and classify({}, None) is None


def test_the_worse_of_gradient_and_dead_units_wins():
    assert classify(HEALTHY, 0.9).level == "dead"
    assert classify(dict(HEALTHY, update_ratio=0.5), 0.9).level == "exploding"


def test_errors_name_the_failure_without_repeating_the_node():
    nan = error_health(Error("nan", "training/loss_g: the loss became nan at step 12; training "
                                   "paused", ["training", "loss_g"]))
    assert nan.level == "error" and nan.text == "the loss became nan at step 12"
    shape = error_health(Error("shape", "Generator/up2: RuntimeError: size mismatch",
                               ["Generator", "up2"]))
    assert shape.text == "shape error here: RuntimeError: size mismatch"


# mapping paths to tabs ---------------------------------------------------------------------------
def test_a_healthy_gan_run_maps_nested_paths_to_the_network_tabs(dcgan):
    project, run = dcgan
    healths = health_by_graph(project, run)
    assert set(healths) == {"training", "Generator", "Discriminator"}
    assert {"relu1", "relu2", "up1", "bn1", "up2", "bn2", "up3"} <= set(healths["Generator"])
    assert {"conv1", "conv2", "bn2", "conv3"} <= set(healths["Discriminator"])
    # the instances carry what is inside them; the linked duplicate its original's weights
    assert {"generator", "discriminator", "discriminator_real"} == set(healths["training"])
    every = [h for table in healths.values() for h in table.values()]
    assert all(h.level == "ok" for h in every), [h.text for h in every if h.level != "ok"]
    assert healths["Generator"]["relu1"].dead_fraction == run.dead_units["training/generator/relu1"]
    stats = run.latest_stats["training/generator/up1"]
    assert healths["Generator"]["up1"].grad_norm == stats["grad_norm"]
    assert healths["training"]["generator"].text.startswith("all ")


def test_dead_units_inside_the_generator_show_on_the_training_tab(dcgan):
    project, real = dcgan
    run = copy_run(real)
    run.dead_units["training/generator/relu1"] = 0.8
    healths = health_by_graph(project, run)
    relu1 = healths["Generator"]["relu1"]
    assert relu1.level == "dead" and relu1.note == "80% dead"
    generator = healths["training"]["generator"]
    assert generator.level == "dead" and generator.text.startswith("relu1: 80% dead units")
    assert healths["Generator"]["relu2"].level == "ok"
    assert healths["training"]["discriminator"].level == "ok"


def test_exploding_beats_dead_and_the_count_of_sick_nodes_is_told(dcgan):
    project, real = dcgan
    run = copy_run(real)
    run.dead_units["training/generator/relu1"] = 0.8
    run.latest_stats["training/generator/up2"]["update_ratio"] = 0.5
    generator = health_by_graph(project, run)["training"]["generator"]
    assert generator.level == "exploding" and generator.text.startswith("up2: exploding")
    assert "1 more inside" in generator.text


def test_a_linked_duplicate_shows_the_health_of_the_weights_it_shares(dcgan):
    project, real = dcgan
    run = copy_run(real)
    run.latest_stats["training/discriminator/conv2"]["grad_norm"] = math.nan
    training = health_by_graph(project, run)["training"]
    assert training["discriminator"].level == "exploding"
    assert training["discriminator_real"].level == "exploding"
    assert training["discriminator_real"].text.startswith("shares weights with discriminator")


def test_the_failing_node_and_the_instances_leading_to_it_show_the_error(dcgan):
    project, real = dcgan
    run = copy_run(real)
    run.error = Error("nan", "training/loss_g: the loss became nan at step 7; training paused",
                      ["training", "loss_g"])
    assert health_by_graph(project, run)["training"]["loss_g"].level == "error"
    run.error = Error("shape", "Generator/up2: RuntimeError: size mismatch", ["Generator", "up2"])
    healths = health_by_graph(project, run)
    assert healths["Generator"]["up2"].level == "error"
    assert healths["training"]["generator"].level == "error"
    assert "up2" in healths["training"]["generator"].text
    run.error = Error("crash", "the worker died")
    assert all(h.level != "error" for t in health_by_graph(project, run).values()
               for h in t.values())


def test_paths_of_nodes_edited_away_and_output_ports_are_handled(dcgan):
    project, real = dcgan
    run = copy_run(real)
    run.latest_stats["training/gone/conv1"] = dict(HEALTHY)
    run.latest_stats["training/generator/gone"] = dict(HEALTHY)
    run.latest_stats["nonsense"] = dict(HEALTHY)
    run.dead_units["training/generator/relu2:out"] = 0.9
    healths = health_by_graph(project, run)
    assert "gone" not in healths["training"] and "gone" not in healths["Generator"]
    assert healths["Generator"]["relu2"].level == "dead"
    assert health_by_graph(project, None) == {}
    assert health_by_graph(project, Run(1)) == {}


def test_a_network_used_twice_shows_its_worst_use(resnet_digits):
    project, real = resnet_digits
    healths = health_by_graph(project, real)
    assert {"conv1", "bn1", "relu1", "conv2", "bn2", "relu2"} <= set(healths["BasicBlock"])
    assert "2 uses" not in healths["BasicBlock"]["conv1"].text  # all healthy: both are told
    assert "block1:" in healths["BasicBlock"]["conv1"].text
    assert "block2:" in healths["BasicBlock"]["conv1"].text
    assert {"stem", "stem_bn", "stem_relu", "block1", "block2", "fc"} <= set(healths["training"])
    run = copy_run(real)
    run.latest_stats["training/block2/conv1"]["update_ratio"] = 0.3
    healths = health_by_graph(project, run)
    conv1 = healths["BasicBlock"]["conv1"]
    assert conv1.level == "exploding"
    assert conv1.text.startswith("block2: exploding") and "worst of 2 uses" in conv1.text
    assert healths["training"]["block2"].level == "exploding"
    assert healths["training"]["block1"].level == "ok"


def test_two_levels_of_nesting_reach_every_tab_on_the_way():
    """ResNet18's blocks are BasicBlock instances inside the ResNet18 instance: paths as the
    probes name them (``training/resnet18/layer1_0/conv1``) mark all three tabs."""
    project = fileformat.load(EXAMPLES / "resnet18.studio")
    run = Run(1)
    blocks = ("layer1_0", "layer1_1", "layer2_0", "layer2_1", "layer3_0", "layer3_1",
              "layer4_0", "layer4_1")
    for block in blocks:
        for node in ("conv1", "bn1", "conv2", "bn2"):
            run.latest_stats[f"training/resnet18/{block}/{node}"] = dict(HEALTHY)
        for node in ("relu1", "relu2"):
            run.dead_units[f"training/resnet18/{block}/{node}"] = 0.0
    run.latest_stats["training/resnet18/conv1"] = dict(HEALTHY)
    run.latest_stats["training/resnet18/fc"] = dict(HEALTHY)
    run.dead_units["training/resnet18/relu"] = 0.0
    run.dead_units["training/resnet18/layer3_1/relu2"] = 0.7
    healths = health_by_graph(project, run)
    assert healths["BasicBlock"]["relu2"].level == "dead"
    assert healths["BasicBlock"]["relu2"].text.startswith("resnet18/layer3_1: 70% dead")
    assert healths["BasicBlock"]["relu1"].level == "ok"
    resnet = healths["ResNet18"]
    assert resnet["layer3_1"].level == "dead" and resnet["layer3_1"].text.startswith("relu2:")
    assert all(resnet[b].level == "ok" for b in blocks if b != "layer3_1")
    assert resnet["conv1"].level == "ok" and resnet["relu"].level == "ok"
    top = healths["training"]["resnet18"]
    assert top.level == "dead" and top.text.startswith("layer3_1/relu2: 70% dead units")
    assert top.dead_fraction == 0.7


# the canvas -------------------------------------------------------------------------------------
def test_the_dot_keeps_clear_of_the_problem_badge_and_the_header_text():
    from studio.ui.canvas import node_item as ni

    badge_center, badge_r = (ni.WIDTH - 1, 1), 8
    gap = math.dist((ni.DOT_X, ni.HEADER / 2), badge_center) - badge_r - ni.DOT
    assert gap > 2
    assert 9 + ni.WIDTH - 18 - ni.DOT_ROOM + 1 < ni.DOT_X - ni.DOT - 2  # the block name's end


@pytest.fixture
def window(window):
    """The shared window (tests/conftest.py) with the DCGAN example open."""
    assert window.open_path(str(EXAMPLES / "dcgan.studio"), ask=False)
    return window


def _pixel(view, item, x, y):
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication

    view.centerOn(item)
    QApplication.processEvents()
    image = view.viewport().grab().toImage()
    at = view.mapFromScene(item.mapToScene(QPointF(x, y)))
    return image.pixelColor(at)


def test_health_from_a_real_run_on_the_dcgan_canvas(qtbot, window, dcgan):
    from studio.ui import theme
    from studio.ui.canvas.node_item import DOT_X, HEADER

    _, real = dcgan
    run = copy_run(real)
    run.dead_units["training/generator/relu1"] = 0.8
    healths = health_by_graph(window.session.project, run)
    for key, view in window.views.items():
        view.scene().show_health(healths.get(key, {}))
    training, generator = window.scene("training"), window.scene("Generator")

    relu1 = generator.nodes["relu1"]
    assert relu1.health.level == "dead" and relu1.footer_note == "80% dead"
    assert "80% dead units" in relu1.toolTip()
    assert generator.nodes["relu2"].health.level == "ok"
    assert generator.nodes["up1"].health.level == "ok" and generator.nodes["z"].health is None
    instance = training.nodes["generator"]
    assert instance.health.level == "dead" and "relu1" in instance.toolTip()
    assert instance.footer_note == "80% dead"
    assert training.nodes["discriminator"].health.level == "ok"
    assert training.nodes["loss_g"].health is None

    window.tabs.setCurrentWidget(window.view("Generator"))
    view = window.view("Generator")
    view.resetTransform()
    seen = _pixel(view, relu1, DOT_X, HEADER / 2)
    want = theme.current().health_colour("dead")
    assert max(abs(seen.red() - want.red()), abs(seen.green() - want.green()),
               abs(seen.blue() - want.blue())) < 30, (seen.name(), want.name())
    for zoom in (0.3, 0.1):  # the simpler drawings of far zoom levels paint the dot too
        view.resetTransform()
        view.scale(zoom, zoom)
        assert not view.grab().isNull()

    # a new frame with the same figures repaints nothing
    calls = []
    for item in generator.nodes.values():
        item.update = lambda *a, _c=calls: _c.append(1)
    assert generator.show_health(healths["Generator"]) == 0 and calls == []
    run.dead_units["training/generator/relu1"] = 0.1
    again = health_by_graph(window.session.project, run)
    assert generator.show_health(again["Generator"]) >= 1
    assert len(calls) == 1  # only relu1 changed its look
    assert relu1.health.level == "ok" and relu1.footer_note == ""
    for item in generator.nodes.values():
        del item.update

    # rebuilding the scene (an edit of the graph's structure) keeps what is shown
    generator.rebuild()
    assert generator.nodes["relu1"].health.text == "10% dead units"

    for view in window.views.values():
        view.scene().show_health(None)
    assert all(item.health is None for view in window.views.values()
               for item in view.scene().nodes.values())
    assert "training:" not in window.scene("training").nodes["generator"].toolTip()


def test_an_error_rings_the_failing_node(qtbot, window):
    from studio.ui.canvas.node_item import WIDTH

    training = window.scene("training")
    loss = training.nodes["loss_g"]
    training.show_health({"loss_g": Health("error", "the loss became nan at step 3")})
    assert loss.health.level == "error" and loss.footer_note == "error"
    assert loss.head_room < WIDTH - 18  # the title and block name make room for the dot
    window.tabs.setCurrentWidget(window.view("training"))
    view = window.view("training")
    view.resetTransform()
    from studio.ui import theme

    ring = _pixel(view, loss, WIDTH / 2, -2.0)
    want = theme.current().error
    assert abs(ring.red() - want.red()) < 40 and ring.green() < want.green() + 40
    training.show_health({})
    assert loss.health is None and loss.head_room == WIDTH - 18
