"""TorchScript and ``torch.export`` programs of the project's networks (`studio export
--torchscript` / `--torch-export`, and the export dialog): files that run with torch alone,
without Studio or model.py, with the trained weights when given a checkpoint.

TorchScript scripts the generated module (its control flow kept) and falls back to tracing it
with a real batch when scripting fails, saying so; a ``torch.export`` program (``.pt2``) has the
batch dimension dynamic. Both load back with ``torch.jit.load`` / ``torch.export.load``.
``write_programs`` writes any of these and ONNX from one build of the networks, for the CLI and
the dialog alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from studio.engine.network_export import NetworkExportError, built_networks

# kind -> (file name, what it is called in messages)
PROGRAMS = {"onnx": ("model.onnx", "ONNX"),
            "torchscript": ("model.torchscript.pt", "TorchScript"),
            "torch_export": ("model.pt2", "torch.export")}


@dataclass
class Programs:
    """The files written and what a user should know about them (a traced network)."""

    paths: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def write_programs(project, folder, kinds, checkpoint=None) -> Programs:
    """Each asked kind of program (keys of PROGRAMS) into ``folder``, the networks built once.
    A refusal is a NetworkExportError that starts with the kind's name."""
    if not kinds:
        return Programs()
    if "onnx" in kinds:
        from studio.engine.onnx_export import need_onnx

        need_onnx()  # before building anything
    networks = built_networks(project, checkpoint)
    done = Programs()
    for kind in kinds:
        name, title = PROGRAMS[kind]
        try:
            if kind == "onnx":
                from studio.engine.onnx_export import write_onnx

                done.paths += write_onnx(networks, Path(folder) / name)
            else:
                write = write_torchscript if kind == "torchscript" else write_program
                more = write(networks, Path(folder) / name)
                done.paths += more.paths
                done.notes += more.notes
        except NetworkExportError as err:
            raise NetworkExportError(f"{title}: {err}") from None
    return done


def export_torchscript(project, path, checkpoint=None) -> Programs:
    """One TorchScript file per network (``path`` itself when there is one)."""
    return write_torchscript(built_networks(project, checkpoint), path)


def export_program(project, path, checkpoint=None) -> Programs:
    """One ``torch.export`` program (``.pt2``) per network, batch dimension dynamic."""
    return write_program(built_networks(project, checkpoint), path)


def write_torchscript(networks, path) -> Programs:
    done = Programs()
    for net in networks:
        out = net.target(Path(path), len(networks) == 1)
        try:
            program, note = script_or_trace(net.module, net.args)
            program.save(str(out))
        except Exception as err:  # noqa: BLE001 - a refusal or a file that cannot be written
            raise NetworkExportError(f"{net.key}: {err}") from None
        if note:
            done.notes.append(f"{net.key} {note}")
        done.paths.append(out)
    return done


def script_or_trace(module, args) -> tuple:
    """``torch.jit.script(module)``, or its trace on ``args`` when scripting fails: the program
    and None, or the traced program and a note saying why it was traced."""
    import torch

    try:
        return torch.jit.script(module), None
    except Exception as err:  # noqa: BLE001 - any refusal of the scripting compiler
        reason = _first_line(err)
    try:
        traced = torch.jit.trace(module, args)
    except Exception as err:  # noqa: BLE001
        raise NetworkExportError(f"TorchScript can neither script it ({reason}) nor trace it: "
                                 f"{_first_line(err)}") from None
    return traced, (f"was traced, not scripted (scripting failed: {reason}): its Python "
                    "branches are fixed as the example batch took them")


def write_program(networks, path) -> Programs:
    import torch

    done = Programs()
    for net in networks:
        out = net.target(Path(path), len(networks) == 1)
        batch = {0: torch.export.Dim.AUTO}
        shapes = tuple(batch if isinstance(a, torch.Tensor) else None for a in net.args)
        try:
            program = torch.export.export(net.module, net.args, dynamic_shapes=shapes)
            torch.export.save(program, str(out))
        except Exception as err:  # noqa: BLE001 - anything the exporter refuses is reported
            raise NetworkExportError(f"{net.key}: {_first_line(err)}") from None
        done.paths.append(out)
    return done


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
