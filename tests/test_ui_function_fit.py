"""The universal approximation lesson from the window, as a student takes it: Lessons > the
lesson opens its three networks of growing width with the Function Fit view in front, Train,
and the view draws one labelled curve per network over the function; the view is one of a
project's views only when its networks fit a function of one number."""

from __future__ import annotations

from tests.helpers import EXAMPLES
from tests.test_ui_course_lessons import train_until
from tests.test_ui_lessons import choose_from_menu_bar, in_front

WAIT_MS = 60_000


def test_the_lesson_opens_from_the_menu_and_draws_a_curve_per_network(qtbot, window):
    choose_from_menu_bar(qtbot, window, "Lessons", "Universal approximation")
    lesson = window.lessons.panel.lesson
    assert lesson is not None and lesson.id == "universal-approximation"
    assert lesson.views[0] == "function_fit"
    assert window.session.project.name == "Universal approximation"
    dash = window.dashboard
    qtbot.waitUntil(lambda: in_front(dash.docks["function_fit"]), timeout=WAIT_MS)
    assert "function_fit" in dash.relevant_views() and "boundary" not in dash.relevant_views()
    view = dash.function_fit
    assert view.message.isVisible() and view.curve_count == 0
    train_until(qtbot, window, lambda: view.curve_count == 3)
    assert in_front(dash.docks["function_fit"])  # Train keeps the lesson's view in front
    key = view.key.text()
    for node, shape in (("w2_out", "width 2, 7 parameters"), ("w8_out", "width 8, 25 parameters"),
                        ("w64_out", "width 64, 193 parameters")):
        assert f"<b>{node}</b> distance" in key and shape in key
    assert view.plot.isVisible() and "closest to the function" in view.summary.text()


def test_only_networks_of_one_number_tile_the_function_fit_view(qtbot, window):
    assert window.open_path(EXAMPLES / "course" / "boundary.studio", ask=False)
    assert "function_fit" not in window.dashboard.relevant_views()
    assert window.open_path(EXAMPLES / "course" / "approximation.studio", ask=False)
    assert "function_fit" in window.dashboard.relevant_views()
