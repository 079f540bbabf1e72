"""The selected node's values and kernels (``engine/watched_probe.py``): the histogram's
counts are numpy's, the flat share counts what the activation declares, what is counted for a
layer and for the activation after it, a convolution's kernels in (out, in) order; and in the
window, a short run of the locality lesson fills the Pre-activations view for the selected
convolution (with its Tanh's saturated share) and the Kernels view with its kernels."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from studio.core import fileformat
from studio.core.registry import get_block
from studio.core.roles import FlatRegion
from studio.engine.events import Kernels, PreActivations
from studio.engine.watched_probe import (
    HIST_BINS,
    WatchedNodeProbe,
    counted_for,
    flat_share,
    kernel_weights,
    value_histogram,
)
from studio.ui.dashboard.kernels import KernelsView, layout_of
from studio.ui.dashboard.preactivations import PreActivationsView
from studio.ui.dashboard.store import RunStore
from tests.helpers import EXAMPLES, show_view, started_event
from tests.test_ui_course_lessons import open_lesson, train_until
from tests.test_ui_lessons import in_front

ACTIVATIONS = EXAMPLES / "course" / "activations.studio"


def test_histogram_counts_are_numpys_on_a_known_batch():
    torch.manual_seed(0)
    batch = torch.randn(16, 64) * 2.5 + 0.3
    batch[0, 0] = float("nan")  # not counted, as numpy would refuse it
    counts, edges = value_histogram(batch)
    finite = batch.numpy().astype(np.float64).reshape(-1)
    finite = finite[np.isfinite(finite)]
    expected, expected_edges = np.histogram(finite, bins=HIST_BINS)
    np.testing.assert_array_equal(counts, expected)
    np.testing.assert_allclose(edges, expected_edges)
    assert counts.sum() == 16 * 64 - 1
    same, same_edges = value_histogram(torch.full((4, 3), 2.0))  # one repeated value
    np.testing.assert_array_equal(same, np.histogram(np.full(12, 2.0), bins=HIST_BINS)[0])
    assert value_histogram(torch.tensor([float("inf")])) is None


def test_the_flat_share_counts_what_the_activation_declares():
    values = torch.tensor([-5.0, -4.0, -1.0, 0.0, 0.5, 3.9, 4.0, 7.0, float("nan")])
    relu, sigmoid = get_block("ReLU").flat, get_block("Sigmoid").flat
    assert relu == FlatRegion(below=0.0, word="dead") and relu.describe() == "x \u2264 0"
    assert flat_share(values, relu) == 4 / 8  # -5, -4, -1, 0
    assert flat_share(values, sigmoid) == 4 / 8  # -5, -4, 4, 7
    assert flat_share(values, get_block("ReLU6").flat) == 5 / 8  # and 7, above 6
    assert get_block("LeakyReLU").flat is None  # its slope is never 0
    for name, activation, peak in (("Sigmoid", torch.sigmoid, 0.25), ("Tanh", torch.tanh, 1.0)):
        x = torch.linspace(-8, 8, 1601, requires_grad=True)
        activation(x).sum().backward()  # its slope in the declared region: at most 7.1% of
        flat = get_block(name).flat  # its peak, and above that outside it
        inside = (x.detach() <= flat.below) | (x.detach() >= flat.above)
        assert float(x.grad[inside].max()) < 0.071 * peak < float(x.grad[~inside].min())


def test_a_layer_counts_its_output_and_an_activation_what_it_receives():
    project = fileformat.load(ACTIVATIONS)
    layer = counted_for(project, "training/relu_fc1")
    assert (layer.source, layer.activation, layer.block) == \
        ("training/relu_fc1", "training/relu_act1", "ReLU")
    assert counted_for(project, "training/relu_act1") == layer
    leaky = counted_for(project, "training/leaky_act1")
    assert (leaky.source, leaky.activation, leaky.flat) == ("training/leaky_act1", None, None)
    assert counted_for(project, "training/no_such_node") is None


def test_a_convolutions_kernels_come_out_by_output_then_input_channel():
    conv = nn.Conv2d(3, 5, 3)
    np.testing.assert_array_equal(kernel_weights([conv]), conv.weight.detach().numpy())
    up = nn.ConvTranspose2d(4, 2, 3)  # its weight is (in, out, kh, kw)
    assert kernel_weights([up]).shape == (2, 4, 3, 3)
    assert kernel_weights([nn.Linear(3, 4)]) is None
    assert kernel_weights([conv, conv]) is None
    kernels = kernel_weights([conv])
    with torch.no_grad():
        conv.weight.add_(1.0)  # a later step does not change what was taken
    assert not np.allclose(kernels, conv.weight.detach().numpy())


def test_the_probe_sends_the_histogram_and_no_kernels_for_a_dense_layer():
    project = fileformat.load(ACTIVATIONS)
    probe = WatchedNodeProbe(project, {"training/relu_fc1": [nn.Linear(4, 64)]})
    assert probe.sources({"training/relu_act1"}) == {"training/relu_fc1"}
    values = torch.linspace(-1, 3, 16 * 64).reshape(16, 64)
    (event,) = probe.events(7, {"training/relu_act1"}, {"training/relu_fc1": values})
    assert isinstance(event, PreActivations)
    assert (event.node, event.activation, event.samples, event.total) == \
        ("training/relu_act1", "training/relu_act1", 16, 1024)
    assert abs(event.share - float((values <= 0).float().mean())) < 1e-9


def test_the_views_draw_the_newest_histogram_and_kernels(qtbot):
    store = RunStore()
    store.new_run()
    store.apply([started_event()])
    values = torch.randn(16, 64) * 3
    counts, edges = value_histogram(values)
    for step in (1, 100, 200):
        store.apply([PreActivations(step, "training/sigmoid_fc1", "training/sigmoid_fc1",
                                    counts, edges.astype(np.float32), 1024, 16,
                                    "training/sigmoid_act1", "Sigmoid", (-4.0, 4.0),
                                    "saturated", 0.125)])
    weights = np.random.default_rng(0).normal(size=(6, 3, 5, 5)).astype(np.float32)
    store.apply([Kernels(200, "training/conv1", weights, (6, 3, 5, 5))])
    hist = show_view(qtbot, PreActivationsView(store))
    hist.set_node("training/sigmoid_fc1")
    assert "12.5%" in hist.summary.text() and "saturated" in hist.summary.text()
    assert len(hist.histogram.plotItem.listDataItems()) == 3
    view = show_view(qtbot, KernelsView(store))
    view.set_node("training/conv1")
    tiles, columns, labels, cells = layout_of(weights)
    assert sorted(c for c in cells if c is not None) == [(o, i) for o in range(6)
                                                         for i in range(3)]
    assert view.canvas.pixels.shape[1] == columns * 6 + 1
    for k, cell in enumerate(cells):  # each tile holds its kernel, gaps are empty
        np.testing.assert_array_equal(tiles[k, 0], weights[cell] if cell else np.nan)
    wide = layout_of(np.zeros((16, 6, 5, 5), np.float32))
    assert wide[1] == 13 and wide[2] == []  # two blocks of 8 rows, a gap column between
    assert view.levels[0] == -view.levels[1]  # symmetric about 0
    view.as_colour.setChecked(True)
    assert view.canvas.grid[-1] == 6  # one colour picture per output channel


def test_selecting_a_layer_and_a_convolution_in_the_window_shows_both(qtbot, window):
    lesson = open_lesson(qtbot, window, "locality")
    dash = window.dashboard
    assert "kernels" in lesson.views and set(lesson.views) <= set(dash.docks)
    window.scene().select_nodes(["conv_layer"])
    store = dash.store
    conv = "training/conv_layer"

    def measured() -> bool:
        run = store.current
        return run is not None and conv in run.kernels and conv in run.pre_activations

    train_until(qtbot, window, measured)
    dash.docks["pre_activations"].raise_()
    qtbot.waitUntil(lambda: in_front(dash.docks["pre_activations"]), timeout=10_000)
    dash.refresh_all()
    text = dash.pre_activations.summary.text()
    assert "conv_layer" in text and "conv_tanh" in text and "saturated" in text
    dash.docks["kernels"].raise_()
    qtbot.waitUntil(lambda: in_front(dash.docks["kernels"]), timeout=10_000)
    dash.refresh_all()
    assert dash.kernels.canvas.pixels is not None
    assert "6 \u00d7 1 kernels of 5 \u00d7 5" in dash.kernels.summary.text()
    window.scene().select_nodes(["dense_layer"])  # no kernels: the view says so
    assert dash.kernels.canvas.pixels is None and dash.kernels.message.isVisible()
