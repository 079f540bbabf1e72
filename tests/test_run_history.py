"""The run history: a real SQLite file that a killed writer leaves sound with all but its last
second, that a reader reads while a run writes, that stores each graph once, and whose schema
version is checked before anything is written."""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from studio.core.fileformat import dumps, load
from studio.engine import run_history, run_recorder
from studio.engine.events import Checkpoint, Error, Evaluation, Finished, Metrics, Started
from studio.engine.run_history import (
    FAILED,
    FINISHED,
    INTERRUPTED,
    PRUNED,
    RUNNING,
    STOPPED,
    RunHistory,
    RunHistoryError,
    history_path,
)
from studio.engine.run_recorder import RunRecorder, effective_settings
from tests.helpers import EXAMPLES, ROOT

LENET = EXAMPLES / "lenet.studio"


class Clock:
    """The recorder's clock, moved by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def metrics(step: int, loss: float = 1.0, lr=None, epoch: int = 0) -> Metrics:
    return Metrics([{"step": step, "epoch": epoch, "loss": loss}], lr or {})


def started() -> Started:
    return Started(device="cpu", total_steps=100, batches_per_epoch=3, metrics=["loss"], step=0,
                   seconds=0.1, nodes=[], amp="off")


def test_a_run_keeps_its_graph_settings_series_and_end(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite")
    clock = Clock()
    project = load(LENET)
    recorder = RunRecorder(history, project, name="base", clock=clock)
    recorder.record(started())
    for step in range(1, 4):
        clock.now = step
        recorder.record(metrics(step, 1.0 / step, lr={"adam": 0.001}))
    recorder.record(Evaluation(step=3, epoch=1, metrics={"test_accuracy": 0.5}))
    recorder.record(Checkpoint(path="/tmp/run.ckpt", step=3))
    recorder.record(metrics(4, float("nan"), epoch=1))
    recorder.record(Finished(status="finished", steps=4, evaluation={"test_accuracy": 0.75},
                             probe_seconds=0.0))
    run = history.run(recorder.number)
    assert (run.name, run.status, run.device, run.steps, run.checkpoint) == (
        "base", FINISHED, "cpu", 4, "/tmp/run.ckpt")
    assert run.evaluation == {"test_accuracy": 0.75}
    assert run.params == 61_706 and run.macs == 416_520
    assert set(run.versions) == {"studio", "torch", "python"}
    assert run.settings == project.training.settings and run.seed == 0
    assert history.graph_text(run.number) == dumps(project)
    series = history.series(run.number)
    assert series[("train", "loss")] == [(1, 0, 1.0), (2, 0, 0.5), (3, 0, 1 / 3), (4, 1, None)]
    assert series[("lr", "adam")][-1] == (3, 0, 0.001)
    assert series[("eval", "test_accuracy")] == [(3, 1, 0.5)]
    assert history.integrity() == "ok"


def test_ends_failed_stopped_and_interrupted(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite")
    failed = RunRecorder(history, load(LENET))
    failed.record(Error("shape", "conv2: too small"))
    failed.close()
    stopped = RunRecorder(history, load(LENET))
    stopped.close(STOPPED)
    running = RunRecorder(history, load(LENET))
    assert history.run(failed.number).status == FAILED
    assert history.run(failed.number).message == "conv2: too small"
    assert history.run(stopped.number).status == STOPPED
    assert history.run(running.number).status == RUNNING
    later = time.time() + run_history.INTERRUPTED_AFTER + 1
    assert history.run(running.number, now=later).status == INTERRUPTED  # its writer went quiet


def test_metrics_are_committed_a_second_apart_and_heartbeats_between(tmp_path):
    path = tmp_path / "h.sqlite"
    clock = Clock()
    recorder = RunRecorder(RunHistory(path), load(LENET), clock=clock)
    reader = RunHistory(path)

    def stored():
        return len(reader.series(recorder.number).get(("train", "loss"), []))

    for step in range(1, 100):
        clock.now = step / 100
        recorder.record(metrics(step))
    assert stored() == 0  # under a second: still buffered
    clock.now = 1.0
    recorder.record(metrics(100))
    assert stored() == 100
    beat = reader.run(recorder.number).heartbeat
    clock.now = 1.5
    recorder.flush_if_due()
    assert reader.run(recorder.number).heartbeat == beat  # nothing to write, no beat due
    clock.now = 1.0 + run_recorder.HEARTBEAT_SECONDS
    recorder.flush_if_due()
    assert reader.run(recorder.number).heartbeat > beat  # paused, but alive


def test_identical_graphs_are_stored_once(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite")
    for _ in range(3):
        RunRecorder(history, load(LENET)).close(STOPPED)
    wider = load(LENET)
    wider.training.nodes["conv1"].params["out_channels"] = 8
    RunRecorder(history, wider).close(STOPPED)
    assert len(history.runs()) == 4 and history.graph_count() == 2
    assert len({r.graph for r in history.runs()}) == 2


def test_rename_annotate_and_delete(tmp_path):
    history = RunHistory(tmp_path / "h.sqlite")
    first = RunRecorder(history, load(LENET))
    first.record(metrics(1))
    first.close(STOPPED)
    second = RunRecorder(history, load(LENET))
    second.close(STOPPED)
    history.rename(first.number, "baseline")
    history.annotate(first.number, "before widening")
    assert (history.run(first.number).name, history.run(first.number).note) == (
        "baseline", "before widening")
    history.delete(first.number)
    assert [r.number for r in history.runs()] == [second.number]
    assert history.graph_count() == 1  # still trained by the second run
    history.delete(second.number)
    assert history.graph_count() == 0
    with pytest.raises(RunHistoryError, match="no run"):
        history.rename(first.number, "gone")


def test_effective_settings_take_the_runs_overrides():
    class Config:
        steps, epochs, seed, device, amp, channels_last, compile = 30, None, 4, "cpu", None, None, None

    settings = effective_settings(load(LENET), Config())
    assert (settings["steps"], settings["seed"], settings["device"], settings["amp"]) == (
        30, 4, "cpu", "off")


# ---------------------------------------------------------------------------------------------
# versions
# ---------------------------------------------------------------------------------------------

def test_a_newer_history_is_refused_and_left_unchanged(tmp_path):
    path = tmp_path / "h.sqlite"
    RunHistory(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    before = path.read_bytes()
    with pytest.raises(RunHistoryError, match="newer Studio.*version 99.*reads up to 2"):
        RunHistory(path)
    assert path.read_bytes() == before


def test_another_programs_database_is_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (text TEXT)")
    db.close()
    with pytest.raises(RunHistoryError, match="not a Studio run history"):
        RunHistory(path)
    (tmp_path / "junk.sqlite").write_text("not a database at all" * 100)
    with pytest.raises(RunHistoryError, match="not a run history Studio can read"):
        RunHistory(tmp_path / "junk.sqlite")


def test_an_older_history_is_migrated_in_one_transaction(tmp_path, monkeypatch):
    path = tmp_path / "h.sqlite"
    with RunHistory(path) as history:
        RunRecorder(history, load(LENET)).close(STOPPED)

    def add_tags(db):
        db.execute("ALTER TABLE runs ADD COLUMN tags TEXT DEFAULT ''")

    newer = run_history.SCHEMA_VERSION + 1
    monkeypatch.setattr(run_history, "SCHEMA_VERSION", newer)
    monkeypatch.setattr(run_history, "MIGRATIONS", {newer - 1: add_tags})
    with RunHistory(path) as history:
        assert len(history.runs()) == 1
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == newer
    assert "tags" in [row[1] for row in db.execute("PRAGMA table_info(runs)")]
    db.close()


def test_a_version_1_history_keeps_its_runs_and_metrics_and_gains_sweeps(tmp_path):
    """tests/data/runs_v1 was written by the first run history (kept forever, like the project
    files of tests/data/format_vN): its runs and metric series survive the rebuild of the runs
    table that adds sweeps and the 'pruned' status, and new runs number on from them."""
    path = tmp_path / "history.sqlite"
    shutil.copyfile(ROOT / "tests" / "data" / "runs_v1" / "history.sqlite", path)
    with RunHistory(path) as history:
        runs = history.runs()
        assert [(r.number, r.name, r.status, r.sweep, r.trial) for r in runs] == [
            (1, "finished run", FINISHED, None, None), (2, "stopped run", STOPPED, None, None)]
        assert runs[0].evaluation == {"test_loss": 0.5, "test_accuracy": 0.75}
        assert [p[2] for p in history.series(1)[("train", "loss")]] == [1.0, 0.5, 1.0 / 3]
        assert history.integrity() == "ok"
        sweep = history.begin_sweep({"vary": ["conv1.out_channels=4,8"]})
        recorder = RunRecorder(history, load(LENET), sweep=sweep, trial=0,
                               trial_values={"conv1.out_channels": 4})
        recorder.close(PRUNED, "pruned at step 5")
        added = history.run(recorder.number)
        assert (added.number, added.status, added.message, added.sweep, added.trial,
                added.trial_values) == (3, PRUNED, "pruned at step 5", sweep, 0,
                                        {"conv1.out_channels": 4})
        assert [s.spec for s in history.sweeps()] == [{"vary": ["conv1.out_channels=4,8"]}]
        history.delete(1)
        assert ("train", "loss") not in history.series(1)  # foreign keys are on again
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == run_history.SCHEMA_VERSION
    db.close()


def test_the_history_lies_beside_the_project(tmp_path, monkeypatch):
    monkeypatch.delenv(run_history.RUNS_DIR_VARIABLE, raising=False)
    assert history_path(tmp_path / "lenet.studio") == tmp_path / "lenet.runs" / "history.sqlite"
    monkeypatch.setenv(run_history.RUNS_DIR_VARIABLE, str(tmp_path / "elsewhere"))
    assert history_path(tmp_path / "lenet.studio") == (
        tmp_path / "elsewhere" / "lenet.runs" / "history.sqlite")


# ---------------------------------------------------------------------------------------------
# a reader while a writer writes; a writer killed
# ---------------------------------------------------------------------------------------------

def test_a_reader_reads_while_a_write_is_open(tmp_path):
    path = tmp_path / "h.sqlite"
    writer = RunHistory(path)
    clock = Clock()
    recorder = RunRecorder(writer, load(LENET), clock=clock)
    clock.now = 1.0
    recorder.record(metrics(1))
    reader = RunHistory(path)
    with writer.transaction() as db:  # a write under way, not committed
        db.execute("INSERT INTO metrics VALUES (?, 'train', 'loss', 2, 0, 0.5)",
                   (recorder.number,))
        assert reader.series(recorder.number)[("train", "loss")] == [(1, 0, 1.0)]  # the last commit
    assert len(reader.series(recorder.number)[("train", "loss")]) == 2


WRITER = """
import sys
from studio.core.fileformat import load
from studio.engine.run_history import RunHistory
from studio.engine.run_recorder import RunRecorder
from tests.test_run_history import metrics, started

now = [0.0]
recorder = RunRecorder(RunHistory(sys.argv[1]), load(sys.argv[2]), clock=lambda: now[0])
recorder.record(started())
for step in range(1, 451):
    now[0] = step / 100  # a hundred steps a second
    recorder.record(metrics(step))
print(recorder.number, flush=True)
sys.stdin.readline()  # killed here, half a second after its last commit
"""


def test_a_killed_writer_loses_at_most_its_last_second(tmp_path):
    path = tmp_path / "h.sqlite"
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(LENET)], cwd=ROOT,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    number = int(child.stdout.readline())
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    history = RunHistory(path)
    assert history.integrity() == "ok"
    run = history.run(number)
    assert run.status in (RUNNING, INTERRUPTED) and run.ended is None
    steps = [s for s, _, _ in history.series(number)[("train", "loss")]]
    assert steps == list(range(1, 401))  # 450 made; the half second after the last commit lost


def test_studio_train_killed_mid_run_leaves_a_sound_history(tmp_path):
    """A real run, killed at no chosen moment while it writes and a reader reads."""
    project = tmp_path / "lenet.studio"
    project.write_text(LENET.read_text())
    path = tmp_path / "runs"
    env = dict(os.environ, STUDIO_RUNS_DIR=str(path))
    cli = subprocess.Popen([sys.executable, "-m", "studio", "train", str(project), "--steps",
                            "100000", "--quiet"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    database = path / "lenet.runs" / "history.sqlite"
    seen = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(seen) < 3:
            if database.exists():
                with RunHistory(database, create=False) as reader:
                    runs = reader.runs()
                    points = reader.series(runs[0].number).get(("train", "loss"), []) \
                        if runs else []
                if points and (not seen or len(points) > seen[-1]):
                    seen.append(len(points))  # more each time: read while it writes
            time.sleep(0.3)
    finally:
        cli.send_signal(signal.SIGKILL)
        cli.wait(30)
    assert len(seen) == 3, seen
    with RunHistory(database, create=False) as history:
        assert history.integrity() == "ok"
        (run,) = history.runs()
        assert run.status in (RUNNING, INTERRUPTED)
        steps = [s for s, _, _ in history.series(run.number)[("train", "loss")]]
        assert steps == list(range(1, len(steps) + 1)) and len(steps) >= seen[-1]
        assert run.settings["steps"] == 100000


def test_histories_opened_at_once_on_a_new_file_all_open_it(tmp_path):
    """Processes opening one new history together (a run starting while the app reads it):
    whoever takes the write lock second finds the tables made and does not make them again,
    and one switching the file to WAL while another does so waits instead of failing (that
    race came about once in a hundred openings, so it is run forty times)."""
    for attempt in range(40):
        path = tmp_path / f"lenet{attempt}.runs" / "history.sqlite"
        path.parent.mkdir()
        start = threading.Barrier(6)
        errors = []

        def open_it(path=path, start=start, errors=errors):
            start.wait()
            try:
                RunHistory(path).close()
            except RunHistoryError as err:
                errors.append(str(err))

        workers = [threading.Thread(target=open_it) for _ in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert errors == []
        with RunHistory(path, create=False) as history:
            assert history.runs() == [] and history.sweeps() == []
