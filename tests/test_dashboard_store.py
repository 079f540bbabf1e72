"""The dashboard's record of runs, built from events alone: curves grow without losing points,
a restored run forgets the steps it undoes, only the last few runs are kept."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from studio.engine.events import Error, Evaluation, Metrics, Paused, Restored, Stats
from studio.ui.dashboard.store import MAX_RUNS, RunStore, Series, smooth
from tests.helpers import started_event


@given(st.lists(st.lists(st.floats(-1e6, 1e6), max_size=40), max_size=30))
def test_series_keeps_every_point_in_order(chunks):
    s = Series(capacity=4)
    expected = []
    for chunk in chunks:
        if len(chunk) == 1:
            s.append(len(expected), chunk[0])
        else:
            s.extend(range(len(expected), len(expected) + len(chunk)), chunk)
        expected += chunk
    assert s.y.tolist() == expected
    assert s.x.tolist() == list(range(len(expected)))


def test_smoothing_is_an_unbiased_moving_average_and_zero_is_the_data():
    y = np.array([1.0, 3.0, 3.0, 3.0])
    assert smooth(y, 0.0) is y
    out = smooth(y, 0.5)
    assert out[0] == 1.0  # bias-corrected: the first point is the first value, not half of it
    assert 1.0 < out[1] < 3.0 and out[-1] < 3.0
    assert np.isnan(smooth(np.array([1.0, np.nan, 1.0]), 0.9)[1])


def metrics(first, last, loss=1.0):
    return Metrics([{"step": s, "epoch": 1, "loss": loss} for s in range(first, last + 1)],
                   {"adam": 1e-3})


def test_events_fill_the_current_run_and_report_topics():
    store = RunStore()
    assert store.apply([metrics(1, 3)]) == set()  # no run yet: nothing to fill
    run = store.new_run()
    topics = store.apply([started_event(device="cpu", total_steps=100, metrics=["loss"],
                                        nodes=["training/fc"]),
                          metrics(1, 10),
                          Stats(10, {"training/fc": {
                              "grad_norm": 0.5, "weight_norm": 2.0, "update_ratio": 1e-3}}),
                          Evaluation(10, 1, {"test_loss": 0.7},
                                     {"confusion": [[3, 1], [0, 4]]})])
    assert topics == {"state", "metrics", "stats", "evaluation"}
    assert run.device == "cpu" and run.step == 10 and len(run.metrics["loss"]) == 10
    assert run.grad_norm["training/fc"].last == 0.5
    assert run.per_class_accuracy.tolist() == [0.75, 1.0]


def test_a_restored_run_forgets_the_steps_after_its_good_state():
    store = RunStore()
    run = store.new_run()
    store.apply([metrics(1, 20), Error("nan", "nan", ["training", "loss"]),
                 Paused(20, reason="nan")])
    assert run.state == "paused" and run.error.kind == "nan"
    store.apply([Restored(12)])
    assert run.metrics["loss"].x[-1] == 12 and run.error is None and run.state == "running"
    store.apply([metrics(13, 15, loss=0.5)])
    assert run.metrics["loss"].x.tolist() == list(range(1, 16))


def test_only_the_last_runs_are_kept():
    store = RunStore()
    for _ in range(MAX_RUNS + 2):
        store.new_run()
    assert [r.number for r in store.runs] == list(range(3, MAX_RUNS + 3))
    assert store.current.number == MAX_RUNS + 2 and len(store.previous) == MAX_RUNS - 1


def test_a_crash_fails_the_run_but_a_nan_only_pauses_it():
    store = RunStore()
    run = store.new_run()
    store.apply([Error("nan", "x")])
    assert run.state != "failed"
    store.apply([Error("crash", "killed")])
    assert run.state == "failed"
