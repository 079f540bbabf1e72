"""`studio train` records its run; `studio runs` lists them and `studio diff` compares projects
and runs (FILE@N, FILE@last), as text and as JSON."""

import json

import pytest

from studio.cli import main
from studio.core.fileformat import load, save
from studio.engine.events import Metrics
from studio.engine.run_history import RUNS_DIR_VARIABLE, STOPPED, RunHistory, history_path
from studio.engine.run_recorder import RunRecorder
from tests.helpers import EXAMPLES


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A copy of LeNet whose runs are recorded beside it."""
    monkeypatch.delenv(RUNS_DIR_VARIABLE)
    path = tmp_path / "lenet.studio"
    path.write_text((EXAMPLES / "lenet.studio").read_text())
    return path


def test_a_history_that_cannot_be_written_never_stops_training(project, capsys):
    """Where the history's folder cannot be made (a file stands in its place here), the run
    trains, says on stderr that it is not recorded and why, and exits 0."""
    (project.parent / "lenet.runs").write_text("not a folder")
    assert main(["train", str(project), "--steps", "2", "--quiet"]) == 0
    out = capsys.readouterr()
    assert "trained 2 steps" in out.out and "recorded as run" not in out.out
    assert "not recorded in the run history" in out.err and "lenet.runs" in out.err


def test_a_trained_run_is_listed_with_its_metrics(project, capsys):
    assert main(["train", str(project), "--steps", "12", "--seed", "3", "--quiet", "--name",
                 "first"]) == 0
    assert "recorded as run 1" in capsys.readouterr().out
    assert (project.parent / "lenet.runs" / "history.sqlite").exists()
    assert main(["runs", str(project), "--json"]) == 0
    (run,) = json.loads(capsys.readouterr().out)["runs"]
    assert (run["number"], run["name"], run["status"], run["steps"]) == (1, "first", "finished",
                                                                         12)
    assert (run["seed"], run["device"], run["settings"]["steps"]) == (3, "cpu", 12)
    assert run["metrics"]["train/loss"]["points"] == 12
    assert run["metrics"]["train/loss"]["last_step"] == 12
    assert 0 <= run["evaluation"]["test_accuracy"] <= 1
    assert run["metrics"]["eval/test_accuracy"]["last"] == run["evaluation"]["test_accuracy"]
    assert run["params"] == 61_706 and run["changed"] == "first run"
    assert main(["runs", str(project)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:5] == ["run", "name", "status", "started", "duration"]
    assert table[2].split()[:3] == ["1", "first", "finished"] and "61,706" in table[2]
    assert main(["runs", str(project), "--show", "last", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [p[0] for p in shown["series"]["train/loss"]] == list(range(1, 13))


def record(path, project, loss: float) -> int:
    with RunHistory(history_path(path)) as history:
        recorder = RunRecorder(history, project)
        recorder.record(Metrics([{"step": 1, "epoch": 0, "loss": loss}], {}))
        recorder.close(STOPPED)
        return recorder.number


def test_runs_say_what_changed_and_diff_compares_runs_and_files(project, capsys):
    record(project, load(project), 2.0)
    wider = load(project)
    wider.training.nodes["conv1"].params["out_channels"] = 8
    wider.training.configure(seed=5)
    record(project, wider, 1.0)
    assert main(["runs", str(project), "--json"]) == 0
    changes = [r["changed"] for r in json.loads(capsys.readouterr().out)["runs"]]
    assert changes == ["first run", "conv1.out_channels 6->8, seed 0->5"]

    assert main(["diff", f"{project}@1", f"{project}@last"]) == 0
    text = capsys.readouterr().out
    assert "conv1: out_channels 6 -> 8; params +52, multiply-adds +39,200" in text
    assert "setting seed: 0 -> 5" in text and "conv2: params +800" in text
    assert main(["diff", f"{project}@1", f"{project}@2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (node,) = data["nodes"]
    assert (node["node"], node["params_delta"], node["macs_delta"]) == ("conv1", 52, 39_200)
    assert node["values"] == [{"name": "out_channels", "before": 6, "after": 8}]
    assert data["totals"]["params_delta"] == 852
    assert data["settings"] == [{"name": "seed", "before": 0, "after": 5}]

    # a run against a file: the file as saved now
    save(wider, project)
    assert main(["diff", f"{project}@2", str(project), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["nodes"] == []  # positions and seed: the same
    assert main(["diff", str(project), str(EXAMPLES / "lenet.studio")]) == 0
    assert "conv1: out_channels 8 -> 6" in capsys.readouterr().out


def test_bad_runs_and_missing_histories_are_one_line(project, capsys):
    assert main(["runs", str(project)]) == 2
    assert "no run history" in capsys.readouterr().err
    record(project, load(project), 1.0)
    assert main(["diff", f"{project}@7", str(project)]) == 2
    assert "no run 7" in capsys.readouterr().err
    assert main(["diff", f"{project}@first", str(project)]) == 2
    assert "a number or 'last'" in capsys.readouterr().err
    history_path(project).write_bytes(b"x" * 4096)
    assert main(["runs", str(project)]) == 2
    assert "not a run history" in capsys.readouterr().err
