"""A classifier of 2-D points as a map (``engine/boundary.py``): the class it predicts over
the plane, paler where it is less sure, with training points on top in their true class's
colour, in the data's own units. Redrawn as the network learns (each activations probe).

The map is one small image (64 x 64 cells) stretched over the grid's extent, so a redraw is
the colour arithmetic of 4,096 cells and a few hundred points.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPalette

from studio.engine.classifier_nodes import classified_samples
from studio.engine.events import Boundary
from studio.ui.dashboard.curves import metric_colour, new_plot
from studio.ui.dashboard.picture import rgb_of
from studio.ui.dashboard.probe_view import ProbeView
from studio.ui.dashboard.store import RunStore

RELEVANT = {"boundary", "activations"}
EMPTY_TEXT = ("The decision boundary appears here for classifiers of 2-D points (moons, "
              "circles, spirals, blobs) once training starts")
WAITING_TEXT = "Waiting for the first map of the classifier over the plane"
LEGEND = ("Colour: the class the classifier predicts there, paler where it is less sure. "
          "Dots: training points in their true class's colour (one on a patch of another "
          "colour is predicted wrong).")
LIGHTEST, DARKEST = 0.18, 0.8  # how far a cell goes from the background towards its colour


def classifies_points(project, analysis) -> bool:
    """Whether the project trains a classifier on 2-D points: a loss that measures accuracy
    on a dataset's labels, where that dataset's samples are vectors of 2 features."""
    return (2,) in classified_samples(project, analysis)


def class_colours(count: int) -> np.ndarray:
    """(count, 3) float: one colour per class, the curves' palette."""
    return np.array([rgb_of(metric_colour(k)) for k in range(count)], dtype=np.float32)


def map_pixels(event: Boundary, background: QColor) -> np.ndarray:
    """(G, G, 3) uint8: each cell its predicted class's colour, blended from the background by
    the confidence above chance (1 / classes: the palest; certain: the deepest)."""
    chance = 1.0 / max(event.classes, 2)
    sure = np.clip((np.asarray(event.confidence, np.float32) - chance) / (1.0 - chance), 0, 1)
    strength = LIGHTEST + (DARKEST - LIGHTEST) * sure
    colours = class_colours(event.classes)[np.asarray(event.predicted) % event.classes]
    base = np.array(rgb_of(background), dtype=np.float32)
    mixed = base + (colours - base) * strength[..., None]
    return np.ascontiguousarray(np.rint(mixed).astype(np.uint8))


class BoundaryView(ProbeView):
    """The newest map of the current run, with its training points and a line saying what the
    colours mean."""

    def __init__(self, store: RunStore, parent=None):
        super().__init__(store, "boundary", RELEVANT, EMPTY_TEXT, WAITING_TEXT,
                         probe="activations", noun="map", parent=parent,
                         button=("Map Now", "Draw the classifier's map after the current "
                                 "training step, without waiting for the next probe"))
        self._points = None  # the points drawn (the same for every map of a run)
        self.plot = new_plot("boundary_plot", self.palette(), long_curves=False)
        self.plot.setAspectLocked(True)
        self.plot.setMinimumSize(160, 120)  # a short dock shows it whole, not scrolled
        self.plot.setToolTip(LEGEND)
        self.summary.setToolTip(LEGEND)
        self.plot.setLabel("bottom", "x\u2080")
        self.plot.setLabel("left", "x\u2081")
        self.image = pg.ImageItem(axisOrder="row-major")  # row 0 at the lowest y
        self.scatter = pg.ScatterPlotItem(size=6, pxMode=True)
        self.plot.addItem(self.image)
        self.plot.addItem(self.scatter)
        self.lay_out(self.plot)

    @property
    def has_image(self) -> bool:
        """Whether a map is on screen."""
        return self._drawn is not None and self.image.image is not None

    def newest(self, run):
        return run.boundary

    def clear(self) -> None:
        self._points = None
        self.image.clear()
        self.scatter.clear()

    def draw(self, run, event: Boundary) -> None:
        background = self.palette().color(QPalette.ColorRole.Base)
        self.image.setImage(map_pixels(event, background), autoLevels=False, levels=(0, 255))
        x0, x1, y0, y1 = event.extent
        side_y, side_x = np.asarray(event.predicted).shape
        dx, dy = (x1 - x0) / max(side_x - 1, 1), (y1 - y0) / max(side_y - 1, 1)
        self.image.setRect(QRectF(x0 - dx / 2, y0 - dy / 2, x1 - x0 + dx, y1 - y0 + dy))
        if self._points is None or not np.array_equal(self._points, event.points):
            self._points = np.asarray(event.points)
            self._draw_points(event)
        self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        counts = np.bincount(np.asarray(event.predicted).ravel(), minlength=event.classes)
        held = " / ".join(f"{100 * c / counts.sum():.0f}%" for c in counts)
        self.summary.setText(f"<b>Step {event.step:,}</b> \u00b7 the plane by class: {held}")

    def _draw_points(self, event: Boundary) -> None:
        colours = class_colours(event.classes)
        outline = pg.mkPen(self.palette().color(QPalette.ColorRole.Base), width=1)
        brushes = [pg.mkBrush(*colours[k % event.classes]) for k in range(event.classes)]
        labels = np.asarray(event.labels) % event.classes
        self.scatter.setData(pos=self._points, brush=[brushes[k] for k in labels.tolist()],
                             pen=outline)
