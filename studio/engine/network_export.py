"""The project's networks ready to be written as deployable programs (ONNX, TorchScript,
``torch.export``): each built from the generated code, with the checkpoint's trained weights when
given one, in eval mode, with a small batch of real inputs and its port names.

The inputs come from one batch of the test data through ``Training.inspect`` (which changes
nothing), hooks recording what each network receives. Every program format starts from here, so
they all carry the same weights and name their inputs and outputs the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class NetworkExportError(Exception):
    """Why a program was not written, in one sentence."""


@dataclass
class ExportedNetwork:
    """One network to write: its key in ``Training.networks``, the module (eval mode), a batch
    of two real inputs, and the names of its inputs and outputs (the network's ports)."""

    key: str
    module: object
    args: tuple
    input_names: list
    output_names: list

    def target(self, path: Path, alone: bool) -> Path:
        """``path`` itself for a project's only network, else ``model_<key>.<suffixes>``
        (``model.torchscript.pt`` -> ``model_generator.torchscript.pt``)."""
        if alone:
            return path
        stem, dot, rest = path.name.partition(".")
        return path.with_name(f"{stem}_{self.key}{dot}{rest}")


def built_networks(project, checkpoint=None) -> list[ExportedNetwork]:
    """Every network the training graph uses that the inspect pass reaches, with the trained
    weights of ``checkpoint`` (a Studio checkpoint file) or freshly initialised ones."""
    from studio.engine.codegen import CodegenError
    from studio.engine.export import ExportError, exportable_code

    try:
        code = exportable_code(project)
    except CodegenError as err:
        raise NetworkExportError(f"the project has problems: {err}") from None
    except ExportError as err:
        raise NetworkExportError(str(err)) from None
    import torch

    from studio.engine import loader

    train = loader.load(code)
    try:
        run = train.Training(device="cpu", data_dir=loader.RESOURCES_DATA, steps=1)
    except Exception as err:  # noqa: BLE001 - anything the generated code raises is reported
        raise NetworkExportError(f"cannot build the networks: {err}") from None
    networks = dict(getattr(run, "networks", {}))
    if not networks:
        raise NetworkExportError("the project has no network to export")
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
        raise NetworkExportError(f"cannot run the networks once: {err}") from None
    finally:
        for h in hooks:
            h.remove()
    network_of = {cls: name for name, cls in code.classes.items()}
    built = []
    for key, module in networks.items():
        if key not in seen:
            continue
        module.eval()
        args = tuple(a[:2].detach() if isinstance(a, torch.Tensor) else a for a in seen[key])
        inputs, outputs = code.ports.get(network_of.get(type(module).__name__), ([], []))
        inputs = list(inputs) if len(inputs) == len(args) else [f"input{i}" for i in range(len(args))]
        built.append(ExportedNetwork(key, module, args, inputs, list(outputs)))
    return built


def _load_trained(networks: dict, checkpoint) -> None:
    """Put the checkpoint's trained weights into the networks about to be exported."""
    from studio.engine.checkpoint import CheckpointError, load

    try:
        trained = load(checkpoint).get("networks", {})
    except CheckpointError as err:
        raise NetworkExportError(f"the trained weights: {err}") from None
    for name, module in networks.items():
        if name not in trained:
            raise NetworkExportError(f"the checkpoint has no weights for the network {name}: it "
                                     "was trained on a different project")
        try:
            module.load_state_dict(trained[name])
        except RuntimeError as err:
            first = str(err).strip().splitlines()
            detail = " ".join(line.strip() for line in first[1:3]) or first[0]
            raise NetworkExportError(f"the checkpoint's weights do not fit the network {name} "
                                     f"(edited since training?): {detail}") from None
