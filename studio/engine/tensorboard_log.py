"""A run's events written for TensorBoard (`studio train --tensorboard DIR` and the project's
TensorBoard setting), so a user's own ``tensorboard --logdir DIR`` shows Studio's runs beside
their other ones.

It is fed the events the run already sends (the CLI's event loop, the app's run writer thread),
never called from the training step, so training is no slower for it. One folder per run:
``DIR/<project>-run<number>`` (the run history's number), or a timestamp for an unrecorded run.
PyTorch's ``SummaryWriter`` needs the ``tensorboard`` package, an optional extra.
"""

from __future__ import annotations

import importlib.util
import re
import time
from pathlib import Path

import numpy as np

from studio.engine.events import (
    Activations,
    Evaluation,
    Finished,
    Histograms,
    Metrics,
    Preview,
    Stats,
)
from studio.engine.node_keys import ROOT


class TensorBoardError(Exception):
    """Why the run cannot be written for TensorBoard, in one sentence."""


def root_folder(project, project_folder) -> Path | None:
    """The project's TensorBoard setting as a folder (a relative one in ``project_folder``), or
    None when it is empty."""
    setting = project.training.settings.get("tensorboard") or ""
    if not setting:
        return None
    root = Path(setting).expanduser()
    return root if root.is_absolute() else Path(project_folder or ".") / root


def run_folder(root, project_name: str, number: int | None = None) -> Path:
    """A folder of its own for this run under ``root``: ``lenet-run3`` (a recorded run's
    number) or ``lenet-20260102-153000``; ``-2``, ``-3`` ... when that is taken."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", project_name.strip()).strip("_").lower() or "run"
    name = f"{stem}-run{number}" if number is not None else \
        f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    folder, n = Path(root).expanduser() / name, 1
    while folder.exists():
        n += 1
        folder = Path(root).expanduser() / f"{name}-{n}"
    return folder


def need_tensorboard() -> None:
    """TensorBoardError when the ``tensorboard`` package is missing: said before a run starts."""
    if importlib.util.find_spec("tensorboard") is None:
        raise TensorBoardError("writing for TensorBoard needs the 'tensorboard' package; "
                               "install it with `pip install tensorboard`")


class TensorBoardLog:
    """Writes each event of one run into its folder (``record``), then ``close``."""

    def __init__(self, folder):
        need_tensorboard()
        from torch.utils.tensorboard import SummaryWriter

        self.folder = Path(folder)
        try:
            self.writer = SummaryWriter(log_dir=str(self.folder))
        except OSError as err:
            raise TensorBoardError(f"cannot write into {self.folder}: {err}") from None
        self.step = 0  # the newest step an event named

    def record(self, event) -> None:
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def close(self) -> None:
        self.writer.close()

    # one per kind of event ---------------------------------------------------------------------
    def _metrics(self, event: Metrics) -> None:
        if event.resumed:  # the continued run's history: already in its own folder
            return
        for point in event.points:
            self.step = point.get("step", self.step)
            for name, value in point.items():
                if name not in ("step", "epoch") and isinstance(value, (int, float)):
                    self.writer.add_scalar(f"train/{name}", value, self.step)
        for optimizer, lr in event.lr.items():
            self.writer.add_scalar(f"lr/{optimizer}", lr, self.step)

    def _evaluation(self, event: Evaluation) -> None:
        self.step = event.step
        for name, value in event.metrics.items():
            self.writer.add_scalar(f"eval/{name}", value, event.step)

    def _stats(self, event: Stats) -> None:
        for node, values in event.nodes.items():
            for name, value in values.items():
                if value is not None:
                    self.writer.add_scalar(f"{name}/{_short(node)}", value, event.step)

    def _histograms(self, event: Histograms) -> None:
        for node, kinds in event.nodes.items():
            for kind, histogram in kinds.items():
                if histogram is not None:
                    self._histogram(f"{kind}/{_short(node)}", *histogram, event.step)

    def _histogram(self, tag, counts, edges, step) -> None:
        """A histogram the worker already counted: bucket counts and their edges."""
        counts = np.asarray(counts, dtype=np.float64)
        edges = np.asarray(edges, dtype=np.float64)
        if counts.sum() <= 0:
            return
        centers = (edges[:-1] + edges[1:]) / 2
        self.writer.add_histogram_raw(
            tag, min=float(edges[0]), max=float(edges[-1]), num=int(counts.sum()),
            sum=float((counts * centers).sum()), sum_squares=float((counts * centers ** 2).sum()),
            bucket_limits=edges[1:].tolist(), bucket_counts=counts.tolist(), global_step=step)

    def _preview(self, event: Preview) -> None:
        step = self.step if event.step is None else event.step
        images = _unit(event.images, event.value_range)
        if images.ndim == 4 and images.shape[1] in (1, 3):
            self.writer.add_images(f"preview/{event.name}", images, step, dataformats="NCHW")

    def _activations(self, event: Activations) -> None:
        if event.kind == "maps" and event.data.ndim == 3:  # C x H x W: one image per channel
            self.writer.add_images(f"features/{_short(event.node)}", _unit(event.data, event.range)[:, None],
                                   event.step, dataformats="NCHW")
        else:
            self.writer.add_histogram(f"features/{_short(event.node)}", np.asarray(event.data),
                                      event.step)

    def _finished(self, event: Finished) -> None:
        for name, value in event.evaluation.items():
            self.writer.add_scalar(f"final/{name}", value, event.steps)
        self.writer.flush()


def _short(node: str) -> str:
    """A node key without the training graph's root: ``conv1``, ``encoder/conv1``."""
    return node.removeprefix(ROOT + "/")


def _unit(values, value_range) -> np.ndarray:
    """Values scaled from their range into 0..1, as images are drawn."""
    low, high = (float(v) for v in value_range)
    scaled = (np.asarray(values, dtype=np.float32) - low) / (high - low if high > low else 1.0)
    return np.clip(np.nan_to_num(scaled), 0.0, 1.0)


_HANDLERS = {Metrics: TensorBoardLog._metrics, Evaluation: TensorBoardLog._evaluation,
             Stats: TensorBoardLog._stats, Histograms: TensorBoardLog._histograms,
             Preview: TensorBoardLog._preview, Activations: TensorBoardLog._activations,
             Finished: TensorBoardLog._finished}
