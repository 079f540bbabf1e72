"""The app's run writer: records a run on a thread of its own, keeps the final checkpoint in the
history's folder, says a failure once and never raises; deleting a run deletes its kept
checkpoint only."""

import shutil
import threading
import time

import pytest

from studio.core.fileformat import load
from studio.engine.events import Checkpoint, Finished, Metrics, Started
from studio.engine.run_history import FAILED, FINISHED, STOPPED, RunHistory, RunHistoryError
from studio.engine.run_keeping import delete_run, move_run, recorded_checkpoint
from studio.engine.run_writer import RunWriter
from tests.helpers import EXAMPLES

LENET = EXAMPLES / "lenet.studio"


def started() -> Started:
    return Started(device="cpu", total_steps=3, batches_per_epoch=3, metrics=["loss"], step=0,
                   seconds=0.1, nodes=[], amp="off")


def test_a_run_is_written_on_the_writers_thread_and_its_checkpoint_kept(tmp_path, monkeypatch):
    writers = []
    write = RunHistory.write

    def spying(self, *args, **kwargs):
        writers.append(threading.current_thread())
        return write(self, *args, **kwargs)

    monkeypatch.setattr(RunHistory, "write", spying)
    scratch = tmp_path / "scratch.ckpt"
    scratch.write_bytes(b"state")
    news = []
    path = tmp_path / "lenet.runs" / "history.sqlite"
    writer = RunWriter(path, load(LENET), news=lambda: news.append(1))
    for event in (started(), Metrics([{"step": 1, "epoch": 0, "loss": 2.0}], {}),
                  Checkpoint(str(scratch), 3), Finished("finished", 3, {"accuracy": 0.5}, 0.0)):
        writer.put(event)
    assert writer.join(10)
    assert writers and threading.main_thread() not in writers
    assert len(news) == 2  # begun, ended
    with RunHistory(path) as history:
        run = history.run(writer.number)
        assert (run.status, run.steps, run.evaluation) == (FINISHED, 3, {"accuracy": 0.5})
        assert run.checkpoint == str(path.parent / f"run-{run.number}.ckpt")
        assert (path.parent / f"run-{run.number}.ckpt").read_bytes() == b"state"
        assert history.series(run.number)[("train", "loss")] == [(1, 0, 2.0)]


def test_a_session_over_without_finished_ends_as_told(tmp_path):
    path = tmp_path / "h.runs" / "history.sqlite"
    for status, expected in ((STOPPED, STOPPED), (None, FAILED)):
        writer = RunWriter(path, load(LENET))
        writer.put(started())
        writer.close(status)
        assert writer.join(10)
        with RunHistory(path) as history:
            assert history.run(writer.number).status == expected


def test_a_history_that_cannot_be_written_is_said_once(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    said = []
    writer = RunWriter(blocker / "x.runs" / "history.sqlite", load(LENET), failed=said.append)
    assert writer.join(10)
    writer.put(started())  # dropped: nothing waits for it
    writer.close()
    assert len(said) == 1 and writer.number is None


def test_deleting_a_run_deletes_its_kept_checkpoint_not_the_users(tmp_path):
    path = tmp_path / "p.runs" / "history.sqlite"
    own, scratch = tmp_path / "mine.ckpt", tmp_path / "scratch.ckpt"
    own.write_bytes(b"mine")
    scratch.write_bytes(b"x")
    numbers = []
    for source in (scratch, own):
        writer = RunWriter(path, load(LENET))
        writer.put(Checkpoint(str(source), 1))
        writer.put(Finished("finished", 1, {}, 0.0))
        assert writer.join(10)
        numbers.append(writer.number)
    with RunHistory(path) as history:
        kept = recorded_checkpoint(path, history.run(numbers[0]).checkpoint)
        assert kept == path.parent / f"run-{numbers[0]}.ckpt"
        with history.transaction() as db:  # a checkpoint recorded where the user keeps it
            db.execute("UPDATE runs SET checkpoint = ? WHERE number = ?", (str(own), numbers[1]))
        delete_run(history, numbers[0])
        delete_run(history, numbers[1])
        assert not kept.exists() and own.exists()
        assert history.runs() == []


def test_a_moved_history_folder_still_finds_its_checkpoints(tmp_path):
    path = tmp_path / "a" / "p.runs" / "history.sqlite"
    scratch = tmp_path / "scratch.ckpt"
    scratch.write_bytes(b"x")
    writer = RunWriter(path, load(LENET))
    writer.put(Checkpoint(str(scratch), 1))
    writer.put(Finished("stopped", 1, {}, 0.0))
    assert writer.join(10)
    moved = tmp_path / "b" / "p.runs"
    moved.parent.mkdir()
    shutil.move(path.parent, moved)
    with RunHistory(moved / "history.sqlite") as history:
        run = history.run(writer.number)
        assert recorded_checkpoint(history.path, run.checkpoint) == moved / f"run-{run.number}.ckpt"


def test_a_run_moves_to_another_history_whole(tmp_path):
    source_path, target_path = (tmp_path / f"{n}.runs" / "history.sqlite" for n in "ab")
    scratch = tmp_path / "scratch.ckpt"
    scratch.write_bytes(b"state")
    writer = RunWriter(source_path, load(LENET), name="base")
    for event in (started(), Metrics([{"step": 1, "epoch": 0, "loss": 2.0}], {}),
                  Checkpoint(str(scratch), 1), Finished("finished", 1, {"accuracy": 0.5}, 0.0)):
        writer.put(event)
    assert writer.join(10)
    running = RunWriter(source_path, load(LENET))
    running.put(started())
    deadline = time.monotonic() + 10
    while running.number is None and time.monotonic() < deadline:  # begun on its thread
        time.sleep(0.01)
    with RunHistory(source_path) as source, RunHistory(target_path) as target:
        source.annotate(writer.number, "a note")
        before = source.run(writer.number)
        number = move_run(source, writer.number, target)
        after = target.run(number)
        for field in ("name", "note", "status", "steps", "evaluation", "started", "graph"):
            assert getattr(after, field) == getattr(before, field)
        assert target.series(number)[("train", "loss")] == [(1, 0, 2.0)]
        assert after.checkpoint == str(target_path.parent / f"run-{number}.ckpt")
        assert [r.number for r in source.runs()] == [running.number]
        assert not (source_path.parent / f"run-{writer.number}.ckpt").exists()
        with pytest.raises(RunHistoryError, match="has not ended"):
            move_run(source, running.number, target)
    running.close(STOPPED)
    assert running.join(10)
