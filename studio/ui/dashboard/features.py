"""What one node computes for one probe sample while the model trains.

``FeatureMapsView`` shows the newest activations of the node chosen on the canvas: feature maps
(C x H x W) as a grid of channel images, a vector as bars or a heat map. Every image of a frame
shares one set of fixed levels, stated in the caption, and the levels stay put from frame to
frame (they only widen when the values outgrow them), so brighter really means larger: a channel
that fades between two frames has lost activation, not been rescaled.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.engine.events import Activations
from studio.engine.node_keys import NodeKey
from studio.ui import theme
from studio.ui.dashboard import images
from studio.ui.dashboard.field_view import HINT as FIELD_HINT
from studio.ui.dashboard.field_view import FieldPanel, unit_in_map
from studio.ui.dashboard.picture import ImageCanvas, qimage, rgb_of
from studio.ui.dashboard.store import RunStore

PROBE_SAMPLES = 16  # the probe batch's size: the spin box offers 0 .. 15
RELEVANT = {"activations", "receptive_field", "state", "all"}
LEVEL_RULE = ("Levels are symmetric about 0 for data with negative values and 0 \u2026 max "
              "otherwise; they stay fixed from frame to frame and widen only when the values "
              "outgrow them (Reset levels fits them to the current frame).")


def short_name(key: str) -> str:
    """``training/conv1`` -> ``conv1``: the node's name as the canvas shows it (with the port
    of a multi-output node: ``mean`` of ``training/vae:mean`` is ``vae:mean``)."""
    parsed = NodeKey.parse(key)
    return f"{parsed.node}:{parsed.port}" if parsed.port else parsed.node


def _size(shape) -> str:
    return "\u00d7".join(str(int(v)) for v in shape)


class LevelsBar(QWidget):
    """The colour map with its fixed levels written under its ends (and 0 in the middle of a
    diverging map), so a colour can be read back as a value."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.levels: tuple | None = None
        self._image = self._pixels = None
        self.setFixedSize(170, 34)

    def set_levels(self, levels, lut: np.ndarray) -> None:
        self.levels = levels
        self._image, self._pixels = qimage(np.ascontiguousarray(lut[None, :, :]))
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(170, 34)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.levels is None:
            return
        painter = QPainter(self)
        bar = QRectF(6, 3, self.width() - 12, 11)
        painter.drawImage(bar, self._image)
        painter.setPen(QColor(theme.current().node_border))
        painter.drawRect(bar.adjusted(-0.5, -0.5, 0.5, 0.5))
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        lo, hi = self.levels
        text = QRectF(0, 15, self.width(), 17)
        align = Qt.AlignmentFlag.AlignVCenter
        painter.drawText(text, align | Qt.AlignmentFlag.AlignLeft, images.format_level(lo))
        painter.drawText(text, align | Qt.AlignmentFlag.AlignRight, images.format_level(hi))
        if lo < 0 < hi:
            painter.drawText(text, align | Qt.AlignmentFlag.AlignHCenter, "0")
        painter.end()


class FeatureMapsView(QWidget):
    """The activations of one node (``set_node``) for the probe sample chosen in the spin box.

    Feature maps become one mosaic, a tile per channel, through a diverging colour map (blue
    negative, white 0, red positive) or, for non-negative data, white to red; clicking a tile
    shows that channel alone, clicking again goes back. A vector shows as bars (the default) or
    a heat map in reading order. The dashboard calls ``refresh`` about 30 times a second; a frame
    with no new activations for the node costs a set lookup and an identity check."""

    sample_chosen = Signal(int)  # the probe sample to show; the dashboard tells the session
    field_requested = Signal(str, int, int, int, int)  # node key, channel, row, column, sample

    def __init__(self, store: RunStore, parent=None):
        super().__init__(parent)
        self.setObjectName("feature_maps_view")
        self.store = store
        self.node: str | None = None
        self.levels: tuple | None = None  # held across frames of one (run, node, sample)
        self.focus: int | None = None  # the enlarged channel, if any
        self.mode = "empty"  # "empty", "maps" or "vector"
        self.vector_style = "bars"  # or "heat"
        self._shown = None  # the activations event drawn last
        self._run = None
        self._columns = None  # the mosaic's column count, kept while the view keeps its shape
        t = theme.current()

        self.caption = QLabel("")
        self.caption.setObjectName("feature_caption")
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.caption.setWordWrap(True)
        self.rule = QLabel(LEVEL_RULE)
        self.rule.setWordWrap(True)
        self.rule.setStyleSheet(f"color: {t.text_dim.name()};")
        font = self.rule.font()
        font.setPointSizeF(font.pointSizeF() * 0.9)
        self.rule.setFont(font)
        self.legend = LevelsBar()

        self.probe_sample = QSpinBox()
        self.probe_sample.setObjectName("probe_sample")
        self.probe_sample.setRange(0, PROBE_SAMPLES - 1)
        self.probe_sample.setToolTip("Which of the 16 probe-batch samples the activations are "
                                     "computed for")
        self.probe_sample.valueChanged.connect(self._on_sample)
        sample_label = QLabel("Probe sample")
        sample_label.setBuddy(self.probe_sample)

        self.bars_button = QToolButton(text="Bars", checkable=True, checked=True)
        self.heat_button = QToolButton(text="Heat map", checkable=True)
        group = QButtonGroup(self)
        group.setExclusive(True)
        for button, style in ((self.bars_button, "bars"), (self.heat_button, "heat")):
            group.addButton(button)
            button.clicked.connect(lambda _=False, s=style: self.set_vector_style(s))
        self.reset_button = QToolButton(text="Reset levels")
        self.reset_button.setToolTip("Fit the levels to the current frame; they widen again "
                                     "when later frames exceed them")
        self.reset_button.clicked.connect(self.reset_levels)
        self.field_button = QToolButton(text="Receptive field", checkable=True)
        self.field_button.setObjectName("field_button")
        self.field_button.setToolTip("Click a unit of a map to see its receptive field on the "
                                     "input: the window it can see and the gradient of the unit "
                                     "with respect to each pixel")
        self.field_button.toggled.connect(self._field_mode)
        self.field_button.hide()  # until something answers requests (``offer_fields``)
        self.field_panel = FieldPanel()
        self.field_panel.hide()
        self.field_check = None  # node key -> why it has no receptive field, or None

        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.bars_button)
        head.addWidget(self.heat_button)
        head.addSpacing(8)
        head.addWidget(self.reset_button)
        head.addWidget(self.field_button)
        head.addStretch(1)
        head.addWidget(sample_label)
        head.addWidget(self.probe_sample)

        words = QVBoxLayout()
        words.setContentsMargins(0, 0, 0, 0)
        words.setSpacing(2)
        words.addWidget(self.caption)
        words.addWidget(self.rule)
        info = QHBoxLayout()
        info.setContentsMargins(0, 0, 0, 0)
        info.addLayout(words, 1)
        info.addWidget(self.legend, 0, Qt.AlignmentFlag.AlignTop)

        self.message = QLabel("")
        self.message.setObjectName("feature_message")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {t.text_dim.name()};")
        self.canvas = ImageCanvas()
        self.canvas.setObjectName("feature_canvas")
        self.canvas.clickable = True
        self.canvas.tile_clicked.connect(self._on_tile)
        self.canvas.cell_clicked.connect(self._on_cell)
        self.canvas.tile_tip = self._tile_tip
        self.plot = self._bar_plot()
        self.stack = QStackedWidget()
        for widget in (self.message, self.canvas, self.plot):
            self.stack.addWidget(widget)
        self.stack.installEventFilter(self)

        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addLayout(info)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.stack, 1)
        body.addWidget(self.field_panel, 1)
        layout.addLayout(body, 1)
        self._draw()

    def _bar_plot(self) -> pg.PlotWidget:
        """Two single-colour bar items (positive red, negative blue): one colour per item lets
        pyqtgraph draw thousands of bars in one call."""
        t = theme.current()
        plot = pg.PlotWidget()
        plot.setObjectName("feature_bars")
        plot.setBackground(self.palette().color(QPalette.ColorRole.Base))
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=False, y=False)
        for axis in ("left", "bottom"):
            plot.getAxis(axis).setTextPen(t.text_dim)
            plot.getAxis(axis).setPen(t.node_border)
        plot.setLabel("bottom", "unit", color=t.text_dim.name())
        plot.setLabel("left", "activation", color=t.text_dim.name())
        red, blue = (QColor(*images.DIVERGING[i].tolist()) for i in (225, 30))
        self.positive = pg.BarGraphItem(x=[0], height=[0], width=0.85, brush=red,
                                        pen=pg.mkPen(None))
        self.negative = pg.BarGraphItem(x=[0], height=[0], width=0.85, brush=blue,
                                        pen=pg.mkPen(None))
        plot.addItem(self.positive)
        plot.addItem(self.negative)
        plot.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen(t.node_border)))
        return plot

    # the dashboard's calls ---------------------------------------------------------------------
    def set_node(self, key: str | None) -> None:
        """Show ``key``'s activations (``training/conv1``), or the hint to pick a node."""
        if key == self.node:
            return
        self.node = key
        self.levels, self.focus, self._columns = None, None, None
        self._draw()
        if self.field_button.isChecked():
            self._field_hint()

    def set_vector_style(self, style: str) -> None:
        """"bars" or "heat" for vectors."""
        self.vector_style = style
        (self.bars_button if style == "bars" else self.heat_button).setChecked(True)
        if self.mode == "vector":
            self._draw()

    def reset_levels(self) -> None:
        self.levels = None
        self._draw()

    def offer_fields(self, check) -> None:
        """Show the Receptive field button: requests are answered (``field_view.FieldAsker``),
        and ``check(key)`` says why a node has no receptive field (None when it has one)."""
        self.field_check = check
        self.field_button.show()

    def refresh(self, topics: set) -> None:
        if not (topics & RELEVANT):
            return
        run = self.store.current
        if topics & {"receptive_field", "all"} and self.field_button.isChecked():
            self.field_panel.show_field(getattr(run, "receptive_field", None))
        event = run.activations.get(self.node) if run is not None and self.node else None
        if event is self._shown and run is self._run and "all" not in topics:
            return
        self._draw()

    # drawing -----------------------------------------------------------------------------------
    def _draw(self) -> None:
        run = self.store.current
        if run is not self._run:
            self._run, self.levels, self.focus = run, None, None
        event = run.activations.get(self.node) if run is not None and self.node else None
        self._shown = event
        self.reset_button.setVisible(event is not None)
        vector = event is not None and event.kind == "vector"
        self.bars_button.setVisible(vector)
        self.heat_button.setVisible(vector)
        if event is None:
            self.mode = "empty"
            self.message.setText("Select a node on the canvas to see its activations"
                                 if not self.node else
                                 f"Waiting for {short_name(self.node)}'s activations\u2026")
            self.caption.setText("")
            self.rule.hide()
            self.legend.hide()
            self.stack.setCurrentWidget(self.message)
            return
        data = np.asarray(event.data, dtype=np.float32)
        value_range = event.range or _finite_range(data)
        self.levels = images.activation_levels(value_range, self.levels)
        lut = images.colour_map_for(self.levels)
        self.legend.set_levels(self.levels, lut)
        self.legend.show()
        self.rule.setVisible(not self.field_button.isChecked())
        if event.kind == "maps" and data.ndim == 3:
            self.mode = "maps"
            self._draw_maps(event, data, lut)
        else:
            self.mode = "vector"
            self._draw_vector(event, data.reshape(-1), lut)

    def _gap(self) -> tuple:
        """Tiles are separated by the window's colour, so each channel reads as its own image."""
        return rgb_of(self.palette().color(QPalette.ColorRole.Window))

    def _levels_text(self) -> str:
        lo, hi = self.levels
        return f"levels {images.format_level(lo)} \u2026 {images.format_level(hi)}"

    def _draw_maps(self, event: Activations, data: np.ndarray, lut: np.ndarray) -> None:
        c, h, w = data.shape
        name = short_name(self.node)
        step = f" \u00b7 step {event.step}" if event.step is not None else ""
        if self.focus is not None and self.focus >= c:
            self.focus = None
        if self.focus is not None:
            mosaic, columns = images.channels_grid(data[self.focus: self.focus + 1], columns=1)
            shown = f"channel {self.focus} of {c}, {_size((h, w))} (click it to see all)"
            grid = (1, 1, h, w, 1, 1)
        else:
            aspect = max(self.stack.width(), 1) / max(self.stack.height(), 1)
            columns = images.near_square_columns(c, h, w, aspect)
            if self._columns is not None and _fits_as_well(self._columns, columns, c, h, w, aspect):
                columns = self._columns  # keep the layout steady while the view keeps its shape
            self._columns = columns
            mosaic, columns = images.channels_grid(data, columns=columns)
            shown = f"{c} channel{'s' if c != 1 else ''} of {_size((h, w))}"
            grid = (-(-c // columns), columns, h, w, 1, c)
        original = tuple(event.shape or data.shape)
        if len(original) == 3 and original[0] > c:
            shown = shown.replace(f"{c} channels", f"first {c} of {original[0]} channels")
        if len(original) == 3 and tuple(original[1:]) != (h, w):
            shown += f" (averaged down from {_size(original[1:])})"
        shared = " (shared by all channels)" if c > 1 and self.focus is None else ""
        self.caption.setText(f"<b>{name}</b> \u00b7 {shown} \u00b7 {self._levels_text()}"
                             f"{shared}{step}")
        self.canvas.set_pixels(images.colourize(mosaic, self.levels, lut, self._gap()), grid)
        self.stack.setCurrentWidget(self.canvas)

    def _draw_vector(self, event: Activations, values: np.ndarray, lut: np.ndarray) -> None:
        n = len(values)
        name = short_name(self.node)
        step = f" \u00b7 step {event.step}" if event.step is not None else ""
        original = tuple(event.shape or (n,))
        total = int(np.prod(original)) if original else n
        shown = f"{n} values" if total == n else f"first {n} of {total} values"
        if len(original) > 1:
            shown += f" (flattened from {_size(original)})"
        lo, hi = self.levels
        if self.vector_style == "heat":
            aspect = max(self.stack.width(), 1) / max(self.stack.height(), 1)
            columns = images.near_square_columns(n, 1, 1, aspect)
            heat = images.strip(values, columns)
            self.canvas.set_pixels(images.colourize(heat, self.levels, lut, self._gap()),
                                   (heat.shape[0], columns, 1, 1, 0, n))
            shown += f", {columns} to a row"
            self.stack.setCurrentWidget(self.canvas)
        else:
            x = np.arange(n)
            finite = np.nan_to_num(values, nan=0.0)
            self.positive.setOpts(x=x, height=np.maximum(finite, 0))
            self.negative.setOpts(x=x, height=np.minimum(finite, 0))
            self.plot.setXRange(-0.5, n - 0.5, padding=0.01)
            self.plot.setYRange(lo, hi, padding=0.02)
            self.stack.setCurrentWidget(self.plot)
        self.caption.setText(f"<b>{name}</b> \u00b7 {shown} \u00b7 {self._levels_text()}{step}")

    # interaction -------------------------------------------------------------------------------
    def _on_sample(self, value: int) -> None:
        """A new sample is a new input: its frames start their own levels."""
        self.levels = None
        self.sample_chosen.emit(int(value))

    def _field_mode(self, on: bool) -> None:
        self.field_panel.setVisible(on)
        self.rule.setVisible(not on and self.mode != "empty")  # room for the field
        if on:
            self._field_hint()
        self._columns = None  # the mosaic takes the shape of the room it has now

    def _field_hint(self) -> None:
        """What to do, or why the selected node has no receptive field."""
        why = self.field_check(self.node) if self.node and self.field_check else None
        if why:
            self.field_panel.say(why + ".", error=True)
        else:
            self.field_panel.say(FIELD_HINT)

    def _on_cell(self, index: int, row: int, column: int) -> None:
        """A unit clicked while the Receptive field button is down: ask for its field."""
        event = self._shown
        if self.mode != "maps" or not self.field_button.isChecked() or event is None:
            return
        channel = self.focus if self.focus is not None else index
        shown = np.shape(event.data)[1:]
        full = tuple(event.shape[1:]) if len(event.shape or ()) == 3 else shown
        self.field_requested.emit(self.node, channel, *unit_in_map(row, column, shown, full),
                                  self.probe_sample.value())

    def _on_tile(self, index: int) -> None:
        if self.mode != "maps" or self.field_button.isChecked():
            return
        self.focus = None if self.focus is not None else index
        self._draw()

    def _tile_tip(self, index: int) -> str:
        event = self._shown
        if event is None:
            return ""
        data = np.asarray(event.data)
        if self.mode == "vector":
            return f"unit {index}: {float(data.reshape(-1)[index]):.4g}"
        channel = self.focus if self.focus is not None else index
        values = data[channel]
        return (f"channel {channel}: {images.format_level(float(np.nanmin(values)))} \u2026 "
                f"{images.format_level(float(np.nanmax(values)))}"
                + ("" if self.focus is not None else " (click to enlarge)"))

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        """The near-square mosaic follows the shape of the room it has (the stack's, which the
        layout sets after this widget's own resize)."""
        if watched is self.stack and event.type() == QEvent.Type.Resize and (
                self.mode == "maps" and self.focus is None
                or self.mode == "vector" and self.vector_style == "heat"):
            self._draw()
        return False


def _finite_range(data: np.ndarray) -> tuple:
    finite = data[np.isfinite(data)]
    return (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)


def _fits_as_well(kept: int, best: int, count: int, h: int, w: int, aspect: float) -> bool:
    """Whether the kept column count gives a mosaic nearly as large in the view as the best:
    a layout that flips back and forth while resizing is worse than one a little smaller."""
    def size(columns):
        rows = -(-count // columns)
        return min(aspect / (columns * w), 1.0 / (rows * h))

    return size(kept) >= 0.9 * size(best)
