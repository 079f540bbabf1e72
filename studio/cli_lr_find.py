"""``studio lr-find FILE``: the learning-rate range test (``engine/lr_finder.py``) from the command
line, in the same training process the app uses. Prints the suggested rate and the curve as a
table with a bar per point (or, with --json, the suggestion, every point and why it ended)."""

from __future__ import annotations

import argparse
import json
import math

from studio.cli_common import CliError, open_project

BAR_WIDTH = 40


def lr_find(args) -> int:
    from studio.engine.events import Error, RangePoint, RangeResult
    from studio.engine.lr_finder import RULES, RangeTest, describe_stop, refusal
    from studio.engine.runner import RunConfig
    from studio.engine.session import TrainingSession

    project = open_project(args.file)
    test = RangeTest(lr_min=args.min, lr_max=args.max, steps=args.steps)
    why = refusal(project) or test.problem()
    if why:
        raise CliError(f"{args.file}: {why}")
    config = RunConfig(device=args.device, pause_on_nan=False)
    points, results, errors = [], [], []
    session = TrainingSession(project, config, range_test=test)
    try:
        session.start()
        while True:
            for event in session.events(timeout=0.2):
                if isinstance(event, RangePoint):
                    points.append(event)
                elif isinstance(event, RangeResult):
                    results.append(event)
                elif isinstance(event, Error):
                    errors.append(event)
            if not session.alive and session.wait(0):
                break
    except KeyboardInterrupt:
        session.stop()
        raise
    if errors or not results:
        raise CliError(f"{args.file}: {errors[0].message if errors else 'the test ended early'}")
    result = results[0]
    if args.json:
        print(json.dumps({
            "suggested": result.suggested, "rule": result.rule,
            "optimizer": "/".join(result.optimizer),
            "points": [{"lr": p.lr, "loss": _number(p.loss), "smoothed": _number(p.smoothed)}
                       for p in points],
            "stopped_because": result.stopped_because}, indent=1))
        return 0
    print(_curve(points, result.suggested))
    print(f"stopped after {len(points)} steps: {describe_stop(result.stopped_because, test)}")
    if result.suggested is None:
        print("no rate to suggest: the test recorded no loss")
    else:
        print(f"suggested learning rate for {'/'.join(result.optimizer)}: "
              f"{result.suggested:g} ({RULES[result.rule]})")
    return 0


def _number(value: float) -> float | None:
    """JSON has no NaN or infinity: a loss that became one is written as null."""
    return value if math.isfinite(value) else None


def _curve(points: list, suggested: float | None) -> str:
    """The smoothed loss against the rate, a row per few points, its bar as long as the loss
    is high, the suggested rate's row marked."""
    finite = [p.smoothed for p in points if math.isfinite(p.smoothed)]
    if not finite:
        return "(no finite loss to draw)"
    low, high = min(finite), max(finite)
    every = max(1, len(points) // 25)
    shown = points[::every]
    marked = min(shown, key=lambda p: abs(math.log(p.lr / suggested))) if suggested else None
    lines = [f"{'rate':>9}  {'loss':>9}  {'smoothed':>9}"]
    for p in shown:
        share = (p.smoothed - low) / (high - low) if high > low and math.isfinite(p.smoothed) \
            else 0.0
        bar = "#" * (1 + round(share * (BAR_WIDTH - 1))) if math.isfinite(p.smoothed) else "?"
        mark = "  <- suggested" if p is marked else ""
        lines.append(f"{p.lr:9.2e}  {p.loss:9.4g}  {p.smoothed:9.4g}  {bar}{mark}")
    return "\n".join(lines)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 1e-4, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError("must be above 0")
    return value


def add_command(sub) -> None:
    from studio.engine.lr_finder import MIN_STEPS, RangeTest

    defaults = RangeTest()
    p = sub.add_parser("lr-find", help="find a learning rate: a short run with the rate rising "
                       "exponentially, the loss against it, and a suggested rate (the "
                       "project's weights and files are left as they are)")
    p.add_argument("file")
    p.add_argument("--json", action="store_true",
                   help="print {suggested, points: [{lr, loss, smoothed}], stopped_because}")
    p.add_argument("--min", type=_rate, default=defaults.lr_min, metavar="LR",
                   help="the first step's rate (default: %(default)g)")
    p.add_argument("--max", type=_rate, default=defaults.lr_max, metavar="LR",
                   help="the last step's rate (default: %(default)g)")
    p.add_argument("--steps", type=int, default=defaults.steps, metavar="N",
                   help=f"steps, one rate each (at least {MIN_STEPS}; default: %(default)s)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    p.set_defaults(run=lr_find)
