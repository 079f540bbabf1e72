"""Export ONNX: the project's networks as ONNX graphs (File > Export ONNX, `studio export
--onnx`), with the trained weights when given a checkpoint, inputs and outputs named after the
network's ports (``image`` -> ``mu``, ``logvar``) and the batch dimension dynamic.

The networks come from ``network_export.built_networks``, as for TorchScript and
``torch.export``. Torch is imported only when this runs, never when the editor starts.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from studio.engine.network_export import NetworkExportError, built_networks

OnnxExportError = NetworkExportError  # the name callers catch


def export_onnx(project, path, checkpoint=None) -> list[Path]:
    """Write one .onnx file per network (``path`` itself when there is one); their paths.
    With ``checkpoint`` (a Studio checkpoint file) the graphs carry its trained weights, the
    same ones ``weights.pt`` gets; without, the freshly initialised ones."""
    need_onnx()
    return write_onnx(built_networks(project, checkpoint), path)


def need_onnx() -> None:
    if importlib.util.find_spec("onnx") is None:
        raise OnnxExportError("ONNX export needs the 'onnx' package; install it with "
                              "`pip install onnx` and try again")


def write_onnx(networks, path) -> list[Path]:
    """The built networks (``network_export.built_networks``) as ONNX files."""
    need_onnx()
    import torch

    target = Path(path)
    written = []
    for net in networks:
        out = net.target(target, len(networks) == 1)
        args = tuple(a[:1] if isinstance(a, torch.Tensor) else a for a in net.args)
        dynamic = {n: {0: "batch"} for n in net.input_names + net.output_names}
        try:
            torch.onnx.export(net.module, args, str(out), input_names=net.input_names,
                              output_names=net.output_names or None, dynamo=False,
                              dynamic_axes=dynamic)
        except Exception as err:  # noqa: BLE001
            raise OnnxExportError(f"{net.key}: {err}") from None
        written.append(out)
    return written
