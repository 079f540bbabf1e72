"""Networks fitting a function of one number (``engine/function_fit.py``): the function the
data were drawn from, dashed, each network's prediction over an even grid of x as a curve of
its own colour, labelled with its hidden widths and parameter count, and training samples
as faint dots. Redrawn as the networks learn (each activations probe): the universal
approximation lesson watches a wider layer bend closer to the function.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from studio.engine.events import FunctionFit
from studio.ui.dashboard.curves import metric_colour, new_plot
from studio.ui.dashboard.probe_view import ProbeView
from studio.ui.dashboard.store import RunStore

RELEVANT = {"function_fit", "activations"}
EMPTY_TEXT = ("Networks fitting a function of one number (the sines, steps and bumps "
              "datasets) draw their curves here once training starts")
WAITING_TEXT = "Waiting for the first curves of the networks over x"
LEGEND = ("Dashed: the function the data were drawn from. Lines: each network's prediction "
          "for every x, named by its output node, hidden width and parameter count, with its "
          "mean squared distance from the function over the grid. Dots: training samples "
          "(with their noise).")


def fit_errors(event: FunctionFit) -> np.ndarray:
    """Each network's mean squared distance from the function over the grid (K floats)."""
    return np.mean((np.asarray(event.predictions) - np.asarray(event.target)[None]) ** 2, axis=1)


def key_text(labels, errors, text: QColor) -> str:
    """The key as rich text: the dashed target, then for each network a line in its colour
    with its node and distance, and a line with its widths and parameters."""
    lines = [f'<span style="color:{text.name()}">\u2505\u2505</span> target']
    for k, (label, error) in enumerate(zip(labels, errors)):
        node, _, shape = label.partition(": ")
        lines += [f'<span style="color:{metric_colour(k).name()}">\u2501\u2501</span> '
                  f"<b>{node}</b> distance {error:.2g}", f"&nbsp;&nbsp;&nbsp;&nbsp;{shape}"]
    return "<br>".join(lines)


class FunctionFitView(ProbeView):
    """The newest curves of the current run over the target function and training samples."""

    def __init__(self, store: RunStore, parent=None):
        super().__init__(store, "function_fit", RELEVANT, EMPTY_TEXT, WAITING_TEXT,
                         probe="activations", noun="curves", parent=parent,
                         button=("Fit Now", "Draw the networks' curves after the current "
                                 "training step, without waiting for the next probe"))
        self.plot = new_plot("function_fit_plot", self.palette(), long_curves=False)
        self.plot.setMinimumSize(160, 120)  # a short dock shows it whole, not scrolled
        self.plot.setToolTip(LEGEND)
        self.summary.setToolTip(LEGEND)
        self.plot.setLabel("bottom", "x")
        self.plot.setLabel("left", "y")
        text = self.palette().color(QPalette.ColorRole.Text)
        dots = QColor(text)
        dots.setAlpha(60)
        self.points = pg.ScatterPlotItem(size=4, pxMode=True, pen=None, brush=pg.mkBrush(dots))
        self.target = pg.PlotDataItem(pen=pg.mkPen(text, width=2, style=Qt.PenStyle.DashLine))
        self.plot.addItem(self.points)
        self.plot.addItem(self.target)
        self.curves: list[pg.PlotDataItem] = []  # one per network, in the event's order
        self._labels: tuple = ()
        # the key beside the plot, not a legend over it (which would hide the curves); lines
        # of its own rather than wrapped, since a wrapping label makes the dock's scroll area
        # size the view by its preferred height and scroll the plot out of a short dock
        self.key = QLabel("")
        self.key.setObjectName("function_fit_key")
        self.key.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.key.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored)
        self.key.setToolTip(LEGEND)
        body = QWidget()
        row = QHBoxLayout(body)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.plot, 1)
        row.addWidget(self.key)
        self.lay_out(body)

    @property
    def curve_count(self) -> int:
        """How many networks' curves are on screen."""
        return sum(1 for c in self.curves if c.xData is not None and len(c.xData))

    def newest(self, run):
        return run.function_fit

    def clear(self) -> None:
        self.points.clear()
        self.target.setData([], [])
        for curve in self.curves:
            self.plot.removeItem(curve)
        self.curves, self._labels = [], ()
        self.key.setText("")

    def draw(self, run, event: FunctionFit) -> None:
        if tuple(event.labels) != self._labels:  # a new run, or other networks: new curves
            self.clear()
            self._labels = tuple(event.labels)
            self.points.setData(pos=np.asarray(event.points))
            self.curves = [self.plot.plot(name=label, pen=pg.mkPen(metric_colour(k), width=2))
                           for k, label in enumerate(self._labels)]
        x = np.asarray(event.x)
        self.target.setData(x, np.asarray(event.target))
        for curve, row in zip(self.curves, np.asarray(event.predictions)):
            curve.setData(x, row)
        errors = fit_errors(event)
        self.key.setText(key_text(self._labels, errors,
                                  self.palette().color(QPalette.ColorRole.Text)))
        best = int(np.argmin(errors))
        self.summary.setText(f"<b>Step {event.step:,}</b> \u00b7 closest to the function: "
                             f"{self._labels[best].split(':')[0]} ({errors[best]:.2g})")
