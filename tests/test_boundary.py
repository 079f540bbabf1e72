"""The decision-boundary probe and view: a classifier of 2-D points, trained in-process with
probes on, sends maps of the class it predicts over a grid spanning its data, which change as
it learns and end up agreeing with the training points' classes; probes leave training as it
was; the Boundary view draws the map in the classes' colours, and is one of the project's
views only for a classifier of 2-D points."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from studio.core import fileformat
from studio.core.inference import analyze
from studio.engine.boundary import MAX_POINTS, SIDE
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig, Runner
from studio.ui.dashboard.boundary import BoundaryView, class_colours, classifies_points
from studio.ui.dashboard.store import RunStore
from tests.helpers import EXAMPLES, mlp_on_moons, show_view

LESSON = EXAMPLES / "course" / "boundary.studio"
RATES = ProbeRates(stats_every=0, activations_every=100, histograms_every=0, budget=None)


def _train(project, steps: int, rates=RATES) -> list:
    events = []
    config = RunConfig(steps=steps, probes=rates, checkpoint_epochs=False, previews=False)
    Runner(project, config, events.append).run()
    return events


@pytest.fixture(scope="module")
def lesson_events():
    return _train(fileformat.load(LESSON), 600)


def _maps(events) -> list:
    return [e for e in events if e.type == "boundary"]


def _at(event, points) -> np.ndarray:
    """The class the map gives at each point (the nearest cell)."""
    x0, x1, y0, y1 = event.extent
    side = event.predicted.shape[0]
    col = np.rint((points[:, 0] - x0) / (x1 - x0) * (side - 1)).astype(int)
    row = np.rint((points[:, 1] - y0) / (y1 - y0) * (side - 1)).astype(int)
    return event.predicted[row, col]


def test_the_lessons_classifier_sends_maps_that_learn_the_spirals(lesson_events):
    maps = _maps(lesson_events)
    # one with every activations probe: the first step, every 100th, and the final model's
    assert [m.step for m in maps] == [1, 100, 200, 300, 400, 500, 600, 600]
    first, last = maps[0], maps[-1]
    assert last.predicted.shape == last.confidence.shape == (SIDE, SIDE)
    assert last.classes == 3 and len(last.points) == len(last.labels) == MAX_POINTS
    assert set(np.unique(last.labels)) == {0, 1, 2}
    x0, x1, y0, y1 = last.extent  # the grid spans the data, with a margin
    assert x0 < last.points[:, 0].min() and last.points[:, 0].max() < x1
    assert y0 < last.points[:, 1].min() and last.points[:, 1].max() < y1
    assert ((last.confidence >= 1 / 3 - 1e-6) & (last.confidence <= 1 + 1e-6)).all()
    # the map changes as the network learns, and ends up matching the points' classes
    changed = (first.predicted != last.predicted).mean()
    assert changed > 0.3, changed
    agree_first = (_at(first, first.points) == first.labels).mean()
    agree_last = (_at(last, last.points) == last.labels).mean()
    assert agree_last > 0.85 and agree_last > agree_first + 0.3, (agree_first, agree_last)
    assert set(np.unique(last.predicted)) == {0, 1, 2}


def test_maps_leave_training_as_it_was():
    project = fileformat.load(LESSON)
    every_step = dataclasses.replace(RATES, activations_every=1)
    with_maps = _train(project, 30, every_step)
    without = _train(project, 30, ProbeRates.off())
    assert len(_maps(with_maps)) == 31 and not _maps(without)
    losses = [[p["loss"] for e in events if e.type == "metrics" for p in e.points]
              for events in (with_maps, without)]
    assert losses[0] == losses[1] and len(losses[0]) == 30


def test_only_classifiers_of_2d_points_get_maps():
    lenet = _train(fileformat.load(EXAMPLES / "lenet.studio"), 2)
    assert not _maps(lenet) and any(e.type == "predictions" for e in lenet)
    moons = mlp_on_moons()
    assert _maps(_train(moons, 2))
    assert classifies_points(moons, analyze(moons))
    assert classifies_points(fileformat.load(LESSON), analyze(fileformat.load(LESSON)))
    for name in ("lenet", "siren", "dcgan"):
        project = fileformat.load(EXAMPLES / f"{name}.studio")
        assert not classifies_points(project, analyze(project)), name


def test_the_view_draws_the_map_in_the_classes_colours(qtbot, lesson_events):
    store = RunStore()
    store.new_run()
    view = show_view(qtbot, BoundaryView(store))
    assert view.message.isVisible() and not view.has_image
    store.apply(lesson_events)
    view.refresh({"boundary"})
    assert view.has_image and view.plot.isVisible() and not view.message.isVisible()
    last = store.current.boundary
    assert "Step 600" in view.summary.text()
    pixels = view.image.image  # (G, G, 3): row 0 is the lowest y
    assert pixels.shape == (SIDE, SIDE, 3)
    colours = class_colours(3)
    base = np.array(view.palette().color(view.palette().ColorRole.Base).getRgb()[:3], float)
    # each cell lies on the line from the background to its class's colour, and nearer the
    # colour where the classifier is surer
    for row, col in [(0, 0), (SIDE // 2, SIDE // 3), (SIDE - 1, SIDE - 5)]:
        k = last.predicted[row, col]
        towards = colours[k] - base
        t = float(np.dot(pixels[row, col] - base, towards) / np.dot(towards, towards))
        assert np.allclose(base + t * towards, pixels[row, col], atol=2)
    sure = np.unravel_index(np.argmax(last.confidence), last.confidence.shape)
    unsure = np.unravel_index(np.argmin(last.confidence), last.confidence.shape)
    gap = lambda rc: np.abs(pixels[rc].astype(float) - base).sum()  # noqa: E731
    assert gap(sure) > gap(unsure)
    rect = view.image.mapRectToParent(view.image.boundingRect())
    x0, x1, y0, y1 = last.extent
    assert rect.left() < x0 < x1 < rect.right() and rect.top() < y0 < y1 < rect.bottom()
    assert len(view.scatter.data) == MAX_POINTS
    # a new run starts empty
    store.new_run()
    view.refresh({"all"})
    assert not view.has_image and view.message.isVisible()


def test_probe_batch_of_images_or_float_labels_gets_no_grid():
    from studio.engine.boundary import BoundaryGrid

    class Data:
        train = (torch.zeros(10, 2), torch.zeros(10, dtype=torch.long))

    assert BoundaryGrid.of(Data, (torch.zeros(4, 2), torch.zeros(4, dtype=torch.long)))
    assert BoundaryGrid.of(Data, (torch.zeros(4, 1, 8, 8), torch.zeros(4, dtype=torch.long))) \
        is None
    assert BoundaryGrid.of(Data, (torch.zeros(4, 2), torch.zeros(4, 3))) is None
    assert BoundaryGrid.of(None, ()) is None
