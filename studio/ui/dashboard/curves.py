"""Every loss and metric against step, train and held-out, and the learning rate.

Each train metric is drawn twice in one colour: the raw values as a thin, faint line and their
exponential moving average as a bold one on top, so smoothing shows the trend without ever
hiding a spike. Held-out values (``test_loss``) are dots joined by a line in a darker shade of
their train metric's colour. Accuracies (0 .. 1) get a plot of their own so they do not squash
the losses; the learning rate of each optimizer sits in a thin plot below, all three sharing the
step axis. Earlier runs of the project can be overlaid, smoothed, dashed and dimmer: this
session's last few, or the recorded runs chosen in the Runs panel (``show_recorded``).

The view redraws on the dashboard's ~30 fps timer and must stay cheap over 100,000 steps: plot
items are made once and fed with ``setData``; pyqtgraph clips to the view and downsamples (peak
mode keeps spikes) what it paints; the smoothed copies are extended by the new points only.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio.ui import theme
from studio.ui.dashboard.store import Run, RunStore, Series

RELEVANT = {"metrics", "evaluation", "state", "all"}
EMPTY_TEXT = "Curves appear when training starts"
DEFAULT_SMOOTHING = 0.6
# smooth (antialiased) bold lines up to this many points; past it they are dense enough not to
# look jagged, and antialiasing would triple the cost of painting them
ANTIALIAS_POINTS = 4000
AXIS_WIDTH = 58  # the same left-axis width on every plot keeps their step axes lined up
# Tableau 10: distinguishable, and readable on white; the dark theme lightens them
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#7f7f7f", "#bcbd22")
LR_COLOURS = ("#9467bd", "#8c564b", "#bcbd22")  # after the first optimizer's grey
HELD_OUT_PREFIXES = ("test_", "val_", "valid_", "eval_")
LEGEND_ROWS = 3  # entries a legend lists in one column; more go in two
OVERLAY_STYLES = (Qt.PenStyle.DashLine, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine)


# ----------------------------------------------------------------------------------------------
# smoothing
# ----------------------------------------------------------------------------------------------
def ema(y: np.ndarray, weight: float, acc: float = 0.0,
        norm: float = 0.0) -> tuple[np.ndarray, float, float]:
    """``store.smooth`` continued from the state (``acc``, ``norm``) it left after earlier
    points: returns the smoothed ``y`` and the state after it, so a growing series is smoothed
    a few new points at a time. Vectorized in blocks (100,000 points in about a millisecond,
    against ~15 ms for the Python loop), which only matters when everything is smoothed again:
    a new weight, a new run. Non-finite values pass through unsmoothed, as in ``smooth``."""
    y = np.asarray(y, dtype=np.float64)
    out = y.copy()
    if weight <= 0 or not len(y):
        return out, acc, norm
    finite = np.isfinite(y)
    every = bool(finite.all())
    values = y if every else y[finite]
    result = np.empty_like(values)
    # inside a block the weights run up to weight ** -block: keep that far below overflow
    block = int(min(4096, max(1, 100 // -math.log10(weight))))
    powers = weight ** np.arange(block + 1, dtype=np.float64)
    inverse = weight ** -np.arange(block, dtype=np.float64)
    for start in range(0, len(values), block):
        chunk = values[start: start + block]
        b = len(chunk)
        decay = powers[1: b + 1]  # weight ** (i + 1)
        # acc_i = weight^(i+1) acc + (1 - weight) sum_j weight^(i-j) v_j
        sums = decay * acc + (1 - weight) * powers[:b] * np.cumsum(chunk * inverse[:b])
        norms = decay * norm + (1 - decay)
        result[start: start + b] = sums / norms
        acc, norm = float(sums[-1]), float(norms[-1])
    if every:
        out = result
    else:
        out[finite] = result
    return out, acc, norm


class Smoothed:
    """The smoothed copy of one growing series: each call smooths only the points added since
    the last; everything again when the weight changed or the series was cut back (a run
    restored after a NaN repeats its last steps)."""

    def __init__(self):
        self.weight: float | None = None
        self.size = 0
        self.acc = self.norm = 0.0
        self.last: tuple | None = None  # (x, y) of the last point smoothed
        self._out = np.empty(0, dtype=np.float64)

    def update(self, series: Series, weight: float) -> np.ndarray:
        x, y = series.x, series.y
        n = self.size
        stale = weight != self.weight or len(y) < n or (
            n > 0 and not _same_point((x[n - 1], y[n - 1]), self.last))
        if stale:
            self.weight, self.size, self.acc, self.norm = weight, 0, 0.0, 0.0
            n = 0
        if len(y) > n:
            new, self.acc, self.norm = ema(y[n:], weight, self.acc, self.norm)
            if len(y) > len(self._out):
                grown = np.empty(max(len(y), 2 * len(self._out), 256), dtype=np.float64)
                grown[:n] = self._out[:n]
                self._out = grown
            self._out[n: len(y)] = new
            self.size = len(y)
            self.last = (float(x[-1]), float(y[-1]))
        return self._out[: self.size]


def _same_point(a, b) -> bool:
    if b is None:
        return False
    return all(u == v or (math.isnan(u) and math.isnan(v)) for u, v in zip(map(float, a), b))


def series_mark(series: Series) -> tuple:
    """What changes when a series does: its length and last point (cut back and regrown
    series differ in the last point)."""
    return (len(series), float(series.x[-1]), series.last) if len(series) else (0,)


# ----------------------------------------------------------------------------------------------
# looks
# ----------------------------------------------------------------------------------------------
def style_plot(plot: pg.PlotWidget, palette: QPalette) -> None:
    """Background and axes from the widget palette (light or dark theme), without touching
    pyqtgraph's global configuration that other plots rely on."""
    t = theme.current()
    plot.setBackground(palette.color(QPalette.ColorRole.Base))
    text = palette.color(QPalette.ColorRole.WindowText)
    for name in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(name)
        axis.setTextPen(text)
        axis.setPen(t.node_border)
        axis.labelStyle = {**axis.labelStyle, "color": text.name()}  # kept by later setLabel
        if axis.labelText:
            axis.setLabel(axis.labelText, axis.labelUnits or None)
    legend = plot.getPlotItem().legend
    if legend is not None:
        legend.setLabelTextColor(text)
        base = QColor(palette.color(QPalette.ColorRole.Base))
        base.setAlpha(200)
        legend.setBrush(pg.mkBrush(base))
        legend.setPen(pg.mkPen(t.node_border))
        for _sample, label in legend.items:
            label.setText(label.text, color=text)


class LogAxis(pg.AxisItem):
    """pyqtgraph's axis, except that on a log scale spanning few decades the decades are one
    tick level, 2 and 5 the next and the other digits the last, so the minor labels give way
    when they would crowd (as a single level, 0.06, 0.07, 0.08, 0.09 and 0.1 are all written
    over each other)."""

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802, N803 - pyqtgraph's names
        major = [(spacing, t) for spacing, t in stdTicks if spacing >= 1.0]
        if major and len(major[0][1]) >= 3:  # many decades: pyqtgraph's ticks read well
            return super().logTickValues(minVal, maxVal, size, stdTicks)
        low, high = math.floor(minVal), math.ceil(maxVal)
        decades = [float(v) for v in range(low, high + 1) if minVal <= v <= maxVal]
        levels = [(1.0, decades)]
        for factors in ((2, 5), (3, 4, 6, 7, 8, 9)):
            levels.append((None, [v + math.log10(k) for v in range(low, high) for k in factors
                                  if minVal <= v + math.log10(k) <= maxVal]))
        return levels


def new_plot(name: str, palette: QPalette, legend_offset=None, mouse: bool = True,
             long_curves: bool = True) -> pg.PlotWidget:
    """A plot styled for the palette. ``long_curves``: the curves added get clip-to-view and
    peak downsampling (which step-mode histograms must not have: it breaks their edges)."""
    plot = pg.PlotWidget(axisItems={"left": LogAxis("left")})
    plot.setObjectName(name)
    plot.setMenuEnabled(False, enableViewBoxMenu=mouse)
    plot.setMouseEnabled(x=mouse, y=mouse)
    # no grid: its lines are repainted with every curve update, ~1/3 of a frame's drawing
    if long_curves:
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
    plot.getAxis("left").setWidth(AXIS_WIDTH)
    plot.getAxis("left").enableAutoSIPrefix(False)  # "x0.001" beside an accuracy misleads
    # labels on minor ticks only where they are sparse
    plot.getAxis("left").setStyle(textFillLimits=[(0, 0.8), (2, 0.3), (4, 0.2)])
    if legend_offset is not None:
        plot.addLegend(offset=legend_offset, labelTextSize="8pt", verSpacing=-6)
    style_plot(plot, palette)
    return plot


def metric_colour(index: int) -> QColor:
    colour = QColor(COLOURS[index % len(COLOURS)])
    return colour.lighter(130) if theme.current().dark else colour


def held_out_shade(colour: QColor) -> QColor:
    """The held-out curve's colour: its train metric's, a step further from the background."""
    return colour.lighter(135) if theme.current().dark else colour.darker(145)


def mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor(round(a.red() + (b.red() - a.red()) * t),
                  round(a.green() + (b.green() - a.green()) * t),
                  round(a.blue() + (b.blue() - a.blue()) * t))


def is_accuracy(name: str) -> bool:
    return "accuracy" in name.lower()


def train_name(held_out: str, train: set) -> str | None:
    """The train metric a held-out one belongs with: ``test_loss`` -> ``loss``."""
    for prefix in HELD_OUT_PREFIXES:
        if held_out.startswith(prefix) and held_out[len(prefix):] in train:
            return held_out[len(prefix):]
    return None


class _Track:
    """A train metric of the current run: raw and smoothed items and the smoothing state."""

    def __init__(self, raw: pg.PlotDataItem, smooth: pg.PlotDataItem):
        self.raw, self.smooth = raw, smooth
        self.smoothed = Smoothed()
        self.drawn: tuple | None = None


# ----------------------------------------------------------------------------------------------
# the view
# ----------------------------------------------------------------------------------------------
class CurvesView(QWidget):
    """Losses and metrics of the current run (and, optionally, the runs before it) by step.

    ``refresh(topics)`` is the dashboard's per-frame call; it returns at once unless metrics,
    held-out values or the run changed. Items live as long as the view: a new run empties and
    refills them, and an item is in its plot (and legend) only while it has data."""

    def __init__(self, store: RunStore, parent=None):
        super().__init__(parent)
        self.setObjectName("curves_view")
        self.store = store
        self.smoothing = DEFAULT_SMOOTHING
        self._run: Run | None = None
        self._runs: tuple = ()
        self._colours: dict[str, int] = {}  # metric -> colour index, stable across runs
        self._tracks: dict[str, _Track] = {}  # train metric -> items
        self._held_out: dict[str, pg.PlotDataItem] = {}
        self._held_out_drawn: dict[str, tuple] = {}
        self._lr: dict[str, pg.PlotDataItem] = {}
        self._lr_drawn: dict[str, tuple] = {}
        self._overlays: dict[tuple, tuple] = {}  # (run key, metric) -> (item, Smoothed)
        self._recorded: list[Run] = []  # runs from the run history, chosen in the Runs panel
        self._attached: dict = {}  # item -> the PlotWidget it is in
        self._layout: tuple | None = None  # what _show_plots set up last

        # controls ----------------------------------------------------------------------------
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setObjectName("smoothing_slider")
        self.smoothing_slider.setRange(0, 99)
        self.smoothing_slider.setMaximumWidth(140)
        self.smoothing_spin = QDoubleSpinBox()
        self.smoothing_spin.setObjectName("smoothing")
        self.smoothing_spin.setRange(0.0, 0.99)
        self.smoothing_spin.setSingleStep(0.05)
        self.smoothing_spin.setDecimals(2)
        tip = ("Weight of the exponential moving average drawn bold over the raw values (0: no "
               "smoothing, 0.99: very smooth). The raw values stay visible as the faint line.")
        for widget in (self.smoothing_slider, self.smoothing_spin):
            widget.setToolTip(tip)
        smoothing_label = QLabel("Smoothing")
        smoothing_label.setBuddy(self.smoothing_spin)
        self.log_check = QCheckBox("Log scale")
        self.log_check.setObjectName("log_scale")
        self.log_check.setToolTip("Logarithmic y axis for the losses: late, small improvements "
                                  "stay visible")
        self.overlay_check = QCheckBox("Earlier runs")
        self.overlay_check.setObjectName("earlier_runs")
        self.overlay_check.setChecked(True)
        self.overlay_check.setToolTip("Overlay the smoothed curves of this project's last few "
                                      "runs (dashed, dimmer) to compare them with this one")
        self.smoothing_slider.setValue(round(self.smoothing * 100))
        self.smoothing_spin.setValue(self.smoothing)
        self.smoothing_slider.valueChanged.connect(lambda v: self.set_smoothing(v / 100))
        self.smoothing_spin.valueChanged.connect(self.set_smoothing)
        self.log_check.toggled.connect(self.set_log_scale)
        self.overlay_check.toggled.connect(self.set_overlay)

        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(smoothing_label)
        head.addWidget(self.smoothing_slider)
        head.addWidget(self.smoothing_spin)
        head.addSpacing(12)
        head.addWidget(self.log_check)
        head.addSpacing(12)
        head.addWidget(self.overlay_check)
        head.addStretch(1)

        # plots -------------------------------------------------------------------------------
        palette = self.palette()
        self.loss_plot = new_plot("loss_plot", palette, legend_offset=(-8, 6))
        self.accuracy_plot = new_plot("accuracy_plot", palette, legend_offset=(-8, -6))
        self.accuracy_plot.setLabel("left", "accuracy")
        self.lr_plot = new_plot("lr_plot", palette, legend_offset=(-8, 4))
        self.lr_plot.setLabel("left", "lr")
        self.lr_plot.setToolTip("Learning rate of each optimizer")
        self.lr_plot.setMinimumHeight(90)
        self.lr_plot.setMaximumHeight(130)
        self.lr_plot.enableAutoRange(y=False)  # 0 .. peak, set in _draw_lr
        for plot in (self.accuracy_plot, self.lr_plot):
            plot.setXLink(self.loss_plot)
        self.message = QLabel(EMPTY_TEXT)
        self.message.setObjectName("curves_message")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setStyleSheet(f"color: {theme.current().text_dim.name()};")
        plots = QWidget()
        column = QVBoxLayout(plots)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.loss_plot, 3)
        column.addWidget(self.accuracy_plot, 2)
        column.addWidget(self.lr_plot, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.message)
        self.stack.addWidget(plots)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(head)
        layout.addWidget(self.stack, 1)
        self._show_plots()

    # what tests and the dashboard read ------------------------------------------------------
    def raw_curve(self, name: str) -> pg.PlotDataItem:
        """The faint line of train metric ``name``'s raw values (made, empty, if not yet)."""
        return self._track(name).raw

    def smooth_curve(self, name: str) -> pg.PlotDataItem:
        """The bold line of train metric ``name``'s moving average (made, empty, if not yet)."""
        return self._track(name).smooth

    def held_out_curve(self, name: str) -> pg.PlotDataItem | None:
        return self._held_out.get(name)

    def lr_curve(self, optimizer: str) -> pg.PlotDataItem | None:
        return self._lr.get(optimizer)

    def overlay_curve(self, number: int, name: str,
                      recorded: bool = False) -> pg.PlotDataItem | None:
        """Run ``number``'s smoothed ``name`` (this session's run, or with ``recorded`` the
        history's) while it is drawn, else None."""
        entry = self._overlays.get((("recorded" if recorded else "session", number), name))
        return entry[0] if entry is not None and entry[0] in self._attached else None

    def plot_of(self, item) -> pg.PlotWidget | None:
        """The plot an item is drawn in (None: not drawn)."""
        return self._attached.get(item)

    @property
    def log_scale(self) -> bool:
        return self.log_check.isChecked()

    # the user's settings ---------------------------------------------------------------------
    def set_smoothing(self, weight: float) -> None:
        """Smooth with ``weight`` (0 .. 0.99): every smoothed line is recomputed, the raw lines
        are left as they are."""
        weight = round(min(max(float(weight), 0.0), 0.99), 2)
        for widget, value in ((self.smoothing_slider, round(weight * 100)),
                              (self.smoothing_spin, weight)):
            if widget.value() != value:
                widget.blockSignals(True)
                widget.setValue(value)
                widget.blockSignals(False)
        if weight == self.smoothing:
            return
        self.smoothing = weight
        run = self._run
        if run is not None:
            for name, track in self._tracks.items():
                series = run.metrics.get(name)
                if series is not None and len(series):
                    track.smooth.setData(series.x, track.smoothed.update(series, weight),
                                         antialias=len(series) <= ANTIALIAS_POINTS)
        self._draw_overlays()

    def set_log_scale(self, on: bool) -> None:
        """Log y axis for the losses (the accuracy plot stays linear: 0 .. 1)."""
        if self.log_check.isChecked() != bool(on):
            self.log_check.setChecked(bool(on))  # comes back here through toggled
            return
        self.loss_plot.setLogMode(x=False, y=bool(on))

    def show_recorded(self, runs: list[Run]) -> None:
        """Overlay these runs of the run history (``store.Run``s holding their train metrics,
        titled by number and name) in place of this session's earlier runs; [] goes back."""
        self._recorded = list(runs)
        self._draw_overlays()
        self._show_plots()

    def set_overlay(self, on: bool) -> None:
        if self.overlay_check.isChecked() != bool(on):
            self.overlay_check.setChecked(bool(on))
            return
        self._draw_overlays()
        self._show_plots()

    # the dashboard's call ----------------------------------------------------------------------
    def refresh(self, topics: set) -> None:
        run = self.store.current
        runs = tuple(r.number for r in self.store.runs)
        whole = "all" in topics or run is not self._run or runs != self._runs
        if not whole and not topics & RELEVANT:
            return
        if whole:
            self._new_run(run, runs)
        if run is not None:
            self._draw_metrics(run)
            self._draw_held_out(run)
            self._draw_lr(run)
        if whole:
            self._draw_overlays()
        self._show_plots()

    # drawing -----------------------------------------------------------------------------------
    def _new_run(self, run: Run | None, runs: tuple) -> None:
        """Empty the current run's items (kept for reuse) when the run is another one."""
        if run is not self._run:
            for track in self._tracks.values():
                track.smoothed = Smoothed()
                track.drawn = None
                for item in (track.raw, track.smooth):
                    self._detach(item)
            for table in (self._held_out, self._lr):
                for item in table.values():
                    self._detach(item)
            self._held_out_drawn.clear()
            self._lr_drawn.clear()
        self._run, self._runs = run, runs

    def _colour(self, name: str) -> QColor:
        if name not in self._colours:
            self._colours[name] = len(self._colours)
        return metric_colour(self._colours[name])

    def _plot_for(self, name: str) -> pg.PlotWidget:
        return self.accuracy_plot if is_accuracy(name) else self.loss_plot

    def _track(self, name: str) -> _Track:
        track = self._tracks.get(name)
        if track is None:
            colour = self._colour(name)
            # a pale tint, not a transparent pen: over a long run many raw segments share a
            # pixel column and transparent ones add up to the full colour
            background = self.palette().color(QPalette.ColorRole.Base)
            raw = pg.PlotDataItem(pen=pg.mkPen(mix(colour, background, 0.68), width=1))
            smooth = pg.PlotDataItem(pen=pg.mkPen(colour, width=2), name=name)
            raw.setZValue(1)
            smooth.setZValue(3)
            track = self._tracks[name] = _Track(raw, smooth)
        return track

    def _attach(self, item, plot: pg.PlotWidget) -> None:
        """Put an item in its plot (and legend). Before ``setData``: pyqtgraph fails to clip
        an item that has data while it is being added."""
        if item not in self._attached:
            plot.addItem(item)
            self._attached[item] = plot

    def _detach(self, item) -> None:
        plot = self._attached.pop(item, None)
        if plot is not None:
            plot.removeItem(item)
            item.setData([], [])

    def _draw_metrics(self, run: Run) -> None:
        for name, series in run.metrics.items():
            track = self._track(name)
            mark = series_mark(series)
            if mark == track.drawn:
                continue
            track.drawn = mark
            if not len(series):
                for item in (track.raw, track.smooth):
                    self._detach(item)
                continue
            plot = self._plot_for(name)
            self._attach(track.raw, plot)
            self._attach(track.smooth, plot)
            track.raw.setData(series.x, series.y)
            track.smooth.setData(series.x, track.smoothed.update(series, self.smoothing),
                                 antialias=len(series) <= ANTIALIAS_POINTS)

    def _draw_held_out(self, run: Run) -> None:
        train = set(run.metrics) | set(run.metric_names)
        for name, series in run.evaluation.items():
            mark = series_mark(series)
            if self._held_out_drawn.get(name) == mark:
                continue
            self._held_out_drawn[name] = mark
            item = self._held_out.get(name)
            if item is None:
                partner = train_name(name, train)
                colour = (held_out_shade(self._colour(partner)) if partner is not None
                          else self._colour(name))
                item = self._held_out[name] = pg.PlotDataItem(
                    pen=pg.mkPen(colour, width=1.5), symbol="o", symbolSize=6, antialias=True,
                    symbolBrush=colour, symbolPen=pg.mkPen(colour), name=name)
                item.setZValue(4)
            if not len(series):
                self._detach(item)
                continue
            self._attach(item, self._plot_for(name))
            item.setData(series.x, series.y)

    def _draw_lr(self, run: Run) -> None:
        changed = False
        for index, (name, series) in enumerate(run.lr.items()):
            mark = series_mark(series)
            if self._lr_drawn.get(name) == mark:
                continue
            changed = True
            self._lr_drawn[name] = mark
            item = self._lr.get(name)
            if item is None:
                colour = (theme.current().text_dim if index == 0
                          else QColor(LR_COLOURS[(index - 1) % len(LR_COLOURS)]))
                # dashed after the first: optimizers sharing a rate stay told apart
                style = Qt.PenStyle.SolidLine if index == 0 else Qt.PenStyle.DashLine
                item = self._lr[name] = pg.PlotDataItem(
                    pen=pg.mkPen(colour, width=1.5, style=style), name=name)
            if not len(series):
                self._detach(item)
                continue
            self._attach(item, self.lr_plot)
            item.setData(series.x, series.y)
        if changed:
            # from 0, so a schedule reads as a fraction of its peak and a constant rate as a
            # flat line rather than noise magnified around its value
            peak = max((float(np.nanmax(s.y)) for s in run.lr.values() if len(s)), default=0.0)
            if math.isfinite(peak) and peak > 0:
                self.lr_plot.setYRange(0.0, peak * 1.1, padding=0.06)
                # three ticks fit the thin plot; automatic ones crowd into each other
                self.lr_plot.getAxis("left").setTicks(
                    [[(v, f"{v:.3g}") for v in (0.0, peak / 2, peak)], []])

    def _overlay_runs(self) -> list[tuple]:
        """(key, run) of each run to overlay, newest first: the recorded runs chosen in the
        Runs panel, else this session's earlier runs while the overlay is on."""
        if self._recorded:
            return [(("recorded", run.number), run) for run in self._recorded]
        if not self.overlay_check.isChecked():
            return []
        return [(("session", run.number), run) for run in reversed(self.store.previous)]

    def _draw_overlays(self) -> None:
        """The earlier (or chosen) runs' smoothed train curves. Those runs are over, so their
        lines change only with the smoothing weight."""
        wanted = set()
        runs = self._overlay_runs()
        if runs:
            background = self.palette().color(QPalette.ColorRole.Base)
            for age, (run_key, run) in enumerate(runs):
                style = OVERLAY_STYLES[age % len(OVERLAY_STYLES)]
                named: set = set()
                for name, series in run.metrics.items():
                    if not len(series):
                        continue
                    key = (run_key, name)
                    wanted.add(key)
                    plot = self._plot_for(name)
                    entry = self._overlays.get(key)
                    if entry is None:
                        colour = mix(self._colour(name), background, 0.45)
                        label = None if plot in named else run.title
                        named.add(plot)
                        item = pg.PlotDataItem(pen=pg.mkPen(colour, width=1.5, style=style),
                                               name=label)
                        item.setZValue(2)
                        entry = self._overlays[key] = (item, Smoothed())
                    else:
                        named.add(plot)
                    item, smoothed = entry
                    before = (smoothed.weight, smoothed.size)
                    y = smoothed.update(series, self.smoothing)
                    if (smoothed.weight, smoothed.size) != before or item not in self._attached:
                        self._attach(item, plot)
                        item.setData(series.x, y, antialias=len(series) <= ANTIALIAS_POINTS)
        kept = {run_key for run_key, _ in runs} | {
            ("session", r.number) for r in self.store.previous}
        for key in list(self._overlays):
            if key not in wanted:
                item, _ = self._overlays[key]
                self._detach(item)
                if key[0] not in kept:
                    del self._overlays[key]

    def _show_plots(self) -> None:
        """The plots once there is something to draw; the accuracy and learning-rate plots
        only while they hold a curve; the step axis labelled under the lowest one. Touches the
        widgets only when that changes: relabelling an axis repaints it."""
        self._fit_legends()
        used = set(self._attached.values())
        shown = (self.loss_plot in used or self.accuracy_plot not in used,
                 self.accuracy_plot in used, self.lr_plot in used)
        if (shown, bool(used)) == self._layout:
            return
        self._layout = (shown, bool(used))
        plots = (self.loss_plot, self.accuracy_plot, self.lr_plot)
        lowest = max(i for i, visible in enumerate(shown) if visible)
        for i, (plot, visible) in enumerate(zip(plots, shown)):
            plot.setVisible(visible)
            axis = plot.getAxis("bottom")
            axis.setLabel("step" if i == lowest else None)
            axis.showLabel(i == lowest)
            axis.setStyle(showValues=i == lowest)
        self.stack.setCurrentIndex(1 if used else 0)

    def _fit_legends(self) -> None:
        """More than three entries (earlier runs overlaid) go in two columns: a short plot (on
        a 1280x800 screen) would clip a tall legend."""
        for plot in (self.loss_plot, self.accuracy_plot):
            legend = plot.getPlotItem().legend
            columns = 2 if len(legend.items) > LEGEND_ROWS else 1
            if legend.columnCount != columns:
                legend.setColumnCount(columns)

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Follow a switch between the light and dark themes."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "message"):
            for plot in (self.loss_plot, self.accuracy_plot, self.lr_plot):
                style_plot(plot, self.palette())
            self.message.setStyleSheet(f"color: {theme.current().text_dim.name()};")
