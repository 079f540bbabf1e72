"""Export: the generated ``model.py`` and ``train.py``, the bundled data files they read, and
optionally the trained weights from a checkpoint, written into one folder. The CLI and the
editor both export through here, so the two can never write different things.

Torch is imported only when trained weights are written: refusing a project that cannot be
exported takes no longer than ``studio check``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from studio.core.project import Project
from studio.engine.codegen import GeneratedCode, generate
from studio.engine.loader import RESOURCES_DATA

# weights formats -> the weights file's suffix (engine/weights.py writes each)
WEIGHTS_FORMATS = {"pt": ".pt", "safetensors": ".safetensors"}


class ExportError(Exception):
    """Why nothing was exported, in one sentence a user can act on."""


class WeightsError(ExportError):
    """The trained weights to export cannot be read (a CheckpointError, named without torch)."""


def exportable_code(project: Project) -> GeneratedCode:
    """The project's code, or ExportError when there is no network to write.

    A network drawn but used nowhere has no input shapes (they come from the wires into its
    instance), so no correct ``nn.Module`` can be written for it; an empty model.py exported
    with success would hide that. Raises CodegenError for a project with problems."""
    code = generate(project)
    if not code.classes:
        unused = ", ".join(project.networks)
        if unused:
            raise ExportError(f"nothing to export: the network(s) {unused} are used nowhere. "
                              "Drag one into the training graph and wire a Dataset to it, so "
                              "its input shapes (and so its layers' sizes) are known")
        raise ExportError("nothing to export: the project has no network. Add layers to the "
                          "training graph (or start from File > New from Template)")
    return code


def write_export(project: Project, folder, checkpoint=None, weights_format: str = "pt") -> list[Path]:
    """Write the project's code into ``folder``; with ``checkpoint``, also its trained weights
    as ``weights.pt`` (weights-only) or ``weights.safetensors`` (``weights_format``), keyed
    ``network.parameter``: ``python train.py --weights weights.pt`` continues from either.
    Returns the files written. Raises ExportError when there is nothing to export
    (WeightsError for a bad checkpoint), CodegenError for a project that cannot run."""
    if weights_format not in WEIGHTS_FORMATS:
        raise ExportError(f"no weights format {weights_format!r}: "
                          f"{' or '.join(WEIGHTS_FORMATS)}")
    code = exportable_code(project)
    if checkpoint is not None:
        from studio.engine.checkpoint import CheckpointError, load, network_weights
        from studio.engine.weights import write_tensors

        try:  # a bad checkpoint fails before anything is written
            weights = network_weights(load(checkpoint))
        except CheckpointError as err:
            raise WeightsError(str(err)) from None
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "model.py", out / "train.py"]
    written[0].write_text(code.model_source, encoding="utf-8")
    written[1].write_text(code.exported_train_source, encoding="utf-8")
    if code.data_files:
        (out / "data").mkdir(exist_ok=True)
        for name in code.data_files:
            shutil.copyfile(RESOURCES_DATA / name, out / "data" / name)
            written.append(out / "data" / name)
    if checkpoint is not None:
        written.append(write_tensors(weights, out / f"weights{WEIGHTS_FORMATS[weights_format]}"))
    return written


def describe_written(folder, files) -> str:
    """Every file written, named relative to ``folder``: "model.py, train.py, data/digits.npz
    and weights.pt (4 files) in /tmp/out"."""
    base = Path(folder)
    names = []
    for f in files:
        path = Path(f)
        try:
            names.append(path.relative_to(base).as_posix())
        except ValueError:
            names.append(str(path))
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{listed} ({len(names)} file{'s' if len(names) != 1 else ''}) in {base}"
