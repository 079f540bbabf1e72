"""The run's optimizers on a 2-D toy surface (``engine/optimizer_paths.py``): the surface as a
shaded image, darker where the loss is lower, and each optimizer's path from the same start in
its own colour, with its own settings. Sent once at the start of a run, so the picture follows
every edit of an optimizer's learning rate or momentum at the next Train.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPalette

from studio.core.registry import nodes_with
from studio.engine.events import OptimizerPaths
from studio.ui.dashboard.curves import metric_colour, new_plot
from studio.ui.dashboard.picture import rgb_of
from studio.ui.dashboard.probe_view import ProbeView
from studio.ui.dashboard.store import RunStore

RELEVANT = {"optimizer_paths"}
EMPTY_TEXT = ("Each optimizer's path on a 2-D toy surface appears here when training starts "
              "(its own class and settings, from the same point)")
LEGEND = ("Shading: the toy loss, darker where lower (its minimum at the centre). Lines: "
          "where each of the project's optimizers goes from the white dot, one point a step.")


def compares_optimizers(project) -> bool:
    """Whether the project trains with optimizers of more than one kind (SGD beside Adam):
    the projects for which the paths view is worth a tile."""
    return len({n.block for n in nodes_with(project.training, "optimizer")}) > 1


def surface_pixels(surface: np.ndarray, background: QColor, ink: QColor) -> np.ndarray:
    """(G, G, 3) uint8: the background where the loss is highest, towards ``ink`` where it is
    lowest (the surface is log(1 + loss), scaled to its own range)."""
    s = np.asarray(surface, np.float32)
    low = 1 - (s - s.min()) / max(float(s.max() - s.min()), 1e-12)
    base, deep = (np.array(rgb_of(c), dtype=np.float32) for c in (background, ink))
    mixed = base + (deep - base) * (0.6 * low[..., None])
    return np.ascontiguousarray(np.rint(mixed).astype(np.uint8))


class PathsView(ProbeView):
    """The current run's surface and paths, and a line saying where each path ended."""

    def __init__(self, store: RunStore, parent=None):
        super().__init__(store, "paths", RELEVANT, EMPTY_TEXT, parent=parent)
        self.lines: dict = {}  # optimizer name -> its path's curve
        self.summary.setToolTip(LEGEND)
        self.plot = new_plot("paths_plot", self.palette(), legend_offset=(-6, -6),
                             long_curves=False)  # the legend where no path goes
        self.plot.setMinimumSize(160, 120)
        self.plot.setToolTip(LEGEND)
        self.plot.setLabel("bottom", "x")
        self.plot.setLabel("left", "y")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.start = pg.ScatterPlotItem(size=9, brush=pg.mkBrush("w"), pen=pg.mkPen("k"))
        self.plot.addItem(self.start)
        self.lay_out(self.plot)

    @property
    def has_paths(self) -> bool:
        return self._drawn is not None and bool(self.lines)

    def newest(self, run):
        return run.optimizer_paths

    def clear(self) -> None:
        self._drawn = None
        self.image.clear()
        self.start.clear()
        for line in self.lines.values():
            self.plot.removeItem(line)
        self.lines = {}
        if self.plot.plotItem.legend is not None:
            self.plot.plotItem.legend.clear()

    def draw(self, run, event: OptimizerPaths) -> None:
        self.clear()
        palette = self.palette()
        pixels = surface_pixels(event.surface, palette.color(QPalette.ColorRole.Base),
                                palette.color(QPalette.ColorRole.Text))
        self.image.setImage(pixels, autoLevels=False, levels=(0, 255))
        x0, x1, y0, y1 = event.extent
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        ends = []
        for k, (name, path) in enumerate(event.paths.items()):
            path = np.asarray(path, dtype=np.float64)
            line = self.plot.plot(path[:, 0], path[:, 1], name=name,
                                  pen=pg.mkPen(metric_colour(k), width=2),
                                  symbol="o", symbolSize=3, symbolPen=None,
                                  symbolBrush=metric_colour(k))
            self.lines[name] = line
            x, y = path[-1]
            ends.append(f"{name} at ({x:.2f}, {y:.2f})")
        self.start.setData(pos=[event.start])
        self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        steps = max(len(np.asarray(p)) for p in event.paths.values()) - 1
        self.summary.setText(f"<b>{event.formula}</b> \u00b7 {steps} steps from "
                             f"({event.start[0]:g}, {event.start[1]:g}); ends: "
                             + ", ".join(ends))
