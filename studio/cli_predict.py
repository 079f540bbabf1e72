"""``studio predict FILE --weights CKPT IMAGE...``: a trained classifier's most probable classes for
the user's own pictures, each prepared as the project's dataset prepares its images, in the same
training process the app uses (``engine/prediction.py``). Prints a few lines per picture (or,
with --json, a list of {file, classes: [{name, probability}]})."""

from __future__ import annotations

import json

from studio.cli_common import CliError, open_project, positive


def predict(args) -> int:
    from studio.engine.events import Error, Prediction
    from studio.engine.image_file import ImageFileError
    from studio.engine.prediction import PredictJob, refusal
    from studio.engine.prediction_session import PredictionSession
    from studio.engine.runner import RunConfig

    project = open_project(args.file)
    why = refusal(project)
    if why:
        raise CliError(f"{args.file}: {why}")
    try:
        job = PredictJob.of_files(args.weights, args.images, top=args.top)
    except ImageFileError as err:
        raise CliError(str(err)) from None
    config = RunConfig(device=args.device, pause_on_nan=False,
                       data_root=str(_folder(args.file)))
    answers, errors = [], []
    session = PredictionSession(project, job, config)
    try:
        session.start()
        events: list = []
        session.wait(collect=events)
    except KeyboardInterrupt:
        session.stop()
        raise
    for event in events:
        if isinstance(event, Prediction):
            answers.append(event)
        elif isinstance(event, Error):
            errors.append(event)
    if errors or len(answers) != len(job.images):
        raise CliError(errors[0].message if errors else
                       f"{args.file}: the prediction process ended early")
    if args.json:
        print(json.dumps([{"file": a.file, "classes": [
            {"name": n, "probability": p} for n, p in zip(a.classes, a.probabilities)]}
            for a in answers], indent=1))
        return 0
    for answer in answers:
        print(f"{answer.file}:")
        for name, probability in zip(answer.classes, answer.probabilities):
            print(f"  {probability:7.2%}  {name}")
    return 0


def _folder(path: str):
    from pathlib import Path

    return Path(path).resolve().parent


def add_command(sub) -> None:
    from studio.engine.prediction import DEFAULT_TOP

    p = sub.add_parser("predict", help="classify your own pictures (PNG, BMP; JPEG and others "
                       "with Pillow) with a trained project: its most probable classes")
    p.add_argument("file")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--weights", required=True, metavar="CKPT",
                   help="the trained weights: a Studio checkpoint (--checkpoint of studio "
                   "train, Save Weights) or a weights file (.pt, .safetensors)")
    p.add_argument("--top", type=positive, default=DEFAULT_TOP, metavar="K",
                   help="how many classes to name per picture (default: %(default)s)")
    p.add_argument("--json", action="store_true",
                   help="print [{file, classes: [{name, probability}]}]")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    p.set_defaults(run=predict)
