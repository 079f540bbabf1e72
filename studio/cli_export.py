"""`studio export`: the generated code, the trained weights, and programs for deployment (ONNX,
TorchScript, ``torch.export``), through the same engine as the app's export dialog.

The file is read and validated first: torch is imported only for --weights or a program.
"""

from __future__ import annotations

from pathlib import Path

from studio.cli_common import CliError, open_project

# option -> kind in program_export.PROGRAMS (one declaration of what each writes)
PROGRAM_OPTIONS = {
    "onnx": "also write each network as ONNX (model.onnx), inputs and outputs named after its "
            "ports",
    "torchscript": "also write each network as TorchScript (model.torchscript.pt; scripted, or "
                   "traced when scripting fails), loadable with torch.jit.load",
    "torch_export": "also write each network as a torch.export program (model.pt2), loadable "
                    "with torch.export.load",
}


def export(args) -> int:
    project = open_project(args.file)
    from studio.engine.codegen import CodegenError
    from studio.engine.export import ExportError, WeightsError, describe_written, write_export

    out = Path(args.out)
    try:
        written = write_export(project, out, checkpoint=args.weights,
                               weights_format=args.weights_format)
    except WeightsError as err:
        raise CliError(f"--weights: {err}") from None
    except (CodegenError, ExportError) as err:
        raise CliError(f"{args.file}: {err}") from None
    kinds = [kind for kind in PROGRAM_OPTIONS if getattr(args, kind)]
    if kinds:
        from studio.engine.network_export import NetworkExportError
        from studio.engine.program_export import write_programs

        try:
            programs = write_programs(project, out, kinds, checkpoint=args.weights)
        except NetworkExportError as err:
            raise CliError(f"{args.file}: {err}") from None
        written += programs.paths
        for note in programs.notes:
            print(f"note: {note}")
    print(f"wrote {describe_written(out, written)}")
    return 0


def add_command(sub) -> None:
    from studio.engine.export import WEIGHTS_FORMATS  # no torch

    p = sub.add_parser("export", help="write model.py and train.py (standalone PyTorch), and "
                       "optionally programs for deployment")
    p.add_argument("file")
    p.add_argument("--out", required=True, help="folder to write into")
    for kind, help_text in PROGRAM_OPTIONS.items():
        p.add_argument("--" + kind.replace("_", "-"), action="store_true", help=help_text)
    p.add_argument("--weights", metavar="CKPT", help="also write the trained weights of this "
                   "checkpoint as weights.pt (train.py --weights weights.pt starts from them); "
                   "the programs carry them too")
    p.add_argument("--weights-format", choices=tuple(WEIGHTS_FORMATS), default="pt",
                   help="the --weights file: weights.pt (weights-only torch.load) or "
                   "weights.safetensors, each keyed network.parameter (default: %(default)s)")
    p.set_defaults(run=export)
