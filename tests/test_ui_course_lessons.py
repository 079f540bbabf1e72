"""The losses, optimizers and skip-connection lessons from the window, as a student takes them:
each opens with its views in front, and its diagnostic shows what its text promises (the
losses' curves in the inspector; the optimizers' paths on the toy surface after Train; the
plain network's vanishing gradients beside the skip network's after Train)."""

from __future__ import annotations

import numpy as np

from studio.core.lessons import lessons
from tests.test_ui_lessons import in_front

WAIT_MS = 60_000


def open_lesson(qtbot, window, lesson_id: str):
    lesson = next(item for item in lessons() if item.id == lesson_id)
    assert window.lessons.open(lesson, ask=False)
    assert window.lessons.panel.lesson.id == lesson_id
    qtbot.waitUntil(lambda: in_front(window.dashboard.docks[lesson.views[0]]), timeout=WAIT_MS)
    return lesson


def train_until(qtbot, window, ready) -> None:
    dash = window.dashboard
    assert dash.panel.train()
    try:
        qtbot.waitUntil(ready, timeout=WAIT_MS)
    finally:
        dash.controller.stop()
        qtbot.waitUntil(lambda: not dash.controller.running, timeout=WAIT_MS)


def test_the_losses_lesson_plots_smoothing_and_weights(qtbot, window):
    open_lesson(qtbot, window, "losses")
    window.scene().select_nodes(["loss_smoothed"])
    (x, y), (_, dy) = window.inspector.plot_data()
    assert y.min() > 0.3 and 0 < np.argmin(y) < len(y) - 1 and dy[-1] > 0  # a floor, pushed back
    window.scene().select_nodes(["loss_weighted"])
    drawn = window.inspector.plot.drawn_all()
    assert len(drawn) == 10
    (_, heavy), _ = drawn["target class 0 of 10, weight 5"]
    (_, light), _ = drawn["target class 1 of 10, weight 1"]
    np.testing.assert_allclose(heavy, 5 * light)


def test_the_optimizers_lesson_draws_each_optimizers_path(qtbot, window):
    open_lesson(qtbot, window, "optimizers")
    dash = window.dashboard
    assert "paths" in dash.relevant_views()
    view = dash.paths
    assert not view.has_paths
    train_until(qtbot, window, lambda: view.has_paths)
    assert in_front(dash.docks["paths"])  # Train keeps the lesson's view in front
    assert set(view.lines) == {"opt_sgd", "opt_momentum", "opt_adam"}
    momentum_x, momentum_y = view.lines["opt_momentum"].getData()
    sgd_x, _ = view.lines["opt_sgd"].getData()
    assert abs(momentum_x[-1]) < 0.01 and sgd_x[-1] < -1.5  # as the lesson's text says


def test_the_skips_lesson_shows_the_plain_networks_gradients_vanish(qtbot, window):
    open_lesson(qtbot, window, "skips")
    store = window.dashboard.store
    first, plain, skip = "training/plain_in", "training/plain_fc10", "training/skip_in"

    def measured():
        run = store.current
        return run is not None and all(k in run.latest_stats for k in (first, plain, skip))

    train_until(qtbot, window, measured)
    stats = store.current.latest_stats
    assert stats[first]["grad_norm"] < 1e-5 * stats[plain]["grad_norm"]
    assert stats[skip]["grad_norm"] > 1e4 * stats[first]["grad_norm"]
    assert in_front(window.dashboard.docks["gradients"])


def test_the_normalization_lesson_compares_batch_and_running_statistics(qtbot, window):
    open_lesson(qtbot, window, "normalization")
    dash = window.dashboard
    assert "normalization" in dash.relevant_views()
    view = dash.normalization
    train_until(qtbot, window, lambda: view.has_stats)
    assert in_front(dash.docks["normalization"])
    assert ("mean", "training/bn") in view.scatters and "bn: gap" in view.summary.text()


def test_the_activations_lesson_plots_each_and_counts_dead_units(qtbot, window):
    open_lesson(qtbot, window, "activations")
    for node, function in (("relu_act1", lambda x: np.maximum(x, 0)),
                           ("tanh_act1", np.tanh)):
        window.scene().select_nodes([node])
        (x, y), _ = window.inspector.plot_data()
        np.testing.assert_allclose(y, function(x), atol=1e-12)
    store = window.dashboard.store  # tanh_act1 is selected: its inputs' histogram comes
    train_until(qtbot, window, lambda: store.current is not None
                and "training/relu_act1" in store.current.dead_units
                and "training/tanh_act1" in store.current.pre_activations)
    assert 0 <= store.current.dead_units["training/relu_act1"] < 1
    assert "training/leaky_act1" not in store.current.dead_units  # it has no zero slope
    assert in_front(window.dashboard.docks["pre_activations"])  # the lesson's first view
    qtbot.waitUntil(lambda: "saturated</b> (|x| \u2265 2) \u00b7 <b>tanh_fc1</b>" in
                    window.dashboard.pre_activations.summary.text(), timeout=WAIT_MS)
