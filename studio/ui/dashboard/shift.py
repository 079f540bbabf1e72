"""Image classifiers' answers for moved images (``engine/shift_probe.py``): the share of their
held-out answers kept when the images move by 1 to 4 pixels, over training; for each layer with
a spatial map, how far the map of an image moved one pixel is from its map moved by as much
(0: the layer moves with its input; strided sampling is where it stops); and, for the first
strided layer, the two maps side by side: what the layer gives for the moved image, and what
moving its map would give. A lesson may train two classifiers side by side: each has its own
colour.

Three small plots fed from the run's ``shift`` series and its newest ``ShiftTest``.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QGridLayout, QWidget

from studio.engine.classifier_nodes import classified_samples
from studio.ui.dashboard.curves import metric_colour, new_plot
from studio.ui.dashboard.probe_view import ProbeView
from studio.ui.dashboard.store import RunStore

RELEVANT = {"shift"}
EMPTY_TEXT = ("An image classifier's answers for moved images appear here (how many stay the "
              "same at each shift, and where in the network moving stops commuting with the "
              "layers) once training starts")
WAITING_TEXT = "Waiting for the first shift test of the classifier"
KEPT_TIP = ("The share of held-out answers that stay the same when each image moves by 1, 2, "
            "3 or 4 pixels (in one of eight directions, circularly), over training; dotted: "
            "the accuracy on the unmoved images.")
ERROR_TIP = ("How far a layer's map of the images moved one pixel is from their map moved by "
             "as much (one pixel is 1/S of a cell when the cells are S pixels apart: \u00d7S; "
             "between cells, linearly), relative to the map's size; 0: the layer moves with its "
             "input. Each classifier's first layer at each spacing (where its grid first "
             "samples) and its last map, in the classifier's colour. Convolutions keep it at "
             "0; a layer that samples on a grid raises it where it aliases.")
MAPS_TIP = ("The first map sampled on a grid (a strided layer's), averaged over its "
            "channels, for one held-out image (its edges, which the moved image's seam "
            "reaches, left out): left, the map of the image moved one pixel right; right, the "
            "image's map moved by as much. They match where the network moves with its input; "
            "one row per classifier.")


def classifies_images(project, analysis) -> bool:
    """Whether the project trains a classifier of images: a loss that measures accuracy on a
    dataset's labels, where that dataset's samples are channels x height x width."""
    return any(len(shape) == 3 for shape in classified_samples(project, analysis))


WIDE_ENOUGH = 720  # pixels from which the maps are shown beside the two plots
LAST = float("inf")  # the group of each classifier's last spatial map


def where_sampling_starts(event) -> dict:
    """For each spacing of map cells (in input pixels) the first layer of the test at that
    spacing, (its key, its distance), plus the last layer's under ``LAST``: where a grid first
    samples, and what reaches the classifier's head."""
    found: dict = {}
    for key, stride, error in zip(event.layers, event.strides, event.errors):
        found.setdefault(stride, (key, error))
    if event.layers:
        found[LAST] = (event.layers[-1], event.errors[-1])
    return found


def layer_name(key: str) -> str:
    """A node key's last part, without its port: ``training/pool1`` -> ``pool1``."""
    return key.rsplit("/", 1)[-1].split(":", 1)[0]


class ShiftView(ProbeView):
    """The curves of the current run and its newest shift test of each classifier."""

    def __init__(self, store: RunStore, parent=None):
        super().__init__(store, "shift", RELEVANT, EMPTY_TEXT, WAITING_TEXT, probe="shift",
                         button=("Test Now", "Test the classifier on moved images after the "
                                 "current training step, without waiting for the next test"),
                         noun="test", parent=parent)
        palette = self.palette()
        self.kept_plot = new_plot("shift_kept", palette, legend_offset=None, mouse=False)
        self.kept_plot.setTitle("Answers kept", size="9pt")
        self.kept_plot.setLabel("bottom", "step")
        self.kept_plot.setYRange(0, 1, padding=0.02)
        self.kept_plot.setToolTip(KEPT_TIP)
        self.kept_curves: dict = {}
        self.error_plot = new_plot("shift_errors", palette, mouse=False, long_curves=False)
        self.error_plot.setTitle("Off from moving with the input", size="9pt")
        self.error_plot.setToolTip(ERROR_TIP)
        self.error_bars = pg.BarGraphItem(x=[], height=[], width=0.7, pen=pg.mkPen(None))
        self.error_plot.addItem(self.error_bars)
        self.error_plot.enableAutoRange(x=False)  # the groups' range, set when drawn
        self.maps_plot = new_plot("shift_maps", palette, mouse=False, long_curves=False)
        self.maps_plot.setTitle("Moved | expected", size="9pt")
        self.maps_plot.setAspectLocked(True)
        self.maps_plot.hideAxis("left")
        self.maps_plot.hideAxis("bottom")
        self.maps_plot.setToolTip(MAPS_TIP)
        self.maps_image = pg.ImageItem(axisOrder="row-major")
        self.maps_plot.addItem(self.maps_image)
        self.maps_plot.invertY(True)  # row 0 at the top, as images are shown
        self.plots = QWidget()
        grid = QGridLayout(self.plots)
        grid.setContentsMargins(0, 0, 0, 0)
        for column, plot in enumerate((self.kept_plot, self.error_plot, self.maps_plot)):
            plot.setMinimumSize(140, 110)
            grid.addWidget(plot, 0, column)
        self.lay_out(self.plots)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """A narrow dock (beside Problems) shows the two plots whole rather than three cut:
        the maps come back when there is room for them."""
        super().resizeEvent(event)
        self.maps_plot.setVisible(event.size().width() >= WIDE_ENOUGH)

    @property
    def has_test(self) -> bool:
        """Whether a shift test is on screen."""
        return self._drawn is not None

    def newest(self, run):
        return max(run.shift.values(), key=lambda e: e.step) if run.shift else None

    def clear(self) -> None:
        for curve in self.kept_curves.values():
            curve.setData([], [])
        self.error_bars.setOpts(x=[], height=[])
        self.maps_image.clear()

    def _curve(self, key: tuple, index: int, shift: int):
        """The curve of one classifier (its colour) at one shift (fainter the farther; 0: its
        accuracy, dotted)."""
        curve = self.kept_curves.get(key)
        if curve is None:
            colour = metric_colour(index)
            colour.setAlpha(255 - 45 * (shift - 1) if shift else 255)
            style = Qt.PenStyle.DotLine if not shift else Qt.PenStyle.SolidLine
            marked = {"symbol": "o", "symbolSize": 4, "symbolPen": None,
                      "symbolBrush": colour} if shift == 1 else {}  # a first test shows
            curve = self.kept_curves[key] = self.kept_plot.plot(
                [], [], pen=pg.mkPen(colour, width=2 if shift == 1 else 1, style=style),
                **marked)
        return curve

    def draw(self, run, _newest) -> None:
        tests = dict(run.shift)
        spacings = sorted({s for e in tests.values() for s in e.strides}) + [LAST]
        width = 0.8 / max(len(tests), 1)
        positions, heights, brushes, words, pictures = [], [], [], [], []
        for index, (classifier, event) in enumerate(tests.items()):
            for shift in event.shifts:
                series = run.shift_series.get((classifier, f"kept_{shift}"))
                if series is not None:
                    self._curve((classifier, shift), index, shift).setData(series.x, series.y)
            accuracy = run.shift_series.get((classifier, "accuracy"))
            if accuracy is not None:
                self._curve((classifier, 0), index, 0).setData(accuracy.x, accuracy.y)
            colour = metric_colour(index)
            for spacing, (_key, error) in where_sampling_starts(event).items():
                positions.append(spacings.index(spacing) + (index - (len(tests) - 1) / 2) * width)
                heights.append(error)
                brushes.append(pg.mkBrush(colour))
            kept = "/".join(f"{100 * k:.0f}" for k in event.kept)
            words.append(f"<span style='color:{colour.name()}'>\u25a0</span> "
                         f"{layer_name(classifier)} {kept}%, accuracy "
                         f"{100 * event.accuracy:.0f}%")
            if event.moved_map is not None and event.expected_map is not None:
                pictures.append((np.asarray(event.moved_map), np.asarray(event.expected_map)))
        self.error_bars.setOpts(x=positions, height=heights, width=width, brushes=brushes)
        ticks = [(k, "last map" if s == LAST else f"\u00d7{s:g}") for k, s in enumerate(spacings)]
        self.error_plot.getAxis("bottom").setTicks([ticks])
        self.error_plot.setXRange(-0.6, len(spacings) - 0.4, padding=0)
        self._draw_maps(pictures)
        step = max(e.step for e in tests.values())
        shifts = "/".join(str(s) for s in next(iter(tests.values())).shifts)
        self.summary.setText(f"<b>Step {step:,}</b> \u00b7 kept at {shifts} px: "
                             + " \u00b7 ".join(words))
        self.summary.setToolTip(self.summary.text())  # whole, where the dock cuts it

    def _draw_maps(self, pictures: list) -> None:
        """Each classifier's pair (moved image's map | map moved) on a row of its own, each
        map scaled to its own range."""
        if not pictures:
            self.maps_image.clear()
            return
        rows = []
        width = max(m.shape[1] + e.shape[1] + 1 for m, e in pictures)
        for moved, expected in pictures:
            low = float(min(moved.min(), expected.min()))
            high = float(max(moved.max(), expected.max()))
            span = high - low if high > low else 1.0
            pair = np.full((max(moved.shape[0], expected.shape[0]), width), np.nan, np.float32)
            pair[:moved.shape[0], :moved.shape[1]] = (moved - low) / span
            pair[:expected.shape[0], moved.shape[1] + 1:moved.shape[1] + 1 + expected.shape[1]] = \
                (expected - low) / span
            rows += [pair, np.full((1, width), np.nan, np.float32)]
        both = np.concatenate(rows[:-1])
        shown = np.where(np.isfinite(both), both, 0.0)
        self.maps_image.setImage(shown, levels=(0.0, 1.0))
        self.maps_image.setRect(QRectF(0, 0, both.shape[1], both.shape[0]))
        self.maps_plot.setRange(xRange=(0, both.shape[1]), yRange=(0, both.shape[0]),
                                padding=0.02)
