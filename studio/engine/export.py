"""Export: the generated ``model.py`` and ``train.py``, the bundled data files they read, and
optionally the trained weights from a checkpoint, written into one folder. The CLI and the
editor both export through here, so the two can never write different things."""

from __future__ import annotations

import shutil
from pathlib import Path

from studio.core.project import Project
from studio.engine.codegen import generate
from studio.engine.loader import RESOURCES_DATA


def write_export(project: Project, folder, checkpoint=None) -> list[Path]:
    """Write the project's code into ``folder``; with ``checkpoint``, also ``weights.pt``
    (``python train.py --weights weights.pt`` continues from it). Returns the files written.
    Raises CodegenError for a project that cannot run, CheckpointError for a bad checkpoint."""
    code = generate(project)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "model.py", out / "train.py"]
    written[0].write_text(code.model_source, encoding="utf-8")
    written[1].write_text(code.train_source, encoding="utf-8")
    if code.data_files:
        (out / "data").mkdir(exist_ok=True)
        for name in code.data_files:
            shutil.copyfile(RESOURCES_DATA / name, out / "data" / name)
            written.append(out / "data" / name)
    if checkpoint is not None:
        from studio.engine.checkpoint import export_weights

        written.append(export_weights(checkpoint, out / "weights.pt"))
    return written
