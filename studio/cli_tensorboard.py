"""`studio train --tensorboard DIR`: where the run is written for TensorBoard and the writer the
CLI's event loop feeds (engine/tensorboard_log.py)."""

from __future__ import annotations

from pathlib import Path

from studio.cli_common import CliError


def tensorboard_root(option: str | None, project, project_file: str) -> Path | None:
    """The folder the runs go into: --tensorboard, else the project's TensorBoard setting
    (relative to the project file's folder), else None. Refused at once (before the run starts)
    when the tensorboard package is missing."""
    from studio.engine.tensorboard_log import TensorBoardError, need_tensorboard, root_folder

    root = Path(option).expanduser() if option else root_folder(project, Path(project_file).parent)
    if root is None:
        return None
    try:
        need_tensorboard()
    except TensorBoardError as err:
        raise CliError(f"--tensorboard: {err}" if option else f"{project_file}: {err}") from None
    return root


def open_tensorboard(root: Path | None, project, recorder):
    """The run's writer, in a folder named after the project and the run's number in the
    history (a timestamp when it is not recorded); None without a root."""
    if root is None:
        return None
    from studio.engine.tensorboard_log import TensorBoardError, TensorBoardLog, run_folder

    number = recorder.number if recorder is not None and not recorder.failed else None
    try:
        return TensorBoardLog(run_folder(root, project.name, number))
    except TensorBoardError as err:
        if recorder is not None:  # the run begun in the history ends before it trained
            recorder.close()
            recorder.history.close()
        raise CliError(f"--tensorboard: {err}") from None
