"""Headless commands on the same engine as the app: check, export, train.

Bad input (a missing or malformed file, a graph with problems) exits with status 2 and one line
naming the problem; no traceback. ``check`` lists every problem and exits 2 when there are errors.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from studio.cli_common import EXIT_BAD_INPUT, CliError, open_project
from studio.cli_common import positive as _positive
from studio.cli_common import positive_or_zero as _positive_or_zero
from studio.core.project import INSTANCE, Project, ProjectError


def _format_int(n: int) -> str:
    return f"{n:,}"


def check(args) -> int:
    project = open_project(args.file)
    analysis, verdict = _judge(project)
    rows = []
    for r in analysis.rows:
        rows.append({
            "id": r.path, "graph": r.graph, "depth": r.depth, "block": r.node.block
            if r.node.block != INSTANCE else f"{INSTANCE}:{r.node.params.get('network')}",
            "title": r.node.title,
            "output_shape": _shape_json(r), "outputs": {k: list(t.shape) for k, t in
                                                        r.outputs.items()},
            "params": r.params, "macs": r.macs, "receptive_field": r.rf_text,
        })
    found = [{"graph": p.graph, "node": p.node, "field": p.field, "message": p.message,
              "severity": p.severity, "text": str(p)} for p in verdict.problems]
    status = EXIT_BAD_INPUT if verdict.errors else 0
    if args.json:
        print(json.dumps({"project": project.name, "nodes": rows,
                          "total_params": verdict.total_params,
                          "total_macs": verdict.total_macs, "unknown_nodes": verdict.unknown,
                          "errors": [f for f in found if f["severity"] == "error"],
                          "problems": found, "summary": verdict.summary,
                          "can_generate": verdict.can_generate, "can_train": verdict.can_train,
                          "train_blocker": verdict.train_blocker,
                          "memory": verdict.memory.as_json() if verdict.memory else None},
                         indent=1))
        return status
    headers = ("node", "block", "output shape", "params", "mult-adds", "RF")
    table = [(("  " * r.depth) + r.node.id, row["block"], r.output_shape or "-",
              _format_int(r.params) if r.params else "", _format_int(r.macs) if r.macs else "",
              r.rf_text) for r, row in zip(analysis.rows, rows)]
    widths = [max(len(h), *(len(t[i]) for t in table)) if table else len(h)
              for i, h in enumerate(headers)]
    right = {3, 4}

    def fmt(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    print(f"{project.name}: {len(project.networks)} network(s), "
          f"{len(project.training.nodes)} training-graph node(s)")
    print(fmt(headers))
    print(fmt(["-" * w for w in widths]))
    for t in table:
        print(fmt(t))
    print(fmt(["-" * w for w in widths]))
    print(f"total: {verdict.params_text}, {_format_int(verdict.total_macs)} multiply-adds per "
          "sample")
    if verdict.memory is not None:
        print(f"memory to train: {verdict.memory_text}")
    if found:
        print(f"\n{verdict.summary}:")
        for f in found:
            mark = {"error": "", "not ready": "not ready to train: ", "warning": "warning: "}
            print(f"  {mark.get(f['severity'], '')}{f['text']}")
    print("no problems: ready to train" if not found else "ready to train" if verdict.can_train else
          "the code can be written, but it cannot train yet" if verdict.can_generate else
          "no code can be written until the problems are fixed")
    return status


def _judge(project: Project):
    """The analysis and the verdict every panel of the app shows, with the code generator's
    refusal folded in (it reads the project without torch)."""
    from studio.core.inference import analyze
    from studio.core.verdict import judge
    from studio.engine.codegen import CodegenError, generate

    analysis = analyze(project)
    verdict = judge(project, analysis)
    if verdict.can_generate:
        try:
            generate(project)
        except CodegenError as err:
            verdict = verdict.with_code_refusal(str(err))
    return analysis, verdict


def _shape_json(row):
    if not row.outputs:
        return None
    first = next(iter(row.outputs.values()))
    return list(first.shape)


def train(args) -> int:
    """Train through the same worker process and events the app uses."""
    from studio.cli_distributed import ranks_session
    from studio.cli_history import start_recording
    from studio.cli_remote import remote_session
    from studio.cli_tensorboard import open_tensorboard, tensorboard_root
    from studio.engine.events import (
        Activations,
        Evaluation,
        Finished,
        Metrics,
        Progress,
        WeightsFitted,
    )
    from studio.engine.node_keys import node_key
    from studio.engine.probes import ProbeRates
    from studio.engine.run_driver import drive_run
    from studio.engine.runner import RunConfig
    from studio.engine.session import TrainingSession
    from studio.engine.trainer import ProgressLine

    project = open_project(args.file)
    if args.epochs is not None and args.steps is not None:
        raise CliError("give --epochs or --steps, not both")
    if args.init_from and args.resume:
        raise CliError("give --resume (continue exactly) or --init-from (start from weights), "
                       "not both")
    blocker = _judge(project)[1].train_blocker  # what the app's Train refuses, said the same
    if blocker:
        raise CliError(f"{args.file}: cannot train: {blocker}")
    watch = tuple(w if "/" in w else node_key(w) for w in (args.watch or ()))
    board_root = tensorboard_root(args.tensorboard, project, args.file)
    rates = ProbeRates() if watch or board_root else ProbeRates.off()
    config = RunConfig(
        steps=args.steps, epochs=args.epochs, seed=args.seed, device=args.device, amp=args.amp,
        channels_last=True if args.channels_last else None,
        compile=True if args.compile else None, probes=rates, watch=watch,
        samples_dir=args.samples, save_weights=args.save, checkpoint_path=args.checkpoint,
        resume_from=args.resume, init_from=args.init_from, pause_on_nan=False,
        data_root=str(Path(args.file).resolve().parent))
    session = (remote_session(args, project, config) or ranks_session(args, project, config)
               or TrainingSession(project, config))
    progress = ProgressLine(not args.quiet)
    log = open(args.log, "w", encoding="utf-8") if args.log else None
    latest: dict = {}

    def show(event, end) -> None:
        if board is not None:
            board.record(event)
        if isinstance(event, Metrics):
            for point in event.points:
                latest.update({k: v for k, v in point.items() if k not in ("step", "epoch")})
                if log:
                    log.write(json.dumps(point) + "\n")
        elif isinstance(event, Progress):
            progress.update(event, latest, force=event.step == event.total)
        elif isinstance(event, WeightsFitted):
            print("\n".join(event.lines()), flush=True)  # before the first step
        elif isinstance(event, Activations) and args.probes:
            _write_activation(Path(args.probes), event)
        elif isinstance(event, Evaluation) and log:
            log.write(json.dumps({"event": "evaluation", "step": event.step,
                                  **event.metrics}) + "\n")
        elif isinstance(event, Finished) and log and not end.errors:
            log.write(json.dumps({"event": "final", "steps": event.steps,
                                  "device": end.started.device if end.started else None,
                                  **event.evaluation}) + "\n")

    recorder = start_recording(args, project, config)
    board = open_tensorboard(board_root, project, recorder)
    try:
        end = drive_run(session, recorder, on_event=show)
    finally:
        if log:
            log.close()
        if board is not None:
            board.close()
            print(f"TensorBoard: this run is in {board.folder}")
        if recorder:
            recorder.history.close()
    errors, started = end.errors, end.started
    if errors:
        raise CliError(f"{args.file}: {errors[0].message}")
    final = session.final
    summary = ", ".join(f"{k} {v:.4g}" for k, v in (final.evaluation if final else {}).items())
    device = started.device if started else "?"
    print(f"trained {final.steps if final else 0} steps on {device}"
          + (f"; {summary}" if summary else ""))
    if recorder and not recorder.failed:
        print(f"recorded as run {recorder.number} in {recorder.history.path}")
    return 0


def _write_activation(folder: Path, event) -> None:
    """An activation snapshot as .npz: the values, the node, the step and the value range."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    name = event.node.replace("/", "__").replace(":", "_")
    np.savez_compressed(folder / f"{name}_step{event.step:07d}.npz", values=event.data,
                        value_range=np.array(event.range), node=np.array(event.node))


def blocks(args) -> int:
    """The block catalogue, read from the declarations (the same ones the editor will show)."""
    from studio.core.registry import CATEGORIES, Values, all_blocks

    specs = all_blocks()
    if args.name:
        specs = [s for s in specs if s.id.lower() == args.name.lower()]
        if not specs:
            raise CliError(f"no block named {args.name!r}; `studio blocks` lists them")
    for category in CATEGORIES:
        group = [s for s in specs if s.category == category]
        if not group:
            continue
        print(f"{category}:")
        for spec in group:
            print(f"  {spec.id:<18} {spec.help}")
            if not args.name:
                continue
            values = Values(spec.defaults())
            ins = ", ".join(p.name for p in spec.input_ports(values)) or "none"
            outs = ", ".join(p.name for p in spec.output_ports(values)) or "none"
            print(f"\n  {spec.explanation}\n\n  inputs: {ins}; outputs: {outs}")
            for prm in spec.params:
                when = f" (only when {prm.applies.describe()})" if prm.applies else ""
                print(f"    {prm.name:<16} {prm.kind.describe():<34} default {prm.default!r}: "
                      f"{prm.title}: {prm.help}{when}")
    return 0


def examples(args) -> int:
    """The example projects shipped inside the package: list them, or copy them to edit."""
    from studio.core import package_files

    paths = package_files.example_paths()
    if not args.copy:
        width = max(len(p.stem) for p in paths)
        for path in paths:
            print(f"{path.stem:<{width}}  {path}")
        return 0
    folder = Path(args.copy)
    clashes = [p.name for p in paths if (folder / p.name).exists()]
    if clashes:
        raise CliError(f"{folder} already has {', '.join(clashes)}; nothing copied")
    folder.mkdir(parents=True, exist_ok=True)
    for path in paths:
        shutil.copyfile(path, folder / path.name)
    print(f"copied {len(paths)} examples into {folder}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from studio.cli_distributed import add_train_options as add_ranks_options
    from studio.cli_export import add_command as add_export
    from studio.cli_grade import add_command as add_grade
    from studio.cli_history import add_commands
    from studio.cli_import import add_command as add_import
    from studio.cli_lab import add_command as add_lab
    from studio.cli_lr_find import add_command as add_lr_find
    from studio.cli_predict import add_command as add_predict
    from studio.cli_remote import add_command as add_worker
    from studio.cli_remote import add_train_options as add_remote_options
    from studio.cli_sweep import add_command as add_sweep

    parser = argparse.ArgumentParser(prog="studio", description="Design, train and understand "
                                     "neural networks by drawing them.")
    parser.add_argument("--version", action="version", version=f"studio {_version()}")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("check", help="print every node's shape and cost, and every problem")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=check)
    add_export(sub)
    p = sub.add_parser("train", help="train a project from the command line")
    p.add_argument("file")
    p.add_argument("--epochs", type=_positive_or_zero, metavar="N",
                   help="train for N passes over the data (default: the project's setting)")
    p.add_argument("--steps", type=_positive, metavar="N",
                   help="train for N optimizer steps instead of epochs (not with --epochs)")
    p.add_argument("--seed", type=_positive_or_zero)
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    p.add_argument("--log", help="write JSON lines of metrics here")
    p.add_argument("--samples", help="write preview image grids (PNG) into this folder")
    p.add_argument("--save", help="save weights (.safetensors or weights-only .pt)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--checkpoint", help="write a checkpoint here at every epoch end")
    p.add_argument("--resume", help="continue exactly from this checkpoint")
    p.add_argument("--init-from", metavar="WEIGHTS",
                   help="start from these weights (a state_dict as weights-only .pt or "
                   ".safetensors, or a Studio checkpoint): every tensor that fits is loaded, "
                   "the rest initialized as usual; a report lists them by node")
    p.add_argument("--watch", action="append", metavar="NODE",
                   help="record this node's activations (repeatable; see --probes)")
    p.add_argument("--probes", help="folder for activation snapshots (.npz) of watched nodes")
    p.add_argument("--amp", choices=("off", "bf16", "fp16"), help="mixed precision (GPU)")
    p.add_argument("--channels-last", action="store_true", help="NHWC layout for images")
    p.add_argument("--compile", action="store_true", help="torch.compile the networks")
    p.add_argument("--tensorboard", metavar="DIR", help="also write the run for TensorBoard, in "
                   "a folder of its own under DIR: losses, metrics, learning rates, gradient and "
                   "weight histograms, previews, feature maps of --watch nodes")
    p.add_argument("--name", help="a name for the run in the project's run history")
    p.add_argument("--no-record", action="store_true", help="keep no record of the run "
                   "(`studio runs` lists the recorded ones)")
    add_remote_options(p)
    add_ranks_options(p)
    p.set_defaults(run=train)
    add_commands(sub)
    add_lr_find(sub)
    add_predict(sub)
    add_sweep(sub)
    add_lab(sub)
    add_worker(sub)
    add_import(sub)
    add_grade(sub)
    p = sub.add_parser("blocks", help="list the block catalogue, or describe one block")
    p.add_argument("name", nargs="?")
    p.set_defaults(run=blocks)
    p = sub.add_parser("examples", help="list the example projects (`studio train lenet` trains "
                       "one by name), or copy them into a folder")
    p.add_argument("--copy", metavar="DIR", help="copy every example into DIR")
    p.set_defaults(run=examples)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("studio")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def _editor(argv) -> int | None:
    """``studio`` with no arguments, or with one ``.studio`` file: open the editor window.
    None when the arguments are for a subcommand."""
    if argv and not (len(argv) == 1 and argv[0].endswith(".studio")):
        return None
    path = argv[0] if argv else None
    if path is not None and not Path(path).is_file():
        raise CliError(f"{path}: no such file")
    from studio.ui.app import run

    return run(path)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        status = _editor(argv)
    except CliError as err:
        print(f"studio: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if status is not None:
        return status
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except CliError as err:
        print(f"studio: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ProjectError, OSError) as err:
        print(f"studio: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("studio: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
