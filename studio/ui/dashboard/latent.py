"""A VAE's latent code while it trains (``engine/latent.py``): the KL of each latent dimension
as bars (a dimension near 0 carries nothing: posterior collapse), the reconstruction and KL
terms as curves of their own (their scales differ by orders of magnitude, so the Curves view's
shared axis flattens the KL), the decoder's map over the two dimensions that carry the most
and traversals of the four that carry the most.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from studio.engine.events import Latent
from studio.engine.generative_nodes import latent_wires
from studio.ui.dashboard import images
from studio.ui.dashboard.curves import metric_colour, new_plot
from studio.ui.dashboard.picture import ImageCanvas, rgb_of
from studio.ui.dashboard.probe_view import ProbeView, one_line
from studio.ui.dashboard.store import RunStore

RELEVANT = {"latent", "metrics", "generative"}
EMPTY_TEXT = ("A VAE's latent code appears here (KL per dimension, the decoder's map of the "
              "first two dimensions, traversals) once training starts")
WAITING_TEXT = "Waiting for the first probe of the latent code"
COLLAPSED = 0.05  # nats: a dimension with less KL than this carries next to nothing


def has_latent(project) -> bool:
    """Whether the project trains a VAE the probe can read (a sampling step, both inputs
    wired)."""
    return latent_wires(project) is not None


def _caption(name: str) -> QLabel:
    label = one_line(name)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return label


class LatentView(ProbeView):
    """The newest probe of the current run's latent code, with its loss terms' curves."""

    def __init__(self, store: RunStore, parent=None):
        super().__init__(store, "latent", RELEVANT, EMPTY_TEXT, WAITING_TEXT,
                         probe="generative", noun="probe", parent=parent, button=(
                             "Probe Now", "Probe the latent code after the current training "
                             "step, without waiting for the next probe"))
        palette = self.palette()
        self.kl_plot = new_plot("latent_kl", palette, mouse=False, long_curves=False)
        self.kl_plot.setTitle("KL per dim", size="8pt")  # short: a narrow plot keeps it
        self.kl_plot.setToolTip("The KL of each latent dimension from the prior, in nats per "
                                "sample, mean over the probe batch")
        self.kl_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=metric_colour(0),
                                       pen=pg.mkPen(None))
        self.kl_plot.addItem(self.kl_bars)
        self.terms = {}
        for term, colour in (("reconstruction", 1), ("KL", 0)):
            plot = new_plot(f"latent_{term.lower()}_curve", palette, mouse=False)
            plot.setTitle(term, size="8pt")
            self.terms[term] = (plot, plot.plot([], [], pen=pg.mkPen(metric_colour(colour),
                                                                     width=2)))
        self.map = ImageCanvas()
        self.map.setObjectName("latent_map")
        self.traversals = ImageCanvas()
        self.traversals.setObjectName("latent_traversals")
        self.map_caption = _caption("latent_map_caption")
        self.traversal_caption = _caption("latent_traversal_caption")
        self.content = QWidget()
        grid = QGridLayout(self.content)  # small enough for a dock a quarter of the screen
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        grid.addWidget(self.kl_plot, 0, 0, 2, 1)
        grid.addWidget(self.terms["reconstruction"][0], 0, 1)
        grid.addWidget(self.terms["KL"][0], 1, 1)
        grid.addWidget(self.map_caption, 2, 2)
        grid.addWidget(self.map, 0, 2, 2, 1)
        grid.addWidget(self.traversal_caption, 2, 3)
        grid.addWidget(self.traversals, 0, 3, 2, 1)
        for column, stretch in enumerate((2, 2, 3, 3)):
            grid.setColumnStretch(column, stretch)
        for plot in (self.kl_plot, *(p for p, _ in self.terms.values())):
            plot.setMinimumSize(110, 60)
            plot.getAxis("left").setWidth(36)
        for canvas in (self.map, self.traversals):
            canvas.setMinimumSize(80, 80)
        self.lay_out(self.content)

    @property
    def has_map(self) -> bool:
        """Whether the decoder's map of the latent plane is on screen."""
        return self._drawn is not None and self.map.pixels is not None

    def newest(self, run):
        return run.latent

    def clear(self) -> None:
        self.kl_bars.setOpts(x=[], height=[])
        self.map.set_pixels(None)
        self.traversals.set_pixels(None)

    def draw(self, run, event: Latent) -> None:
        self._draw(event)

    def refresh(self, topics: set) -> None:
        super().refresh(topics)
        run = self.store.current
        if self._drawn is not None and run is not None and topics & {"metrics", "all", "latent"}:
            self._draw_terms(run, self._drawn)

    def _draw_terms(self, run, event: Latent) -> None:
        for term, name in (("reconstruction", event.reconstruction_metric),
                           ("KL", event.kl_metric)):
            plot, curve = self.terms[term]
            series = run.metrics.get(name) if name else None
            if series is not None:
                curve.setData(series.x, series.y)
            plot.setToolTip(f"The {term} term of the loss, {name}, at every training step"
                            if name else f"No {term} term found among the losses")

    def _draw(self, event: Latent) -> None:
        kl = np.asarray(event.kl_per_dim, dtype=np.float64)
        self.kl_bars.setOpts(x=np.arange(len(kl)), height=kl)
        gap = rgb_of(self.palette().color(QPalette.ColorRole.Window))
        levels = tuple(float(v) for v in event.value_range)
        low, high = event.extent
        if event.map is not None:
            side = int(round(np.sqrt(len(event.map))))
            # the map's row 0 is the lowest value of the second dimension: drawn at the bottom
            rows = np.asarray(event.map).reshape(side, side, *event.map.shape[1:])[::-1]
            mosaic = images.rgb_grid(rows.reshape(-1, *event.map.shape[1:]), side, levels, gap)
            h, w = event.map.shape[2:]
            self.map.set_pixels(mosaic, (side, side, h, w, 1, side * side))
            across, up = event.mapped
            self.map_caption.setText(f"map: z{across} \u2192, z{up} \u2191 ({low:g} \u2026 "
                                     f"{high:g})")
            self.map_caption.setToolTip(f"The decoder on an {side} x {side} grid of codes over "
                                        f"the two latent dimensions with the most KL, {low:g} "
                                        f"to {high:g}, every other dimension at 0")
        else:
            self.map.set_pixels(None)
            self.map_caption.setText("no map: the decoder's output is not images")
        if event.traversals is not None and len(event.traversed):
            steps = len(event.values)
            h, w = event.traversals.shape[2:]
            self.traversals.set_pixels(
                images.rgb_grid(np.asarray(event.traversals), steps, levels, gap),
                (len(event.traversed), steps, h, w, 1, len(event.traversals)),
                [f"z{d}" for d in event.traversed])
            self.traversal_caption.setText("traversals, most KL first")
            self.traversal_caption.setToolTip(
                f"Each row moves one latent dimension from {event.values[0]:g} to "
                f"{event.values[-1]:g}, the others at 0: the dimensions with the most KL")
        else:
            self.traversals.set_pixels(None)
            self.traversal_caption.setText("")
        self._drawn = event
        near_zero = int((kl < COLLAPSED).sum())
        self.summary.setText(
            f"<b>Step {event.step:,}</b> \u00b7 KL {kl.sum():.1f} nats over {len(kl)} "
            f"dimensions \u00b7 {near_zero} near 0 (under {COLLAPSED} nats: collapsed)")
