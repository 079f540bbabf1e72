"""The app records every run in the project's run history, off the UI thread, and the Runs panel
lists them: two LeNet widths appear with what changed, their curves overlay, rename, note and
delete change the history, a stopped run reads stopped, and a recorded run continues from its
kept checkpoint after the app has restarted."""

from __future__ import annotations

import os
import signal
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

from studio.core.document import Document
from studio.core.fileformat import load
from studio.engine.run_history import FAILED, FINISHED, STOPPED, RunHistory
from studio.ui.testing import open_window
from tests.helpers import EXAMPLES

WAIT_MS = 60_000


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    folder = tmp_path / "histories"
    monkeypatch.setenv("STUDIO_RUNS_DIR", str(folder))
    return folder


def saved_lenet(qtbot, tmp_path, folder: str = "app", **settings):
    window = open_window(qtbot, tmp_path / folder)
    project = load(EXAMPLES / "lenet.studio")
    project.training.configure(**settings)
    window.set_document(Document(project))
    assert window.files.save_to(tmp_path / "lenet.studio")
    return window


def train_to_end(qtbot, window) -> None:
    dash = window.dashboard
    assert dash.panel.train()
    qtbot.waitUntil(lambda: dash.controller.state in ("finished", "stopped", "failed"),
                    timeout=WAIT_MS)


def shown_rows(view) -> list[dict]:
    """The Runs table as shown: one dict per row, by column title."""
    model = view.proxy
    titles = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    return [{t: model.index(r, c).data() for c, t in enumerate(titles)}
            for r in range(model.rowCount())]


def wait_for_rows(qtbot, window, statuses: list[str]) -> list[dict]:
    """The panel (in front, as a user looks at it) shows these statuses, newest first."""
    view = window.dashboard.runs
    window.dashboard.docks["runs"].raise_()  # Train brings the curves to the front
    qtbot.waitUntil(lambda: [r["Status"] for r in shown_rows(view)] == statuses,
                    timeout=WAIT_MS)
    return shown_rows(view)


def test_two_widths_are_listed_compared_overlaid_renamed_and_deleted(qtbot, tmp_path, runs_dir,
                                                                     monkeypatch):
    threads = set()
    write = RunHistory.write

    def spying(self, *args, **kwargs):
        threads.add(threading.current_thread())
        return write(self, *args, **kwargs)

    monkeypatch.setattr(RunHistory, "write", spying)
    window = saved_lenet(qtbot, tmp_path, steps=20)
    dash, view = window.dashboard, window.dashboard.runs
    dash.docks["runs"].raise_()
    train_to_end(qtbot, window)
    window.editor.set_params("training", "conv1", {"out_channels": 12})  # an undoable edit
    train_to_end(qtbot, window)
    rows = wait_for_rows(qtbot, window, [FINISHED, FINISHED])
    assert [r["Run"] for r in rows] == ["2", "1"]
    assert rows[1]["Changed"] == "first run" and "conv1" in rows[0]["Changed"]
    assert rows[0]["Parameters"] != rows[1]["Parameters"]
    assert "test_accuracy" in view.columns and rows[0]["test_accuracy"]
    # the history was written by the runs' writer threads, never the window's
    assert threads and threading.main_thread() not in threads
    # the current run is drawn live: selected, it is not drawn again
    view.select([2])
    curves = dash.curves
    assert curves.overlay_curve(2, "loss", recorded=True) is None
    # both runs can continue in the wider graph (issue 17's warm start): the narrower one's
    # tooltip says conv1 would start afresh, the wider one fits as it is
    view.select([1])
    assert view.actions_of["continue"].isEnabled()
    tip = view.actions_of["continue"].toolTip()
    assert "start afresh" in tip and "conv1" in tip
    view.select([2])
    assert view.actions_of["continue"].isEnabled()
    assert "start afresh" not in view.actions_of["continue"].toolTip()
    # open the file again (as saved: 6 filters): both runs are listed, and both selected
    # overlay their curves in the Curves view, labelled by run
    assert window.open_path(tmp_path / "lenet.studio", ask=False)
    rows = wait_for_rows(qtbot, window, [FINISHED, FINISHED])
    view.select([1, 2])
    for number in (1, 2):
        item = curves.overlay_curve(number, "loss", recorded=True)
        assert item is not None and len(item.yData) == 20
    assert "run 1" in [label.text for _, label in curves.loss_plot.getPlotItem().legend.items]
    # compare the current graph with run 2's: the Diff panel names conv1
    view.select([2])
    view.actions_of["compare"].trigger()
    assert [c.node for c in window.comparison.diff.nodes] == ["conv1"]
    # rename and note through the panel's actions
    view.select([2])
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("wide", True))
    view.actions_of["rename"].trigger()
    monkeypatch.setattr(QInputDialog, "getMultiLineText", lambda *a, **k: ("12 filters", True))
    view.actions_of["note"].trigger()
    history = RunHistory(view.history.path, create=False)
    assert (history.run(2).name, history.run(2).note) == ("wide", "12 filters")
    assert shown_rows(view)[0]["Name"] == "wide"
    view.filter.setText("12 FILTERS")  # the filter matches any column, case aside
    assert [r["Run"] for r in shown_rows(view)] == ["2"]
    view.filter.clear()
    # delete both, confirmed: the runs and their kept checkpoints are gone
    kept = [view.history.path.parent / f"run-{n}.ckpt" for n in (1, 2)]
    assert all(path.exists() for path in kept)
    view.select([1, 2])
    monkeypatch.setattr(QMessageBox, "exec", lambda self: QMessageBox.StandardButton.Yes)
    view.actions_of["delete"].trigger()
    assert history.runs() == [] and shown_rows(view) == []
    assert not any(path.exists() for path in kept)
    assert curves.overlay_curve(2, "loss", recorded=True) is None
    history.close()


def test_a_stopped_run_is_recorded_stopped(qtbot, tmp_path, runs_dir):
    window = saved_lenet(qtbot, tmp_path, epochs=1000)
    dash = window.dashboard
    dash.docks["runs"].raise_()
    assert dash.panel.train()
    qtbot.waitUntil(lambda: dash.store.current.step >= 5, timeout=WAIT_MS)
    rows = wait_for_rows(qtbot, window, ["running"])
    assert rows[0]["Run"] == "1"
    # while it trains, its metric cells show the newest values its writer committed (the
    # training loss, the held-out metrics of the last epoch end), and they follow the run by
    # changing cells, not by rebuilding the table
    view = dash.runs
    qtbot.waitUntil(lambda: all(shown_rows(view)[0].get(name) for name in
                                ("loss", "test_loss", "test_accuracy")), timeout=WAIT_MS)
    first = shown_rows(view)[0]["loss"]
    column = view.columns.index("loss")
    assert "newest value logged" in view.proxy.index(0, column).data(
        Qt.ItemDataRole.ToolTipRole)
    resets = []
    view.model.modelReset.connect(lambda: resets.append(1))
    qtbot.waitUntil(lambda: shown_rows(view)[0]["loss"] != first, timeout=WAIT_MS)
    assert shown_rows(view)[0]["Status"] == "running" and resets == []
    dash.runs.select([1])  # a run being recorded can be neither deleted nor continued
    assert not dash.runs.actions_of["delete"].isEnabled()
    assert not dash.runs.actions_of["continue"].isEnabled()
    dash.panel.stop_action.trigger()
    wait_for_rows(qtbot, window, [STOPPED])


def test_a_killed_worker_is_recorded_failed_with_its_message(qtbot, tmp_path, runs_dir):
    window = saved_lenet(qtbot, tmp_path, epochs=50)
    dash = window.dashboard
    assert dash.panel.train()
    qtbot.waitUntil(lambda: dash.store.current.step >= 5, timeout=WAIT_MS)
    os.kill(dash.controller.session.pid, signal.SIGKILL)
    wait_for_rows(qtbot, window, [FAILED])
    record = dash.runs.records[0]
    assert "ended unexpectedly" in record.message and record.steps >= 5
    assert record.message in dash.runs.proxy.index(0, 2).data(Qt.ItemDataRole.ToolTipRole)


def test_a_recorded_run_continues_after_a_restart_and_opens(qtbot, tmp_path, runs_dir,
                                                              monkeypatch):
    window = saved_lenet(qtbot, tmp_path, steps=20)
    train_to_end(qtbot, window)
    wait_for_rows(qtbot, window, [FINISHED])
    window.dashboard.controller.shutdown()  # the app closes: its scratch folder goes
    later = open_window(qtbot, tmp_path / "later")
    assert later.open_path(tmp_path / "lenet.studio", ask=False)
    later.editor.set_settings({"steps": 40})
    view = later.dashboard.runs
    later.dashboard.docks["runs"].raise_()
    wait_for_rows(qtbot, later, [FINISHED])
    view.select([1])
    assert view.actions_of["continue"].isEnabled()
    view.actions_of["continue"].trigger()
    controller = later.dashboard.controller
    qtbot.waitUntil(lambda: controller.state in ("finished", "stopped", "failed"),
                    timeout=WAIT_MS)
    run = later.dashboard.store.current
    assert controller.state == "finished" and run.label.endswith("(continued)")
    assert run.final.steps == 40 and run.metrics["loss"].x[0] == 1  # its history came along
    rows = wait_for_rows(qtbot, later, [FINISHED, FINISHED])
    assert rows[0]["Steps"] == "40"
    # open run 1's graph as it was (its settings too), as an unsaved project, after asking
    asked = []
    monkeypatch.setattr(QMessageBox, "exec", lambda self: asked.append(self.text()) or
                        QMessageBox.StandardButton.Discard)
    view.select([1])
    curves = later.dashboard.curves
    assert curves.overlay_curve(1, "loss", recorded=True) is not None
    view.actions_of["open"].trigger()
    assert asked and later.session.doc.path is None
    assert later.session.project.training.settings["steps"] == 20
    # another project: the runs shown, their selection and their overlaid curves are its own
    assert curves.overlay_curve(1, "loss", recorded=True) is None
    assert view.selected_numbers() == []


def test_a_history_that_cannot_be_written_is_said_once_and_training_goes_on(qtbot, tmp_path,
                                                                          monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("STUDIO_RUNS_DIR", str(blocker))
    window = saved_lenet(qtbot, tmp_path, steps=10)
    said = []
    window.statusBar().messageChanged.connect(
        lambda text: said.append(text) if "not recorded" in text else None)
    train_to_end(qtbot, window)
    qtbot.waitUntil(lambda: bool(said), timeout=5000)
    qtbot.wait(200)
    assert window.dashboard.controller.state == "finished" and len(said) == 1
    assert str(blocker) in said[0]


def test_runs_of_an_unsaved_project_move_beside_it_when_saved(qtbot, tmp_path, runs_dir):
    window = open_window(qtbot, tmp_path / "app")
    project = load(EXAMPLES / "lenet.studio")
    project.training.configure(steps=10)
    window.set_document(Document(project))  # never saved
    train_to_end(qtbot, window)
    wait_for_rows(qtbot, window, [FINISHED])
    view = window.dashboard.runs
    unsaved = view.history.path
    assert "unsaved project" in view.summary.text()
    assert window.files.save_to(tmp_path / "mine.studio")
    saved = runs_dir / "mine.runs" / "history.sqlite"
    qtbot.waitUntil(lambda: view.history is not None and view.history.path == saved,
                    timeout=5000)
    rows = wait_for_rows(qtbot, window, [FINISHED])
    assert rows[0]["Steps"] == "10" and "unsaved project" not in view.summary.text()
    with RunHistory(unsaved, create=False) as before:
        assert before.runs() == []
    moved = view.records[0]
    assert moved.checkpoint == str(runs_dir / "mine.runs" / f"run-{moved.number}.ckpt")
    view.select([moved.number])
    assert view.actions_of["continue"].isEnabled()  # its checkpoint came along


def test_latest_gives_each_series_newest_point_of_that_run_only(tmp_path):
    """What the panel shows of a running run: RunHistory.latest, read through the key."""
    with RunHistory(tmp_path / "history.sqlite") as history:
        begin = dict(project="p", text="t", settings={}, seed=0, versions={}, params=1, macs=1)
        first, second = history.begin(**begin), history.begin(**begin)
        assert history.latest(first) == {}
        history.write(first, [("train", "loss", s, 1, 1.0 / s) for s in range(1, 501)] +
                      [("train", "aux", s, 1, None) for s in range(1, 400, 3)] +
                      [("eval", "test_accuracy", 250, 1, 0.5), ("lr", "adam", 500, 1, 0.01)])
        history.write(second, [("train", "loss", 900, 2, 9.0), ("eval", "zz", 1, 1, 1.0)])
        history.write(first, [("eval", "test_accuracy", 500, 2, 0.75),
                              ("train", "loss", 501, 2, 0.125)])
        assert history.latest(first) == {
            ("eval", "test_accuracy"): (500, 0.75), ("lr", "adam"): (500, 0.01),
            ("train", "aux"): (397, None), ("train", "loss"): (501, 0.125)}
        assert history.latest(second) == {("eval", "zz"): (1, 1.0), ("train", "loss"): (900, 9.0)}
