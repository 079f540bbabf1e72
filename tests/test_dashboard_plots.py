"""The dashboard's plots, offscreen, on events from real (short) training runs: every loss with
its raw values and a smoothed line that never replaces them, held-out values and learning rates,
log scale and the overlay of earlier runs; per-node gradient norms and update ratios, the
selected node's histograms and dead ReLU units. Also that smoothing done a few points at a time
gives what smoothing everything at once gives, and that a 100,000-step run stays cheap to
refresh."""


import numpy as np
import pytest
from PySide6.QtGui import QImage

from studio.core import fileformat
from studio.engine.events import Metrics
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig, Runner
from studio.ui import theme
from studio.ui.dashboard.curves import EMPTY_TEXT, CurvesView, Smoothed, ema
from studio.ui.dashboard.gradients import NO_NODE_TEXT, GradientsView, short_name
from studio.ui.dashboard.store import RunStore, Series, smooth
from tests.helpers import EXAMPLES, show_view, started_event

RATES = ProbeRates(stats_every=5, activations_every=20, histograms_every=20, budget=None)


def _train(name, steps):
    events = []
    config = RunConfig(steps=steps, probes=RATES, checkpoint_epochs=False)
    Runner(fileformat.load(EXAMPLES / f"{name}.studio"), config, events.append).run()
    return events


@pytest.fixture(scope="module")
def lenet():
    return _train("lenet", 120)


@pytest.fixture(scope="module")
def dcgan():
    return _train("dcgan", 30)


def _store(*runs):
    store = RunStore()
    for events in runs:
        store.new_run()
        store.apply(events)
    return store


def _show(qtbot, view, width=900, height=500):
    return show_view(qtbot, view, width, height)


def _data(item):
    x, y = item.getOriginalDataset()
    return (np.array([]), np.array([])) if x is None else (x, y)


def _legend(plot):
    return [label.text for _sample, label in plot.getPlotItem().legend.items]


# ------------------------------------------------------------------------------------------------
# smoothing
# ------------------------------------------------------------------------------------------------
def test_block_ema_is_the_stores_smoothing_in_any_pieces():
    rng = np.random.default_rng(1)
    y = rng.normal(1.0, 0.5, 5000)
    y[[3, 700, 701]] = np.nan
    y[4000] = np.inf
    for weight in (0.0, 0.05, 0.6, 0.99):
        whole = smooth(y, weight)
        out, acc, norm = ema(y, weight)
        np.testing.assert_allclose(out, whole, rtol=1e-10, atol=1e-12)
        pieces, state = [], (0.0, 0.0)
        for part in np.array_split(y, 7):
            part_out, *state = ema(part, weight, *state)
            pieces.append(part_out)
        np.testing.assert_allclose(np.concatenate(pieces), whole, rtol=1e-10, atol=1e-12)


def test_smoothed_series_extends_and_starts_over_when_cut_back():
    series, smoothed = Series(), Smoothed()
    series.extend(np.arange(1, 101), np.linspace(2.0, 1.0, 100))
    np.testing.assert_allclose(smoothed.update(series, 0.8), smooth(series.y, 0.8))
    series.extend(np.arange(101, 111), np.full(10, 5.0))
    np.testing.assert_allclose(smoothed.update(series, 0.8), smooth(series.y, 0.8))
    # a restored run: steps past 90 are dropped and trained again, with other values; the
    # series ends up longer than before, so only its last point tells
    series.truncate_after(90)
    series.extend(np.arange(91, 121), np.full(30, 0.5))
    np.testing.assert_allclose(smoothed.update(series, 0.8), smooth(series.y, 0.8))
    np.testing.assert_allclose(smoothed.update(series, 0.3), smooth(series.y, 0.3))


# ------------------------------------------------------------------------------------------------
# curves
# ------------------------------------------------------------------------------------------------
def test_curves_say_when_they_will_appear(qtbot):
    store = RunStore()
    view = _show(qtbot, CurvesView(store))
    assert view.stack.currentWidget() is view.message and view.message.text() == EMPTY_TEXT
    store.new_run()
    store.apply([started_event(metrics=["loss"], nodes=[])])
    view.refresh({"state"})
    assert view.stack.currentWidget() is view.message


def test_every_metric_is_drawn_raw_and_smoothed_with_held_out_values_and_lr(qtbot, lenet):
    store = _store(lenet)
    run = store.current
    view = _show(qtbot, CurvesView(store))
    assert view.stack.currentWidget() is not view.message
    assert run.metrics and run.evaluation and run.lr
    for name, series in run.metrics.items():
        raw, smoothed = view.raw_curve(name), view.smooth_curve(name)
        assert raw is not smoothed
        x, y = _data(raw)
        np.testing.assert_array_equal(x, series.x)
        np.testing.assert_array_equal(y, series.y)
        x, y = _data(smoothed)
        np.testing.assert_array_equal(x, series.x)
        np.testing.assert_allclose(y, smooth(series.y, view.smoothing))
        assert view.plot_of(raw) is view.plot_of(smoothed) is view.loss_plot
        assert raw.zValue() < smoothed.zValue()  # the smoothed line on top, the raw under it
    # held-out values: dots, next to the train curve they belong with, in its colour family
    test_loss = view.held_out_curve("test_loss")
    x, y = _data(test_loss)
    np.testing.assert_array_equal(x, run.evaluation["test_loss"].x)
    np.testing.assert_array_equal(y, run.evaluation["test_loss"].y)
    assert test_loss.opts["symbol"] == "o" and view.plot_of(test_loss) is view.loss_plot
    loss_hue = view.smooth_curve("loss").opts["pen"].color().hue()
    assert abs(test_loss.opts["pen"].color().hue() - loss_hue) <= 10
    # accuracies (0..1) have a plot of their own so they do not squash the losses
    assert view.plot_of(view.held_out_curve("test_accuracy")) is view.accuracy_plot
    assert view.accuracy_plot.isVisible()
    assert {"loss", "test_loss"} <= set(_legend(view.loss_plot))
    for optimizer, series in run.lr.items():
        np.testing.assert_array_equal(_data(view.lr_curve(optimizer))[1], series.y)
    assert view.lr_plot.isVisible()
    # one step axis: zooming one plot moves the others
    view.loss_plot.setXRange(10, 50, padding=0)
    assert view.lr_plot.getViewBox().viewRange()[0] == pytest.approx([10, 50])


def test_smoothing_changes_the_smoothed_line_and_never_the_raw_one(qtbot, lenet):
    store = _store(lenet)
    series = store.current.metrics["loss"]
    view = _show(qtbot, CurvesView(store))
    raw_before = _data(view.raw_curve("loss"))[1].copy()
    smooth_before = _data(view.smooth_curve("loss"))[1].copy()
    view.smoothing_spin.setValue(0.9)  # as the user does
    assert view.smoothing == 0.9 and view.smoothing_slider.value() == 90
    smoothed = _data(view.smooth_curve("loss"))[1]
    assert not np.allclose(smoothed, smooth_before)
    np.testing.assert_allclose(smoothed, smooth(series.y, 0.9))
    np.testing.assert_array_equal(_data(view.raw_curve("loss"))[1], raw_before)
    view.smoothing_slider.setValue(0)
    assert view.smoothing_spin.value() == 0.0
    np.testing.assert_array_equal(_data(view.smooth_curve("loss"))[1], series.y)
    np.testing.assert_array_equal(_data(view.raw_curve("loss"))[1], raw_before)


def test_log_scale_checkbox_switches_the_loss_axis(qtbot, lenet):
    view = _show(qtbot, CurvesView(_store(lenet)))
    left = view.loss_plot.getAxis("left")
    assert not view.log_scale and not left.logMode
    view.log_check.click()
    assert view.log_scale and left.logMode
    assert view.raw_curve("loss").opts["logMode"][1] and view.smooth_curve("loss").opts["logMode"][1]
    assert not view.accuracy_plot.getAxis("left").logMode  # 0..1 stays linear
    # the data handed over stays the data; only the display is logarithmic
    np.testing.assert_array_equal(_data(view.raw_curve("loss"))[1],
                                  view.store.current.metrics["loss"].y)
    view.log_check.click()
    assert not left.logMode and not view.raw_curve("loss").opts["logMode"][1]


def test_earlier_runs_are_overlaid_dashed_and_can_be_hidden(qtbot, lenet):
    half = [e for e in lenet if not isinstance(e, Metrics) or e.points[-1]["step"] <= 60]
    store = _store(lenet, half)
    first, second = store.runs
    view = _show(qtbot, CurvesView(store))
    assert view.overlay_check.isChecked()
    earlier = view.overlay_curve(first.number, "loss")
    assert earlier is not None and earlier in view.loss_plot.listDataItems()
    assert earlier.opts["pen"].style() != view.smooth_curve("loss").opts["pen"].style()
    np.testing.assert_allclose(_data(earlier)[1], smooth(first.metrics["loss"].y, view.smoothing))
    assert first.title in _legend(view.loss_plot)
    # the current run's curves are the current run's
    assert len(_data(view.raw_curve("loss"))[1]) == len(second.metrics["loss"]) < len(
        first.metrics["loss"])
    view.overlay_check.click()
    assert view.overlay_curve(first.number, "loss") is None
    assert earlier not in view.loss_plot.listDataItems()
    assert first.title not in _legend(view.loss_plot)
    view.overlay_check.click()
    assert view.overlay_curve(first.number, "loss") is earlier  # the same item, drawn again
    # a new smoothing weight reaches the earlier runs too
    view.set_smoothing(0.3)
    np.testing.assert_allclose(_data(earlier)[1], smooth(first.metrics["loss"].y, 0.3))


def test_a_new_run_starts_with_empty_curves_and_the_last_one_overlaid(qtbot, lenet):
    store = _store(lenet)
    view = _show(qtbot, CurvesView(store))
    raw = view.raw_curve("loss")
    store.new_run()
    view.refresh({"all"})
    assert _data(raw)[1].size == 0 and view.plot_of(raw) is None
    assert view.overlay_curve(store.runs[0].number, "loss") is not None
    first_metrics = next(i for i, e in enumerate(lenet) if isinstance(e, Metrics))
    store.apply(lenet[:first_metrics + 1])  # the run's events up to its first losses
    view.refresh({"metrics"})
    assert view.raw_curve("loss") is raw  # reused, not made again
    np.testing.assert_array_equal(_data(raw)[1], store.current.metrics["loss"].y)


def test_curves_grow_frame_by_frame_as_smoothing_everything_would(qtbot, lenet):
    store = RunStore()
    store.new_run()
    view = _show(qtbot, CurvesView(store))
    drawn = view.raw_curve("loss")
    metrics = [i for i, e in enumerate(lenet) if isinstance(e, Metrics)]
    middle = metrics[len(metrics) // 2]
    for part in (lenet[:middle], lenet[middle:]):
        topics = store.apply(part)
        assert "metrics" in topics
        view.refresh(topics)
        series = store.current.metrics["loss"]
        np.testing.assert_array_equal(_data(view.raw_curve("loss"))[1], series.y)
        np.testing.assert_allclose(_data(view.smooth_curve("loss"))[1],
                                   smooth(series.y, view.smoothing))
    assert view.raw_curve("loss") is drawn
    # a frame without news for the curves leaves them alone
    before = len(_data(drawn)[1])
    store.current.metrics["loss"].append(10_000, 1.0)
    view.refresh({"previews", "activations"})
    assert len(_data(drawn)[1]) == before


def test_a_long_run_refreshes_only_what_is_new(qtbot, monkeypatch):
    """100,000 steps of two metrics: after 10 more points a refresh smooths only those and hands
    the arrays over; pyqtgraph clips and downsamples when it paints. (How long a refresh takes
    is measured in bench/bench_dashboard.py, not here: a test never depends on a quiet
    machine.)"""
    from studio.ui.dashboard import curves

    smoothed_lengths = []
    real_ema = curves.ema

    def counting_ema(y, *args):
        smoothed_lengths.append(len(y))
        return real_ema(y, *args)

    store = RunStore()
    store.new_run()
    n = 100_000
    steps = np.arange(1, n + 1)
    loss = 2.3 * np.exp(-steps / 20_000) + 0.1 * np.random.default_rng(0).random(n)
    run = store.current
    run.metrics["loss"], run.metrics["accuracy"] = Series(), Series()
    run.metrics["loss"].extend(steps, loss)
    run.metrics["accuracy"].extend(steps, 1 - loss / 3)
    view = _show(qtbot, CurvesView(store), 1000, 500)
    monkeypatch.setattr(curves, "ema", counting_ema)
    for i in range(7):
        store.apply([Metrics([{"step": n + 10 * i + j, "epoch": 1, "loss": 0.1, "accuracy": 0.97}
                              for j in range(1, 11)], {"adam": 1e-3})])
        view.refresh({"metrics"})
    assert smoothed_lengths == [10] * 14  # each refresh smooths the ten new points of each metric
    assert view.raw_curve("loss").opts["clipToView"]
    assert view.raw_curve("loss").opts["autoDownsample"]
    assert view.raw_curve("loss").opts["downsampleMethod"] == "peak"
    np.testing.assert_allclose(_data(view.smooth_curve("loss"))[1],
                               smooth(run.metrics["loss"].y, view.smoothing))


# ------------------------------------------------------------------------------------------------
# gradients
# ------------------------------------------------------------------------------------------------
def test_a_gradient_curve_per_trainable_node_on_a_log_axis(qtbot, lenet):
    store = _store(lenet)
    run = store.current
    view = _show(qtbot, GradientsView(store))
    assert view.norms_stack.currentIndex() == 1
    assert set(view.curve_keys) == set(run.grad_norm) == set(run.nodes)
    for key, series in run.grad_norm.items():
        x, y = _data(view.curve(key))
        np.testing.assert_array_equal(x, series.x)
        np.testing.assert_array_equal(y, series.y)
    assert view.norms_plot.getAxis("left").logMode
    assert [view.legend.item(i).text() for i in range(view.legend.count())] == \
        [short_name(k) for k in run.nodes]
    assert "conv1" in [view.legend.item(i).text() for i in range(view.legend.count())]
    # the update-to-weight ratio instead, with its 1e-3 reference line
    assert not view.reference.isVisible()
    view.mode_combo.setCurrentIndex(1)
    assert view.mode == "update_ratio" and view.reference.isVisible()
    assert view.reference.value() == pytest.approx(-3.0)  # log10(1e-3): the axis is logarithmic
    for key, series in run.update_ratio.items():
        np.testing.assert_array_equal(_data(view.curve(key))[1], series.y)
    view.set_mode("grad_norm")
    assert view.mode_combo.currentIndex() == 0
    np.testing.assert_array_equal(_data(view.curve("training/conv1"))[1],
                                  run.grad_norm["training/conv1"].y)


def test_selecting_a_node_singles_out_its_curve_and_shows_its_histograms(qtbot, lenet):
    store = _store(lenet)
    run = store.current
    view = _show(qtbot, GradientsView(store))
    assert view.histogram_message.text() == NO_NODE_TEXT
    view.set_node("training/conv1")
    assert view.histograms_shown == "training/conv1"
    assert view.histogram_stack.currentIndex() == 1
    for kind, item, plot in (("weights", view.weights_histogram, view.weights_plot),
                             ("grads", view.grads_histogram, view.grads_plot)):
        counts, edges = run.histograms["training/conv1"][kind]
        x, y = _data(item)
        np.testing.assert_array_equal(x, edges)
        np.testing.assert_array_equal(y, counts)
        assert "conv1" in plot.getPlotItem().titleLabel.text
        assert f"step {run.histograms_step}" in plot.getPlotItem().titleLabel.text
    widths = {k: view.curve(k).opts["pen"].widthF() for k in view.curve_keys}
    assert widths["training/conv1"] == max(widths.values()) > widths["training/fc1"]
    assert view.curve("training/conv1").zValue() > view.curve("training/fc1").zValue()
    assert view.legend.currentItem().text() == "conv1"
    # a node without weights says so
    view.set_node("training/pool1")
    assert view.histograms_shown is None and view.histogram_stack.currentIndex() == 0
    assert "not a trainable node" in view.histogram_message.text()
    # clicking a name in the list is the same as selecting the node
    row = view.legend.item([view.legend.item(i).text()
                            for i in range(view.legend.count())].index("fc2"))
    view.legend.itemClicked.emit(row)
    assert view.node == "training/fc2" and view.histograms_shown == "training/fc2"
    view.set_node(None)
    assert view.histogram_message.text() == NO_NODE_TEXT
    assert len({view.curve(k).opts["pen"].widthF() for k in view.curve_keys}) == 1


def _pixels(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    data = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    rows = data.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 3]
    return rows.reshape(image.height(), image.width(), 3).copy()  # the image's memory goes


def test_dead_units_of_relu_nodes_with_a_warning_over_half(qtbot, dcgan, lenet):
    store = _store(dcgan)
    run = store.current
    view = _show(qtbot, GradientsView(store))
    assert "training/generator/relu1" in run.dead_units
    names = [name for name, _ in view.dead_bars.rows]
    assert "generator/relu1" in names
    assert dict(view.dead_bars.rows) == pytest.approx(
        {short_name(k): v for k, v in run.dead_units.items()})
    assert view.dead_stack.currentIndex() == 1
    # the generator's nodes have curves too: paths through the network instance
    assert "training/generator/up1" in view.curve_keys
    # over half dead: the bar takes the error colour
    error = theme.current().error
    red = np.array([error.red(), error.green(), error.blue()])
    assert not (_pixels(view.dead_bars) == red).all(axis=2).any()
    run.dead_units["training/generator/relu1"] = 0.75
    view.refresh({"dead_units"})
    assert dict(view.dead_bars.rows)["generator/relu1"] == 0.75
    assert (_pixels(view.dead_bars) == red).all(axis=2).sum() > 50
    # LeNet has tanh: nothing to measure; before training: not measured yet
    assert view.dead_message.text() == ""
    lenet_view = _show(qtbot, GradientsView(_store(lenet)))
    assert lenet_view.dead_stack.currentIndex() == 0
    assert lenet_view.dead_message.text() == "No ReLU-family activations"
    empty = _show(qtbot, GradientsView(RunStore()))
    assert "not measured yet" in empty.dead_message.text().lower()
    assert empty.norms_stack.currentIndex() == 0


def test_gradients_follow_a_new_run(qtbot, lenet, dcgan):
    store = _store(lenet)
    view = _show(qtbot, GradientsView(store))
    conv1 = view.curve("training/conv1")
    store.new_run()
    view.refresh({"all"})
    assert view.curve_keys == [] and view.norms_stack.currentIndex() == 0
    topics = store.apply(dcgan)
    view.refresh(topics)
    assert set(view.curve_keys) == set(store.current.grad_norm)
    assert not conv1.isVisible()
    assert view.legend.count() == len(store.current.grad_norm)


def test_a_frame_paints_each_plot_once(qtbot, lenet):
    """New points move the auto range; fitted before the paint (settle_plots), each plot is
    painted once per frame, not once for the points and again for the range they moved."""
    import pyqtgraph as pg
    from PySide6.QtCore import QEvent, QObject

    from studio.ui.dashboard.dashboard import settle_plots

    class PaintCounter(QObject):
        def __init__(self):
            super().__init__()
            self.count = 0

        def eventFilter(self, obj, event):
            self.count += event.type() == QEvent.Type.Paint
            return False

    store = RunStore()
    store.new_run()
    for view in (CurvesView(store), GradientsView(store)):
        view = _show(qtbot, view)
        metrics = [i for i, e in enumerate(lenet) if isinstance(e, Metrics)]
        view.refresh(store.apply(lenet[:metrics[len(metrics) // 2]]))
        qtbot.wait(50)
        plots = [p for p in view.findChildren(pg.GraphicsView) if p.isVisible()]
        counters = [PaintCounter() for _ in plots]
        for plot, counter in zip(plots, counters):
            plot.viewport().installEventFilter(counter)
        view.refresh(store.apply(lenet[metrics[len(metrics) // 2]:]))  # the rest: ranges grow
        settle_plots(view)
        qtbot.wait(100)
        painted = [c.count for c in counters]
        assert max(painted) == 1, (type(view).__name__, painted)
        store.new_run()
