"""The receptive field of the unit clicked in the Feature Maps view, drawn beside the maps.

``FieldPanel`` shows a ``ReceptiveField`` event: the probe sample as the network saw it with
the unit's theoretical window drawn on it, and beside it the effective field (|d unit / d
input|, white to red, over the faded input) with the same window, and the numbers: the
window's size, the share of the gradient inside it and the square about its centre that holds
half of it. ``FieldAsker`` sends the request: to the run while one trains (the runner answers
at its next step), else to a training process on the newest trained state
(``engine/field_session.py``), the way Predict on Image runs.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from studio.core.receptive_field import field_refusal
from studio.engine.events import Error, ReceptiveField
from studio.engine.node_keys import NodeKey
from studio.ui import theme
from studio.ui.dashboard import images
from studio.ui.dashboard.picture import fit_scale, qimage
from studio.ui.training_guard import done_beside_training, side_run_config, start_beside_training

FIELD_GOING = "a receptive field is being measured in its own process"
LOOK_MS = 200
WINDOW_COLOUR = QColor(20, 170, 60)  # a green that stands out on grey pictures and on red heat
HINT = ("Click a unit in a map to see which input pixels it can see (its theoretical "
        "receptive field, the green square) and which it responds to (its effective field, "
        "the gradient of the unit with respect to the input, in red).")


def unit_in_map(row: int, column: int, shown: tuple, full: tuple) -> tuple:
    """The unit of the node's whole map (``full``: height, width) under the pixel (``row``,
    ``column``) of the map as shown (``shown``: averaged down to at most 64 x 64)."""
    return (min(full[0] - 1, int((row + 0.5) * full[0] / shown[0])),
            min(full[1] - 1, int((column + 0.5) * full[1] / shown[1])))


def input_rgb(image: np.ndarray, value_range) -> np.ndarray:
    """The network's input (C x H x W) as (H, W, 3) pixels, its value range to 0 .. 255."""
    image = np.asarray(image, np.float32)
    pixels = images.to_uint8(image if image.shape[0] == 3 else image[:1], value_range)
    if pixels.shape[0] == 1:
        pixels = np.repeat(pixels, 3, axis=0)
    return np.ascontiguousarray(np.moveaxis(pixels, 0, -1))


def heat_rgb(gradient: np.ndarray, picture: np.ndarray) -> np.ndarray:
    """|gradient| from white (0) to dark red (its largest value) over the faded picture."""
    top = float(gradient.max()) if gradient.size else 0.0
    heat = images.SEQUENTIAL[images.to_uint8(gradient, (0.0, top or 1.0))].astype(np.float32)
    grey = picture.astype(np.float32).mean(axis=2, keepdims=True)
    faded = 0.8 * heat + 0.2 * grey  # the input still shows through, faintly
    return np.ascontiguousarray(np.clip(faded, 0, 255).astype(np.uint8))


class FieldPicture(QWidget):
    """Two pictures side by side, each with a title above it and the window drawn on it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pictures: list = []  # (title, QImage, backing array)
        self.window: tuple | None = None  # (top, bottom, left, right) in input pixels
        self.setMinimumSize(160, 60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def show_pictures(self, pictures, window) -> None:
        self.pictures = [(title, *qimage(rgb)) for title, rgb in pictures]
        self.window = window
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(360, 200)

    def picture_rects(self) -> list:
        """Where each picture is drawn (widget coordinates)."""
        if not self.pictures:
            return []
        gap, title = 12, self.fontMetrics().height() + 4
        h, w = self.pictures[0][2].shape[:2]
        count = len(self.pictures)
        room_w = (self.width() - gap * (count - 1)) / count
        scale = fit_scale(w, h, room_w, self.height() - title)
        sw, sh = w * scale, h * scale
        left = round((self.width() - count * sw - (count - 1) * gap) / 2)
        return [QRectF(left + k * (sw + gap), title, sw, sh) for k in range(count)]

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if not self.pictures:
            return
        painter = QPainter(self)
        text = self.palette().color(QPalette.ColorRole.WindowText)
        for (title, image, pixels), rect in zip(self.pictures, self.picture_rects()):
            painter.setPen(text)
            painter.drawText(QRectF(rect.left() - 20, 0, rect.width() + 40, rect.top()),
                             Qt.AlignmentFlag.AlignCenter, title)
            painter.drawImage(rect, image)
            if self.window is None:
                continue
            scale = rect.width() / pixels.shape[1]
            top, bottom, left, right = self.window
            h, w = pixels.shape[:2]
            shown = QRectF(rect.left() + max(left, 0) * scale, rect.top() + max(top, 0) * scale,
                           (min(right, w) - max(left, 0)) * scale,
                           (min(bottom, h) - max(top, 0)) * scale)
            painter.setPen(QPen(WINDOW_COLOUR, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(shown)
        painter.end()


class FieldPanel(QWidget):
    """What the clicked unit sees: a caption with the numbers and the two pictures."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("field_panel")
        self.shown: ReceptiveField | None = None
        self.caption = QLabel(HINT)
        self.caption.setObjectName("field_caption")
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.caption.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.picture = FieldPicture()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.caption)  # first: a short dock scrolls, and the numbers stay
        layout.addWidget(self.picture, 1)

    def say(self, text: str, error: bool = False) -> None:
        """A message in place of a field (a hint, a refusal, "measuring...")."""
        self.shown = None
        self.caption.setStyleSheet(f"color: {theme.current().error.name()};" if error else "")
        self.caption.setText(text)
        self.caption.setToolTip("")
        self.picture.show_pictures([], None)

    def show_field(self, event: ReceptiveField | None) -> None:
        if event is None or event is self.shown:
            return
        if event.message:
            self.say(event.message, error=True)
            return
        self.shown = event
        self.caption.setStyleSheet("")
        self.caption.setText(field_summary(event))
        self.caption.setToolTip(field_text(event))
        picture = input_rgb(event.image, event.value_range)
        self.picture.show_pictures([("input", picture),
                                    ("|\u2202unit/\u2202input|",
                                     heat_rgb(event.gradient, picture))], event.window)


def field_summary(event: ReceptiveField) -> str:
    """The caption's short form, which fits under the pictures in a quarter-screen dock; the
    whole text is its tooltip (``field_text``)."""
    channel, row, column = event.unit
    top, bottom, left, right = event.window
    height, width = event.gradient.shape
    on = (min(bottom, height) - max(top, 0), min(right, width) - max(left, 0))
    edge = "" if on == (bottom - top, right - left) else f" ({on[0]}\u00d7{on[1]} on the image)"
    when = f"step {event.step:,}" if event.step is not None else "trained state"
    return (f"<b>{NodeKey.parse(event.node).label}</b> channel {channel}, unit ({row}, "
            f"{column}) \u00b7 {when}<br>window <b>{bottom - top}\u00d7{right - left}</b>{edge}, "
            f"<b>{event.inside:.0%}</b> of the gradient inside, half in the central "
            f"<b>{event.half_side}\u00d7{event.half_side}</b>")


def field_text(event: ReceptiveField) -> str:
    """The caption: which unit, its window's size and place, and how much of its gradient
    lies inside the window and near its centre."""
    channel, row, column = event.unit
    top, bottom, left, right = event.window
    height, width = event.gradient.shape
    on = (min(bottom, height) - max(top, 0), min(right, width) - max(left, 0))
    when = f"step {event.step:,}" if event.step is not None else "the trained state"
    size = f"{bottom - top}\u00d7{right - left}"
    edge = "" if on == (bottom - top, right - left) else \
        f", {on[0]}\u00d7{on[1]} of it on the {height}\u00d7{width} input"
    name = NodeKey.parse(event.node).label
    return (f"<b>{name}</b> channel {channel}, unit ({row}, {column}) of "
            f"{event.map_size[0]}\u00d7{event.map_size[1]} \u00b7 sample {event.sample} "
            f"\u00b7 {when}<br>"
            f"Theoretical (green): <b>{size}</b> pixels, rows {top}\u2013{bottom - 1}, "
            f"columns {left}\u2013{right - 1}{edge}<br>"
            f"Effective (red): <b>{event.inside:.0%}</b> of the gradient inside the window, "
            f"half of it in the central <b>{event.half_side}\u00d7{event.half_side}</b>")


class FieldAsker(QObject):
    """Sends the Feature Maps view's unit clicks as receptive-field requests: to the run while
    one trains, else to a training process on the newest trained state; shows the answer (or
    why there is none) in the view's field panel."""

    _arrived = Signal()  # emitted on the session's reader thread; read on the UI thread

    def __init__(self, bench, view, parent=None):
        super().__init__(parent or view)
        self.bench = bench
        self.view = view
        self.session = None
        self.pending = None  # a request made while another was being answered
        view.offer_fields(self.refusal)
        view.field_requested.connect(self.ask)
        self._arrived.connect(self.poll, Qt.ConnectionType.QueuedConnection)
        self.look = QTimer(self)
        self.look.setInterval(LOOK_MS)
        self.look.timeout.connect(self.poll)

    def refusal(self, key: str) -> str | None:
        """Why the node ``key`` has no receptive field on the input image, or None."""
        path = NodeKey.parse(key)
        session = self.bench.session
        return field_refusal(session.project, session.analysis, path.path, path.port)

    def ask(self, key: str, channel: int, row: int, column: int, sample: int) -> None:
        panel = self.view.field_panel
        path = NodeKey.parse(key)
        why = self.refusal(key)
        if why:
            panel.say(why + ".", error=True)
            return
        controller = self.bench.controller
        unit = (channel, row, column)
        where = f"{path.label} channel {channel}, unit ({row}, {column})"
        if controller.running and controller.session is not None:
            controller.session.request_field(key, unit, sample)
            panel.say(f"Measuring the receptive field of {where} at the next step\u2026")
            return
        if self.session is not None:
            self.pending = (key, channel, row, column, sample)
            return
        weights = controller.trained_checkpoint() or controller.init_from
        why = controller.occupied or (None if weights else "nothing is trained yet: train the "
                                      "project first (or Train > Load Weights)")
        if why:
            panel.say(f"Cannot measure the receptive field: {why}.", error=True)
            return
        self._start(key, unit, sample, str(weights))
        panel.say(f"Measuring the receptive field of {where} on the trained state\u2026")

    def _start(self, key: str, unit: tuple, sample: int, weights: str) -> None:
        from studio.engine.field_job import FieldJob
        from studio.engine.field_session import FieldSession

        self.session = FieldSession(self.bench.session.project,
                                    FieldJob(weights, key, unit, sample),
                                    side_run_config(self.bench))
        self.session.on_arrival = self._arrived.emit
        start_beside_training(self.bench.controller, self, self.session, FIELD_GOING)
        self.look.start()

    def poll(self) -> None:
        session = self.session
        if session is None:
            return
        for event in session.events():
            if isinstance(event, ReceptiveField):
                self.view.field_panel.show_field(event)
            elif isinstance(event, Error):
                self.view.field_panel.say(event.message, error=True)
        if not (session.alive or session.events_pending):
            self.look.stop()
            done_beside_training(self.bench.controller, self)
            self.session = None
            if self.pending is not None:
                pending, self.pending = self.pending, None
                self.ask(*pending)

    def shutdown(self) -> None:
        if self.session is not None and self.session.alive:
            self.session.stop(timeout=1.0)

