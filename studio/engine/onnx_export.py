"""Export ONNX: the project's networks as ONNX graphs (File > Export ONNX, `studio export
--onnx`).

The generated code is loaded (the same source Export writes) and one batch goes through
``Training.inspect`` (which changes nothing) with hooks recording each network's inputs; each
network is then exported with those inputs, the batch dimension dynamic. Torch is imported only
when this runs, never when the editor starts.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


class OnnxExportError(Exception):
    """Why the export did not happen, in one sentence."""


def export_onnx(project, path, checkpoint=None) -> list[Path]:
    """Write one .onnx file per network (``path`` itself when there is one); their paths.
    With ``checkpoint`` (a Studio checkpoint file) the graphs carry its trained weights, the
    same ones ``weights.pt`` gets; without, the freshly initialised ones."""
    if importlib.util.find_spec("onnx") is None:
        raise OnnxExportError("ONNX export needs the 'onnx' package; install it with "
                              "`pip install onnx` and try again")
    from studio.engine.codegen import CodegenError
    from studio.engine.export import ExportError, exportable_code

    try:
        code = exportable_code(project)
    except CodegenError as err:
        raise OnnxExportError(f"the project has problems: {err}") from None
    except ExportError as err:
        raise OnnxExportError(str(err)) from None
    import torch

    from studio.engine import loader

    train = loader.load(code)
    try:
        run = train.Training(device="cpu", data_dir=loader.RESOURCES_DATA, steps=1)
    except Exception as err:  # noqa: BLE001 - anything the generated code raises is reported
        raise OnnxExportError(f"cannot build the networks: {err}") from None
    networks = dict(getattr(run, "networks", {}))
    if not networks:
        raise OnnxExportError("the project has no network to export")
    if checkpoint is not None:
        _load_trained(networks, checkpoint)
    seen: dict = {}
    hooks = [m.register_forward_pre_hook(lambda mod, args, name=n: seen.setdefault(name, args))
             for n, m in networks.items()]
    batch = tuple(t[:2] for t in run.data.test) if run.data is not None else ()
    try:
        with torch.random.fork_rng():
            run.inspect(batch)
    except Exception as err:  # noqa: BLE001
        raise OnnxExportError(f"cannot run the networks once: {err}") from None
    finally:
        for h in hooks:
            h.remove()
    target = Path(path)
    written = []
    for name, module in networks.items():
        if name not in seen:
            continue
        module.eval()
        args = tuple(a[:1].detach() if isinstance(a, torch.Tensor) else a for a in seen[name])
        out = target if len(networks) == 1 else target.with_name(f"{target.stem}_{name}.onnx")
        names = [f"input{i}" for i in range(len(args))]
        try:
            torch.onnx.export(module, args, str(out), input_names=names, dynamo=False,
                              dynamic_axes={n: {0: "batch"} for n in names})
        except Exception as err:  # noqa: BLE001
            raise OnnxExportError(f"{name}: {err}") from None
        written.append(out)
    return written


def _load_trained(networks: dict, checkpoint) -> None:
    """Put the checkpoint's trained weights into the networks about to be exported."""
    from studio.engine.checkpoint import CheckpointError, load

    try:
        trained = load(checkpoint).get("networks", {})
    except CheckpointError as err:
        raise OnnxExportError(f"the trained weights: {err}") from None
    for name, module in networks.items():
        if name not in trained:
            raise OnnxExportError(f"the checkpoint has no weights for the network {name}: it was "
                                  "trained on a different project")
        try:
            module.load_state_dict(trained[name])
        except RuntimeError as err:
            first = str(err).strip().splitlines()
            detail = " ".join(line.strip() for line in first[1:3]) or first[0]
            raise OnnxExportError(f"the checkpoint's weights do not fit the network {name} "
                                  f"(edited since training?): {detail}") from None
