"""The values the node selected on the canvas sends on, over the whole probe batch, as they
change (``engine/watched_probe.py``): the last few histograms overlaid, the newest filled and
the older ones fading, the activation's flat region shaded (ReLU's dead side, the sigmoid's
saturated tails), and the share of the values there over training.

Selecting an activation shows what it receives; selecting a layer shows its output, with the
flat region of the activation it feeds.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from studio.core.roles import FlatRegion
from studio.engine.events import PreActivations
from studio.ui import theme
from studio.ui.dashboard import images
from studio.ui.dashboard.curves import metric_colour, new_plot
from studio.ui.dashboard.features import short_name
from studio.ui.dashboard.probe_view import ProbeView, one_line
from studio.ui.dashboard.store import RunStore

RELEVANT = {"pre_activations"}
LESS_EQUAL, MORE_EQUAL = "\u2264", "\u2265"
OVERLAID = 5  # histograms drawn at once: the newest and the four before it
EMPTY_TEXT = ("Select a layer on the canvas, or the activation after it, and train: its "
              "values over the whole probe batch are counted here, with the share that lands "
              "where the activation is flat (dead or saturated)")
WAITING_TEXT = ("Select a layer or an activation on the canvas: its values over the probe "
                "batch come with the next activations probe")
LEGEND = ("The last five probes' histograms of the values, the newest filled, older ones "
          "fainter; each is scaled to an area of 1, so a wider spread is a lower hump. Shaded: "
          "where the activation's slope is about 0, so a value there passes almost no "
          "gradient back.")
KEY = "Filled: newest probe \u00b7 outlines: the four before \u00b7 shaded: slope about 0"


def flat_region(event: PreActivations) -> FlatRegion | None:
    return FlatRegion(*event.flat, event.word) if event.flat is not None else None


def summary(event: PreActivations) -> str:
    """One line, what matters first: the share in the flat region, whose values go where, and
    how many were counted at which step."""
    source = short_name(event.source)
    counted = f"step {event.step:,} \u00b7 {event.total:,} values ({event.samples} samples)"
    if event.activation is None:
        return f"<b>{source}</b> \u00b7 {counted} \u00b7 no activation with a flat region " \
               "receives them"
    flat = flat_region(event)
    return (f"<b>{event.share:.1%} {flat.word}</b> ({flat.describe()}) \u00b7 <b>{source}</b> "
            f"\u2192 <b>{short_name(event.activation)}</b> ({event.block}) \u00b7 {counted}")


class PreActivationsView(ProbeView):
    """The histograms of the node ``set_node`` names, redrawn when a new probe arrives."""

    def __init__(self, store: RunStore, parent=None):
        super().__init__(store, "pre_activations", RELEVANT, EMPTY_TEXT, WAITING_TEXT,
                         parent=parent)
        self.node: str | None = None
        self.summary.setToolTip(LEGEND)
        self.histogram = new_plot("pre_activations_histogram", self.palette(),
                                  long_curves=False, mouse=False)
        self.histogram.setLabel("bottom", "value")
        self.histogram.setLabel("left", "density")
        self.histogram.setToolTip(LEGEND)
        self.histogram.setMinimumSize(160, 110)
        self.share = new_plot("pre_activations_share", self.palette(), mouse=False)
        self.share.setLabel("bottom", "step")
        self.share.setLabel("left", "% in flat region")
        self.share.setMinimumSize(140, 110)
        self.share.setToolTip("The share of the values in the activation's flat region, at "
                              "each probe")
        self.key = one_line("pre_activations_key", dim=True)
        self.key.setText(KEY)
        self.key.setToolTip(LEGEND)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        plots = QHBoxLayout()  # side by side: a short dock keeps the histogram tall
        plots.addWidget(self.histogram, 3)
        plots.addWidget(self.share, 1)
        layout.addLayout(plots, 1)
        layout.addWidget(self.key)
        self.lay_out(body)

    def set_node(self, key: str | None) -> None:
        """Follow ``key`` (``training/relu_fc1``), or nothing."""
        if key != self.node:
            self.node = key
            self.refresh({"all"})

    def newest(self, run):
        kept = run.pre_activations.get(self.node) if self.node else None
        return kept[-1] if kept else None

    def clear(self) -> None:
        self.histogram.clear()
        self.share.clear()

    def draw(self, run, event: PreActivations) -> None:
        kept = run.pre_activations[self.node]
        self.clear()
        self.summary.setText(summary(event))
        colour = metric_colour(0)
        shown = kept[-OVERLAID:]
        for age, old in enumerate(reversed(shown)):  # newest first, drawn on top of the rest
            self.histogram.addItem(self._curve(old, colour, age), ignoreBounds=False)
        flat = flat_region(event)
        if flat is not None:
            self._shade(flat, shown)
        self.share.setVisible(flat is not None)
        if flat is not None:
            steps = [e.step for e in kept if e.share is not None]
            shares = [100 * e.share for e in kept if e.share is not None]
            self.share.plot(steps, shares, pen=pg.mkPen(theme.current().error, width=2),
                            symbol="o", symbolSize=5, symbolPen=None,
                            symbolBrush=theme.current().error)
            self.share.setYRange(0, max(5.0, max(shares) * 1.1), padding=0)
            self.share.setXRange(steps[0], steps[-1], padding=0.25)
            ends = sorted({steps[0], steps[-1]})  # a narrow plot: its first and last step only
            self.share.getAxis("bottom").setTicks([[(v, f"{v:,}") for v in ends], []])

    def _curve(self, event: PreActivations, colour: QColor, age: int):
        edges = np.asarray(event.edges, dtype=np.float64)
        counts = np.asarray(event.counts, dtype=np.float64)
        density = counts / max(counts.sum(), 1.0) / np.maximum(np.diff(edges), 1e-12)
        faded = QColor(colour)
        faded.setAlphaF(1.0 if age == 0 else max(0.2, 0.75 - 0.15 * age))
        fill = QColor(colour)
        fill.setAlphaF(0.35)
        item = pg.PlotDataItem(edges, density, stepMode="center",
                               pen=pg.mkPen(faded, width=2 if age == 0 else 1),
                               fillLevel=0 if age == 0 else None,
                               brush=pg.mkBrush(fill) if age == 0 else None)
        item.setZValue(-age)
        return item

    def _shade(self, flat: FlatRegion, shown: list) -> None:
        """Shade the flat region over the span the histograms cover, with its edge marked."""
        low = min(float(e.edges[0]) for e in shown)
        high = max(float(e.edges[-1]) for e in shown)
        margin = 0.05 * (high - low or 1.0)
        shade = QColor(theme.current().error)
        shade.setAlpha(45)
        for side, edge in (("below", flat.below), ("above", flat.above)):
            if edge is None:
                continue
            span = (min(low - margin, edge), edge) if side == "below" else \
                (edge, max(high + margin, edge))
            region = pg.LinearRegionItem(span, movable=False, brush=pg.mkBrush(shade),
                                         pen=pg.mkPen(None))
            region.setZValue(-100)
            self.histogram.addItem(region)
            line = pg.InfiniteLine(edge, angle=90, pen=pg.mkPen(
                theme.current().error, style=Qt.PenStyle.DashLine),
                label=f"{flat.word} {LESS_EQUAL if side == 'below' else MORE_EQUAL} "
                      f"{images.format_level(edge)}",
                labelOpts={"position": 0.92, "color": theme.current().error,
                           "anchors": [(1, 0), (1, 0)] if side == "below" else
                           [(0, 0), (0, 0)]})
            self.histogram.addItem(line)
        self.histogram.setXRange(low - margin, high + margin, padding=0)
