"""``studio import SOURCE --out NAME.studio [--input 3x224x224]``: a PyTorch model as an editable
project, its original weights beside it as ``NAME.ckpt`` and the key map as ``NAME.keys.json``
(``engine/model_import``). SOURCE is ``path/to/file.py:FACTORY`` (that file is run),
``torchvision:NAME`` or ``model.onnx``. Nothing is written when the model cannot be imported.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.cli_common import CliError

DEFAULT_INPUT = (3, 224, 224)


def input_shape(text: str) -> tuple:
    """``3x224x224``: the shape of one sample, whole numbers of at least 1."""
    try:
        dims = tuple(int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected sizes joined by x, such as "
                                         "3x224x224") from None
    if not dims or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every size must be at least 1")
    return dims


def run_import(args) -> int:
    from studio.engine.model_import import ModelImportError, import_model
    from studio.engine.model_import.sources import SourceError, build, parse

    out = Path(args.out)
    if out.suffix != ".studio":
        raise CliError(f"--out {args.out}: the project file must end in .studio")
    try:
        source = parse(args.source)
        if source.runs_code:
            print(f"Running {source.target} to build the model with {source.factory}() (it is "
                  "Python code: import only files you trust)")
        model, declared = build(source)
        shape = args.input or declared or DEFAULT_INPUT
        imported = import_model(model, shape, name=args.name or source.name)
    except (SourceError, ModelImportError) as err:
        raise CliError(f"{args.source}: {err}") from None
    written = imported.write(out)
    s = imported.stats
    print(f"{out}: {s['nodes']} nodes in {s['networks']} networks, {s['params']:,} parameters, "
          f"imported in {s['seconds']:.1f} s; outputs differ from the original by at most "
          f"{s['max_diff']:.2g}")
    print(f"original weights: {written['weights']} (studio train {out} --init-from "
          f"{written['weights'].name}; studio export {out} --weights {written['weights'].name})")
    print(f"key map (original state_dict key -> exported network's): {written['keys']}")
    return 0


def add_command(sub) -> None:
    p = sub.add_parser("import", help="import a PyTorch model (a Python file's class or "
                       "function, torchvision:NAME, or an ONNX file) as an editable project")
    p.add_argument("source", metavar="SOURCE",
                   help="path/to/file.py:FACTORY (runs that file), torchvision:NAME or model.onnx")
    p.add_argument("--out", required=True, metavar="NAME.studio", help="the project to write; "
                   "NAME.ckpt (the original weights) and NAME.keys.json go beside it")
    p.add_argument("--input", type=input_shape, metavar="CxHxW",
                   help="the shape of one input sample (default: an ONNX file's own, else "
                        "3x224x224)")
    p.add_argument("--name", help="the project's name (default: the factory's or model's)")
    p.set_defaults(run=run_import)
