"""The dashboard's image views, offscreen, on events from real (short) training runs: feature
maps with fixed, stated levels, vectors as bars or a heat map, generated samples and
reconstructions, the confusion matrix and the marked probe predictions; and the pixel helpers
under them, on inputs whose pixels are known."""

from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor

from studio.core import fileformat
from studio.engine.events import Preview
from studio.engine.runner import RunConfig, Runner
from studio.ui import theme
from studio.ui.dashboard import images
from studio.ui.dashboard.classifier import EMPTY_TEXT as CLASSIFIER_EMPTY
from studio.ui.dashboard.classifier import ClassifierView
from studio.ui.dashboard.features import FeatureMapsView
from studio.ui.dashboard.samples import EMPTY_TEXT as SAMPLES_EMPTY
from studio.ui.dashboard.samples import SamplesView, class_rows
from studio.ui.dashboard.store import RunStore
from tests.helpers import EXAMPLES, show_view


def _train(name, **config):
    events = []
    Runner(fileformat.load(EXAMPLES / f"{name}.studio"), RunConfig(**config), events.append).run()
    return events


@pytest.fixture(scope="module")
def lenet():
    return _train("lenet", steps=100, watch=("training/conv1", "training/fc1"))


@pytest.fixture(scope="module")
def dcgan():
    return _train("dcgan", steps=5)


@pytest.fixture(scope="module")
def vae():
    return _train("vae", steps=5)


@pytest.fixture(scope="module")
def cvae():
    return _train("cvae", steps=5)


def _store(events):
    store = RunStore()
    store.new_run()
    store.apply(events)
    return store


def _show(qtbot, view, width=900, height=520):
    return show_view(qtbot, view, width, height)


def _rgb(pixels, y, x):
    return tuple(int(v) for v in pixels[y, x])


# ------------------------------------------------------------------------------------------------
# pixel helpers
# ------------------------------------------------------------------------------------------------
def test_tile_puts_images_in_rows_with_padding_between_and_around():
    stack = np.arange(5, dtype=np.float32)[:, None, None, None] * np.ones((5, 1, 2, 3), np.float32)
    mosaic = images.tile(stack, nrow=3, pad=1)
    assert mosaic.shape == (2 * 3 + 1, 3 * 4 + 1)  # 2 rows and 3 columns of 2x3, 1 pixel apart
    for i in range(5):
        r, c = divmod(i, 3)
        block = mosaic[1 + 3 * r: 3 + 3 * r, 1 + 4 * c: 4 + 4 * c]
        assert (block == i).all(), i
    assert np.isnan(mosaic[0]).all() and np.isnan(mosaic[:, 4]).all()  # padding
    assert np.isnan(mosaic[4:6, 9:12]).all()  # the empty sixth cell
    colour = images.tile(np.zeros((4, 3, 2, 2), np.float32), nrow=2, pad=2)
    assert colour.shape == (2 * 4 + 2, 2 * 4 + 2, 3)


def test_fixed_levels_map_values_to_known_pixels():
    values = np.array([-1.0, 0.0, 0.5, 1.0, 3.0, np.nan], np.float32)
    assert images.to_uint8(values, (-1, 1)).tolist() == [0, 128, 191, 255, 255, 0]
    assert images.to_uint8(values, (0, 1)).tolist() == [0, 0, 128, 255, 255, 0]
    grey = images.colourize(values[None], (0, 1), images.GREY, missing=(1, 2, 3))
    assert [tuple(p) for p in grey[0]] == [(0, 0, 0), (0, 0, 0), (128, 128, 128),
                                           (255, 255, 255), (255, 255, 255), (1, 2, 3)]
    diverging = images.colourize(np.array([[-2.0, 0.0, 2.0]]), (-2, 2), images.DIVERGING)
    assert tuple(diverging[0, 1]) == tuple(images.DIVERGING[128])  # 0 is the middle (white)
    assert diverging[0, 0, 2] > diverging[0, 0, 0] and diverging[0, 2, 0] > diverging[0, 2, 2]
    colour = images.rgb_grid(np.array([[[[1.0]], [[0.0]], [[0.5]]]], np.float32), 1, (0, 1),
                             gap=(7, 8, 9))
    assert colour.shape == (3, 3, 3) and tuple(colour[1, 1]) == (255, 0, 128)
    assert tuple(colour[0, 0]) == (7, 8, 9)  # the gap colour frames the tile
    grey = images.rgb_grid(np.full((2, 1, 1, 1), 0.5, np.float32), 2, (0, 1))
    assert tuple(grey[1, 1]) == tuple(grey[1, 3]) == (128, 128, 128)


def test_activation_levels_are_symmetric_or_from_zero_and_only_widen():
    assert images.activation_levels((-0.837, 0.5)) == pytest.approx((-0.84, 0.84))
    assert images.activation_levels((0.0, 3.21)) == pytest.approx((0.0, 3.3))
    held = (-0.84, 0.84)
    assert images.activation_levels((-0.2, 0.3), held) == held  # smaller data: kept
    assert images.activation_levels((-1.27, 0.2), held) == pytest.approx((-1.3, 1.3))
    assert images.activation_levels((0.0, 0.5), held) == held  # stays symmetric
    assert images.activation_levels((-0.1, 2.0), (0.0, 3.3)) == pytest.approx((-3.3, 3.3))
    assert images.activation_levels((0.0, 0.0)) == (0.0, 1.0)  # all zeros still has a scale


def test_channel_grids_are_near_square_and_fill_their_last_row():
    assert images.near_square_columns(64, 8, 8) == 8
    assert images.near_square_columns(6, 28, 28, aspect=1.7) == 3
    assert images.near_square_columns(120, 1, 1, aspect=1.0) in (10, 11, 12)
    mosaic, columns = images.channels_grid(np.zeros((16, 5, 7), np.float32))
    assert columns == 4 and mosaic.shape == (4 * 6 + 1, 4 * 8 + 1)


# ------------------------------------------------------------------------------------------------
# feature maps
# ------------------------------------------------------------------------------------------------
def test_feature_maps_show_every_channel_with_the_stated_fixed_levels(qtbot, lenet):
    store = _store(lenet)
    view = _show(qtbot, FeatureMapsView(store))
    assert view.message.text() == "Select a node on the canvas to see its activations"
    view.set_node("training/conv1")
    event = store.current.activations["training/conv1"]
    data = event.data
    assert view.mode == "maps"
    top = images.round_up(max(abs(v) for v in event.range))
    assert view.levels == pytest.approx((-top, top))
    caption = view.caption.text()
    assert "conv1" in caption and "6 channels of 28\u00d728" in caption and "step 100" in caption
    assert (f"levels {images.format_level(-top)} \u2026 {images.format_level(top)}"
            in caption)
    rows, columns, th, tw, pad, count = view.canvas.grid
    assert (count, th, tw) == (6, 28, 28) and rows * columns >= 6
    pixels = view.canvas.pixels
    assert pixels.shape == (rows * 29 + 1, columns * 29 + 1, 3)
    expected = images.DIVERGING[images.to_uint8(data, view.levels)]
    for k in range(6):  # each channel's tile holds that channel through the shared levels
        r, c = divmod(k, columns)
        tile = pixels[1 + 29 * r: 29 + 29 * r, 1 + 29 * c: 29 + 29 * c]
        assert (tile == expected[k]).all(), k
    assert view.legend.levels == view.levels


def test_levels_stay_fixed_between_frames_until_the_data_outgrows_them(qtbot, lenet):
    store = _store(lenet)
    view = _show(qtbot, FeatureMapsView(store))
    view.set_node("training/conv1")
    first = view.levels
    loudest = store.current.activations["training/conv1"]
    quiet = replace(loudest, step=101, data=loudest.data * 0.1,
                    range=tuple(v * 0.1 for v in loudest.range))
    store.apply([quiet])
    view.refresh({"metrics"})  # nothing of its own changed: the old frame stays
    assert "step 100" in view.caption.text()
    view.refresh({"activations"})
    assert "step 101" in view.caption.text() and view.levels == first
    loud = replace(quiet, step=102, data=quiet.data * 100, range=(-20.0, 30.0))
    store.apply([loud])
    view.refresh({"activations"})
    assert view.levels == (-30.0, 30.0) and "levels \u221230 \u2026 30" in view.caption.text()
    view.reset_levels()
    assert view.levels == (-30.0, 30.0)  # fitted to this frame, which needs them all


def test_clicking_a_channel_enlarges_it_and_clicking_again_goes_back(qtbot, lenet):
    view = _show(qtbot, FeatureMapsView(_store(lenet)))
    view.set_node("training/conv1")
    rect = view.canvas.image_rect()
    rows, columns, th, tw, pad, count = view.canvas.grid
    scale = rect.width() / view.canvas.pixels.shape[1]
    centre = QPoint(int(rect.left() + (pad + (tw + pad) + tw / 2) * scale),  # channel 1
                    int(rect.top() + (pad + th / 2) * scale))
    qtbot.mouseClick(view.canvas, Qt.MouseButton.LeftButton, pos=centre)
    assert view.focus == 1 and "channel 1 of 6" in view.caption.text()
    assert view.canvas.pixels.shape == (30, 30, 3)
    qtbot.mouseClick(view.canvas, Qt.MouseButton.LeftButton, pos=view.canvas.image_rect()
                     .center().toPoint())
    assert view.focus is None and "6 channels" in view.caption.text()


def test_vectors_show_as_bars_or_a_heat_map(qtbot, lenet):
    store = _store(lenet)
    view = _show(qtbot, FeatureMapsView(store))
    view.set_node("training/fc1")
    values = store.current.activations["training/fc1"].data
    assert view.mode == "vector" and view.stack.currentWidget() is view.plot
    shown = np.asarray(view.positive.opts["height"]) + np.asarray(view.negative.opts["height"])
    assert np.allclose(shown, values)
    assert (np.asarray(view.positive.opts["height"]) >= 0).all()
    assert "fc1" in view.caption.text() and "120 values" in view.caption.text()
    y_range = view.plot.getViewBox().viewRange()[1]
    assert y_range[0] <= view.levels[0] and y_range[1] >= view.levels[1]  # fixed axis
    view.set_vector_style("heat")
    assert view.stack.currentWidget() is view.canvas
    rows, columns, _th, _tw, _pad, count = view.canvas.grid
    assert count == 120 and rows * columns >= 120
    expected = images.colourize(images.strip(values, columns), view.levels,
                                images.colour_map_for(view.levels))
    assert (view.canvas.pixels[0, :columns] == expected[0]).all()


def test_probe_sample_is_chosen_in_the_spin_box(qtbot, lenet):
    view = _show(qtbot, FeatureMapsView(_store(lenet)))
    assert (view.probe_sample.minimum(), view.probe_sample.maximum()) == (0, 15)
    with qtbot.waitSignal(view.sample_chosen, timeout=1000) as signal:
        view.probe_sample.setValue(3)
    assert signal.args == [3]


def test_a_watched_node_without_activations_yet_says_so(qtbot, lenet):
    view = _show(qtbot, FeatureMapsView(_store(lenet)))
    view.set_node("training/conv2")
    assert view.mode == "empty"
    assert view.message.text() == "Waiting for conv2's activations\u2026"
    assert view.stack.currentWidget() is view.message


# ------------------------------------------------------------------------------------------------
# generated samples
# ------------------------------------------------------------------------------------------------
def test_gan_samples_show_as_one_grid_with_the_previews_value_range(qtbot, dcgan):
    store = _store(dcgan)
    view = _show(qtbot, SamplesView(store))
    assert list(view.panels) == ["samples"] and view.scroll_area.isVisible()
    panel = view.panels["samples"]
    event = store.current.previews["samples"]
    assert len(panel.grids) == 1 and panel.row_labels == []  # 64 at the default 8: no classes
    pixels = panel.grids[0].pixels
    assert pixels.shape == (8 * 17 + 1, 8 * 17 + 1, 3)
    first = images.to_uint8(event.images[0, 0], (-1.0, 1.0))
    assert (pixels[1:17, 1:17, 0] == first).all() and (pixels[1:17, 1:17, 2] == first).all()
    assert "fixed levels \u22121 \u2026 1" in panel.caption.text()
    assert "at the end of training" in panel.title.text()


def test_reconstructions_stand_beside_their_inputs(qtbot, vae):
    store = _store(vae)
    view = _show(qtbot, SamplesView(store))
    assert sorted(view.panels) == ["reconstructions", "samples"]
    rebuilt = view.panels["reconstructions"]
    event = store.current.previews["reconstructions"]
    assert event.inputs is not None
    inputs, outputs = rebuilt.grids
    assert rebuilt.inputs.title.text() == "Inputs"
    assert rebuilt.outputs.title.text() == "Reconstructions"
    assert inputs.pixels.shape == outputs.pixels.shape
    first = images.to_uint8(event.inputs[0, 0], (0.0, 1.0))
    assert (inputs.pixels[1:17, 1:17, 1] == first).all()
    assert not (inputs.pixels == outputs.pixels).all()
    assert len(view.panels["samples"].grids) == 1


def test_a_conditional_models_rows_are_labelled_with_their_classes(qtbot, cvae):
    store = _store(cvae)
    view = _show(qtbot, SamplesView(store))
    samples = view.panels["samples"]
    assert len(store.current.previews["samples"].images) == 100
    assert samples.row_labels == [str(k) for k in range(10)]
    assert samples.grids[0].row_labels == samples.row_labels
    assert view.panels["reconstructions"].row_labels == []  # dataset order, not classes


def test_row_labels_follow_the_classes_the_engine_names():
    images_ = np.zeros((100, 1, 2, 2), np.float32)

    def preview(images, nrow, classes=None):
        return Preview(1, "samples", images, (0.0, 1.0), nrow, classes=classes)

    assert class_rows(preview(images_, 10, classes=10)) == ([str(k) for k in range(10)], True)
    two_rows_each = class_rows(preview(images_, 10, classes=5))
    assert two_rows_each == ([str(k // 2) for k in range(10)], True)
    assert class_rows(preview(images_, 10, classes=3)) is None  # rows mix classes
    assert class_rows(preview(images_[:64], 8)) is None


def test_panels_are_reused_when_new_previews_arrive(qtbot, dcgan):
    store = _store(dcgan)
    view = _show(qtbot, SamplesView(store))
    panel = view.panels["samples"]
    older = store.current.previews["samples"]
    newer = replace(older, step=400, images=-older.images)
    store.apply([newer])
    view.refresh({"previews"})
    assert view.panels["samples"] is panel and "step 400" in panel.title.text()
    first = images.to_uint8(newer.images[0, 0], (-1.0, 1.0))
    assert (panel.grids[0].pixels[1:17, 1:17, 0] == first).all()


def test_samples_view_explains_itself_without_previews(qtbot, lenet):
    view = _show(qtbot, SamplesView(_store(lenet)))
    assert view.message.isVisible() and view.message.text() == SAMPLES_EMPTY
    assert not view.panels


# ------------------------------------------------------------------------------------------------
# classifiers
# ------------------------------------------------------------------------------------------------
def test_confusion_matrix_shows_the_counts_and_class_accuracy(qtbot, lenet):
    store = _store(lenet)
    view = _show(qtbot, ClassifierView(store))
    run = store.current
    counts = run.confusion
    assert view.matrix_stack.currentWidget() is view.matrix and not view.message.isVisible()
    k = len(counts)
    assert [[view.matrix.cell_text(r, c) for c in range(k)] for r in range(k)] == \
        [[str(v) for v in row] for row in counts.tolist()]
    accuracy = run.per_class_accuracy
    assert [view.matrix.accuracy_text(r) for r in range(k)] == [
        f"{100 * a:.0f}%" for a in accuracy]
    overall = 100 * np.trace(counts) / counts.sum()
    assert f"Accuracy {overall:.1f}%" in view.summary.text()
    assert f"step {run.confusion_step}" in view.summary.text()


def test_wrong_predictions_are_marked_in_red(qtbot, lenet):
    store = _store(lenet)
    event = store.current.predictions
    labels = np.asarray(event.labels)
    predicted = labels.copy()
    wrong = [1, 6, 11]
    predicted[wrong] = (labels[wrong] + 1) % 10
    store.apply([replace(event, predicted=predicted)])
    view = _show(qtbot, ClassifierView(store))
    grid = view.grid
    assert sum(grid.marked) == int((labels != predicted).sum()) == 3
    assert [i for i, bad in enumerate(grid.marked) if bad] == wrong
    assert "13 of 16 right" in view.predictions_summary.text()
    picture = grid.grab().toImage()
    red = QColor(theme.current().error)
    framed = []
    for i in range(len(labels)):
        rect = grid.image_rect(i)
        pixel = picture.pixelColor(int(rect.left()) - 2, int(rect.center().y()))
        framed.append(max(abs(pixel.red() - red.red()), abs(pixel.green() - red.green()),
                          abs(pixel.blue() - red.blue())) < 40)
    assert [i for i, f in enumerate(framed) if f] == wrong


def test_classifier_view_explains_itself_for_other_projects(qtbot, dcgan):
    view = _show(qtbot, ClassifierView(_store(dcgan)))
    assert view.message.isVisible() and view.message.text() == CLASSIFIER_EMPTY
    assert not view.split.isVisible()


def test_views_show_their_hints_before_any_run(qtbot):
    store = RunStore()
    features, samples, classifier = (_show(qtbot, cls(store)) for cls in (
        FeatureMapsView, SamplesView, ClassifierView))
    features.set_node("training/conv1")
    assert features.message.text() == "Waiting for conv1's activations\u2026"
    assert samples.message.isVisible() and classifier.message.isVisible()
