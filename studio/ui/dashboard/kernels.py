"""The selected convolution's kernels as one picture (``engine/watched_probe.py``): a tile per
kernel, output channels down and input channels across (one input channel: a near-square
mosaic of the output channels), through the diverging map with levels symmetric about 0, so
white is a zero weight, red excites and blue inhibits. With three input channels (an RGB
image) each output channel can be shown as one colour picture instead, mid-grey for 0.

The levels stay put from frame to frame and only widen when the weights outgrow them, so a
kernel that sharpens during training is seen to, rather than being rescaled away.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QVBoxLayout, QWidget

from studio.engine.events import Kernels
from studio.ui.dashboard import images
from studio.ui.dashboard.features import LevelsBar, short_name
from studio.ui.dashboard.picture import ImageCanvas
from studio.ui.dashboard.probe_view import ProbeView, one_line
from studio.ui.dashboard.store import RunStore

RELEVANT = {"kernels"}
MOST_ROW_LABELS = 16  # more output channels than this: the rows go unlabelled
EMPTY_TEXT = ("Select a convolution on the canvas and train: its kernels are drawn here as "
              "one picture, from its first step, and follow its training")
WAITING_TEXT = ("Select a convolution on the canvas: its kernels come with the next "
                "activations probe")
RULE = ("Blue: negative weight, white: 0, red: positive; the levels are symmetric about 0 and "
        "stay fixed between frames (they widen only when the weights outgrow them).")
SHORT_RULE = "white: 0 \u00b7 levels fixed between frames"
RGB_SHORT_RULE = "mid-grey: 0 \u00b7 each input's weights in its colour"
RGB_RULE = ("Each output channel's kernel as one colour picture: the red, green and blue "
            "inputs' weights as those colours, mid-grey for 0, with the same fixed levels.")


def layout_of(weights: np.ndarray, aspect: float = 1.6) -> tuple:
    """(tiles (N, 1, kh, kw), columns, row labels, cells) for kernels (out, in, kh, kw).

    One input channel: a near-square mosaic of the output channels. Several: a row per output
    channel with a column per input channel, the rows split into side-by-side groups (a grey
    column between) when that brings the picture nearer ``aspect``, as a tall strip of 64
    rows would be drawn tiny. ``cells[k]`` is the (output, input) channel of tile k, None for
    a gap; rows are labelled only when there is one group of at most 16."""
    out, ins, kh, kw = weights.shape
    if ins == 1:
        columns = images.near_square_columns(out, kh, kw, aspect)
        return weights, columns, [], [(o, 0) for o in range(out)]
    groups = min(range(1, out + 1), key=lambda g: abs(np.log(
        ((ins + 1) * g - 1) * (kw + 1) / (-(-out // g) * (kh + 1)) / aspect)))
    rows, columns = -(-out // groups), (ins + 1) * groups - 1
    cells = []
    for r in range(rows):
        for c in range(columns):
            group, i = divmod(c, ins + 1)
            o = group * rows + r
            cells.append((o, i) if i < ins and o < out else None)
    tiles = np.full((len(cells), 1, kh, kw), np.nan, np.float32)
    for k, cell in enumerate(cells):
        if cell is not None:
            tiles[k, 0] = weights[cell]
    labels = [f"out {o}" for o in range(out)] if groups == 1 and out <= MOST_ROW_LABELS else []
    return tiles, columns, labels, cells


class KernelsView(ProbeView):
    """The kernels of the convolution ``set_node`` names."""

    def __init__(self, store: RunStore, parent=None):
        super().__init__(store, "kernels", RELEVANT, EMPTY_TEXT, WAITING_TEXT, parent=parent)
        self.node: str | None = None
        self.levels: tuple | None = None  # held across the frames of one (run, node)
        self._held_for = None
        self.canvas = ImageCanvas()
        self.canvas.setObjectName("kernels_canvas")
        self.canvas.tile_tip = self._tip
        self.bar = LevelsBar()
        self.rule = one_line("kernels_rule", dim=True)
        self.rule.setText(SHORT_RULE)
        self.rule.setToolTip(RULE)
        self.as_colour = QCheckBox("RGB input as colour")
        self.as_colour.setObjectName("kernels_as_colour")
        self.as_colour.setToolTip("Draw each output channel's three input kernels as one "
                                  "colour picture")
        self.as_colour.toggled.connect(lambda _on: self.refresh({"all"}))
        foot = QHBoxLayout()
        foot.addWidget(self.bar)
        foot.addWidget(self.rule, 1)
        foot.addWidget(self.as_colour)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(foot)
        self.lay_out(body)
        self._shown: Kernels | None = None
        self._cells: list = []  # tile index -> (output, input channel or None), None: a gap

    def set_node(self, key: str | None) -> None:
        """Follow ``key`` (``training/conv1``), or nothing."""
        if key != self.node:
            self.node = key
            self.refresh({"all"})

    def newest(self, run):
        return run.kernels.get(self.node) if self.node else None

    def clear(self) -> None:
        self.canvas.set_pixels(None)
        self._shown = None

    def draw(self, run, event: Kernels) -> None:
        weights = np.asarray(event.weights, dtype=np.float32)
        out, ins, kh, kw = weights.shape
        held = self.levels if self._held_for == (id(run), event.node) else None
        top = float(np.nanmax(np.abs(weights))) if weights.size else 0.0
        self.levels = images.activation_levels((-top, top), held)
        self._held_for = (id(run), event.node)
        self.as_colour.setVisible(ins == 3)
        colour = ins == 3 and self.as_colour.isChecked()
        if colour:
            columns = images.near_square_columns(out, kh, kw, aspect=1.6)
            rgb = images.rgb_grid(weights, columns, self.levels)
            self._cells = [(o, None) for o in range(out)]
            self.canvas.set_pixels(rgb, (-(-out // columns), columns, kh, kw, 1, out))
            self.rule.setText(RGB_SHORT_RULE)
            self.rule.setToolTip(RGB_RULE)
        else:
            tiles, columns, labels, self._cells = layout_of(weights)
            mosaic = images.tile(tiles, columns)
            rgb = images.colourize(mosaic, self.levels, images.DIVERGING)
            self.canvas.set_pixels(rgb, (-(-len(tiles) // columns), columns, kh, kw, 1,
                                         len(tiles)), labels)
            self.rule.setText(SHORT_RULE)
            self.rule.setToolTip(RULE)
        self.bar.set_levels(self.levels, images.DIVERGING)
        self.bar.setVisible(not colour)  # the colour picture's grey 0 is not on that scale
        self._shown = event
        blocks = 1 if colour or ins == 1 else (columns + 1) // (ins + 1)
        self.summary.setText(summary(event, colour, blocks))

    def _tip(self, index: int) -> str:
        event = self._shown
        cell = self._cells[index] if event is not None and index < len(self._cells) else None
        if cell is None:
            return ""
        o, i = cell
        kernel = np.asarray(event.weights)[o] if i is None else np.asarray(event.weights)[o, i]
        name = f"output channel {o}" + ("" if i is None else f", input channel {i}")
        return (f"{name}: weights {images.format_level(float(kernel.min()))} \u2026 "
                f"{images.format_level(float(kernel.max()))}")


def summary(event: Kernels, colour: bool, blocks: int = 1) -> str:
    out, ins, kh, kw = (int(v) for v in event.shape)
    shown_out, shown_in = event.weights.shape[:2]
    cut = "" if (shown_out, shown_in) == (out, ins) else \
        f" (the first {shown_out} \u00d7 {shown_in} shown)"
    if colour:
        layout = "one colour picture per output channel"
    elif ins == 1:
        layout = "one tile per output channel"
    else:
        layout = "a row per output channel, a column per input channel" + (
            f", rows in {blocks} blocks side by side" if blocks > 1 else "")
    return (f"<b>Step {event.step:,}</b> \u00b7 <b>{short_name(event.node)}</b>: {out} \u00d7 "
            f"{ins} kernels of {kh} \u00d7 {kw}{cut} \u00b7 {layout}")
