"""The shift lesson's probe and view: a map moved by a fraction of a cell is interpolated
between cells; convolutions move with their input, a stride-2 sampling of fine stripes does
not; trained in-process, both classifiers of the lesson send their answers for moved images and
the layers' distances (max pooling far from moving with its input, blur pooling near); the
Shift view draws both classifiers; image classifiers have the view, classifiers of points do
not; the textured shapes differ from the plain ones only by their stripes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from studio.core import fileformat
from studio.engine.library.data import make_shapes
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig, Runner
from studio.engine.shift_probe import SHIFTS, rolled, seam_cells, shift_error
from studio.ui.dashboard.shift import ShiftView, classifies_images, where_sampling_starts
from studio.ui.dashboard.store import RunStore
from tests.helpers import EXAMPLES, show_view

LESSON = EXAMPLES / "course" / "shift.studio"


def test_a_map_moved_by_half_a_cell_lies_between_its_cells():
    maps = torch.arange(8.0).reshape(1, 1, 1, 8)
    assert torch.equal(rolled(maps, 1.0), torch.roll(maps, 1, dims=-1))
    half = rolled(maps, 0.5)
    assert half[0, 0, 0, 3].item() == pytest.approx(2.5)  # between cells 2 and 3
    assert seam_cells(3, 1.0) == 2 and seam_cells(18, 4.0) == 3


def test_a_convolution_moves_with_its_input_and_a_strided_sampling_does_not():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 32, 32)
    right = torch.roll(x, 1, dims=-1)
    conv = torch.nn.Conv2d(1, 8, 3, padding=1)
    with torch.no_grad():
        error, _, _ = shift_error(conv(x), conv(right), 1.0, seam_cells(3, 1.0))
        assert error < 1e-5
        # stripes two pixels wide: sampled every second pixel, a one-pixel move flips them
        stripes = ((torch.arange(32) // 2) % 2).float().expand(4, 1, 32, 32)
        sampled = torch.nn.MaxPool2d(1, stride=2)
        error, _, _ = shift_error(sampled(stripes), sampled(torch.roll(stripes, 1, -1)), 2.0)
        assert error > 0.5


def test_textures_are_the_shapes_drawn_in_stripes():
    plain = make_shapes(count=40, size=16, seed=3)
    striped = make_shapes(count=40, size=16, seed=3, texture=True)
    assert torch.equal(plain.train[1], striped.train[1])  # the same shapes, the same classes
    assert striped.train[0].shape == plain.train[0].shape
    # stripes: neighbouring pixels differ much more than in the flat shapes
    def roughness(images):
        return (images[..., 1:] - images[..., :-1]).abs().mean().item()
    assert roughness(striped.train[0]) > 3 * roughness(plain.train[0])


@pytest.fixture(scope="module")
def lesson_events():
    project = fileformat.load(LESSON)
    project.training.nodes["textures"].params["count"] = 400
    rates = ProbeRates(stats_every=0, activations_every=0, histograms_every=0, shift_every=10,
                       budget=None)
    events = []
    config = RunConfig(steps=20, probes=rates, checkpoint_epochs=False, previews=False)
    Runner(project, config, events.append).run()
    return [e for e in events if e.type == "shift_test"]


def test_both_classifiers_of_the_lesson_are_tested_on_moved_images(lesson_events):
    by = {}
    for e in lesson_events:
        by.setdefault(e.classifier, []).append(e.step)
    # the first step, every 10th, and the final model's
    assert by == {"training/max_scores": [1, 10, 20, 20], "training/blur_scores": [1, 10, 20, 20]}
    for e in lesson_events:
        assert e.shifts == SHIFTS and len(e.kept) == len(SHIFTS)
        assert all(0.0 <= k <= 1.0 for k in e.kept) and 0.0 <= e.accuracy <= 1.0
        assert e.moved_map.shape == e.expected_map.shape and e.moved_map.ndim == 2


def test_max_pooling_stops_moving_with_its_input_and_blur_pooling_much_less(lesson_events):
    last = {e.classifier: e for e in lesson_events}
    distance = {}
    for e in last.values():
        layers = {key.rsplit("/", 1)[-1]: (stride, error)
                  for key, stride, error in zip(e.layers, e.strides, e.errors)}
        distance.update(layers)
    for name in ("max_conv1", "max_relu1", "blur_conv1", "blur_relu1", "blur_pool1"):
        assert distance[name] == (1.0, pytest.approx(0.0, abs=1e-5))  # stride 1: they move
    assert distance["max_pool1"][0] == distance["blur_blur1"][0] == 2.0
    assert distance["max_pool1"][1] > 2 * distance["blur_blur1"][1]


def test_the_shift_view_draws_both_classifiers(qtbot, lesson_events):
    store = RunStore()
    store.new_run()
    topics = store.apply(lesson_events)
    assert "shift" in topics
    view = ShiftView(store)
    show_view(qtbot, view)
    view.refresh({"all"})
    assert view.has_test and view.plots.isVisible() and not view.message.isVisible()
    assert "max_scores" in view.summary.text() and "blur_scores" in view.summary.text()
    drawn = {key: curve for key, curve in view.kept_curves.items()}
    assert {("training/max_scores", 1), ("training/blur_scores", 0)} <= drawn.keys()
    x, y = drawn[("training/max_scores", 1)].getData()
    assert list(x) == [1, 10, 20, 20]
    last = {e.classifier: e for e in lesson_events}
    groups = {c: where_sampling_starts(e) for c, e in last.items()}
    assert [k.rsplit("/", 1)[-1] for k, _ in groups["training/max_scores"].values()] == \
        ["max_conv1", "max_pool1", "max_pool2", "max_relu3"]  # x1, x2, x4, the last map
    heights = view.error_bars.opts["height"]
    assert list(heights) == [error for g in groups.values() for _, error in g.values()]
    assert view.maps_image.image is not None and np.isfinite(view.maps_image.image).all()


def test_image_classifiers_have_the_shift_view_and_classifiers_of_points_do_not():
    from studio.core.inference import analyze

    for path, expected in ((LESSON, True), (EXAMPLES / "lenet.studio", True),
                           (EXAMPLES / "course" / "boundary.studio", False)):
        project = fileformat.load(path)
        assert classifies_images(project, analyze(project)) is expected, path


def test_the_shift_lesson_trains_in_the_window_and_draws_its_test(qtbot, window):
    from studio.core.lessons import lessons
    from tests.test_ui_boundary import WAIT_MS, in_front

    lesson = next(item for item in lessons() if item.id == "shift")
    assert lesson.views[0] == "shift"
    assert window.lessons.open(lesson, ask=False)
    dash = window.dashboard
    qtbot.waitUntil(lambda: in_front(dash.docks["shift"]), timeout=WAIT_MS)
    assert "shift" in dash.relevant_views() and not dash.shift.has_test
    assert dash.panel.train()
    qtbot.waitUntil(lambda: dash.shift.has_test, timeout=WAIT_MS)
    assert in_front(dash.docks["shift"])
    assert "max_scores" in dash.shift.summary.text()
    dash.controller.stop()
    qtbot.waitUntil(lambda: not dash.controller.running, timeout=WAIT_MS)
