"""Train > Find Learning Rate: the learning-rate range test (``engine/lr_finder.py``) in a
training process, its loss drawn against the rate on a log axis as the steps come, the
suggested rate marked, and Apply setting the optimizer's rate as one undoable edit.

The test runs in a process of its own (the waiting one, when the window keeps one), as a
Train does, so the editor stays responsive and the dialog is not modal. The process keeps
nothing: the project's weights, checkpoints and runs are left as they are. While a training
run goes the action is disabled (both would share the processor, and each would measure the
other's slowness).
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from studio.engine.events import Error, RangePoint, RangeResult, Started
from studio.engine.lr_finder import (
    MIN_STEPS,
    RATE_PARAM,
    RULES,
    RangeTest,
    describe_stop,
    refusal,
)
from studio.ui import theme
from studio.ui.training_guard import (
    TRAINING_GOING,
    DialogCommand,
    WorkDialog,
    done_beside_training,
    side_run_config,
    start_beside_training,
)

ACTION_TIP = ("Find a learning rate: a short run with the rate rising from tiny to huge, the "
              "loss against it, and a suggested rate to apply (the weights are left as they are)")
INTRO = ("A short run whose learning rate rises by the same factor every step. The loss falls "
         "while the rate helps and shoots up once it is too high; the suggested rate is where "
         "the smoothed loss falls fastest. Nothing is trained for keeps.")
RANGE_TEST_GOING = "the learning-rate test is running (Train > Find Learning Rate): stop it first"
STOP_SECONDS = 1.0
LOOK_MS = 250


class LearningRateFinder(DialogCommand):
    """The Train menu's action and the one dialog it opens."""

    def __init__(self, bench):
        super().__init__(bench, "Find &Learning Rate\u2026", "find_learning_rate", ACTION_TIP,
                         RangeTestDialog)


class RangeTestDialog(WorkDialog):
    _arrived = Signal()  # emitted on the session's reader thread; read on the UI thread

    def __init__(self, bench):
        super().__init__(bench.dialog_parent)
        self.bench = bench
        self.session = None
        self.points: list[RangePoint] = []
        self.result: RangeResult | None = None
        self.test = RangeTest()
        self.setObjectName("lr_finder_dialog")
        self.setWindowTitle("Find Learning Rate")
        self.setModal(False)
        self._arrived.connect(self.poll, Qt.ConnectionType.QueuedConnection)
        # The session's last word can come a moment before its reader thread and process are
        # gone: this slower look sees the end that no event announces.
        self.look = QTimer(self)
        self.look.setInterval(LOOK_MS)
        self.look.timeout.connect(self.poll)
        self._build()
        self.resize(720, 520)

    # construction -----------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        row = QHBoxLayout()
        self.lowest = self._rate_field("lr_min", self.test.lr_min, "the first step's rate")
        self.highest = self._rate_field("lr_max", self.test.lr_max, "the last step's rate")
        self.steps = QSpinBox()
        self.steps.setObjectName("lr_steps")
        self.steps.setRange(MIN_STEPS, 10_000)
        self.steps.setValue(self.test.steps)
        self.steps.setToolTip("how many steps, one rate each")
        self.run_button = QPushButton("&Run")
        self.run_button.setObjectName("lr_run")
        self.run_button.setAutoDefault(False)  # Enter applies the suggestion, not a new test
        self.run_button.clicked.connect(self.start)
        self.stop_button = QPushButton("S&top")
        self.stop_button.setObjectName("lr_stop")
        self.stop_button.setAutoDefault(False)
        self.stop_button.clicked.connect(self.request_stop)
        for text, widget in (("From", self.lowest), ("to", self.highest), ("in", self.steps)):
            row.addWidget(QLabel(text))
            row.addWidget(widget)
        row.addWidget(QLabel("steps"))
        row.addStretch(1)
        row.addWidget(self.run_button)
        row.addWidget(self.stop_button)
        layout.addLayout(row)
        self.plot = self._new_plot()
        layout.addWidget(self.plot, 1)
        self.status = QLabel()
        self.status.setObjectName("lr_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox()
        self.apply_button = buttons.addButton("&Apply", QDialogButtonBox.ButtonRole.ApplyRole)
        self.apply_button.setObjectName("lr_apply")
        self.apply_button.setDefault(True)
        self.apply_button.clicked.connect(self.apply)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.close)
        layout.addWidget(buttons)
        self._show_state()

    def _rate_field(self, name: str, value: float, tip: str) -> QLineEdit:
        field = QLineEdit(f"{value:g}")
        field.setObjectName(name)
        field.setValidator(QDoubleValidator(0.0, 1e6, 12))
        field.setToolTip(tip)
        field.setMaximumWidth(90)
        return field

    def _new_plot(self):
        import pyqtgraph as pg  # only when the dialog opens: the editor starts without it

        t = theme.current()
        plot = pg.PlotWidget()
        plot.setObjectName("lr_plot")
        plot.setBackground(t.node)
        plot.setMenuEnabled(False)
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setLogMode(x=True, y=False)
        for axis in ("left", "bottom"):
            plot.getAxis(axis).setTextPen(t.text_dim)
            plot.getAxis(axis).setPen(t.node_border)
        plot.setLabel("bottom", "learning rate", color=t.text.name())  # after the text pen,
        plot.setLabel("left", "loss", color=t.text.name())  # which colours labels too
        plot.addLegend(offset=(-10, 10), labelTextColor=t.text, labelTextSize="8pt")
        self.raw_curve = plot.plot([], [], pen=pg.mkPen(t.text_dim, width=1), name="loss")
        self.smooth_curve = plot.plot([], [], pen=pg.mkPen(t.category("optimizer"), width=2.4),
                                      name="smoothed")
        self.mark = pg.InfiniteLine(angle=90, movable=False, label="",
                                    pen=pg.mkPen(t.selected, width=1.6,
                                                 style=Qt.PenStyle.DashLine),
                                    labelOpts={"position": 0.9, "color": t.text})
        self.mark.setVisible(False)
        plot.addItem(self.mark)
        return plot

    # the test ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.session is not None and (self.session.alive or self.session.events_pending)

    def settings(self) -> RangeTest | None:
        """The test the fields describe, or None (the reason shown) when they describe none."""
        try:
            test = RangeTest(lr_min=float(self.lowest.text()), lr_max=float(self.highest.text()),
                             steps=self.steps.value())
        except ValueError:
            self._say("Give the rates as numbers, such as 1e-7 and 10.", error=True)
            return None
        why = test.problem()
        if why:
            self._say(why[0].upper() + why[1:] + ".", error=True)
            return None
        return test

    def start(self) -> bool:
        """Start a test of the project as it is now; False (the reason shown) when it cannot."""
        from studio.engine.session import TrainingSession

        if self.running:
            return False
        controller, project = self.bench.controller, self.bench.session.project
        why = (TRAINING_GOING if controller.running else controller.occupied or
               controller.blocking_problem() or refusal(project))
        if why:
            self._say(f"Cannot test: {why}.", error=True)
            return False
        test = self.settings()
        if test is None:
            return False
        self.test, self.points, self.result = test, [], None
        self.session = TrainingSession(project, side_run_config(self.bench), range_test=test)
        self.session.on_arrival = self._arrived.emit
        start_beside_training(controller, self, self.session, RANGE_TEST_GOING)
        self.look.start()
        self._say("Starting the training process\u2026")
        self._draw()
        self._show_state()
        return True

    def request_stop(self) -> None:
        if self.session is not None:
            self.session.request_stop()

    def stop(self) -> None:
        """End the test now (the dialog closes, the window closes)."""
        if self.session is not None and self.session.alive:
            self.session.stop(timeout=STOP_SECONDS)

    def poll(self) -> None:
        session = self.session
        if session is None:
            return
        for event in session.events():
            if isinstance(event, RangePoint):
                self.points.append(event)
            elif isinstance(event, Started):
                self._say(f"Testing on {event.device}: {self.test.steps} steps from "
                          f"{self.test.lr_min:g} to {self.test.lr_max:g}\u2026")
            elif isinstance(event, RangeResult):
                self.result = event
                self._say(self._result_text(event))
            elif isinstance(event, Error):
                self._say(event.message, error=True)
                if event.node:
                    self.bench.select_node(*event.node)
        self._draw()
        if not self.running:
            self._ended()

    def _ended(self) -> None:
        self.look.stop()
        done_beside_training(self.bench.controller, self)
        self._show_state()

    def _result_text(self, result: RangeResult) -> str:
        ended = describe_stop(result.stopped_because, self.test)
        ended = ended[0].upper() + ended[1:]
        if result.suggested is None:
            return f"{ended} before any loss was recorded: no rate to suggest."
        return (f"{ended} after {len(self.points)} steps. Suggested learning rate for "
                f"{'/'.join(result.optimizer)}: {result.suggested:g}, "
                f"{RULES[result.rule]}.")

    def apply(self) -> bool:
        """Set the optimizer's rate to the suggestion: one edit, undone by Ctrl+Z."""
        result = self.result
        if result is None or result.suggested is None:
            return False
        graph, node = result.optimizer
        if not self.bench.editor.set_params(graph, node, {RATE_PARAM: result.suggested},
                                            merge=False):
            self._say(f"Not applied: {'/'.join(result.optimizer)} is no longer in the graph "
                      "or refuses that rate.", error=True)
            return False
        self._say(f"Set {'/'.join(result.optimizer)}'s learning rate to {result.suggested:g} "
                  "(Edit > Undo takes it back).")
        self.bench.status(f"Learning rate of {node} set to {result.suggested:g}", 5000)
        return True

    # drawing ----------------------------------------------------------------------------------
    def _draw(self) -> None:
        rates = [p.lr for p in self.points]
        self.raw_curve.setData(rates, [p.loss if math.isfinite(p.loss) else math.nan
                                       for p in self.points], connect="finite")
        self.smooth_curve.setData(rates, [p.smoothed for p in self.points], connect="finite")
        smoothed = [p.smoothed for p in self.points if math.isfinite(p.smoothed)]
        if smoothed:
            # Up to the smoothed curve's highest: a raw loss that exploded would flatten the
            # rest. Down to the lowest of either, where the raw loss dips below the average.
            low = min(smoothed + [p.loss for p in self.points if math.isfinite(p.loss)])
            high = max(smoothed)
            pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
            self.plot.setXRange(math.log10(self.test.lr_min), math.log10(self.test.lr_max),
                                padding=0.02)
            self.plot.setYRange(low - pad, high + pad, padding=0)
        suggested = self.result.suggested if self.result is not None else None
        self.mark.setVisible(suggested is not None)
        if suggested is not None:
            self.mark.setValue(math.log10(suggested))
            self.mark.label.setFormat(f"{suggested:g}")
        self._show_state()

    def _show_state(self) -> None:
        running = self.running
        self.run_button.setEnabled(not running)
        self.run_button.setText("&Run" if not self.points else "&Run Again")
        self.stop_button.setEnabled(running)
        for field in (self.lowest, self.highest, self.steps):
            field.setEnabled(not running)
        usable = self.result is not None and self.result.suggested is not None
        self.apply_button.setEnabled(usable)
        self.apply_button.setText(f"&Apply {self.result.suggested:g}" if usable else "&Apply")
        self.apply_button.setToolTip(
            f"Set {'/'.join(self.result.optimizer)}'s learning rate to "
            f"{self.result.suggested:g} (one edit: Ctrl+Z undoes it)" if usable else
            "Run the test first")
