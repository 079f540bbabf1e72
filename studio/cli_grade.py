"""``studio grade ASSIGNMENT SUBMISSION... [--json]``: check students' projects against the
teacher's assignment, one row per submission per goal.

The assignment is the teacher's file: its locks, palette and goals (``core/assignment.py``).
A submission's own copy of the assignment is ignored, so editing it proves nothing. Each
submission is read as data (``fileformat.load``; nothing in it runs), checked against the
locks and the palette (positions aside), analysed, and trained in this process
(``engine/trainer.py``) for the epochs of each accuracy goal, with the code Studio generates
from it. Exit status 0 when every goal of every submission is met, 1 otherwise, 2 for an
assignment that cannot be read.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, replace
from pathlib import Path

from studio.cli_common import CliError, open_project, table_lines
from studio.core.assignment import Assignment
from studio.core.fileformat import FileFormatError, load
from studio.core.goals import MET, NOT_MET, Facts, Trained
from studio.core.project import Project

LOCKS = "Respects the locks and the palette"


@dataclass(frozen=True)
class Row:
    goal: str
    state: str
    why: str

    def as_json(self) -> dict:
        return {"goal": self.goal, "state": self.state, "why": self.why}


def grade_submission(assignment: Assignment, path: str, device: str = "auto") -> list[Row]:
    """The rows of one submission: the locks and palette first, then each goal."""
    try:
        project = load(path)
    except FileFormatError as err:
        return [Row("Opens as a Studio project", NOT_MET, str(err))]
    broken = assignment.violations(project, positions=False)
    rows = [Row(LOCKS, NOT_MET, broken[0] + (f" (and {len(broken) - 1} more)" if len(broken) > 1
                                              else "")) if broken else
            Row(LOCKS, MET, "every locked node and parameter is as the assignment has it")]
    from studio.core.inference import analyze
    from studio.core.verdict import judge

    analysis = analyze(project)
    verdict = judge(project, analysis)
    facts = Facts(project, analysis, verdict.unknown)
    for goal in assignment.goals:
        trained, failure = None, None
        if goal.needs_training:  # the accuracy goal: trained for its epochs
            trained, failure = _train(project, verdict, goal.epochs, Path(path).parent, device)
        if failure:
            rows.append(Row(goal.describe(), NOT_MET, failure))
            continue
        state = goal.evaluate(replace(facts, trained=trained))
        rows.append(Row(goal.describe(), state.state, state.why))
    return rows


def _train(project: Project, verdict, epochs: int, folder: Path, device: str):
    """(Trained, None) after ``epochs`` epochs of a copy of the project, or (None, why not)."""
    if not verdict.can_train:
        return None, f"it cannot train: {verdict.train_blocker}"
    from studio.engine.errors import TrainingError
    from studio.engine.runner import RunConfig
    from studio.engine.trainer import train_project

    run = copy.deepcopy(project)
    run.assignment = None
    run.training.configure(epochs=epochs, steps=0)
    try:
        result = train_project(run, RunConfig(epochs=epochs, device=device,
                                              data_root=str(folder.resolve())), progress=False)
    except (TrainingError, OSError) as err:  # one submission's failure, not the grading's
        return None, f"training failed: {err}"
    accuracy = [v for k, v in sorted(result.evaluation.items()) if k.startswith("test_accuracy")]
    if not accuracy:
        return None, "the run measured no held-out accuracy"
    return Trained(((float(epochs), accuracy[0]),)), None


def grade(args) -> int:
    teacher = open_project(args.assignment)
    if teacher.assignment is None:
        raise CliError(f"{args.assignment}: has no assignment (File > Save as Assignment... "
                       "writes one)")
    results = [(path, grade_submission(teacher.assignment, path, args.device))
               for path in args.submissions]
    passed = all(r.state == MET for _, rows in results for r in rows)
    if args.json:
        print(json.dumps({"assignment": args.assignment, "title": teacher.assignment.title,
                          "passed": passed, "submissions": [
                              {"file": path, "passed": all(r.state == MET for r in rows),
                               "goals": [r.as_json() for r in rows]}
                              for path, rows in results]}, indent=1))
    else:
        table = [(Path(path).name, r.goal, r.state, r.why) for path, rows in results
                 for r in rows]
        print(f"{teacher.assignment.title or teacher.name}: {len(results)} submission"
              f"{'s' if len(results) != 1 else ''}")
        print("\n".join(table_lines(("submission", "goal", "state", "why"), table)))
        failed = sum(not all(r.state == MET for r in rows) for _, rows in results)
        print(f"{len(results) - failed} of {len(results)} met every goal")
    return 0 if passed else 1


def add_command(sub) -> None:
    p = sub.add_parser("grade", help="check submissions against an assignment: its locks, "
                       "palette and goals (training where a goal needs it)")
    p.add_argument("assignment", help="the teacher's assignment (a .studio file with locks and "
                   "goals)")
    p.add_argument("submissions", nargs="+", metavar="submission", help="students' .studio "
                   "files (data only: nothing in them is run)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto",
                   help="where to train for the accuracy goals")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=grade)

