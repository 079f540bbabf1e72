"""The decision-boundary lesson from the window, as a student takes it: Lessons > the lesson
opens the spirals project with the Boundary view in front, Train, and the view draws the
classifier's map over the plane; the Boundary view is tiled only for classifiers of 2-D
points."""

from __future__ import annotations

from studio.core.lessons import lessons
from tests.helpers import EXAMPLES

WAIT_MS = 60_000


def in_front(dock) -> bool:
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


def test_the_boundary_lesson_trains_and_draws_its_map(qtbot, window):
    lesson = next(item for item in lessons() if item.id == "boundary")
    assert lesson.views[0] == "boundary"
    assert window.lessons.open(lesson, ask=False)
    dash = window.dashboard
    assert window.session.project.name == "Boundary"
    qtbot.waitUntil(lambda: in_front(dash.docks["boundary"]), timeout=WAIT_MS)
    view = dash.boundary
    assert view.message.isVisible() and not view.has_image
    assert "boundary" in dash.relevant_views()
    assert dash.panel.train()
    qtbot.waitUntil(lambda: view.has_image, timeout=WAIT_MS)
    assert in_front(dash.docks["boundary"])  # Train keeps the lesson's view in front
    assert view.plot.isVisible() and "the plane by class" in view.summary.text()
    dash.controller.stop()
    qtbot.waitUntil(lambda: not dash.controller.running, timeout=WAIT_MS)


def test_only_classifiers_of_points_tile_the_boundary_view(qtbot, window):
    assert window.open_path(EXAMPLES / "lenet.studio", ask=False)
    assert "boundary" not in window.dashboard.relevant_views()
    assert "classifier" in window.dashboard.relevant_views()
    assert window.open_path(EXAMPLES / "course" / "boundary.studio", ask=False)
    assert window.dashboard.relevant_views()[-2:] == ["classifier", "boundary"]
    window.dashboard.tile_views()
    qtbot.waitUntil(lambda: in_front(window.dashboard.docks["boundary"]), timeout=WAIT_MS)
