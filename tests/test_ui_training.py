"""Training from the window, as a user does it: press Train, watch curves and feature maps,
pause, resume, stop; a GAN shows samples; a NaN and a crash become messages naming the cause,
with the editor still usable; weights are saved with the project, exported with the code, and
training continues from them later."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from studio.core.document import Document
from studio.core.fileformat import load
from studio.engine.events import Progress
from studio.ui.testing import click_node, open_window
from tests.helpers import EXAMPLES, diverging_project, started_event

WAIT_MS = 60_000


def open_example(qtbot, tmp_path, name: str, **settings):
    window = open_window(qtbot, tmp_path)
    project = load(EXAMPLES / f"{name}.studio")
    if settings:
        project.training.configure(**settings)
    window.set_document(Document(project))
    return window


def finished(window) -> bool:
    return window.dashboard.controller.state in ("finished", "stopped", "failed")


def test_train_lenet_watch_a_node_pause_resume_stop(qtbot, tmp_path):
    window = open_example(qtbot, tmp_path, "lenet", epochs=200)
    dash = window.dashboard
    panel = dash.panel
    panel.train_action.trigger()
    assert dash.controller.state == "starting"
    assert not panel.editors["batch_size"].widget.isEnabled()  # settings belong to the next run
    qtbot.waitUntil(lambda: dash.store.current.metrics.get("loss") is not None and
                    len(dash.store.current.metrics["loss"]) >= 20, timeout=WAIT_MS)
    run = dash.store.current
    assert run.device == "cpu" and "using: cpu" in panel.device_label.text()
    # the curves view draws what arrived
    dash.docks["curves"].raise_()
    qtbot.waitUntil(lambda: dash.curves.raw_curve("loss").yData is not None and
                    len(dash.curves.raw_curve("loss").yData) >= 20, timeout=WAIT_MS)
    progress_text = panel.findChild(type(panel.progress_label), "progress_text")
    qtbot.waitUntil(lambda: "samples/s" in progress_text.text(), timeout=5000)  # redrawn at 2 Hz
    # select conv2 on the canvas: its feature maps arrive and are drawn
    click_node(window.view("training"), "conv2")
    assert dash.controller.watched == "training/conv2"
    dash.docks["features"].raise_()
    qtbot.waitUntil(lambda: "training/conv2" in dash.store.current.activations, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: dash.features.mode == "maps" and
                    "conv2" in dash.features.caption.text(), timeout=WAIT_MS)
    maps = dash.store.current.activations["training/conv2"]
    assert maps.kind == "maps" and maps.data.shape[0] == 16
    # pause: no more steps; resume: steps again
    panel.pause_action.trigger()
    qtbot.waitUntil(lambda: dash.controller.state == "paused", timeout=5000)
    assert panel.train_action.text().replace("&", "") == "Resume"
    step = dash.store.current.step
    qtbot.wait(600)
    assert dash.store.current.step - step <= 10  # at most the last log window arrives
    step = dash.store.current.step
    panel.train_action.trigger()  # Train reads Resume while paused
    qtbot.waitUntil(lambda: dash.controller.state == "running", timeout=5000)
    qtbot.waitUntil(lambda: dash.store.current.step > step + 20, timeout=WAIT_MS)
    # stop: the process ends, the plots stay, the trained state can be saved
    pid = dash.controller.session.pid
    panel.stop_action.trigger()
    qtbot.waitUntil(lambda: finished(window), timeout=10_000)
    assert dash.controller.state == "stopped"
    qtbot.waitUntil(lambda: not dash.controller.session.alive, timeout=5000)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert len(dash.store.current.metrics["loss"]) >= 20
    assert panel.save_action.isEnabled() and panel.continue_action.isEnabled()
    # editing works after training
    assert window.editor.set_settings({"batch_size": 32})


def test_a_gan_shows_sample_grids(qtbot, tmp_path):
    window = open_example(qtbot, tmp_path, "dcgan", steps=30, preview_every=10)
    dash = window.dashboard
    dash.panel.train()
    dash.docks["samples"].raise_()
    qtbot.waitUntil(lambda: "samples" in dash.store.current.previews, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: finished(window), timeout=WAIT_MS)
    assert dash.controller.state == "finished"
    images = dash.store.current.previews["samples"].images
    assert images.shape == (64, 1, 16, 16)
    qtbot.waitUntil(lambda: "samples" in dash.samples.panels, timeout=5000)
    assert set(dash.store.current.metrics) == {"loss_d", "loss_g"}


def test_a_nan_loss_names_its_node_and_leaves_the_editor_usable(qtbot, tmp_path):
    window = open_window(qtbot, tmp_path)
    window.set_document(Document(diverging_project()))
    dash = window.dashboard
    nodes_before = set(window.session.project.training.nodes)
    assert dash.panel.train()
    qtbot.waitUntil(lambda: dash.controller.state == "paused", timeout=WAIT_MS)
    error = dash.store.current.error
    assert error.kind == "nan" and error.node == ["training", "fit_loss"]
    assert "fit_loss" in dash.panel.error_text and "not a number" in dash.panel.error_text
    assert "NaN" in dash.panel.state_label.text()
    # the node at fault is shown; the graph is untouched; the curves so far stay
    assert window.session.selection == ("training", ["fit_loss"])
    assert set(window.session.project.training.nodes) == nodes_before
    assert len(dash.store.current.metrics["fit_loss"]) > 0
    # the user can go on editing while it waits, then stop
    assert window.editor.set_params("training", "sgd", {"lr": 0.01})
    dash.panel.stop_action.trigger()
    qtbot.waitUntil(lambda: finished(window), timeout=10_000)
    assert window.session.project.training.nodes["sgd"].params["lr"] == 0.01


def test_a_killed_worker_is_reported_and_nothing_is_lost(qtbot, tmp_path):
    window = open_example(qtbot, tmp_path, "lenet", epochs=500)
    dash = window.dashboard
    dash.panel.train()
    qtbot.waitUntil(lambda: dash.controller.state == "running", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: dash.store.current.metrics.get("loss") is not None, timeout=WAIT_MS)
    os.kill(dash.controller.session.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: dash.controller.state == "failed", timeout=WAIT_MS)
    assert "crashed" in dash.panel.error_text and "signal 9" in dash.panel.error_text
    assert len(dash.store.current.metrics["loss"]) > 0
    assert dash.panel.train_action.isEnabled()  # and a new run can start


def test_settings_are_edited_in_the_panel_and_saved_in_the_project(qtbot, tmp_path):
    window = open_example(qtbot, tmp_path, "lenet")
    panel = window.dashboard.panel
    panel.editors["batch_size"].widget.setValue(32)
    panel.editors["seed"].widget.setValue(7)
    combo = panel.editors["amp"].widget
    combo.setCurrentIndex(combo.findData("bf16"))
    combo.activated.emit(combo.currentIndex())
    settings = window.session.project.training.settings
    assert (settings["batch_size"], settings["seed"], settings["amp"]) == (32, 7, "bf16")
    path = tmp_path / "mine.studio"
    assert window.files.save_to(path)
    again = load(path).training.settings
    assert (again["batch_size"], again["seed"], again["amp"]) == (32, 7, "bf16")
    window.session.undo()  # the amp edit is one undo step, and the panel follows it
    assert window.session.project.training.settings["amp"] == "off"
    assert combo.currentData() == "off"
    dataset = panel.editors["dataset"].widget
    dataset.setCurrentIndex(dataset.findData("shapes"))
    dataset.activated.emit(dataset.currentIndex())
    assert window.session.project.training.nodes["digits"].params["dataset"] == "shapes"


def test_weights_saved_with_the_project_exported_and_continued(qtbot, tmp_path):
    window = open_example(qtbot, tmp_path, "lenet", steps=120)
    dash = window.dashboard
    dash.panel.train()
    qtbot.waitUntil(lambda: finished(window), timeout=WAIT_MS)
    assert dash.controller.state == "finished"
    accuracy = dash.store.current.final.evaluation["test_accuracy"]
    project_file = tmp_path / "lenet_trained.studio"
    assert window.files.save_to(project_file)  # saving the project saves its weights beside it
    weights = tmp_path / "lenet_trained.ckpt"
    assert weights.exists()
    out = tmp_path / "export"
    assert window.exporter.export_code(out)
    assert (out / "weights.pt").exists()
    # the exported script starts from the trained weights
    result = subprocess.run([sys.executable, "train.py", "--weights", "weights.pt", "--steps", "1",
                             "--out", "run"], cwd=out, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    exported = float(result.stdout.split("test_accuracy:")[1].split()[0])
    assert exported > 0.8 and abs(exported - accuracy) < 0.1
    # reopen the project later: continue training from the saved state
    later = open_window(qtbot, tmp_path / "later")
    assert later.open_path(project_file, ask=False)
    panel = later.dashboard.panel
    assert panel.continue_action.isEnabled()
    later.editor.set_settings({"steps": 180})
    panel.continue_action.trigger()
    qtbot.waitUntil(lambda: finished(later), timeout=WAIT_MS)
    run = later.dashboard.store.current
    assert later.dashboard.controller.state == "finished" and run.final.steps == 180
    steps = run.metrics["loss"].x
    assert steps[0] == 1 and steps[-1] == 180 and np.all(np.diff(steps) == 1)  # history first


def test_runs_of_a_project_are_kept_for_comparison(qtbot, tmp_path):
    window = open_example(qtbot, tmp_path, "lenet", steps=30)
    dash = window.dashboard
    for seed in (0, 1):
        window.editor.set_settings({"seed": seed})
        assert dash.panel.train()
        qtbot.waitUntil(lambda: finished(window), timeout=WAIT_MS)
    assert [r.number for r in dash.store.runs] == [1, 2]
    first, second = dash.store.runs
    assert not np.array_equal(first.metrics["loss"].y, second.metrics["loss"].y)
    # opening another project forgets them
    window.open_path(EXAMPLES / "dcgan.studio", ask=False)
    assert dash.store.runs == []


def give_one_frame_of_credit(dash) -> None:
    dash._cpu_mark = (dash.trained_seconds(), time.process_time())
    dash._cpu_credit = 0.001


def as_if_training(monkeypatch, controller) -> None:
    """The controller says a run is training, as if the events the test applies came from one
    (drawing is free while nothing trains)."""
    monkeypatch.setattr(type(controller), "state", property(lambda self: "running"))


def test_a_frame_draws_one_view_within_the_drawing_budget(qtbot, tmp_path, monkeypatch):
    from studio.engine.runner import RunConfig, Runner

    window = open_example(qtbot, tmp_path, "lenet")
    dash = window.dashboard
    dash.tile_views()
    events: list = []
    Runner(load(EXAMPLES / "lenet.studio"), RunConfig(steps=40), events.append).run()
    dash.store.new_run()
    dash.frame.stop()
    as_if_training(monkeypatch, dash.controller)
    drawn: list = []
    for attr, view in dash.views.items():
        original = view.refresh
        view.refresh = lambda topics, a=attr, f=original: (drawn.append(a), f(topics))
    topics = dash.store.apply(events) - {"state"}  # a change of state is drawn at once
    dash.on_updated(topics)  # news for every view at once
    assert drawn == []  # nothing is drawn until a frame
    dash.frame.stop()  # the test draws the frames itself
    qtbot.wait(50)
    dash._frame_at = time.perf_counter()  # a frame was drawn just now: credit decides
    give_one_frame_of_credit(dash)
    dash.draw_frame()
    assert len(drawn) == 1  # one view per frame, never all of them together
    dash.draw_frame()
    assert len(drawn) == 1  # the frame used the editor's CPU credit: the next one waits
    assert dash._cpu_credit < 0
    while any(dash.pending[a] for a in dash.relevant_views()):
        dash._drawn_at.clear()
        give_one_frame_of_credit(dash)
        dash.draw_frame()
    assert set(drawn) == set(dash.relevant_views())  # in turn, every visible view catches up


def test_drawing_earns_its_cpu_budget_from_training_time_not_from_the_clock(qtbot, tmp_path,
                                                                           monkeypatch):
    """The drawing budget is a share of training time: a run that is paused or held up earns
    the editor nothing, so it cannot spend the saved credit when training goes on; while
    nothing trains, drawing is free."""
    from studio.ui.dashboard.dashboard import UI_CPU_BUDGET

    window = open_example(qtbot, tmp_path, "lenet")
    dash = window.dashboard
    store = dash.store
    store.new_run()
    store.apply([started_event(total_steps=1000, metrics=["loss"], nodes=[]),
                 Progress(step=10, total=1000, epoch=1, eta=1.0, samples_per_second=1.0,
                          elapsed=1.0, probe_seconds=0.0)])
    assert dash.has_cpu_credit()  # idle: free
    qtbot.wait(300)  # the new window has painted
    as_if_training(monkeypatch, dash.controller)
    dash._cpu_mark = (dash.trained_seconds(), time.process_time())
    dash._cpu_credit = -0.001
    time.sleep(0.3)  # wall time passes, training does not
    assert not dash.has_cpu_credit()
    store.apply([Progress(step=20, total=1000, epoch=1, eta=1.0, samples_per_second=1.0,
                          elapsed=1.0 + 0.02 / UI_CPU_BUDGET,
                          probe_seconds=0.0)])  # trained on: 0.02 s of CPU earned
    assert dash.has_cpu_credit()


def test_progress_text_catches_up_with_news_its_throttle_skipped(qtbot, tmp_path):
    """The progress text redraws at most twice a second; news arriving just after a
    redraw still shows a moment later, not only when more news comes."""
    window = open_example(qtbot, tmp_path, "lenet")
    dash = window.dashboard
    store = dash.controller.store
    store.new_run()
    dash.controller.updated.emit(store.apply([started_event(total_steps=100, metrics=["loss"],
                                                            nodes=[])]))
    news = Progress(step=50, total=100, epoch=1, eta=1.0, samples_per_second=1234.0,
                    elapsed=1.0, probe_seconds=0.0)
    dash.controller.updated.emit(store.apply([news]))  # right after the redraw: throttled
    label = dash.panel.progress_label
    assert "samples/s" not in label.text()
    qtbot.waitUntil(lambda: "1,234 samples/s" in label.text(), timeout=1000)


def test_events_are_read_as_they_arrive_and_a_quiet_editor_sets_no_timers(qtbot, tmp_path):
    """The editor reads the session's events when they arrive (not on a fast poll: on a small
    machine every wake-up is taken from training) and, once everything is drawn, sets no
    timer at all."""
    window = open_example(qtbot, tmp_path, "lenet", steps=300)
    dash = window.dashboard
    controller = dash.controller
    assert dash.panel.train()
    controller.timer.setInterval(60_000)  # only the session's arrivals are left to read events
    qtbot.waitUntil(lambda: dash.store.current.step >= 100, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: dash.store.current.state == "finished", timeout=WAIT_MS)
    controller.timer.setInterval(250)  # the slow look notices the process has gone
    qtbot.waitUntil(lambda: finished(window), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not dash.frame.isActive() and not controller.timer.isActive(),
                    timeout=5000)
    assert not any(dash.pending[a] for a in dash.relevant_views() if dash._visible(a))
