"""``studio lab``: the course's measurements from the command line, so a lesson's figure can be
checked and compared. ``studio lab shift FILE --weights CKPT`` prints how often the trained
classifier keeps its answer when the image moves by 1-4 pixels (``engine/shift_consistency.py``);
``studio lab timing FILE`` each layer's measured forward time beside its counted multiply-adds
(``engine/layer_timing_run.py``).
"""

from __future__ import annotations

import argparse
import json

from studio.cli_common import CliError, open_project, positive, table_lines


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


def timing(args) -> int:
    from studio.engine.layer_timing import LayerTimingError, TimingOptions
    from studio.engine.layer_timing_run import measure

    project = open_project(args.file)
    try:
        report = measure(project, TimingOptions(batch=args.batch, repeats=args.repeats,
                                                threads=args.threads, backward=args.backward))
    except LayerTimingError as err:
        raise CliError(f"{args.file}: {err}") from None
    if args.json:
        print(json.dumps(report.as_json(), indent=1))
        return 0
    print(f"{project.name}: forward of a batch of {report.batch} on {report.device}, "
          f"{report.threads} thread{'s' if report.threads != 1 else ''}, median of "
          f"{report.repeats} (forward in eval mode without gradients"
          + ("; backward in train mode, as a training step" if report.backward else "") + ")")
    rows = [[layer.label, layer.block, f"{layer.macs:,}", f"{layer.ms:.3f}",
             *(layer.backward_cells() if report.backward else ()),
             f"{report.macs_per_second(layer) / 1e9:.2f}", f"{report.macs_share(layer):.1%}",
             f"{report.share(layer):.1%}"] for layer in report.layers]
    headers = ["node", "block", "MACs/sample", "ms/call",
               *(("bwd ms/call", "bwd/fwd") if report.backward else ()),
               "GMAC/s", "MACs share", "time share"]
    for line in table_lines(headers, rows, right=range(2, len(headers))):
        print(line)
    print(f"time share: of the whole forward, {report.forward_ms:.3f} ms; " + report.rest_text())
    if report.backward:
        print(f"the whole backward takes {report.backward_ms:.3f} ms")
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
    from studio.engine.layer_timing import DEFAULT_REPEATS

    lab = sub.add_parser("lab", help="the course's measurements (shift consistency, layer "
                         "times)")
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
    p = what.add_parser("timing", help="each layer's forward time on this machine beside its "
                        "counted multiply-adds")
    p.add_argument("file")
    p.add_argument("--batch", type=positive, metavar="N",
                   help="samples per forward (default: the project's batch size)")
    p.add_argument("--repeats", type=positive, default=DEFAULT_REPEATS, metavar="R",
                   help="timed repeats per layer, the median kept (default: %(default)s)")
    p.add_argument("--threads", type=positive, metavar="N",
                   help="torch threads (default: those a training run would start with)")
    p.add_argument("--backward", action="store_true",
                   help="also time each layer's backward (its parameters' and inputs' gradients)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=timing)
