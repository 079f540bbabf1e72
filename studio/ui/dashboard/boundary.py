"""A classifier of 2-D points as a map (``engine/boundary.py``): the class it predicts over
the plane, paler where it is less sure, with training points on top in their true class's
colour, in the data's own units. Redrawn as the network learns (each activations probe).

The map is one small image (64 x 64 cells) stretched over the grid's extent, so a redraw is
the colour arithmetic of 4,096 cells and a few hundred points.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from studio.engine.classifier_nodes import classifier_losses
from studio.engine.events import ACTIVE_STATES, Boundary
from studio.ui import theme
from studio.ui.dashboard.curves import metric_colour, new_plot
from studio.ui.dashboard.picture import rgb_of
from studio.ui.dashboard.probe_button import probe_now_button
from studio.ui.dashboard.store import RunStore

RELEVANT = {"boundary", "activations", "state", "all"}
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
    for _loss, _scores, data in classifier_losses(project.training):
        row = analysis.result("training", data.id)
        outputs = list(row.outputs.values()) if row is not None else []
        if outputs and tuple(outputs[0].shape) == (2,):
            return True
    return False


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


class BoundaryView(QWidget):
    """The newest map of the current run, with its training points and a line saying what the
    colours mean."""

    probe_requested = Signal(str)  # a probe to run now ("activations")

    def __init__(self, store: RunStore, parent=None):
        super().__init__(parent)
        self.setObjectName("boundary_view")
        self.store = store
        self._run = None
        self._drawn: Boundary | None = None  # the event on screen
        self._points = None  # the points drawn (the same for every map of a run)
        dim = f"color: {theme.current().text_dim.name()};"
        self.message = QLabel(EMPTY_TEXT)
        self.message.setObjectName("boundary_message")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setStyleSheet(dim)
        self.summary = QLabel("")
        self.summary.setObjectName("boundary_summary")
        # one line, cut where the dock is narrow: a wrapping label would make the dock's scroll
        # area size the view by its preferred height and scroll the plot out of a short dock
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.note = QLabel("")  # when the next map comes, if the time budget skipped some
        self.note.setObjectName("boundary_note")
        self.note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.note.setStyleSheet(dim)
        self.request_button = probe_now_button(
            "Map Now", "request_boundary", "Draw the classifier's map after the current "
            "training step, without waiting for the next probe", "activations",
            self.probe_requested)
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
        head = QHBoxLayout()
        head.addWidget(self.summary, 1)
        head.addWidget(self.request_button)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.note)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.plot, 1)
        self._show(False)

    def _show(self, drawn: bool) -> None:
        self.message.setVisible(not drawn)
        self.plot.setVisible(drawn)
        self.summary.setVisible(drawn)

    @property
    def has_image(self) -> bool:
        """Whether a map is on screen."""
        return self._drawn is not None and self.image.image is not None

    def refresh(self, topics: set) -> None:
        if not (topics & RELEVANT):
            return
        run = self.store.current
        event = run.boundary if run is not None else None
        again = "all" in topics or run is not self._run
        self._run = run
        if event is None:
            self._drawn = self._points = None
            self.image.clear()
            self.scatter.clear()
        elif again or event is not self._drawn:
            self._draw(event)
        active = run is not None and run.state in ACTIVE_STATES
        self.request_button.setEnabled(active)
        note = run.next_probe_text("activations", "map") if active else ""
        self.note.setText(note)
        self.note.setVisible(bool(note))
        self.message.setText(WAITING_TEXT if active else EMPTY_TEXT)
        self._show(event is not None)

    def _draw(self, event: Boundary) -> None:
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
        self._drawn = event
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
