"""File > Predict on Image... and a picture dropped on the window: the trained classifier's most
probable classes for the user's own pictures, in a panel beside the canvas, with the feature maps
of the node selected on the canvas for the picture shown.

The files are read here (``engine/image_file.py``, no Qt decoding, so a bad file is named at
once); the prediction runs in a training process (``engine/prediction_session.py``), the same
way the learning-rate range test does, from the newest trained state (or the weights Load
Weights chose). Selecting another node while the panel shows pictures asks again, for that
node's maps.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from studio.engine.events import Activations, Error, Finished, Prediction
from studio.engine.image_file import SUFFIXES, ImageFileError, is_image_path
from studio.ui.actions import command_action
from studio.ui.dashboard.features import FeatureMapsView
from studio.ui.dashboard.picture import ImageCanvas
from studio.ui.dashboard.store import RunStore
from studio.ui.training_guard import (
    TRAINING_GOING,
    done_beside_training,
    side_run_config,
    start_beside_training,
    while_training,
)

ACTION_TIP = ("Classify your own pictures with the trained model: each is prepared as the "
              "dataset prepares its images; the most probable classes are shown (or drop a "
              "picture file on the window)")
PREDICTION_GOING = "a prediction is running in its own process"
LOOK_MS = 250
FILTER = "Pictures (" + " ".join(f"*{s}" for s in SUFFIXES) + ");;All files (*)"


def picture_paths(mime) -> list[str]:
    """The local picture files a drag carries (what a drop on the window predicts on)."""
    if not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and
            is_image_path(u.toLocalFile())]


class ImagePredictor(QObject):
    """The command, the prediction's session and the panel that shows its answers."""

    _arrived = Signal()  # emitted on the session's reader thread; read on the UI thread
    finished = Signal()  # a prediction ended (answered or failed): the panel says which

    def __init__(self, bench, parent=None):
        super().__init__(parent)
        self.bench = bench
        self.session = None
        self.paths: list[str] = []
        self.panel = PredictionPanel()
        self.dock = None
        self.file_dialog: QFileDialog | None = None
        self.action = command_action("&Predict on Image\u2026", "predict_on_image", ACTION_TIP,
                                     self.choose, bench.dialog_parent)
        self._arrived.connect(self.poll, Qt.ConnectionType.QueuedConnection)
        self.look = QTimer(self)
        self.look.setInterval(LOOK_MS)
        self.look.timeout.connect(self.poll)
        self._again = QTimer(self)  # a new selection asks again once the dashboard has it
        self._again.setSingleShot(True)
        self._again.setInterval(0)
        self._again.timeout.connect(self._predict_again)
        bench.session.selection_changed.connect(self._again.start)
        while_training(bench.controller, self._training_changed)

    @property
    def running(self) -> bool:
        """From the start until the poll that reads the session's end (and lets Train go)."""
        return self.session is not None

    def _training_changed(self, running: bool) -> None:
        self.action.setEnabled(not running)
        self.action.setStatusTip("Stop the training run first" if running else ACTION_TIP)

    def choose(self) -> QFileDialog:
        """Ask for pictures (a window-modal dialog; choosing them predicts)."""
        if self.file_dialog is None:
            dialog = QFileDialog(self.bench.dialog_parent, "Predict on Image", "", FILTER)
            dialog.setObjectName("predict_file_dialog")
            dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
            dialog.filesSelected.connect(self.predict)
            self.file_dialog = dialog
        self.file_dialog.open()
        return self.file_dialog

    def predict(self, paths) -> bool:
        """Classify the pictures at ``paths``; False (the reason shown) when it cannot start."""
        from studio.engine.prediction import PredictJob, refusal
        from studio.engine.prediction_session import PredictionSession

        self._show_panel()
        controller, project = self.bench.controller, self.bench.session.project
        weights = controller.trained_checkpoint() or controller.init_from
        why = (TRAINING_GOING if controller.running else
               PREDICTION_GOING if self.running else controller.occupied or refusal(project)
               or (None if weights else "nothing is trained yet: train the project first (or "
                   "Train > Load Weights)"))
        if why:
            self.panel.say(f"Cannot predict: {why}.", error=True)
            return False
        watch = (controller.watched,) if controller.watched else ()
        try:
            job = PredictJob.of_files(weights, paths, watch=watch)
        except ImageFileError as err:
            self.panel.say(str(err), error=True)
            return False
        self.paths = [str(p) for p in paths]
        self.session = PredictionSession(project, job, side_run_config(self.bench))
        self.session.on_arrival = self._arrived.emit
        start_beside_training(controller, self, self.session, PREDICTION_GOING)
        self.look.start()
        self.panel.start(len(self.paths), watch[0] if watch else None)
        return True

    def _predict_again(self) -> None:
        """The selection changed: the pictures shown again with the new node's maps."""
        watched = self.bench.controller.watched
        if self.paths and not self.running and self.dock is not None and \
                self.dock.isVisible() and watched and watched != self.panel.node:
            self.predict(self.paths)

    def poll(self) -> None:
        session = self.session
        if session is None:
            return
        for event in session.events():
            if isinstance(event, Prediction):
                self.panel.add(event)
            elif isinstance(event, Error):
                self.panel.say(event.message, error=True)
                if event.node:
                    self.bench.select_node(*event.node)
            elif isinstance(event, Finished) and event.status == "finished":
                self.panel.say(self.panel.summary())
        if not (session.alive or session.events_pending):
            self.look.stop()
            done_beside_training(self.bench.controller, self)
            self.session = None
            self.finished.emit()

    def _show_panel(self) -> None:
        if self.dock is None:
            self.dock = self.bench.add_dock("Prediction", "prediction_dock", self.panel,
                                            Qt.DockWidgetArea.RightDockWidgetArea, ACTION_TIP)
        self.dock.show()
        self.dock.raise_()

    def shutdown(self) -> None:
        if self.session is not None and self.session.alive:
            self.session.stop(timeout=1.0)


class PredictionPanel(QWidget):
    """The pictures asked about, one row each (its most probable class), and for the row
    chosen: the picture as the network saw it, its classes with their probabilities, and the
    selected node's feature maps for it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("prediction_panel")
        self.answers: list[Prediction] = []
        self.node: str | None = None
        self.expected = 0
        self.status = QLabel("Drop a picture on the window, or File > Predict on Image\u2026")
        self.status.setObjectName("predict_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.files = QListWidget()
        self.files.setObjectName("predict_files")
        self.files.setMaximumHeight(90)
        self.files.currentRowChanged.connect(self._show)
        self.picture = ImageCanvas()
        self.picture.setObjectName("predict_picture")
        self.picture.setMinimumSize(96, 96)
        self.classes = QVBoxLayout()
        self.bars: list[QProgressBar] = []
        self.store = RunStore()
        self.maps = FeatureMapsView(self.store)
        for widget in (self.maps.probe_sample, *(label for label in self.maps.findChildren(
                QLabel) if label.buddy() is self.maps.probe_sample)):
            widget.hide()  # one picture: no probe sample to choose
        top = QHBoxLayout()
        top.addWidget(self.picture, 1)
        top.addLayout(self.classes, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.files)
        layout.addLayout(top, 1)
        layout.addWidget(self.maps, 3)

    def say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setProperty("error", error)
        self.status.setStyleSheet("color: #c0392b;" if error else "")

    def start(self, count: int, node: str | None) -> None:
        self.answers, self.expected, self.node = [], count, node
        self.files.clear()
        self.say(f"Classifying {count} picture(s) in a training process\u2026")

    def summary(self) -> str:
        shown = f" Feature maps: {self.node}." if self.node else \
            " Select a node on the canvas to see its feature maps for the picture."
        return f"{len(self.answers)} picture(s) classified.{shown}"

    def add(self, answer: Prediction) -> None:
        self.answers.append(answer)
        name = answer.file.replace("\\", "/").rsplit("/", 1)[-1]
        self.files.addItem(f"{name}: {answer.classes[0]} ({answer.probabilities[0]:.1%})")
        if self.files.currentRow() < 0:
            self.files.setCurrentRow(0)

    def _show(self, row: int) -> None:
        answer = self.answers[row] if 0 <= row < len(self.answers) else None
        for bar in self.bars:
            bar.deleteLater()
        self.bars = []
        if answer is None:
            self.picture.set_pixels(None)
            return
        self.picture.set_pixels(_rgb(answer.image, answer.value_range))
        for name, probability in zip(answer.classes, answer.probabilities):
            bar = QProgressBar()
            bar.setObjectName("predict_class")
            bar.setRange(0, 1000)
            bar.setValue(round(probability * 1000))
            bar.setFormat(f"{name}  {probability:.1%}")
            self.classes.addWidget(bar)
            self.bars.append(bar)
        run = self.store.new_run(answer.file)
        for key, maps in answer.maps.items():
            run.activations[key] = Activations(step=None, node=key, **maps)
        self.maps.set_node(self.node)
        self.maps.refresh({"all"})


def _rgb(image: np.ndarray, value_range) -> np.ndarray:
    """The network's input (C x H x W) as RGB pixels, its value range mapped to 0..255."""
    low, high = value_range
    scaled = (np.asarray(image, np.float32) - low) / ((high - low) or 1.0)
    pixels = (np.clip(scaled, 0.0, 1.0) * 255).round().astype(np.uint8)
    rgb = np.repeat(pixels, 3, axis=0) if pixels.shape[0] == 1 else pixels[:3]
    return np.ascontiguousarray(np.moveaxis(rgb, 0, -1))
