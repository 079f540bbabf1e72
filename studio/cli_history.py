"""``studio runs`` and ``studio diff``, and the recording of ``studio train``'s runs.

A run is named ``FILE@N`` (run number N of FILE's history) or ``FILE@last``; ``studio diff``
takes a project file or a run on either side.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from pathlib import Path

from studio.cli_common import CliError, open_project
from studio.core.diff import as_json, diff_projects, lines
from studio.core.project import Project
from studio.engine.run_history import (
    RUNS_DIR_VARIABLE,
    RunHistory,
    RunHistoryError,
    history_path,
)
from studio.engine.run_projects import changes as run_changes
from studio.engine.run_projects import run_project

RUN_MARK = "@"


def history_location(file: str) -> Path:
    """Where the runs of ``file`` are kept: beside it; for an example opened by its bare name
    (``studio train lenet``), in the current folder, since the package's folder is not yours."""
    path = Path(file)
    if "/" not in file and not file.endswith(".studio") and not path.exists():
        path = Path.cwd() / f"{file}.studio"
    return history_path(path)


def _history(file: str) -> RunHistory:
    try:
        return RunHistory(history_location(file), create=False)
    except RunHistoryError as err:
        raise CliError(str(err)) from None


# ---------------------------------------------------------------------------------------------
# recording studio train
# ---------------------------------------------------------------------------------------------

def start_recording(args, project: Project, config):
    """A recorder for ``studio train``'s run, its run begun (None with --no-record, or when no
    history can be written there: said on stderr, and the run trains unrecorded); the caller
    closes it and its history when the session is over."""
    if args.no_record:
        return None
    from studio.engine.run_recorder import RunRecorder
    from studio.engine.run_writer import KeptRecording

    history = None
    try:
        history = RunHistory(history_location(args.file))
        return KeptRecording(RunRecorder(history, project, config, name=args.name),
                             _not_recorded)
    except (RunHistoryError, OSError, sqlite3.Error) as err:
        if history is not None:
            history.close()
        _not_recorded(err)
        return None


def _not_recorded(err: Exception) -> None:
    print(f"studio: this run is not recorded in the run history ({err}); training goes on "
          f"(--no-record leaves the history out, {RUNS_DIR_VARIABLE} puts it elsewhere)",
          file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# studio runs
# ---------------------------------------------------------------------------------------------

def runs(args) -> int:
    with _history(args.file) as history:
        records = history.runs()
        if args.show is not None:
            record = _find(history, args.show)
            series = history.series(record.number)
            if args.json:
                print(json.dumps(dict(_run_json(record, None), series={
                    f"{kind}/{name}": [list(p) for p in points]
                    for (kind, name), points in series.items()}), indent=1))
            else:
                _print_run(record, series)
            return 0
        changes = run_changes(history, records)
        if args.json:
            print(json.dumps({"history": str(history.path), "runs": [
                dict(_run_json(r, change), metrics=_series_summary(history.series(r.number)))
                for r, change in zip(records, changes)]}, indent=1))
            return 0
    if not records:
        print(f"no runs recorded in {history.path}")
        return 0
    headers = ("run", "name", "status", "started", "duration", "final metrics", "params",
               "mult-adds", "changed")
    table = [(str(r.number), r.name or "", r.status, _when(r.started), _duration(r.seconds),
              _metrics_text(r.evaluation), _count(r.params), _count(r.macs), change)
             for r, change in zip(records, changes)]
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(headers)]
    right = {0, 4, 6, 7}

    def fmt(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    print(fmt(headers))
    print(fmt(["-" * w for w in widths]))
    for row in table:
        print(fmt(row))
    return 0


def _find(history: RunHistory, which: str):
    try:
        if which == "last":
            found = history.runs()
            if not found:
                raise RunHistoryError(f"{history.path}: no runs recorded")
            return found[-1]
        if not which.isdigit():
            raise RunHistoryError(f"a run is a number or 'last', not {which!r}")
        return history.run(int(which))
    except RunHistoryError as err:
        raise CliError(str(err)) from None


def _run_project(history: RunHistory, record) -> Project:
    try:
        return run_project(history, record)
    except RunHistoryError as err:
        raise CliError(str(err)) from None


def _run_json(record, change: str | None) -> dict:
    out = {name: getattr(record, name) for name in (
        "number", "name", "note", "project", "graph", "status", "message", "started", "ended",
        "steps", "device", "seed", "settings", "versions", "evaluation", "checkpoint", "weights",
        "params", "macs", "sweep", "trial", "trial_values")}
    out["seconds"] = record.seconds
    if change is not None:
        out["changed"] = change
    return out


def _series_summary(series: dict) -> dict:
    return {f"{kind}/{name}": {"points": len(points), "last_step": points[-1][0],
                               "last": points[-1][2]}
            for (kind, name), points in series.items()}


def _print_run(record, series: dict) -> None:
    print(f"run {record.number}{' (' + record.name + ')' if record.name else ''}: "
          f"{record.status}{': ' + record.message if record.message else ''}")
    print(f"  project {record.project}, graph {record.graph[:12]}, {_count(record.params)} "
          f"parameters, {_count(record.macs)} multiply-adds per sample")
    print(f"  started {_when(record.started)}, {_duration(record.seconds)}, {record.steps} steps"
          f" on {record.device or '?'}, seed {record.seed}")
    print("  versions: " + ", ".join(f"{k} {v}" for k, v in record.versions.items()))
    if record.evaluation:
        print(f"  final: {_metrics_text(record.evaluation)}")
    if record.checkpoint or record.weights:
        print(f"  checkpoint: {record.checkpoint or '-'}; weights: {record.weights or '-'}")
    for (kind, name), points in series.items():
        print(f"  {kind}/{name}: {len(points)} points, last {points[-1][2]} at step "
              f"{points[-1][0]}")


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _metrics_text(evaluation: dict) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in evaluation.items()) or "-"


def _count(n) -> str:
    return f"{n:,}" if n is not None else "?"


# ---------------------------------------------------------------------------------------------
# studio diff
# ---------------------------------------------------------------------------------------------

def diff(args) -> int:
    before, after = _side(args.a), _side(args.b)
    result = diff_projects(before, after)
    if args.json:
        print(json.dumps(dict(as_json(result), a=args.a, b=args.b), indent=1))
        return 0
    print(f"{args.a} -> {args.b}")
    for line in lines(result):
        print(f"  {line}")
    return 0


def _side(spec: str) -> Project:
    """A project file, an example's name, or a run: FILE@N or FILE@last."""
    file, mark, which = spec.rpartition(RUN_MARK)
    if not mark or Path(spec).exists():
        return open_project(spec)
    with _history(file) as history:
        return _run_project(history, _find(history, which))


def add_commands(sub) -> None:
    """The parsers of ``studio runs`` and ``studio diff``."""
    p = sub.add_parser("runs", help="list the recorded runs of a project")
    p.add_argument("file")
    p.add_argument("--show", metavar="N", help="one run in full (a number or 'last'), every "
                   "metric series with --json")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=runs)
    p = sub.add_parser("diff", help="what changed between two projects or runs (FILE@N, "
                       "FILE@last), with each change's effect on shapes and costs")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(run=diff)
