"""What a generative model makes of its fixed inputs: one image grid per Preview output.

``SamplesView`` shows every preview of the current run (the GAN's samples from its fixed noise,
a VAE's reconstructions beside the images they rebuild and its samples from the prior), each
with the Preview's value range as fixed levels, so a grid that turns grey has really lost
contrast. A conditional model's grid that holds one class per row gets its rows labelled.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from studio.engine.events import Preview
from studio.ui import theme
from studio.ui.dashboard import images
from studio.ui.dashboard.picture import ImageCanvas, rgb_of
from studio.ui.dashboard.probe_button import probe_now_button
from studio.ui.dashboard.store import RunStore

RELEVANT = {"previews", "state", "all"}
EMPTY_TEXT = "Generated samples appear here for projects with a Preview output"
WAITING_TEXT = "Samples appear after the first training step, for projects with a Preview output"
ACTIVE = ("starting", "running", "paused")


def preview_default_nrow() -> int:
    """The preview block's default images per row (read from the catalogue, not copied)."""
    from studio.core.registry import Values, block_with

    spec = block_with("preview")
    return int(spec.preview.meta(Values(spec.defaults()))["nrow"])


def class_rows(event: Preview) -> tuple[list[str], bool] | None:
    """Labels for the rows of a preview grid that holds one class per row, and whether the
    engine said so (True) or it was inferred (False); None when the rows are not classes.

    A Class labels node gives image i of N the class i * K // N, in equal runs, so the grid's
    rows are classes exactly when every row holds a single class. When the event names K
    (``"classes"``) that is checked directly. Otherwise it is inferred only from a square grid
    (N = nrow x nrow) whose nrow was changed from the Preview's default: that is how a
    conditional model's author asks for "a row per class" (the cvae example: 100 samples, 10 to
    a row, 10 classes), while a plain GAN's 64 samples at the default 8 to a row stay unlabelled.
    Reconstructions (with ``inputs``) follow the dataset's order and are never labelled."""
    if event.inputs is not None:
        return None
    count, nrow = len(event.images), int(event.nrow or 8)
    if count < 2 or nrow < 1:
        return None
    rows = -(-count // nrow)
    classes = event.classes
    if classes:
        k = int(classes)
        labels = []
        for r in range(rows):
            members = {i * k // count for i in range(r * nrow, min(count, (r + 1) * nrow))}
            if len(members) != 1:
                return None
            labels.append(str(members.pop()))
        return labels, True
    if count == nrow * nrow and nrow > 1 and nrow != preview_default_nrow():
        return [str(r) for r in range(rows)], False
    return None


def _size(shape) -> str:
    return "\u00d7".join(str(int(v)) for v in shape)


class _Grid(QWidget):
    """A titled image grid (the title only when two grids stand side by side)."""

    def __init__(self, title: str = "", parent=None):
        super().__init__(parent)
        self.title = QLabel(title)
        self.title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.title.setVisible(bool(title))
        self.canvas = ImageCanvas()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.canvas, 1)


class PreviewPanel(QFrame):
    """One preview output: its name and step, what the levels are, and its grid (or the inputs
    and reconstructions side by side, image for image in the same places)."""

    def __init__(self, name: str, parent=None):
        super().__init__(parent)
        self.name = name
        self.preview: dict | None = None  # the preview event shown
        self.row_labels: list[str] = []
        self.setObjectName(f"preview_{name}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        t = theme.current()
        self.title = QLabel("")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet(f"color: {t.text_dim.name()};")
        self.inputs = _Grid("Inputs")
        self.outputs = _Grid("")
        self.inputs.hide()
        grids = QHBoxLayout()
        grids.setContentsMargins(0, 0, 0, 0)
        grids.addWidget(self.inputs, 1)
        grids.addWidget(self.outputs, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setSpacing(3)
        layout.addWidget(self.title)
        layout.addWidget(self.caption)
        layout.addLayout(grids, 1)

    @property
    def grids(self) -> list[ImageCanvas]:
        """The canvases shown: [outputs], or [inputs, outputs] for a reconstruction."""
        shown = [self.inputs] if self.inputs.isVisibleTo(self) else []
        return [g.canvas for g in shown + [self.outputs]]

    def show_event(self, event: Preview) -> None:
        self.preview = event
        data = np.asarray(event.images, dtype=np.float32)
        if data.ndim == 3:  # a batch of single-channel images without the channel axis
            data = data[:, None]
        n, c, h, w = data.shape
        nrow = max(1, int(event.nrow or 8))
        lo, hi = (float(v) for v in event.value_range)
        gap = rgb_of(self.palette().color(QPalette.ColorRole.Window))
        rows, columns = images.grid_size(n, nrow)
        grid = (rows, columns, h, w, 1, n)
        labelled = class_rows(event)
        self.row_labels = labelled[0] if labelled else []

        self.outputs.canvas.set_pixels(
            images.rgb_grid(data, nrow, (lo, hi), gap), grid, self.row_labels)
        inputs = event.inputs
        if inputs is not None:
            inputs = np.asarray(inputs, dtype=np.float32).reshape(data.shape)
            self.inputs.canvas.set_pixels(
                images.rgb_grid(inputs, nrow, (lo, hi), gap), grid)
        self.inputs.setVisible(inputs is not None)
        self.outputs.title.setText(self.name.replace("_", " ").capitalize())
        self.outputs.title.setVisible(inputs is not None)

        step = event.step
        when = "at the end of training" if step is None else f"step {step}"
        self.title.setText(f"{self.name.replace('_', ' ')} \u00b7 {when}")
        colour = "colour" if c == 3 else "grey" if c == 1 else f"channel 0 of {c}, grey"
        finite = data[np.isfinite(data)]
        spread = (f"; this batch: {images.format_level(round(float(finite.min()), 3))} \u2026 "
                  f"{images.format_level(float(finite.max()))}" if finite.size else "")
        words = [f"{n} images, {_size((c, h, w))} {colour}, {min(nrow, n)} to a row",
                 f"fixed levels {images.format_level(lo)} \u2026 {images.format_level(hi)} "
                 f"(the Preview's value range){spread}"]
        if inputs is not None:
            words.append("each reconstruction in the place of its input")
        if labelled:
            first, last = self.row_labels[0], self.row_labels[-1]
            words.append(f"row = class ({first}\u2013{last})" if labelled[1] else
                         f"rows {first}\u2013{last} taken as classes (a square grid of a "
                         "conditional model)")
        self.caption.setText(" \u00b7 ".join(words))
        self.caption.setToolTip("Values outside the levels are clipped to black or white.")


class SamplesView(QWidget):
    """Every preview of the current run, a panel each, side by side (scrolling when many)."""

    probe_requested = Signal(str)  # a probe to run now ("previews")

    def __init__(self, store: RunStore, parent=None):
        super().__init__(parent)
        self.setObjectName("samples_view")
        self.store = store
        self.panels: dict[str, PreviewPanel] = {}
        self._run = None
        t = theme.current()
        self.message = QLabel(EMPTY_TEXT)
        self.message.setObjectName("samples_message")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {t.text_dim.name()};")
        self.body = QWidget()
        self.row = QHBoxLayout(self.body)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setWidget(self.body)
        self.note = QLabel("")  # when the next samples come, if the time budget skipped some
        self.note.setObjectName("samples_note")
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {t.text_dim.name()};")
        self.request_button = probe_now_button(
            "Samples Now", "request_samples", "Make samples from the fixed inputs after the "
            "current training step, without waiting for the next preview", "previews",
            self.probe_requested)
        head = QHBoxLayout()
        head.addWidget(self.note, 1)
        head.addWidget(self.request_button)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.scroll_area, 1)
        self._show_panels(False)

    def _show_panels(self, visible: bool) -> None:
        self.scroll_area.setVisible(visible)
        self.message.setVisible(not visible)

    def refresh(self, topics: set) -> None:
        if not (topics & RELEVANT):
            return
        run = self.store.current
        previews = run.previews if run is not None else {}
        new_run = run is not self._run or "all" in topics
        self._run = run
        if set(previews) != set(self.panels):
            self._rebuild(sorted(previews))
        for name, panel in self.panels.items():
            event = previews[name]
            if new_run or event is not panel.preview:
                panel.show_event(event)
                self.row.setStretchFactor(panel, len(panel.grids))  # room by grid count
        self._show_panels(bool(self.panels))
        active = run is not None and run.state in ACTIVE
        self.request_button.setEnabled(active)
        note = run.next_probe_text("previews", "samples") if active else ""
        self.note.setText(note)
        if not self.panels:
            self.message.setText(note or (WAITING_TEXT if active else EMPTY_TEXT))

    def _rebuild(self, names: list[str]) -> None:
        """Only when the set of preview outputs changes (a new run of another project)."""
        for name in list(self.panels):
            if name not in names:
                panel = self.panels.pop(name)
                self.row.removeWidget(panel)
                panel.deleteLater()
        for name in names:
            if name not in self.panels:
                self.panels[name] = PreviewPanel(name)
        for i, name in enumerate(names):  # keep them in name order
            self.row.insertWidget(i, self.panels[name], 1)
        self.body.setMinimumWidth(260 * len(names))
