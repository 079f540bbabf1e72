"""A GAN's discriminator while it trains (``engine/adversarial.py``): histograms of D(real)
and D(fake) on the newest probe batch, the Jensen-Shannon estimate (V + 2 log 2) / 2 over
training, and the generator's gradient norm under the minimax and the non-saturating loss.

Three small plots fed from the run's ``gan`` series; each redraw sets a few dozen points.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QWidget

from studio.engine.generative_nodes import adversarial_wires
from studio.ui import theme
from studio.ui.dashboard.curves import metric_colour, new_plot
from studio.ui.dashboard.probe_view import ProbeView
from studio.ui.dashboard.store import RunStore

RELEVANT = {"adversarial", "generative"}
EMPTY_TEXT = ("A GAN's discriminator appears here (its scores of real and generated samples, "
              "the Jensen-Shannon estimate, the generator's gradient) once training starts")
WAITING_TEXT = "Waiting for the first probe of the discriminator"
JS_TIP = ("(V + 2 log 2) / 2, V = mean log D(real) + mean log(1 \u2212 D(fake)) on the probe "
          "batch: the Jensen-Shannon divergence between real and generated samples if D were "
          "the best discriminator. The current D is not, so this falls short of it (noisy on "
          "one batch). At most log 2 \u2248 0.693.")
GRAD_TIP = ("The generator's gradient norm on the probe batch under each loss: minimax "
            "minimizes log(1 \u2212 D(G(z))), flat where D rejects the fakes; non-saturating "
            "minimizes \u2212log D(G(z)), steep there. Training uses the GAN loss's own mode.")
REAL, FAKE, MINIMAX, NON_SATURATING = 0, 1, 3, 2  # colours of the curves' palette


def is_gan(project) -> bool:
    """Whether the project trains a GAN the probe can read (a discriminator's GAN loss)."""
    return adversarial_wires(project) is not None


class AdversarialView(ProbeView):
    """The newest histograms and the curves of the current run."""

    def __init__(self, store: RunStore, parent=None):
        super().__init__(store, "adversarial", RELEVANT, EMPTY_TEXT, WAITING_TEXT,
                         probe="generative", noun="probe", parent=parent, button=(
                             "Probe Now", "Probe the discriminator after the current training "
                             "step, without waiting for the next probe"))
        palette = self.palette()
        self.histogram = new_plot("adversarial_histogram", palette, legend_offset=(-4, 4),
                                  mouse=False, long_curves=False)
        self.histogram.setLabel("bottom", "D(x)")
        self.histogram.setTitle("D on real and generated samples", size="9pt")
        self.real_bars = self._bars("D(real)", REAL)
        self.fake_bars = self._bars("D(fake)", FAKE)
        self.js_plot = new_plot("adversarial_js", palette, mouse=False)
        self.js_plot.setTitle("Jensen-Shannon estimate (nats)", size="9pt")
        self.js_plot.setLabel("bottom", "step")
        self.js_plot.setToolTip(JS_TIP)
        self.js_plot.addItem(pg.InfiniteLine(math.log(2), angle=0, pen=pg.mkPen(
            theme.current().text_dim, style=Qt.PenStyle.DashLine)))
        self.js_curve = self.js_plot.plot([], [], pen=pg.mkPen(metric_colour(4), width=2),
                                          symbol="o", symbolSize=4)
        self.grad_plot = new_plot("adversarial_gradients", palette, legend_offset=(-4, 4),
                                  mouse=False)
        self.grad_plot.setTitle("Generator's gradient norm", size="9pt")
        self.grad_plot.setLabel("bottom", "step")
        self.grad_plot.setLogMode(y=True)
        self.grad_plot.setToolTip(GRAD_TIP)
        self.grad_curves = {
            name: self.grad_plot.plot([], [], name=label, symbol="o", symbolSize=4,
                                      pen=pg.mkPen(metric_colour(colour), width=2))
            for name, label, colour in (("grad_minimax", "minimax", MINIMAX),
                                        ("grad_non_saturating", "non-saturating",
                                         NON_SATURATING))}
        self.plots = QWidget()
        grid = QGridLayout(self.plots)
        grid.setContentsMargins(0, 0, 0, 0)
        for column, plot in enumerate((self.histogram, self.js_plot, self.grad_plot)):
            plot.setMinimumSize(140, 110)
            grid.addWidget(plot, 0, column)
        self.lay_out(self.plots)

    def _bars(self, name: str, colour: int) -> pg.BarGraphItem:
        fill = metric_colour(colour)
        fill.setAlpha(150)
        bars = pg.BarGraphItem(x=[], height=[], width=1.0, brush=fill, pen=pg.mkPen(None),
                               name=name)
        self.histogram.addItem(bars)
        legend = self.histogram.plotItem.legend
        if legend is not None:
            legend.addItem(bars, name)
        return bars

    @property
    def has_probe(self) -> bool:
        """Whether a probe of the discriminator is on screen."""
        return self._drawn is not None

    def newest(self, run):
        return run.adversarial

    def clear(self) -> None:
        for item in (self.real_bars, self.fake_bars):
            item.setOpts(x=[], height=[])
        self.js_curve.setData([], [])
        for curve in self.grad_curves.values():
            curve.setData([], [])

    def draw(self, run, event) -> None:
        edges = np.asarray(event.edges, dtype=np.float64)
        centres, width = (edges[:-1] + edges[1:]) / 2, float(edges[1] - edges[0])
        total = max(int(np.sum(event.real)), 1)
        for bars, counts in ((self.real_bars, event.real), (self.fake_bars, event.fake)):
            bars.setOpts(x=centres, height=np.asarray(counts) / total, width=width * 0.9)
        js = run.gan.get("js")
        if js is not None:
            self.js_curve.setData(js.x, js.y)
        for name, curve in self.grad_curves.items():
            series = run.gan.get(name)
            if series is not None:
                positive = series.y > 0  # a log axis
                curve.setData(series.x[positive], series.y[positive])
        words = [f"<b>Step {event.step:,}</b>",
                 f"mean D(real) {event.mean_real:.2f}", f"D(fake) {event.mean_fake:.2f}"]
        if event.js is not None:
            words.append(f"JS estimate {event.js:.3f} nats (at most log 2 = 0.693)")
        if event.grad_minimax is not None and event.grad_non_saturating is not None:
            words.append(f"generator gradient: minimax {event.grad_minimax:.3g}, "
                         f"non-saturating {event.grad_non_saturating:.3g}")
        self.summary.setText(" \u00b7 ".join(words))
