"""Are the layers learning: gradient norms over time, the selected node's weights and gradients,
dead ReLU units.

The top plot has one curve per trainable node, always on a log axis: gradients that vanish or
explode differ from healthy ones by orders of magnitude, so a log axis is the one where both
show at a glance. Shaded bands mark the ranges the canvas's health marks call vanishing and
exploding (thresholds shared with ``health.py``, so a red node on the canvas has its curve in
the red band). The same plot can show each step's update-to-weight ratio instead, with the
rule-of-thumb healthy 1e-3 as a dashed line.

Under it, histograms of the node selected on the canvas (``set_node``) and a bar per ReLU-family
node with the share of its units that are dead.

Items are made once and fed with ``setData`` on the dashboard's ~30 fps timer; the view does
nothing in a frame without stats, histograms or dead-unit news.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio.engine.node_keys import NodeKey
from studio.ui import theme
from studio.ui.dashboard.curves import COLOURS, metric_colour, mix, new_plot, series_mark, style_plot
from studio.ui.dashboard.health import DEAD_FRACTION, EXPLODING_RATIO, VANISHING_GRAD, VANISHING_RATIO
from studio.ui.dashboard.probe_button import probe_now_button
from studio.ui.dashboard.store import Run, RunStore

RELEVANT = {"stats", "histograms", "dead_units", "state", "metrics", "all"}
MODES = {"grad_norm": "Gradient norm", "update_ratio": "Update-to-weight ratio"}
LARGE_GRAD = 1e2  # a gradient norm above this is worth a look (the plot's own rule of thumb)
HEALTHY_RATIO = 1e-3
# (low, high) of the red and blue bands in each mode, in decades (the log axis's units)
BANDS = {"grad_norm": ((math.log10(LARGE_GRAD), 40.0), (-40.0, math.log10(VANISHING_GRAD))),
         "update_ratio": ((math.log10(EXPLODING_RATIO), 40.0), (-40.0, math.log10(VANISHING_RATIO)))}
EMPTY_TEXT = "Gradient norms appear after the first steps of training"
NO_NODE_TEXT = "Select a node on the canvas to see histograms of its weights and gradients"


def short_name(key: str) -> str:
    """``training/generator/up1`` -> ``generator/up1``: the path under the training graph."""
    return NodeKey.parse(key).label


def _sci(value: float) -> str:
    return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")


class DeadUnitsBars(QWidget):
    """A row per ReLU-family node: its name, a bar of its dead-unit fraction and the percentage;
    at ``DEAD_FRACTION`` or more the bar takes the error colour, as the node does on the canvas.
    Painted directly: a hundred rows cost less than a millisecond."""

    ROW = 20

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[tuple[str, float]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_rows(self, rows: list[tuple[str, float]]) -> None:
        self.rows = list(rows)
        self.setFixedHeight(max(1, len(self.rows)) * self.ROW + 4)
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(220, max(1, len(self.rows)) * self.ROW + 4)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if not self.rows:
            return
        t = theme.current()
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        track = palette.color(QPalette.ColorRole.AlternateBase)
        ok = QColor(t.category("activation"))
        metrics = self.fontMetrics()
        name_width = min(max(metrics.horizontalAdvance(n) for n, _ in self.rows) + 8,
                         self.width() // 2)
        percent_width = metrics.horizontalAdvance("100%") + 6
        painter = QPainter(self)
        bar_left = name_width
        bar_width = max(10, self.width() - name_width - percent_width - 4)
        for i, (name, fraction) in enumerate(self.rows):
            top = 2 + i * self.ROW
            label = QRectF(0, top, name_width - 6, self.ROW)
            painter.setPen(text)
            painter.drawText(label, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             metrics.elidedText(name, Qt.TextElideMode.ElideLeft,
                                                int(label.width())))
            bar = QRectF(bar_left, top + 4, bar_width, self.ROW - 8)
            painter.fillRect(bar, track)
            share = min(max(fraction, 0.0), 1.0) if math.isfinite(fraction) else 0.0
            colour = QColor(t.error) if share >= DEAD_FRACTION else ok
            painter.fillRect(QRectF(bar.left(), bar.top(), bar.width() * share, bar.height()),
                             colour)
            painter.setPen(colour if share >= DEAD_FRACTION else text)
            painter.drawText(QRectF(bar.right() + 4, top, percent_width, self.ROW),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             f"{share:.0%}")
        painter.end()


class GradientsView(QWidget):
    """Per-node gradient norms (or update-to-weight ratios) by step, the selected node's
    histograms and the dead-unit share of every ReLU-family node, for the current run."""

    probe_requested = Signal(str)  # a probe to run now ("histograms")

    def __init__(self, store: RunStore, parent=None):
        super().__init__(parent)
        self.setObjectName("gradients_view")
        self.store = store
        self.node: str | None = None
        self.mode = "grad_norm"
        self.histograms_shown: str | None = None  # the node whose histograms are drawn
        self._run: Run | None = None
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._drawn: dict[str, tuple] = {}
        self._colours: dict[str, QColor] = {}
        self._legend_rows: dict[str, QListWidgetItem] = {}
        self._dead_waiting = True  # "not measured yet" shown: the first steps may change that
        t = theme.current()
        palette = self.palette()
        dim = f"color: {t.text_dim.name()};"

        # the norms --------------------------------------------------------------------------
        self.mode_combo = QComboBox()
        self.mode_combo.setObjectName("gradient_mode")
        for mode, text in MODES.items():
            self.mode_combo.addItem(text, mode)
        self.mode_combo.setToolTip(
            "Gradient norm: size of each node's parameter gradient. Update-to-weight ratio: "
            "how much one optimizer step changes the weights, relative to their size (about "
            "1e-3 is healthy, whatever the optimizer)")
        self.mode_combo.currentIndexChanged.connect(
            lambda i: self.set_mode(self.mode_combo.itemData(i)))
        self.caption = QLabel("")
        self.caption.setObjectName("gradient_caption")
        self.caption.setStyleSheet(dim)
        self.caption.setWordWrap(True)  # a narrow tile wraps it rather than scrolling sideways
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.mode_combo)
        head.addSpacing(8)
        head.addWidget(self.caption, 1)

        self.norms_plot = new_plot("gradient_norms", palette)
        self.norms_plot.setLogMode(x=False, y=True)
        self.norms_plot.getAxis("left").setWidth(74)  # room for 0.0001 beside its label
        self.norms_plot.setLabel("bottom", "step")
        red, blue = QColor(t.error), QColor(t.category("convolution"))
        red.setAlpha(36)
        blue.setAlpha(36)
        self.bands = []
        for colour in (red, blue):
            band = pg.LinearRegionItem((0, 1), orientation="horizontal", movable=False,
                                       brush=pg.mkBrush(colour), pen=pg.mkPen(None))
            band.setZValue(-10)
            self.norms_plot.addItem(band, ignoreBounds=True)
            self.bands.append(band)
        self.reference = pg.InfiniteLine(
            pos=math.log10(HEALTHY_RATIO), angle=0, movable=False,
            pen=pg.mkPen(t.text_dim, width=1.2, style=Qt.PenStyle.DashLine),
            label="1e-3", labelOpts={"position": 0.02, "color": t.text_dim, "anchors": [(0, 1), (0, 1)]})
        self.norms_plot.addItem(self.reference, ignoreBounds=True)

        self.legend = QListWidget()
        self.legend.setObjectName("gradient_legend")
        self.legend.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.legend.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.legend.setMaximumWidth(170)
        self.legend.setUniformItemSizes(True)
        self.legend.setToolTip("Click a node to single out its curve and show its histograms")
        self.legend.itemClicked.connect(lambda item: self.set_node(item.data(Qt.ItemDataRole.UserRole)))
        self.norms_message = _message(EMPTY_TEXT, dim)
        norms = QWidget()
        row = QHBoxLayout(norms)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(self.norms_plot, 1)
        row.addWidget(self.legend)
        self.norms_stack = QStackedWidget()
        self.norms_stack.addWidget(self.norms_message)
        self.norms_stack.addWidget(norms)

        # the selected node's histograms ------------------------------------------------------
        self.weights_plot = self._histogram_plot("weights_histogram")
        self.grads_plot = self._histogram_plot("grads_histogram")
        self.weights_histogram = self._histogram_item(metric_colour(0))
        self.grads_histogram = self._histogram_item(metric_colour(3))
        self.weights_plot.addItem(self.weights_histogram)
        self.grads_plot.addItem(self.grads_histogram)
        self.histogram_message = _message(NO_NODE_TEXT, dim)
        self.histogram_message.setObjectName("histogram_message")
        pair = QWidget()
        pair_row = QHBoxLayout(pair)
        pair_row.setContentsMargins(0, 0, 0, 0)
        pair_row.setSpacing(4)
        pair_row.addWidget(self.weights_plot)
        pair_row.addWidget(self.grads_plot)
        self.histogram_stack = QStackedWidget()
        self.histogram_stack.addWidget(self.histogram_message)
        self.histogram_stack.addWidget(pair)

        # dead units ----------------------------------------------------------------------------
        title = QLabel("Dead units")
        bold = title.font()
        bold.setBold(True)
        title.setFont(bold)
        title.setToolTip("Share of a ReLU-family node's units that output zero for the whole "
                         f"probe batch: they pass no gradient back. {DEAD_FRACTION:.0%} or more "
                         "is marked.")
        self.dead_bars = DeadUnitsBars()
        self.dead_bars.setObjectName("dead_units")
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.dead_bars)
        self.dead_message = QLabel("")
        self.dead_message.setObjectName("dead_units_message")
        self.dead_message.setWordWrap(True)
        self.dead_message.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.dead_message.setStyleSheet(dim)
        self.dead_stack = QStackedWidget()
        self.dead_stack.addWidget(self.dead_message)
        self.dead_stack.addWidget(scroll)
        dead = QWidget()
        dead.setMinimumWidth(200)
        dead.setMaximumWidth(300)
        dead_column = QVBoxLayout(dead)
        dead_column.setContentsMargins(0, 0, 0, 0)
        dead_column.addWidget(title)
        dead_column.addWidget(self.dead_stack, 1)

        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.addWidget(self.histogram_stack, 1)
        bottom.addSpacing(6)
        bottom.addWidget(dead)
        lower = QWidget()
        lower.setLayout(bottom)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.norms_stack)
        self.splitter.addWidget(lower)
        for index, stretch in enumerate((3, 2)):
            self.splitter.setStretchFactor(index, stretch)
        self.splitter.setSizes([3000, 2000])  # 3 : 2 of whatever height the view gets
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.request_button = probe_now_button(
            "Histograms Now", "request_histograms", "Measure the weight and gradient histograms "
            "after the current training step, without waiting for the next", "histograms",
            self.probe_requested)
        head.addWidget(self.request_button)
        layout.addLayout(head)
        layout.addWidget(self.splitter, 1)
        self._show_mode()
        self.refresh({"all"})

    def _histogram_plot(self, name: str) -> pg.PlotWidget:
        plot = new_plot(name, self.palette(), mouse=False, long_curves=False)
        plot.hideButtons()
        plot.setMinimumHeight(100)
        plot.enableAutoRange(y=False)  # 0 .. the tallest bin, set with the data
        return plot

    @staticmethod
    def _histogram_item(colour: QColor) -> pg.PlotDataItem:
        fill = QColor(colour)
        fill.setAlpha(110)
        return pg.PlotDataItem(stepMode="center", fillLevel=0, fillBrush=pg.mkBrush(fill),
                               pen=pg.mkPen(colour, width=1.2))

    # what tests and the dashboard read ------------------------------------------------------
    def curve(self, key: str) -> pg.PlotDataItem | None:
        """The curve of node ``key`` (``training/conv1``), once it has data."""
        return self._curves.get(key)

    @property
    def curve_keys(self) -> list[str]:
        """Nodes with a curve in the plot now."""
        return [k for k, item in self._curves.items() if item.isVisible()]

    # the user's and the dashboard's calls -------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        """"grad_norm" or "update_ratio": which per-node series the top plot shows."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        index = list(MODES).index(mode)
        if self.mode_combo.currentIndex() != index:
            self.mode_combo.setCurrentIndex(index)  # comes back here
            return
        if mode == self.mode:
            return
        self.mode = mode
        self._drawn.clear()
        self._show_mode()
        self._draw_norms()

    def set_node(self, key: str | None) -> None:
        """Single out ``key``'s curve and show its histograms (None: no node)."""
        if key == self.node:
            return
        self.node = key
        self._highlight()
        self._draw_histograms()

    def refresh(self, topics: set) -> None:
        run = self.store.current
        whole = "all" in topics or run is not self._run
        if not whole and not topics & RELEVANT:
            return
        if whole:
            self._new_run(run)
        if whole or "stats" in topics:
            self._draw_norms()
        if whole or "histograms" in topics:
            self._draw_histograms()
        if whole or topics & {"dead_units", "state"} or (
                "metrics" in topics and self._dead_waiting):
            self._draw_dead_units()
        if whole or "state" in topics:
            self.request_button.setEnabled(run is not None and
                                           run.state in ("starting", "running", "paused"))

    # drawing -----------------------------------------------------------------------------------
    def _new_run(self, run: Run | None) -> None:
        """Colours follow the new run's node order; items are kept and emptied."""
        self._run = run
        self._drawn.clear()
        for item in self._curves.values():
            item.setData([], [])
            item.setVisible(False)
        self._colours.clear()
        for key in (run.nodes if run is not None else ()):
            self._colour(key, len(run.nodes))
        self._fill_legend()

    def _colour(self, key: str, count: int = 0) -> QColor:
        colour = self._colours.get(key)
        if colour is None:
            index = len(self._colours)
            count = max(count, index + 1)
            if count <= len(COLOURS):
                colour = metric_colour(index)
            else:  # many layers: hues spread evenly, in the order the run listed them
                colour = pg.intColor(index, hues=count, values=1, maxValue=200, sat=190)
                if theme.current().dark:
                    colour = colour.lighter(135)
            self._colours[key] = colour
        return colour

    def _show_mode(self) -> None:
        upper, lower = BANDS[self.mode]
        for band, values in zip(self.bands, (upper, lower)):
            band.setRegion(values)
        self.reference.setVisible(self.mode == "update_ratio")
        if self.mode == "grad_norm":
            self.norms_plot.setLabel("left", "gradient norm")
            self.caption.setText(f"red: above {_sci(LARGE_GRAD)} (exploding?) \u00b7 blue: below "
                                 f"{_sci(VANISHING_GRAD)} (vanishing)")
        else:
            self.norms_plot.setLabel("left", "update / weight")
            self.caption.setText(f"dashed: {_sci(HEALTHY_RATIO)}, healthy \u00b7 red: above "
                                 f"{_sci(EXPLODING_RATIO)} \u00b7 blue: below "
                                 f"{_sci(VANISHING_RATIO)}")

    def _draw_norms(self) -> None:
        run = self._run
        table = getattr(run, self.mode) if run is not None else {}
        added = False
        for key, series in table.items():
            mark = series_mark(series)
            if self._drawn.get(key) == mark:
                continue
            self._drawn[key] = mark
            item = self._curves.get(key)
            if item is None:
                item = self._curves[key] = pg.PlotDataItem(antialias=True)
                self.norms_plot.addItem(item)
            if not len(series):
                item.setVisible(False)
                continue
            # zeros (a layer the optimizer does not step) have no logarithm: left out
            item.setData(series.x, series.y, antialias=len(series) <= 4000)
            if not item.isVisible() or key not in self._legend_rows:
                item.setVisible(True)
                added = True
        if added:
            self._fill_legend()
            self._highlight()
        self.norms_stack.setCurrentIndex(1 if self.curve_keys else 0)

    def _fill_legend(self) -> None:
        order = [k for k in self._colours if k in self.curve_keys]
        order += [k for k in self.curve_keys if k not in order]
        self.legend.clear()
        self._legend_rows.clear()
        for key in order:
            swatch = QPixmap(18, 10)
            swatch.fill(Qt.GlobalColor.transparent)
            painter = QPainter(swatch)
            painter.fillRect(QRectF(0, 3.5, 18, 3), self._colour(key))
            painter.end()
            row = QListWidgetItem(QIcon(swatch), short_name(key))
            row.setData(Qt.ItemDataRole.UserRole, key)
            row.setToolTip(key)
            self.legend.addItem(row)
            self._legend_rows[key] = row

    def _highlight(self) -> None:
        """The selected node's curve thick and on top, the others thin and faded; with no
        (plotted) node selected, every curve in full colour."""
        background = self.palette().color(QPalette.ColorRole.Base)
        chosen = self.node if self.node in self._curves else None
        for key, item in self._curves.items():
            colour = self._colour(key)
            if chosen is None:
                item.setPen(pg.mkPen(colour, width=1.5))
                item.setZValue(1)
            elif key == chosen:
                item.setPen(pg.mkPen(colour, width=3.2))
                item.setZValue(5)
            else:
                item.setPen(pg.mkPen(mix(colour, background, 0.55), width=1.2))
                item.setZValue(1)
        row = self._legend_rows.get(chosen)
        self.legend.blockSignals(True)
        if row is None:
            self.legend.clearSelection()
        else:
            self.legend.setCurrentItem(row)
            self.legend.scrollToItem(row)
        self.legend.blockSignals(False)

    def _draw_histograms(self) -> None:
        run, key = self._run, self.node
        shown = run.histograms.get(key) if run is not None and key else None
        if not shown:
            self.histograms_shown = None
            self.histogram_message.setText(self._no_histogram_text())
            self.histogram_stack.setCurrentIndex(0)
            return
        name = short_name(key)
        text = self.palette().color(QPalette.ColorRole.WindowText)
        for kind, plot, item in (("weights", self.weights_plot, self.weights_histogram),
                                 ("grads", self.grads_plot, self.grads_histogram)):
            counts, edges = shown.get(kind) or (None, None)  # no gradients: None
            label = "gradients" if kind == "grads" else kind
            if counts is None or not len(counts):
                item.setData([], [])
                plot.setTitle(f"{name}: no {label}", color=text, size="9pt")
                continue
            counts = np.asarray(counts, dtype=np.float64)
            item.setData(np.asarray(edges, dtype=np.float64), counts)
            plot.setYRange(0.0, max(float(counts.max()), 1.0) * 1.06, padding=0)
            plot.setTitle(f"{name} {label} (step {run.histograms_step})", color=text, size="9pt")
        self.histograms_shown = key
        self.histogram_stack.setCurrentIndex(1)

    def _no_histogram_text(self) -> str:
        run, key = self._run, self.node
        if key is None:
            return NO_NODE_TEXT
        name = short_name(key)
        if run is None:
            return f"Histograms of {name}'s weights and gradients appear when training starts"
        if run.nodes and key not in run.nodes:
            return f"{name} has no weights to show: it is not a trainable node"
        later = run.next_probe_text("histograms", "histograms")
        return (f"Histograms of {name}'s weights and gradients: {later[0].lower()}{later[1:]}"
                if later else
                f"Histograms of {name}'s weights and gradients arrive with the next probe")

    def _draw_dead_units(self) -> None:
        run = self._run
        rows = [(short_name(k), float(v)) for k, v in run.dead_units.items()] if run else []
        self.dead_bars.set_rows(rows)
        if rows:
            self._dead_waiting = False
            self.dead_stack.setCurrentIndex(1)
            return
        measured = run is not None and (run.step >= 1 or run.state in ("finished", "stopped"))
        self._dead_waiting = not measured
        self.dead_message.setText("No ReLU-family activations" if measured
                                  else "Not measured yet")
        self.dead_stack.setCurrentIndex(0)

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Follow a switch between the light and dark themes."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "dead_bars"):
            for plot in (self.norms_plot, self.weights_plot, self.grads_plot):
                style_plot(plot, self.palette())


def _message(text: str, style: str) -> QLabel:
    """A centred, wrapped, dimmed sentence standing in for a plot that has nothing yet."""
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setStyleSheet(style)
    return label
