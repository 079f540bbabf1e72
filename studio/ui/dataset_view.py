"""A look at a dataset before training on it: samples with their labels, how many of each class
are in each split, and the shapes and value ranges of what flows out of the Dataset node.

``DatasetView`` shows a loaded ``SplitData`` (``set_data``), or loads one from a Dataset block's
parameters in a background thread (``load``), through the same loader call the generated
training code makes. Download progress shows in a bar; any failure (offline, a bad file) shows as
a message in the view, naming the file, and never escapes it. The figures and pixels it draws
come from ``studio.engine.dataset_preview`` as plain data: the editor never imports torch for it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.registry import is_data_source, nodes_with
from studio.engine import dataset_preview
from studio.ui import theme

GRID_COLUMNS = 8
GRID_ROWS = 5
TILE_GAP = 6
CAPTION_HEIGHT = 16


def _one_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    if isinstance(err, (ValueError, OSError, ImportError)):
        return text
    return f"{type(err).__name__}: {text}"


def open_dataset_view(parent, session, selected, status):
    """Graph > View Dataset: a dialog on the selected Dataset block of the training graph (else
    the first one), its data loading in the background so the editor stays responsive; None
    (and a word in the status bar) when the training graph has none. ``selected`` is the graph
    in front and its selected node ids; ``status(text, ms)`` writes the status bar."""
    graph = session.project.training
    key, ids = selected
    chosen = [i for i in ids if key == "training" and is_data_source(graph.nodes[i].block)]
    chosen = chosen or [n.id for n in nodes_with(graph, "data")]
    if not chosen:
        status("The training graph has no Dataset block to view", 5000)
        return None
    node = graph.nodes[chosen[0]]
    dialog = QDialog(parent)
    dialog.setWindowTitle(f"Dataset: {node.title or node.id}")
    dialog.resize(1000, 640)
    layout = QVBoxLayout(dialog)
    view = DatasetView(dialog)
    layout.addWidget(view)
    path = getattr(session.doc, "path", None)
    root = str(Path(path).resolve().parent) if path else None
    view.load(dict(node.params), root=root)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    dialog.dataset_view = view
    return dialog


class DatasetView(QWidget):
    """Samples, class counts, shapes and value ranges of one dataset."""

    loaded = Signal(object)  # the SplitData now shown
    failed = Signal(str)  # the message now shown
    # from the loading thread, queued to the GUI thread; the int tells loads apart
    _load_done = Signal(int, object)
    _load_failed = Signal(int, str)
    _load_progress = Signal(int, str, float, float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("dataset_view")
        self.data = None
        self._load_number = 0
        self._load_done.connect(self._on_loaded)
        self._load_failed.connect(self._on_failed)
        self._load_progress.connect(self._on_progress)
        t = theme.current()

        self.title = QLabel("No dataset")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setStyleSheet(f"color: {t.error.name()};")
        self.message.hide()

        # samples: an image grid, or a scatter plot of feature vectors
        self.grid = _SampleGrid()
        self.grid.setObjectName("sample_grid")
        self.scatter = self._plot("scatter_plot")
        self.scatter.addLegend(offset=(6, 6), labelTextColor=t.text, labelTextSize="8pt")
        self.samples = QStackedWidget()
        self.samples.addWidget(self.grid)
        self.samples.addWidget(self.scatter)
        self.samples_box = QGroupBox("Samples")
        box = QVBoxLayout(self.samples_box)
        box.addWidget(self.samples)

        # class counts: horizontal bars, one group per class, one bar per split
        self.counts = self._plot("class_counts")
        self.counts.setMinimumHeight(180)
        self.counts_key = QLabel("")  # which colour is which split
        self.counts_box = QGroupBox("Class counts")
        box = QVBoxLayout(self.counts_box)
        box.addWidget(self.counts)
        box.addWidget(self.counts_key)

        self.table = QTableWidget(0, 7)
        self.table.setObjectName("port_table")
        self.table.setHorizontalHeaderLabels(["port", "shape", "type", "min", "max", "mean", "std"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.table.setSizeAdjustPolicy(QTableWidget.SizeAdjustPolicy.AdjustToContents)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.values_note = QLabel("")
        self.values_note.setWordWrap(True)
        self.table_box = QGroupBox("What flows out (training split)")
        box = QVBoxLayout(self.table_box)
        box.addWidget(self.table)
        box.addWidget(self.values_note)
        self.table_box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.counts_box, 1)
        column.addWidget(self.table_box, 0)
        column.addStretch(0)  # takes the room when there are no class counts
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(self.samples_box)
        self.split.addWidget(right)
        self.split.setStretchFactor(0, 5)
        self.split.setStretchFactor(1, 4)
        self.split.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addStretch(1)
        layout.addLayout(head)
        layout.addWidget(self.summary)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.split, 1)
        self.blank = QWidget()  # takes the room while there is nothing to show
        self.blank.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        layout.addWidget(self.blank, 1)
        self._show_content(False)

    # ------------------------------------------------------------------------------------------
    def _plot(self, name: str) -> pg.PlotWidget:
        t = theme.current()
        plot = pg.PlotWidget()
        plot.setObjectName(name)
        plot.setBackground(t.node)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        for axis in ("left", "bottom"):
            plot.getAxis(axis).setTextPen(t.text_dim)
            plot.getAxis(axis).setPen(t.node_border)
        return plot

    def _show_content(self, visible: bool) -> None:
        self.split.setVisible(visible)
        self.blank.setVisible(not visible)

    # ------------------------------------------------------------------------------------------
    def load(self, params: dict, data_dir=None, root=None, device: str = "cpu") -> None:
        """Load the data a Dataset block with ``params`` describes, in the background.

        ``root`` is the folder relative file paths start from (the project's); ``data_dir`` the
        bundled data (defaults to Studio's resources). ``loaded`` or ``failed`` follows.
        """
        name = params.get("dataset", "digits")
        self.title.setText(f"Dataset: {name}")
        self.summary.setText("Loading\u2026")
        self.message.hide()
        self.progress.setRange(0, 0)
        self.progress.setFormat("loading")
        self.progress.show()
        self._load_number += 1
        threading.Thread(target=self._load_in_thread, daemon=True, name="dataset-view-load",
                         args=(self._load_number, dict(params), data_dir, root, device)).start()

    def _load_in_thread(self, number: int, params: dict, data_dir, root, device) -> None:
        def progress(label, done, total):
            self._load_progress.emit(number, label, float(done), float(total or 0))

        try:
            try:
                loaded = dataset_preview.load(params, root=root, data_dir=data_dir,
                                              device=device, progress=progress)
            except Exception as err:  # noqa: BLE001 - every failure becomes a message in the view
                self._load_failed.emit(number, _one_line(err))
            else:
                self._load_done.emit(number, loaded)
        except RuntimeError:  # the view was closed while this loaded: nobody to tell
            pass

    # only the latest load may change the view (an earlier one can finish later)
    def _on_failed(self, number: int, message: str) -> None:
        if number == self._load_number:
            self.show_error(message)

    def _on_progress(self, number: int, label: str, done: float, total: float) -> None:
        if number != self._load_number:
            return
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(done / total, 1.0)))
            self.progress.setFormat(f"downloading {label}: %p% of {total / 1e6:.1f} MB")
        else:
            self.progress.setRange(0, 0)
            self.progress.setFormat(f"downloading {label}: {done / 1e6:.1f} MB")
        self.progress.show()

    def _on_loaded(self, number: int, loaded) -> None:
        if number != self._load_number:
            return
        split, preview = loaded
        self._show(split, preview, self.title.text().removeprefix("Dataset: "))

    def show_error(self, message: str) -> None:
        """Show why the data could not be loaded; the view stays usable."""
        self.progress.hide()
        self.message.setText("\u26a0 " + message)
        self.message.show()
        self.summary.setText("The data could not be loaded.")
        self.data = None
        self._show_content(False)
        self.failed.emit(message)

    # ------------------------------------------------------------------------------------------
    def set_data(self, split, title: str = "") -> None:
        """Show a loaded SplitData."""
        try:
            preview = dataset_preview.summarize(split)
        except Exception as err:  # noqa: BLE001 - a damaged file met while reading samples
            self.show_error(_one_line(err))
            return
        self._show(split, preview, title)

    def _show(self, split, preview: dataset_preview.DatasetPreview, title: str) -> None:
        self.progress.hide()
        self.message.hide()
        self.data = split
        if title:
            self.title.setText(f"Dataset: {title}")
        sizes = preview.sizes
        where = "streamed from disk in batches" if preview.streamed else "resident in memory"
        parts = [f"{sizes['train']:,} train"]
        if sizes["validation"]:
            parts.append(f"{sizes['validation']:,} validation")
        parts.append(f"{sizes['test']:,} test")
        classes = f"{preview.classes} classes" if preview.classes else "no classes"
        self.summary.setText(f"{', '.join(parts)} samples; {classes}; {where} on "
                             f"{preview.device}.")
        self._fill_table(preview)
        self._fill_counts(preview)
        self._fill_samples(preview)
        self._show_content(True)
        self.loaded.emit(split)

    # ------------------------------------------------------------------------------------------
    def _fill_table(self, preview) -> None:
        rows = [[port.name, port.shape, port.kind] + [_number(v, port.whole) for v in port.stats]
                for port in preview.ports]
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                if c >= 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        frame = 2 * self.table.frameWidth() + 2
        self.table.setFixedHeight(self.table.horizontalHeader().height() + frame
                                  + sum(self.table.rowHeight(r) for r in range(len(rows))))
        self.table.setMinimumWidth(self.table.horizontalHeader().length() + frame)
        notes = []
        if preview.mean is not None:
            mean = ", ".join(f"{v:.3f}" for v in preview.mean[:8])
            std = ", ".join(f"{v:.3f}" for v in preview.std[:8])
            notes.append(f"Normalized with training statistics: mean {mean}; std {std}.")
        elif preview.first_port == "image":
            lo, hi = preview.value_range
            notes.append(f"Pixels mapped to {lo:g}..{hi:g}.")
        if preview.streamed:
            notes.append(f"Statistics of the first {preview.stat_count:,} training samples.")
        self.values_note.setText(" ".join(notes))
        self.values_note.setVisible(bool(notes))

    def _fill_counts(self, preview) -> None:
        t = theme.current()
        plot = self.counts
        plot.clear()
        self.counts_box.setVisible(bool(preview.counts))
        if not preview.counts:
            return
        colours = {"train": t.category("data"), "validation": t.category("normalization"),
                   "test": t.category("convolution")}
        thickness = 0.8 / len(preview.counts)
        most, key = 1.0, []
        classes = preview.classes
        for k, (name, counts) in enumerate(preview.counts.items()):
            y = np.arange(classes) - 0.4 + thickness * (k + 0.5)
            bars = pg.BarGraphItem(x0=np.zeros(classes), y=y, height=thickness * 0.92, width=counts,
                                   brush=colours[name], pen=pg.mkPen(None))
            plot.addItem(bars)
            key.append(f"<span style='color:{colours[name].name()}'>\u25a0</span> {name} "
                       f"({int(counts.sum()):,})")
            most = max(most, float(counts.max()))
        names = list(preview.class_names) or [str(k) for k in range(classes)]
        step = max(1, classes // 24)
        ticks = [(k, _short(names[k])) for k in range(0, classes, step)]
        axis = plot.getAxis("left")
        axis.setTicks([ticks, []])
        metrics = QFontMetrics(axis.style.get("tickFont") or self.font())
        axis.setWidth(max(metrics.horizontalAdvance(text) for _, text in ticks) + 14)
        plot.invertY(True)
        plot.setLabel("bottom", "samples", color=t.text_dim.name())
        plot.setMouseEnabled(x=False, y=False)
        self.counts_key.setText("&nbsp;&nbsp;&nbsp;".join(key))
        plot.setXRange(0, most * 1.05, padding=0)
        plot.setYRange(-0.6, classes - 0.4, padding=0)

    def _fill_samples(self, preview) -> None:
        if preview.samples == "images":
            self.samples_box.setTitle("Samples (training split, with their labels)")
            self.grid.set_samples(preview.pixels, list(preview.captions))
            self.samples.setCurrentWidget(self.grid)
        elif preview.samples == "field":
            self.samples_box.setTitle("The fitted image (every pixel is one sample)")
            self.grid.set_samples(preview.pixels, list(preview.captions), target=320)
            self.samples.setCurrentWidget(self.grid)
        else:
            self._draw_scatter(preview)
            self.samples.setCurrentWidget(self.scatter)

    def _draw_scatter(self, preview) -> None:
        t = theme.current()
        plot = self.scatter
        plot.clear()
        if plot.plotItem.legend is not None:
            plot.plotItem.legend.clear()
        x, labels = preview.points, preview.point_labels
        features = x.shape[1]
        curve = preview.samples == "curve"  # one number to one number: y against x
        self.samples_box.setTitle("Samples (training split)" + (
            f": features 1 and 2 of {features}" if features > 2 else
            ": y against x" if curve else ""))
        ys = x[:, 1] if features > 1 else np.zeros(len(x), dtype=x.dtype)
        names = list(preview.class_names)
        for k in range(max(preview.classes, 1)):
            mask = labels == k if preview.classes else np.ones(len(x), dtype=bool)
            if not bool(mask.any()):
                continue
            colour = pg.intColor(k, hues=max(preview.classes, 1), values=1, maxValue=230, sat=200)
            plot.addItem(pg.ScatterPlotItem(
                x[mask, 0], ys[mask], size=5, pen=pg.mkPen(None), brush=colour,
                name=None if not preview.classes else names[k] if k < len(names) else str(k)))
        plot.setLabel("bottom", "x" if curve else "x[0]", color=t.text_dim.name())
        plot.setLabel("left", "y" if curve else "x[1]" if features > 1 else "",
                      color=t.text_dim.name())
        plot.setAspectLocked(False)
        plot.enableAutoRange()


class _SampleGrid(QWidget):
    """Sample images with their captions, as many whole tiles as fit, centred; a picture too
    large for the room (one big image) is shrunk to fit, keeping its shape."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pixels, self.captions, self.target = None, [], 72
        self._cache = (None, None)
        self.setMinimumSize(240, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_samples(self, pixels: np.ndarray, captions: list[str], target: int = 72) -> None:
        self.pixels, self.captions, self.target = pixels, list(captions), target
        self._cache = (None, None)
        self.update()

    def shown(self) -> int:
        """How many samples the current size shows."""
        if self.pixels is None:
            return 0
        columns, rows = self._layout()
        return min(len(self.pixels), columns * rows)

    def _layout(self) -> tuple:
        count = len(self.pixels)
        tile_w, tile_h = _tile_size(self.pixels.shape[1:3], self.target)
        columns = max(1, min(count, GRID_COLUMNS, (self.width() - TILE_GAP) // (tile_w + TILE_GAP)))
        rows = max(1, (self.height() - TILE_GAP) // (tile_h + CAPTION_HEIGHT + TILE_GAP))
        return columns, max(1, min(rows, count // columns))  # whole rows only

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.pixels is None or not len(self.pixels):
            return
        columns, rows = self._layout()
        if self._cache[0] != (columns, rows):
            count = min(len(self.pixels), columns * rows)
            self._cache = ((columns, rows), _tile(self.pixels[:count], self.captions[:count], columns,
                                                  self.target))
        pixmap = self._cache[1]
        size = pixmap.size()
        if size.width() > self.width() or size.height() > self.height():
            size = size.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        left = (self.width() - size.width()) / 2
        top = (self.height() - size.height()) / 2
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawPixmap(QRectF(left, top, size.width(), size.height()), pixmap, QRectF(pixmap.rect()))
        painter.end()


# ----------------------------------------------------------------------------------------------
def _number(value: float, whole: bool) -> str:
    if value != value:  # NaN: no samples
        return "-"
    if whole:
        return f"{value:.0f}" if value == int(value) else f"{value:.2f}"
    return "0" if abs(value) < 5e-5 else f"{value:.4g}"  # a normalized mean is 0, not -7e-08


def _short(text: str, limit: int = 14) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _tile_size(shape, target: int) -> tuple:
    """Width and height of one tile: small images enlarged by a whole factor to about
    ``target`` pixels, large ones shrunk to at most twice that."""
    height, width = int(shape[0]), int(shape[1])
    scale = max(1, int(round(target / max(height, width)))) if max(height, width) < target else 1
    tile_w, tile_h = width * scale, height * scale
    if max(tile_w, tile_h) > 2 * target:
        ratio = 2 * target / max(tile_w, tile_h)
        tile_w, tile_h = max(1, int(tile_w * ratio)), max(1, int(tile_h * ratio))
    return tile_w, tile_h


def _tile(pixels: np.ndarray, captions: list[str], columns: int, target: int = 72) -> QPixmap:
    """Images (N, H, W, 3) uint8 in a grid of ``columns``, each a tile (see ``_tile_size``) with
    its caption below."""
    t = theme.current()
    count, height, width = pixels.shape[:3]
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    tile_w, tile_h = _tile_size((height, width), target)
    enlarged = tile_w >= width
    font = QFont()
    font.setPointSizeF(8.5)
    caption_h, gap = CAPTION_HEIGHT, TILE_GAP
    canvas = QPixmap(columns * (tile_w + gap) + gap, rows * (tile_h + caption_h + gap) + gap)
    canvas.fill(t.node)
    painter = QPainter(canvas)
    painter.setFont(font)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not enlarged)
    for i in range(count):
        r, c = divmod(i, columns)
        left = gap + c * (tile_w + gap)
        top = gap + r * (tile_h + caption_h + gap)
        block = np.ascontiguousarray(pixels[i])
        image = QImage(block.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
        painter.drawImage(QRectF(left, top, tile_w, tile_h), image)
        painter.setPen(QColor(t.node_border))
        painter.drawRect(QRectF(left - 0.5, top - 0.5, tile_w + 1, tile_h + 1))
        painter.setPen(QColor(t.text))
        painter.drawText(QRectF(left - gap / 2, top + tile_h + 1, tile_w + gap, caption_h),
                         Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                         _short(captions[i], max(4, tile_w // 6)))
    painter.end()
    return canvas
