"""``studio sweep``: train a project's variants one after another (``engine/sweep.py``), each a
recorded run, and print a table of the trials, the best one and the Pareto front.

    studio sweep lenet --vary conv1.out_channels=4,8 --vary pool1.block=MaxPool2d,BlurPool2d \\
        --steps 200
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sqlite3
import sys
from pathlib import Path

from studio.cli_common import CliError, open_project, positive, table_lines
from studio.core.sweep import SweepError, SweepSpace, describe

PARETO_MARKS = {"macs": "M", "params": "P"}  # on the front of the metric against MACs, params


def sweep(args) -> int:
    _check_optuna()
    if args.epochs is not None and args.steps is not None:
        raise CliError("give --epochs or --steps, not both")
    project = open_project(args.file)
    try:
        space = SweepSpace(project, args.vary)
    except SweepError as err:
        raise CliError(f"--vary {err}") from None
    try:
        space.plan(args.method, args.trials)
    except SweepError as err:
        raise CliError(str(err)) from None
    from studio.engine.standby import Standby

    standby = Standby()
    standby.prepare()  # the first trial's process imports torch while this one does, below
    from studio.cli_history import history_location
    from studio.engine.run_history import RunHistory, RunHistoryError
    from studio.engine.sweep import SweepOptions, run_sweep

    options = SweepOptions(
        method=args.method, trials=args.trials, metric=args.metric, maximize=args.maximize,
        prune=args.prune, steps=args.steps, epochs=args.epochs, seed=args.seed,
        device=args.device, devices=args.devices,
        data_root=str(Path(args.file).resolve().parent), name=args.name)
    try:
        with RunHistory(history_location(args.file)) as history:
            result = run_sweep(project, space, history, options, standby=standby,
                               on_trial=None if args.quiet else _say_trial)
            where = history.path
    except (SweepError, RunHistoryError) as err:
        raise CliError(str(err)) from None
    except sqlite3.Error as err:  # the history could not be written (a full disk)
        raise CliError(f"{history_location(args.file)}: {err}") from None
    finally:
        spare = standby.take()  # still waiting when the sweep was refused or interrupted
        if spare is not None:
            spare.finalizer()
    if args.json:
        print(json.dumps(dict(result.as_json(), history=str(where)), indent=1))
        return 0
    _print_table(result, space)
    return 0


def _check_optuna() -> None:
    """Said at once, before importing the engine (seconds) or starting any process."""
    if importlib.util.find_spec("optuna") is not None:
        return
    from studio.engine.sweep import SweepUnavailable, require_optuna

    try:
        require_optuna()
    except SweepUnavailable as err:
        raise CliError(str(err)) from None


def _say_trial(trial) -> None:
    metric = f"{trial.metric:.4g}" if trial.metric is not None else "-"
    why = f": {trial.message}" if trial.message else ""
    print(f"trial {trial.number} ({describe(trial.values)}): {trial.status}, {metric}{why}",
          file=sys.stderr, flush=True)


def _print_table(result, space: SweepSpace) -> None:
    names = [d.name for d in space.dimensions]
    fronts = {cost: set(result.pareto(cost)) for cost in PARETO_MARKS}
    headers = ("trial", *names, result.metric, "params", "mult-adds", "status", "pareto", "run")
    table = []
    for t in result.trials:
        values = [_value(t.values.get(n)) for n in names]
        marks = "".join(mark for cost, mark in PARETO_MARKS.items() if t.number in fronts[cost])
        table.append((str(t.number), *values,
                      f"{t.metric:.4g}" if t.metric is not None else "-", _count(t.params),
                      _count(t.macs), t.status, marks, str(t.run or "")))
    right = {0, len(names) + 1, len(names) + 2, len(names) + 3, len(headers) - 1}
    print("\n".join(table_lines(headers, table, right)))
    direction = "higher" if result.maximize else "lower"
    print(f"\n{result.metric}: {direction} is better. pareto: M on the front of {result.metric} "
          f"against multiply-adds, P against parameters (finished trials only)")
    best = result.best
    if best is None:
        print("no trial finished" + (" (the sweep was cancelled)" if result.cancelled else ""))
    else:
        print(f"best: trial {best.number} ({describe(best.values)}), {result.metric} "
              f"{best.metric:.4g}, run {best.run}")
    if result.cancelled:
        print("the sweep was cancelled before its last trial")


def _device_list(text: str) -> tuple[str, ...]:
    devices = tuple(d.strip() for d in text.split(",") if d.strip())
    if not devices:
        raise argparse.ArgumentTypeError("expected devices such as cuda:0,cuda:1")
    return devices


def _value(value) -> str:
    return "-" if value is None else describe({"": value})[1:]


def _count(n) -> str:
    return f"{n:,}" if n is not None else "?"


def add_command(sub) -> None:
    """The parser of ``studio sweep``."""
    p = sub.add_parser("sweep", help="train variants of a project (parameters, settings, "
                       "blocks) and compare them; each trial is a recorded run")
    p.add_argument("file")
    p.add_argument("--vary", action="append", required=True, metavar="WHAT=VALUES",
                   help="what varies: NODE.PARAM, NETWORK/NODE.PARAM, training.SETTING or "
                   "NODE.block (a block swap), over values V1,V2,..., a range lo..hi or a log "
                   "range log:lo..hi (repeatable)")
    p.add_argument("--method", choices=("grid", "random", "bayesian"),
                   help="how trials are chosen (default: grid when every value is listed, "
                   "bayesian otherwise)")
    p.add_argument("--trials", type=positive, metavar="N",
                   help="at most N trials (default: the whole grid, or 10)")
    p.add_argument("--metric", default="test_loss", help="what compares the trials: a final "
                   "evaluation metric such as test_accuracy, or a training series such as loss "
                   "(default: test_loss)")
    direction = p.add_mutually_exclusive_group()
    direction.add_argument("--maximize", action="store_true", default=None,
                           help="higher is better (default: from the metric's name)")
    direction.add_argument("--minimize", action="store_false", dest="maximize",
                           help="lower is better")
    p.add_argument("--prune", action=argparse.BooleanOptionalAction, default=None,
                   help="stop trials doing worse than the median early (default: on for "
                   "random and bayesian, off for a grid)")
    p.add_argument("--epochs", type=positive, metavar="N", help="train each trial N epochs")
    p.add_argument("--steps", type=positive, metavar="N", help="train each trial N steps")
    p.add_argument("--seed", type=int, help="the seed of every trial and of the search")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    p.add_argument("--devices", type=_device_list, metavar="D1,D2,...",
                   help="run one trial on each of these devices at a time (cuda:0,cuda:1; "
                   "default: every CUDA GPU when there are several, else one trial at a time)")
    p.add_argument("--name", help="name the trials' runs '<name> trial N'")
    p.add_argument("--quiet", action="store_true", help="no line per trial on stderr")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=sweep)
