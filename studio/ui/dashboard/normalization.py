"""The normalization layers on the probe batch (``engine/normalization.py``): for each
BatchNorm node, each channel's batch mean and variance against its running ones (on the
diagonal when they agree), and one line per layer with its train-against-eval gap; a LayerNorm
is listed beside with no gap, as it normalizes each sample by itself.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QWidget

from studio.core.project import INSTANCE
from studio.core.registry import get_block
from studio.engine.events import Normalization
from studio.ui import theme
from studio.ui.dashboard.curves import metric_colour, new_plot
from studio.ui.dashboard.probe_view import ProbeView
from studio.ui.dashboard.store import RunStore

RELEVANT = {"normalization"}
EMPTY_TEXT = ("Batch and running statistics of each BatchNorm layer (LayerNorm beside) appear "
              "here with the activations probe, once training starts")
LEGEND = ("One dot per channel: its mean (left) or variance (right) on the probe batch "
          "against the running value eval mode uses; on the diagonal they agree. Gap: how far "
          "the train-mode output (each group of a training batch's size normalized by itself) "
          "lies from the eval-mode output, in units of the output's spread.")


def normalizes(project) -> bool:
    """Whether the project has a normalization layer: the view is worth a tile."""
    return any(get_block(n.block).category == "normalization"
               for n in project.training.nodes.values() if n.block != INSTANCE)


def summary(event: Normalization) -> str:
    parts = []
    for key, node in event.nodes.items():
        name = key.split("/", 1)[-1]
        if node["kind"] == "batch":
            parts.append(f"{name}: gap {node['gap']:.2f} (groups of {node['group']})")
        else:
            parts.append(f"{name}: per sample, train = eval")
    return f"<b>Step {event.step:,}</b> \u00b7 batch size {event.batch_size} \u00b7 " + \
        "; ".join(parts)


class NormalizationView(ProbeView):
    def __init__(self, store: RunStore, parent=None):
        super().__init__(store, "normalization", RELEVANT, EMPTY_TEXT, parent=parent)
        self.summary.setWordWrap(True)  # a line per normalization layer
        self.summary.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.summary.setToolTip(LEGEND)
        self.plots = {}
        self.scatters: dict = {}  # (stat, node key) -> scatter item
        row = QHBoxLayout()
        for stat, title in (("mean", "mean"), ("var", "variance")):
            plot = new_plot(f"normalization_{stat}", self.palette(), legend_offset=(6, 6),
                            long_curves=False)
            plot.setLabel("bottom", f"running {title}")
            plot.getAxis("bottom").enableAutoSIPrefix(False)  # both axes in the same units
            plot.setLabel("left", f"batch {title}")
            plot.setToolTip(LEGEND)
            plot.setMinimumSize(140, 110)
            self.plots[stat] = plot
            row.addWidget(plot, 1)
        body = QWidget()
        body.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        self.lay_out(body)

    @property
    def has_stats(self) -> bool:
        return self._drawn is not None

    def newest(self, run):
        return run.normalization

    def draw(self, run, event: Normalization) -> None:
        self._draw(event)

    def clear(self) -> None:
        self._draw(None)

    def _draw(self, event: Normalization | None) -> None:
        for plot in self.plots.values():
            plot.clear()
            if plot.plotItem.legend is not None:
                plot.plotItem.legend.clear()
        self.scatters = {}
        self._drawn = event
        if event is None:
            return
        self.summary.setText(summary(event))
        batch_nodes = [(k, n) for k, n in event.nodes.items() if n["kind"] == "batch"]
        for stat, plot in self.plots.items():
            values = []
            for i, (key, node) in enumerate(batch_nodes):
                x = np.asarray(node[f"running_{stat}"], dtype=np.float64)
                y = np.asarray(node[f"batch_{stat}"], dtype=np.float64)
                values += [x, y]
                scatter = pg.ScatterPlotItem(x, y, size=5, pen=None,
                                             brush=pg.mkBrush(metric_colour(i)),
                                             name=key.split("/", 1)[-1])
                plot.addItem(scatter)
                self.scatters[(stat, key)] = scatter
            if values:
                both = np.concatenate(values)
                low, high = float(both.min()), float(both.max())
                plot.plot([low, high], [low, high], pen=pg.mkPen(
                    theme.current().text_dim, style=Qt.PenStyle.DashLine))
