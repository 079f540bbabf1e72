"""``studio lab``: the course's measurements from the command line, so a lesson's figure can be
checked and compared. ``studio lab shift FILE --weights CKPT`` prints how often the trained
classifier keeps its answer when the image moves by 1-4 pixels (``engine/shift_consistency.py``).
"""

from __future__ import annotations

import argparse
import json

from studio.cli_common import CliError, open_project


def shift(args) -> int:
    from studio.engine.shift_consistency import ShiftTestError, shift_consistency

    project = open_project(args.file)
    try:
        report = shift_consistency(project, args.weights, shifts=args.shifts, seed=args.seed,
                                   limit=args.limit, device=args.device)
    except ShiftTestError as err:
        raise CliError(f"{args.file}: {err}") from None
    if args.json:
        print(json.dumps(report.as_json(), indent=1))
        return 0
    print(f"{project.name}: {report.images} held-out images, accuracy {report.accuracy:.1%}")
    print("shift  kept the prediction  accuracy")
    for d, kept in report.consistency.items():
        print(f"{d:>3} px  {kept:>19.1%}  {report.shifted_accuracy[d]:>8.1%}")
    print(f"mean consistency {report.mean_consistency:.1%}")
    return 0


def shift_range(text: str) -> tuple[int, ...]:
    """``1-4`` or ``1,2,4``: whole pixels, 1 or more."""
    try:
        if "-" in text:
            lo, hi = (int(part) for part in text.split("-", 1))
            values = tuple(range(lo, hi + 1))
        else:
            values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a range such as 1-4 or a list "
                                         "such as 1,2,4") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: shifts are whole pixels, 1 or more")
    return values


def add_command(sub) -> None:
    lab = sub.add_parser("lab", help="the course's measurements (shift consistency)")
    what = lab.add_subparsers(dest="lab_command", required=True)
    p = what.add_parser("shift", help="how often a trained classifier keeps its prediction when "
                        "the image moves by a few pixels")
    p.add_argument("file")
    p.add_argument("--weights", required=True, metavar="CKPT",
                   help="a Studio checkpoint of the project (Save Weights, or studio train "
                   "--checkpoint)")
    p.add_argument("--shifts", type=shift_range, default=(1, 2, 3, 4), metavar="RANGE",
                   help="pixels to move by: 1-4 (the default) or a list such as 1,2,4")
    p.add_argument("--seed", type=int, default=0, help="chooses each image's direction")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N held-out images")
    p.add_argument("--device", choices=("cpu", "cuda", "mps"), default="cpu")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=shift)
