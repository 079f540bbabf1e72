"""``studio grade``: one row per submission per goal, trained for the accuracy goal, checked
against the teacher's locks (not the submission's copy of them), nonzero exit when any fails."""

import json

from studio.cli import main
from studio.core.assignment import Lock
from studio.core.fileformat import save
from studio.core.goals import Accuracy, MaxParams
from tests.helpers import mlp_on_moons
from tests.test_assignment import moons_assignment


def write_class(tmp_path):
    teacher = moons_assignment(goals=(MaxParams(100), Accuracy(50.0, 1)))
    save(teacher, tmp_path / "assignment.studio")
    good = moons_assignment(goals=())  # a student's copy, saved from the app
    good.training.nodes["fc1"].params["out_features"] = 8
    save(good, tmp_path / "good.studio")
    bad = mlp_on_moons(hidden=64)  # too wide, and the locked fc2 changed
    bad.training.nodes["fc2"].params["out_features"] = 3
    moons_assignment(bad, locks=(Lock("training", "moons"),))  # its own copy, locks removed
    save(bad, tmp_path / "bad.studio")
    return [str(tmp_path / n) for n in ("assignment.studio", "good.studio", "bad.studio")]


def test_grade_trains_and_reports_each_goal_of_each_submission(tmp_path, capsys):
    files = write_class(tmp_path)
    assert main(["grade", *files, "--json", "--device", "cpu"]) == 1
    report = json.loads(capsys.readouterr().out)
    good, bad = report["submissions"]
    assert good["passed"] and not bad["passed"] and not report["passed"]
    assert [g["state"] for g in good["goals"]] == ["met", "met", "met"]
    assert good["goals"][1]["why"] == "42 parameters, within the 100 allowed"
    assert good["goals"][2]["why"].endswith("after 1 epoch, at least the 50% needed")
    assert bad["goals"][0] == {
        "goal": "Respects the locks and the palette", "state": "not met",
        "why": "locked by the assignment: fc2's out_features cannot change (2, not 3)"}
    assert bad["goals"][1]["why"] == "387 parameters, more than the 100 allowed"

    assert main(["grade", files[0], files[1], "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "good.studio  At most 100 parameters" in text and "1 of 1 met every goal" in text


def test_grade_names_an_unreadable_submission_and_refuses_a_plain_project(tmp_path, capsys):
    files = write_class(tmp_path)
    broken = tmp_path / "broken.studio"
    broken.write_text('{"format": "studio-project", "version": 1}')
    assert main(["grade", files[0], str(broken), "--json"]) == 1
    rows = json.loads(capsys.readouterr().out)["submissions"][0]["goals"]
    assert rows == [{"goal": "Opens as a Studio project", "state": "not met",
                     "why": "missing project name ('name')"}]
    save(mlp_on_moons(), tmp_path / "plain.studio")
    assert main(["grade", str(tmp_path / "plain.studio"), files[1]]) == 2
    assert "has no assignment" in capsys.readouterr().err
