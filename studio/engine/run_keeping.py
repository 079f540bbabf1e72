"""A run's files beside its history, and runs moved or deleted with them.

A run's final checkpoint is kept in its history's folder (``run-<n>.ckpt``) by the app's
writer (``run_writer.py``), so it outlives the app's scratch folder; deleting the run deletes
it. A run moves to another history (an unsaved project's runs once it is saved) with its
graph, series, fields and kept checkpoint.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from studio.engine.run_history import INTERRUPTED, RUNNING, RunHistory, RunHistoryError

CHECKPOINT_NAME = "run-{number}.ckpt"  # a run's final checkpoint, kept in the history's folder
MOVED_FIELDS = ("device", "steps", "status", "message", "evaluation", "ended")


def kept_checkpoint_path(history_path, number: int) -> Path:
    """Where run ``number``'s final checkpoint is kept: beside the history's database."""
    return Path(history_path).parent / CHECKPOINT_NAME.format(number=number)


def recorded_checkpoint(history_path, checkpoint: str | None) -> Path | None:
    """A run's checkpoint file as it is now: where it was recorded, else (the history's folder
    was moved, as it is meant to be, as one) by its name in the history's folder; None when
    it is gone."""
    if not checkpoint:
        return None
    for path in (Path(checkpoint), Path(history_path).parent / Path(checkpoint).name):
        if path.is_file():
            return path
    return None


def _kept_here(history: RunHistory, checkpoint: Path | None) -> bool:
    """Whether ``checkpoint`` is one the history keeps (not one the user chose elsewhere)."""
    return checkpoint is not None and \
        checkpoint.resolve().parent == history.path.resolve().parent


def delete_run(history: RunHistory, number: int) -> None:
    """Delete a run from its history, and its kept checkpoint with it (a checkpoint elsewhere,
    one a ``studio train --checkpoint`` chose, is the user's and stays)."""
    checkpoint = recorded_checkpoint(history.path, history.run(number).checkpoint)
    history.delete(number)
    if _kept_here(history, checkpoint):
        checkpoint.unlink(missing_ok=True)


def move_run(source: RunHistory, number: int, target: RunHistory) -> int:
    """Move an ended run from ``source`` to ``target`` (its kept checkpoint too); returns its
    number there. Written there before it is deleted here, so a failure between the two
    leaves it in both, never in neither."""
    record = source.run(number)
    if record.status in (RUNNING, INTERRUPTED):
        raise RunHistoryError(f"{source.path}: run {number} has not ended")
    moved = target.begin(
        project=record.project, text=source.graph_text(number), settings=record.settings,
        seed=record.seed, versions=record.versions, params=record.params, macs=record.macs,
        name=record.name, weights=record.weights, started=record.started)
    rows = [(kind, name, step, epoch, value)
            for (kind, name), points in source.series(number).items()
            for step, epoch, value in points]
    fields = {field: getattr(record, field) for field in MOVED_FIELDS}
    checkpoint = recorded_checkpoint(source.path, record.checkpoint)
    if _kept_here(source, checkpoint):
        kept = kept_checkpoint_path(target.path, moved)
        shutil.copyfile(checkpoint, kept)
        fields["checkpoint"] = str(kept)
    else:
        fields["checkpoint"] = record.checkpoint
    target.write(moved, rows, **fields)
    if record.note:
        target.annotate(moved, record.note)
    delete_run(source, number)
    return moved
