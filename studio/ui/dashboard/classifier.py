"""How a classifier is doing, class by class: the confusion matrix of the last evaluation with
each class's accuracy beside its row, and the fixed probe batch with the model's guesses, the
wrong ones marked in red.

Both pictures are painted directly (a few hundred rectangles and numbers), which keeps a redraw
far under a millisecond budget and lets the accuracy column line up with the matrix rows.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QGroupBox,
    QLabel,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from studio.engine.events import Predictions
from studio.ui import theme
from studio.ui.dashboard import images
from studio.ui.dashboard.picture import fit_scale, qimage
from studio.ui.dashboard.store import RunStore

RELEVANT = {"predictions", "evaluation", "state", "all"}
EMPTY_TEXT = "Confusion matrix and predictions appear for classifiers after the first evaluation"


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` blended towards ``b`` by ``t`` (0..1)."""
    return QColor(round(a.red() + (b.red() - a.red()) * t),
                  round(a.green() + (b.green() - a.green()) * t),
                  round(a.blue() + (b.blue() - a.blue()) * t))


def _cell_colours(strength: np.ndarray, base: QColor, right: QColor, wrong: QColor) -> np.ndarray:
    """(K, K, 3) uint8: each cell ``base`` blended towards ``right`` (diagonal) or ``wrong``."""
    k = len(strength)
    rgb = lambda c: np.array([c.red(), c.green(), c.blue()], np.float32)
    hue = np.where(np.eye(k, dtype=bool)[..., None], rgb(right), rgb(wrong))
    mixed = rgb(base) + (hue - rgb(base)) * strength[..., None]
    return np.ascontiguousarray(np.rint(mixed).astype(np.uint8))


def _percent(value: float) -> str:
    return "\u2013" if not np.isfinite(value) else f"{100 * value:.0f}%"


class ConfusionMatrix(QWidget):
    """Counts in cells, rows the true class and columns the predicted one; a cell's colour is
    its share of the row (blue on the diagonal: right; red off it: confused), so a small class
    with many mistakes stands out as much as a large one. Each row ends with the class's
    accuracy as a bar and a percentage. Counts are left out only where cells are too small to
    hold them; the tooltip always has them."""

    ACCURACY_WIDTH = 96

    def __init__(self, parent=None):
        super().__init__(parent)
        self.counts: np.ndarray | None = None
        self.accuracy: np.ndarray | None = None
        self._cells: tuple = (None, None, None)  # (key, QImage, its pixels)
        self.setMinimumSize(220, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_counts(self, counts: np.ndarray | None, accuracy: np.ndarray | None = None) -> None:
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        self.accuracy = accuracy
        self.update()

    def _strength(self) -> np.ndarray:
        """How strongly each cell is coloured: its share of the row, and at least 0.1 for any
        non-zero count, so a single mistake still shows."""
        totals = self.counts.sum(axis=1, keepdims=True)
        share = self.counts / np.maximum(totals, 1)
        return np.where(self.counts > 0, 0.1 + 0.9 * share, 0.0)

    def cell_text(self, true: int, predicted: int) -> str:
        """What the cell says: its count."""
        return str(int(self.counts[true, predicted]))

    def accuracy_text(self, true: int) -> str:
        return _percent(float(self.accuracy[true]))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(440, 380)

    # geometry ----------------------------------------------------------------------------------
    def _label_width(self) -> int:
        return self.fontMetrics().horizontalAdvance(str(len(self.counts) - 1)) + 4

    def _layout(self) -> tuple:
        """(left, top, cell size, label every n-th class)."""
        k = len(self.counts)
        metrics = self.fontMetrics()
        line = metrics.height()
        left, top = line + 10 + self._label_width(), 2 * line + 6
        room_w = self.width() - left - self.ACCURACY_WIDTH - 6
        room_h = self.height() - top - 4
        cell = max(2.0, float(int(min(room_w, room_h) / k)))
        every = max(1, int(np.ceil((line + 2) / cell)))
        left += max(0.0, (room_w - cell * k) / 2)  # the block centred across
        return left, top, cell, every

    def cell_at(self, pos: QPointF) -> tuple | None:
        if self.counts is None:
            return None
        left, top, cell, _every = self._layout()
        k = len(self.counts)
        c, r = int((pos.x() - left) // cell), int((pos.y() - top) // cell)
        return (r, c) if 0 <= r < k and 0 <= c < k else None

    # painting ----------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.counts is None or not len(self.counts):
            return
        t = theme.current()
        palette = self.palette()
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.WindowText)
        right_hue, wrong_hue = QColor(t.category("convolution")), QColor(t.error)
        counts = self.counts
        k = len(counts)
        left, top, cell, every = self._layout()
        metrics = self.fontMetrics()
        show_counts = cell >= max(metrics.horizontalAdvance(str(int(counts.max()))) + 4,
                                  metrics.height())
        painter = QPainter(self)
        align = Qt.AlignmentFlag.AlignCenter
        strength = self._strength()
        key = (id(self.counts), base.rgb(), right_hue.rgb(), wrong_hue.rgb())
        if self._cells[0] != key:  # one pixel per cell, drawn enlarged: K = 100 stays cheap
            self._cells = (key, *qimage(_cell_colours(strength, base, right_hue, wrong_hue)))
        painter.drawImage(QRectF(left, top, cell * k, cell * k), self._cells[1])
        if show_counts:
            zero = _mix(base, text, 0.35)  # zeros recede, in light and dark themes
            for r in range(k):
                for c in range(k):
                    count = int(counts[r, c])
                    painter.setPen(QColor("white") if strength[r, c] > 0.55 else
                                   text if count else zero)
                    painter.drawText(QRectF(left + c * cell, top + r * cell, cell, cell),
                                     align, str(count))
        painter.setPen(QColor(t.node_border))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(left, top, cell * k, cell * k))

        # class numbers along both sides, axis names, the accuracy column
        line = metrics.height()
        label_w = self._label_width()
        painter.setPen(text)
        for i in range(0, k, every):
            painter.drawText(QRectF(left + i * cell, top - line - 2, cell, line), align, str(i))
            painter.drawText(QRectF(left - label_w - 4, top + i * cell, label_w, cell),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, str(i))
        dim = QColor(t.text_dim)
        painter.setPen(dim)
        painter.drawText(QRectF(left, 2, cell * k, line), align, "predicted class \u2192")
        painter.save()
        painter.translate(left - label_w - line - 8, top + cell * k / 2)
        painter.rotate(-90)
        painter.drawText(QRectF(-cell * k / 2, 0, cell * k, line), align, "\u2190 true class")
        painter.restore()
        x0 = left + cell * k + 8
        width = self.ACCURACY_WIDTH - 8
        painter.drawText(QRectF(x0, top - line - 2, width, line), align, "accuracy")
        if self.accuracy is not None:
            bar_h = max(2.0, min(cell - 4, line))
            for r in range(k):
                value = float(self.accuracy[r])
                y = top + r * cell + (cell - bar_h) / 2
                painter.fillRect(QRectF(x0, y, width, bar_h), _mix(base, dim, 0.12))
                if np.isfinite(value):
                    painter.fillRect(QRectF(x0, y, width * value, bar_h),
                                     _mix(base, right_hue, 0.55))
                if cell >= line - 2 and (r % every == 0):
                    painter.setPen(text)
                    painter.drawText(QRectF(x0 + 4, top + r * cell, width - 4, cell),
                                     Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                                     _percent(value))
        painter.end()

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip and self.counts is not None:
            where = self.cell_at(QPointF(event.pos()))
            if where is None:
                QToolTip.hideText()
            else:
                r, c = where
                total = int(self.counts[r].sum())
                share = self.counts[r, c] / total if total else 0.0
                QToolTip.showText(event.globalPos(),
                                  f"true {r}, predicted {c}: {int(self.counts[r, c])} "
                                  f"({100 * share:.1f}% of class {r})", self)
            return True
        return super().event(event)


class PredictionGrid(QWidget):
    """The probe batch: each sample with the predicted class, its probability and the true
    class; wrong predictions get a red frame, a cross and red text. Inputs that are not images
    (feature vectors) show as the words alone. Images use the batch's own min and max as
    levels: the batch never changes, so neither do they."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.labels = self.predicted = self.confidence = None
        self.marked: list[bool] = []  # True where the prediction is wrong
        self.levels: tuple | None = None
        self._pixels = None  # (N, H, W, 3) uint8, backing the QImages
        self._images: list = []
        self._layout_cache: tuple = (None, None)
        self.setMinimumSize(200, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_predictions(self, event: Predictions) -> None:
        self.labels = np.asarray(event.labels).reshape(-1)
        self.predicted = np.asarray(event.predicted).reshape(-1)
        self.confidence = np.asarray(event.confidence)
        self.marked = [bool(p != y) for p, y in zip(self.predicted.tolist(), self.labels.tolist())]
        pictures = event.images
        self._images, self._layout_cache = [], (None, None)
        if pictures is not None and np.asarray(pictures).ndim == 4:
            data = np.asarray(pictures, dtype=np.float32)
            finite = data[np.isfinite(data)]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            self.levels = (lo, hi if hi > lo else lo + 1.0)
            channels = data if data.shape[1] == 3 else data[:, :1]
            rgb = images.to_uint8(np.moveaxis(channels, 1, -1), self.levels)
            if rgb.shape[-1] == 1:
                rgb = np.repeat(rgb, 3, axis=-1)
            self._pixels = np.ascontiguousarray(rgb)
            self._images = [qimage(self._pixels[i])[0] for i in range(len(self._pixels))]
        else:
            self._pixels, self.levels = None, None
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(420, 380)

    def _caption_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 0.92)
        return font

    def _caption_width(self) -> int:
        """Room for the widest caption; it may reach into the gap between tiles."""
        widest = max(len(str(int(v))) for v in np.concatenate([self.labels, self.predicted]))
        sample = "\u2717 pred " + "8" * widest + " (0.00)"
        return int(QFontMetricsF(self._caption_font()).horizontalAdvance(sample)) - 4

    def _layout(self) -> tuple:
        """(columns, cell width, image width, image height): the column count that makes the
        images largest while every caption fits under its image. Kept until the size or the
        data changes."""
        key = (self.width(), self.height(), self.font().key())
        if self._layout_cache[0] != key:
            self._layout_cache = (key, self._find_layout())
        return self._layout_cache[1]

    MIN_IMAGE = 18  # below this a caption no longer fits under its image: images only

    def _caption_height(self) -> float:
        if self._pixels is None or self.compact:
            return 0
        return 2 * QFontMetricsF(self._caption_font()).height() + 6

    def _find_layout(self) -> tuple:
        """The best layout with captions; when the view is too small for captions under
        images at least MIN_IMAGE tall, the images alone (wrong ones still framed in red,
        the words in each image's tooltip)."""
        self.compact = False
        best = self._best_layout()
        if self._pixels is not None and best[3] < self.MIN_IMAGE:
            self.compact = True
            best = self._best_layout()
        return best

    def _best_layout(self) -> tuple:
        n = len(self.labels)
        caption = self._caption_height()
        text_w = 0 if self.compact else self._caption_width()
        gap = 8
        h, w = self._pixels.shape[1:3] if self._pixels is not None else (1, 1)
        best = None
        for columns in range(1, n + 1):
            rows = -(-n // columns)
            cell_w = (self.width() - gap) / columns - gap
            room_h = (self.height() - gap) / rows - gap - caption
            if self._pixels is None:  # words alone: a box around them
                size = (columns, cell_w, cell_w, min(room_h, 3.2 * self.fontMetrics().height()))
                fits = cell_w >= text_w
            else:
                scale = max(min(cell_w / w, room_h / h), 0.0)
                size = (columns, cell_w, scale * w, scale * h)
                fits = cell_w >= text_w
            key = (fits, size[2] * size[3] if fits else cell_w)
            if best is None or key > best[0]:
                best = (key, size)
        return best[1]

    compact = False

    def event(self, event) -> bool:
        """Each sample's prediction in its tooltip (the only place for it in compact view)."""
        if event.type() == QEvent.Type.ToolTip and self.labels is not None:
            pos = QPointF(event.pos())
            hit = next((i for i in range(len(self.labels)) if self.image_rect(i).contains(pos)),
                       None)
            if hit is None:
                QToolTip.hideText()
            else:
                verdict = "wrong" if self.marked[hit] else "right"
                QToolTip.showText(event.globalPos(), f"predicted {int(self.predicted[hit])} "
                                  f"(confidence {self.confidence[hit]:.2f}), true "
                                  f"{int(self.labels[hit])}: {verdict}", self)
            return True
        return super().event(event)

    def _cell_width(self) -> float:
        return self._layout()[1]

    def image_rect(self, index: int) -> QRectF:
        """Where sample ``index`` is drawn (its image, or its box of words)."""
        columns, cell_w, tile_w, tile_h = self._layout()
        caption = self._caption_height()
        gap = 8
        x_left = max(0.0, (self.width() - (columns * (cell_w + gap) + gap)) / 2)
        r, c = divmod(index, columns)
        x = x_left + gap + c * (cell_w + gap)
        y = gap + r * (tile_h + caption + gap)
        if self._pixels is None:
            return QRectF(x, y, cell_w, tile_h)
        image = self._images[index]
        scale = fit_scale(image.width(), image.height(), tile_w + 0.5, tile_h + 0.5)
        return QRectF(round(x + (cell_w - image.width() * scale) / 2), round(y),
                      image.width() * scale, image.height() * scale)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.labels is None or not len(self.labels):
            return
        t = theme.current()
        palette = self.palette()
        text, wrong = palette.color(QPalette.ColorRole.WindowText), QColor(t.error)
        font = self._caption_font()
        line = QFontMetricsF(font).height()
        gap = 8
        painter = QPainter(self)
        painter.setFont(font)
        for i in range(len(self.labels)):
            rect = self.image_rect(i)
            cell_w = self._cell_width()
            x = rect.center().x() - cell_w / 2
            bad = self.marked[i]
            cross = "\u2717 " if bad else ""
            words = (f"{cross}pred {int(self.predicted[i])}"
                     f" ({self.confidence[i]:.2f})", f"true {int(self.labels[i])}")
            if self._pixels is not None and self.compact:
                painter.drawImage(rect, self._images[i])
                frame = rect
            elif self._pixels is not None:
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform,
                                      rect.width() < self._images[i].width())
                painter.drawImage(rect, self._images[i])
                frame = rect
                below = QRectF(x - gap / 2, rect.bottom() + 3, cell_w + gap, line)
                painter.setPen(wrong if bad else text)
                painter.drawText(below, Qt.AlignmentFlag.AlignHCenter, words[0])
                painter.setPen(wrong if bad else QColor(t.text_dim))
                painter.drawText(below.translated(0, line), Qt.AlignmentFlag.AlignHCenter,
                                 words[1])
            else:
                frame = rect
                painter.fillRect(rect, palette.color(QPalette.ColorRole.Base))
                painter.setPen(wrong if bad else text)
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "\n".join(words))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            if bad:
                painter.setPen(QPen(wrong, 3))
                painter.drawRect(frame.adjusted(-2, -2, 2, 2))
            else:
                painter.setPen(QPen(QColor(t.node_border), 1))
                painter.drawRect(frame.adjusted(-0.5, -0.5, 0.5, 0.5))
        painter.end()


class ClassifierView(QWidget):
    """The confusion matrix of the newest evaluation and the newest probe predictions of the
    current run; each part redraws only when its own event is new."""

    def __init__(self, store: RunStore, parent=None):
        super().__init__(parent)
        self.setObjectName("classifier_view")
        self.store = store
        self._run = None
        self._confusion = None  # the matrix drawn (identity: the store replaces, never edits)
        self._predictions = None
        t = theme.current()
        dim = f"color: {t.text_dim.name()};"

        self.message = QLabel(EMPTY_TEXT)
        self.message.setObjectName("classifier_message")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setStyleSheet(dim)

        self.summary = QLabel("")
        self.summary.setObjectName("confusion_summary")
        self.matrix = ConfusionMatrix()
        self.matrix.setObjectName("confusion_matrix")
        self.matrix_waiting = QLabel("The confusion matrix appears after the first evaluation")
        self.matrix_waiting.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.matrix_waiting.setWordWrap(True)
        self.matrix_waiting.setStyleSheet(dim)
        self.matrix_stack = QStackedWidget()
        self.matrix_stack.addWidget(self.matrix_waiting)
        self.matrix_stack.addWidget(self.matrix)
        note = QLabel("Colour: the cell's share of its row (blue on the diagonal, red off it).")
        note.setWordWrap(True)
        note.setStyleSheet(dim)
        self.matrix_box = QGroupBox("Confusion matrix")
        box = QVBoxLayout(self.matrix_box)
        box.addWidget(self.summary)
        box.addWidget(self.matrix_stack, 1)
        box.addWidget(note)

        self.predictions_summary = QLabel("")
        self.predictions_summary.setObjectName("predictions_summary")
        self.predictions_summary.setWordWrap(True)
        self.grid = PredictionGrid()
        self.grid.setObjectName("prediction_grid")
        self.predictions_box = QGroupBox("Probe batch predictions")
        box = QVBoxLayout(self.predictions_box)
        box.addWidget(self.predictions_summary)
        box.addWidget(self.grid, 1)

        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(self.matrix_box)
        self.split.addWidget(self.predictions_box)
        self.split.setStretchFactor(0, 1)
        self.split.setStretchFactor(1, 1)
        self.split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.split, 1)
        self._show(False, False)

    def _show(self, confusion: bool, predictions: bool) -> None:
        self.message.setVisible(not (confusion or predictions))
        self.split.setVisible(confusion or predictions)
        self.predictions_box.setVisible(predictions)
        self.matrix_stack.setCurrentWidget(self.matrix if confusion else self.matrix_waiting)

    def refresh(self, topics: set) -> None:
        if not (topics & RELEVANT):
            return
        run = self.store.current
        confusion = run.confusion if run is not None else None
        predictions = run.predictions if run is not None else None
        again = "all" in topics or run is not self._run
        self._run = run
        if again or confusion is not self._confusion:
            self._confusion = confusion
            self._draw_confusion(run)
        if again or predictions is not self._predictions:
            self._predictions = predictions
            self._draw_predictions(predictions)
        self._show(confusion is not None, predictions is not None)

    def _draw_confusion(self, run) -> None:
        counts = run.confusion if run is not None else None
        if counts is None:
            self.matrix.set_counts(None)
            self.summary.setText("")
            return
        total = int(counts.sum())
        right = int(np.trace(counts))
        self.matrix.set_counts(counts, run.per_class_accuracy)
        overall = f"{100 * right / total:.1f}%" if total else "\u2013"
        self.summary.setText(f"<b>Accuracy {overall}</b> ({right:,} of {total:,} held-out "
                             f"samples) \u00b7 evaluation at step {run.confusion_step}")

    def _draw_predictions(self, event: Predictions | None) -> None:
        if event is None:
            return
        self.grid.set_predictions(event)
        wrong, n = sum(self.grid.marked), len(self.grid.marked)
        levels = ""
        if self.grid.levels is not None:
            lo, hi = self.grid.levels
            levels = (f" \u00b7 images at levels {images.format_level(lo)} \u2026 "
                      f"{images.format_level(hi)}")
        self.predictions_summary.setText(
            f"<b>{n - wrong} of {n} right</b>"
            + (f", <span style='color:{theme.current().error.name()}'>{wrong} wrong "
               f"(marked)</span>" if wrong else "")
            + f" \u00b7 step {event.step}{levels}")
