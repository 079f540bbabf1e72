"""The training panel: the run's settings (saved in the project), Train / Pause / Stop /
Continue, progress with ETA and throughput, the device actually used, and what went wrong.

Settings are edited through the document (undoable, saved with the project); the dataset is the
Dataset block's own parameter, so the panel and the inspector always agree.
"""

from __future__ import annotations

import math
import time
from html import escape as html_escape

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.project import RUN_SETTINGS, TRAINING_SETTINGS
from studio.core.registry import get_block, nodes_with
from studio.engine.events import Error
from studio.ui import theme
from studio.ui.dashboard.remote_stop import ask_to_stop, lost_run
from studio.ui.dashboard.train_on import TrainOnChooser
from studio.ui.param_widgets import ParamEditor

PROGRESS_SECONDS = 0.5  # the progress bar and text redraw at most twice a second (the bar
# repaints at once, not with the next frame, when its percentage changes)
CONTINUE_TIP = "Continue from the trained state (raise epochs or steps first)"
PANEL_SETTINGS = RUN_SETTINGS  # the inspector shows the other, advanced, settings
STATE_TEXT = {
    "idle": "Ready to train", "starting": "Starting the training process\u2026",
    "running": "Training", "paused": "Paused", "stopping": "Stopping\u2026",
    "finished": "Finished", "stopped": "Stopped", "failed": "Failed",
}


def duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "\u2013"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class TrainingPanel(QWidget):
    show_node = Signal(str, str)  # graph key, node id: the node an error names
    save_weights_requested = Signal()

    def __init__(self, controller, editor, parent=None):
        super().__init__(parent)
        self.setObjectName("training_panel")
        self.controller = controller
        self.editor = editor
        self.editing = controller.editing
        self.editors: dict[str, ParamEditor] = {}
        self.error_node: tuple | None = None
        self._refused = False  # the error shown is Train's "Cannot train yet", which follows edits
        self._progress_at = 0.0
        self._progress_later = QTimer(self)  # the news a throttled redraw skipped comes later
        self._progress_later.setSingleShot(True)
        self._progress_later.timeout.connect(self._redraw_progress)
        self._build()
        self.editing.changed.connect(lambda _c: self.sync_settings())
        self.editing.replaced.connect(self._project_replaced)
        self.editing.analyzed.connect(lambda: self._state_changed(self.controller.state))
        controller.state_changed.connect(self._state_changed)
        controller.updated.connect(self._updated)
        controller.failed.connect(self._failed)
        self.rebuild_settings()
        self._state_changed(controller.state)

    # construction -----------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.train_action = self._action("&Train", "F5", "Train the project from scratch with "
                                         "these settings", self.train)
        self.pause_action = self._action("&Pause", "F6", "Pause after the current step; "
                                         "press again (or Resume) to continue", self.toggle_pause)
        self.pause_action.setCheckable(True)
        self.stop_action = self._action("&Stop", "Shift+F5", "Stop after the current step and "
                                        "keep what was trained", self.controller.stop)
        self.continue_action = self._action("&Continue Training", "Ctrl+F5", CONTINUE_TIP,
                                            lambda: self.train(resume=True))
        self.save_action = self._action("Save &Weights", None, "Save the trained weights "
                                        "beside the project file (also done by File > Save)",
                                        self.save_weights_requested.emit)
        self.load_weights_action = self._action(
            "&Load Weights\u2026", None, "Start the next Train from the weights of a file (a "
            "state_dict as .pt or .safetensors, or a Studio checkpoint): every tensor that "
            "fits is loaded, the rest initialized as usual", self.choose_weights)
        self.train_on = TrainOnChooser(self.controller)
        layout.addWidget(self.train_on)
        buttons = QHBoxLayout()
        for act in (self.train_action, self.pause_action, self.stop_action):
            b = QToolButton()
            b.setDefaultAction(act)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            buttons.addWidget(b)
        layout.addLayout(buttons)
        more = QHBoxLayout()
        for act in (self.continue_action, self.save_action):
            b = QToolButton()
            b.setDefaultAction(act)
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            more.addWidget(b)
        layout.addLayout(more)
        self.progress = QProgressBar()
        self.progress.setObjectName("training_progress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        layout.addWidget(self.progress)
        self.progress_label = QLabel()
        self.progress_label.setObjectName("progress_text")
        self.progress_label.setWordWrap(True)
        self.progress_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        # room for the text wrapped on three lines, fixed: its redraws twice a second then
        # never lay the panel out again
        self.progress_label.setFixedHeight(3 * self.progress_label.fontMetrics().lineSpacing())
        layout.addWidget(self.progress_label)
        self.state_label = QLabel()
        self.state_label.setObjectName("training_state")
        self.state_label.setWordWrap(True)
        layout.addWidget(self.state_label)
        self.error_label = QLabel()
        self.error_label.setObjectName("training_error")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.error_label.linkActivated.connect(self._show_error_node)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        # the settings below the controls: where the panel is short and scrolls, Train, Pause,
        # Stop and the progress stay in view (the settings are locked while a run goes anyway)
        layout.addLayout(self.form)
        layout.addStretch(1)

    def _action(self, text, keys, tip, slot) -> QAction:
        act = QAction(text, self)
        if keys:
            act.setShortcut(QKeySequence(keys))
            act.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            tip = f"{tip} ({QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)})"
        act.setToolTip(tip)
        act.setStatusTip(tip)
        act.triggered.connect(lambda _=False: slot())
        return act

    def rebuild_settings(self) -> None:
        """One editor per setting, plus the Dataset block's dataset when there is one."""
        while self.form.rowCount():
            self.form.removeRow(0)
        self.editors.clear()
        dataset = self._dataset_node()
        if dataset is not None:
            prm = get_block(dataset.block).param("dataset")
            ed = ParamEditor("dataset", prm.kind, dataset.params.get("dataset", prm.default),
                             f"{prm.help} (the {dataset.title or dataset.id} block)",
                             self._dataset_edit, self.editing.end_merge)
            self.editors["dataset"] = ed
            self.form.addRow(self._label(prm.title, ed._tip), ed.widget)
        settings = self.editing.project.training.settings
        for prm in TRAINING_SETTINGS:
            if prm.name not in PANEL_SETTINGS:
                continue
            ed = ParamEditor(prm.name, prm.kind, settings.get(prm.name, prm.default), prm.help,
                             self._setting_edit(prm.name), self.editing.end_merge)
            self.editors[prm.name] = ed
            label = prm.title
            self.form.addRow(self._label(label, prm.help), ed.widget)
            if prm.name == "device":
                self.device_label = QLabel()  # removing the form's rows deleted the last one
                self.device_label.setObjectName("device_used")
                self.device_label.setToolTip("The device the current run actually trains on")
                self.form.addRow("", self.device_label)
        self._update_buttons()
        self._update_progress()

    def _project_replaced(self) -> None:
        """Another project: its settings, and no message left from the last one."""
        self.error_label.hide()
        self.error_label.clear()
        self.error_node = None
        self.rebuild_settings()

    def _label(self, text: str, tip: str) -> QLabel:
        label = QLabel(text)
        label.setToolTip(tip)
        return label

    def _dataset_node(self):
        return next(iter(nodes_with(self.editing.project.training, "data")), None)

    def _dataset_edit(self, value) -> None:
        node = self._dataset_node()
        if node is not None:
            self.editor.set_params("training", node.id, {"dataset": value})

    def _setting_edit(self, name):
        def edit(value):
            self.editor.set_settings({name: value}, merge=True)
        return edit

    def sync_settings(self) -> None:
        """Show the document's values (after undo, redo or an edit in the inspector)."""
        dataset = self._dataset_node()
        if (dataset is None) != ("dataset" not in self.editors):
            self.rebuild_settings()
            return
        if dataset is not None:
            self.editors["dataset"].set_value(dataset.params.get("dataset"))
        settings = self.editing.project.training.settings
        for name, ed in self.editors.items():
            if name in settings:
                ed.set_value(settings[name])

    # actions ----------------------------------------------------------------------------------
    def train(self, resume: bool = False) -> bool:
        if self.controller.state == "paused" and not resume:
            self.controller.resume()
            return True
        self.error_label.hide()
        self.error_node = None
        self._refused = False
        why = self.controller.start(resume=resume)
        if why:
            self._show_error(f"Cannot train yet: {why}")
            self._refused = True
            return False
        return True

    def choose_weights(self) -> None:
        """Train > Load Weights: a file dialog, then ``load_weights``."""
        path, _ = QFileDialog.getOpenFileName(
            self, "Load Weights for the Next Run", "",
            "Weights (*.pt *.pth *.safetensors *.ckpt);;All files (*)")
        if path:
            self.load_weights(path)

    def load_weights(self, path) -> bool:
        """The next Train starts from the weights of ``path`` that fit; the state line says
        so until then."""
        why = self.controller.load_weights(path)
        if why:
            self._show_error(f"Cannot load weights: {_escape(why)}")
            return False
        self.error_label.hide()
        self._state_changed(self.controller.state)
        return True

    def _follow_verdict(self) -> None:
        """A refused Train's reason follows the edits: gone once the project can train, else
        the current reason (never an old one beside a verdict that says otherwise)."""
        why = self.controller.blocking_problem()
        if why is None:
            self.error_label.hide()
            self._refused = False
        else:
            self._show_error(f"Cannot train yet: {why}")

    def toggle_pause(self) -> None:
        if self.controller.state == "paused":
            self.controller.resume()
        else:
            self.controller.pause()

    # reports ----------------------------------------------------------------------------------
    def _state_changed(self, state: str) -> None:
        run = self.controller.run
        text = STATE_TEXT.get(state, state.capitalize())
        if state == "idle":
            text = self.editing.verdict.training_status  # the verdict Problems shows
        if state == "paused" and run is not None and run.error and run.error.kind == "nan":
            text = "Paused at a NaN loss: Resume goes back to the last good state"
        if state == "finished" and run is not None and run.final:
            scores = ", ".join(f"{k.replace('_', ' ')} {v:.4g}"
                               for k, v in run.final.evaluation.items())
            text += f" after {run.final.steps:,} steps" + (f": {scores}" if scores else "")
        if self.controller.init_from is not None and not self.controller.running:
            text += f"\nThe next Train starts from the weights in {self.controller.init_from.name}"
        self.state_label.setText(text)
        if self._refused and state == "idle":
            self._follow_verdict()
        self._update_buttons()
        self._update_progress()

    def _update_buttons(self) -> None:
        state = self.controller.state
        running = self.controller.running
        self.train_action.setEnabled(not running or state == "paused")
        self.train_action.setText("&Resume" if state == "paused" else "&Train")
        self.pause_action.setEnabled(state in ("running", "paused"))
        self.pause_action.setChecked(state == "paused")
        self.stop_action.setEnabled(running and state != "stopping")
        trained = self.controller.trained_checkpoint() is not None
        blocker = self.controller.continue_blocker() if trained and not running else None
        self.continue_action.setEnabled(not running and trained and blocker is None)
        keys = self.continue_action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        note = self.controller.continue_note() if trained and not blocker else None
        tip = f"Cannot continue: {blocker}" if blocker else f"{CONTINUE_TIP} ({keys})" + (
            f". The project changed since training: Continue {note}" if note else "")
        self.continue_action.setToolTip(tip)
        self.continue_action.setStatusTip(tip)
        self.save_action.setEnabled(not running and trained)
        self.load_weights_action.setEnabled(not running)
        self.train_on.set_enabled_for(running)
        for ed in self.editors.values():
            ed.widget.setEnabled(not running)
        self.setToolTip("Settings apply to the next run" if running else "")

    def _updated(self, topics) -> None:
        wait = self._progress_at + PROGRESS_SECONDS - time.perf_counter()
        if topics & {"state", "all"} or (topics & {"progress", "metrics"} and wait <= 0):
            self._redraw_progress()
        elif topics & {"progress", "metrics"} and not self._progress_later.isActive():
            self._progress_later.start(max(1, int(wait * 1000)))
        if "download" in topics and self.controller.store.download:
            d = self.controller.store.download
            total = d.total or 0
            done = d.done
            self.progress_label.setText(f"Downloading {d.file}: {done / 1e6:.1f}"
                                        + (f" of {total / 1e6:.1f} MB" if total else " MB"))

    def _redraw_progress(self) -> None:
        self._progress_later.stop()
        self._progress_at = time.perf_counter()
        self._update_progress()

    def _update_progress(self) -> None:
        run = self.controller.run
        if run is None:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress_label.setText("")
            self.device_label.setText("")
            return
        total = max(run.total_steps, 1)
        self.progress.setRange(0, total)
        self.progress.setValue(min(run.step, total))
        p = run.progress
        parts = [f"step {run.step:,} / {run.total_steps:,}" if run.total_steps else ""]
        if p is not None:
            parts.append(f"epoch {p.epoch}")
            parts.append(f"{p.samples_per_second:,.0f} samples/s")
            if self.controller.state in ("running", "paused"):
                parts.append(f"ETA {duration(p.eta)}")
            parts.append(f"elapsed {duration(p.elapsed)}")
        self.progress_label.setText(" \u00b7 ".join(x for x in parts if x))
        if run.device:
            amp = f", {run.amp} mixed precision" if run.amp not in ("", "off") else ""
            remote = getattr(self.controller.session, "host", None)  # a RemoteSession's
            where = f" on {remote.host}" if remote is not None else ""
            self.device_label.setText(f"using: {run.device}{where}{amp}")

    def _failed(self, event: Error) -> None:
        node = event.node
        self.error_node = tuple(node) if node else None
        kind = {"nan": "The loss is not a number", "oom": "Out of memory",
                "crash": "The training process crashed", "shape": "A shape does not fit",
                "data": "The data could not be loaded", "checkpoint": "Cannot continue",
                "weights": "The weights could not be loaded",
                "connection": "The connection was lost",
                "remote": "The remote machine could not train"}.get(
                    event.kind, "Training failed")
        text = _escape(event.message)
        links = f" <a href='node'>Show {_escape(node[1])}</a>" if node else ""
        lost = lost_run(self.controller.session) if event.kind == "connection" else None
        if lost is not None:  # the links say what the message's commands say (in its tooltip)
            text = f"run {_escape(lost[1])} is still training on {_escape(lost[0].host)}."
            links += (" <a href='follow'>Follow it again</a> \u00b7 "
                      "<a href='stop-there'>Stop it there</a>")
        self._show_error(f"<b>{kind}</b>: {text}{links}")
        self.error_label.setToolTip(f"{kind}: {event.message}")  # the whole text

    def _show_error(self, html: str) -> None:
        color = theme.current().error.name()
        self.error_label.setStyleSheet(f"color: {color}")
        self.error_label.setText(html)
        self.error_label.show()

    def _show_error_node(self, link: str) -> None:
        """A link in the error: the node it names, or what to do with a run whose connection
        was lost (follow it again, or stop it there)."""
        lost = lost_run(self.controller.session)
        if link in ("follow", "stop-there") and lost is None:
            self.state_label.setText("No remote run lost its connection")
        elif link == "follow":
            why = self.controller.follow_remote(*lost)
            if why:
                self.state_label.setText(why)
            else:
                self.error_label.hide()
        elif link == "stop-there":
            ask_to_stop(*lost, self, self.state_label.setText)
            self.state_label.setText("Asking the remote run to stop\u2026")
        elif self.error_node:
            self.show_node.emit(self.error_node[0], self.error_node[1])

    @property
    def error_text(self) -> str:
        return "" if self.error_label.isHidden() else self.error_label.text()


def _escape(text) -> str:
    return html_escape(str(text), quote=False)
