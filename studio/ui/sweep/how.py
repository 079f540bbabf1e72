"""The sweep dialog's "How" box: how the trials' values are chosen (grid, random, Bayesian),
how many, the metric that compares them and which way is better, how long each trains,
whether poor trials stop early, and the devices they run on. It says what it holds as the
fields of the engine's ``SweepOptions`` and what is wrong with it, if anything; the dialog
checks the rest (what varies, the project, training going on)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGroupBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout

from studio.ui.sweep.devices import DEVICES_HINT, DevicesError, devices_field, parse_devices

METHODS = {  # engine.sweep's methods, as the menu says them
    "grid": "Grid: every combination",
    "random": "Random search",
    "bayesian": "Bayesian search (TPE)",
}
DIRECTIONS = {None: "by its name", False: "lower is better", True: "higher is better"}
METRICS = ("test_loss", "test_accuracy", "loss")
DEFAULT_STEPS = 200
DEFAULT_TRIALS = 10


class SweepHow(QGroupBox):
    """The controls of how a sweep runs; ``changed`` when one that the checks read moves."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__("How", parent)
        self.method = QComboBox()
        self.method.setObjectName("sweep_method")
        for name, text in METHODS.items():
            self.method.addItem(text, name)
        self.method.setToolTip("How the trials' values are chosen (Optuna's samplers)")
        self.trials = QSpinBox()
        self.trials.setObjectName("sweep_trials")
        self.trials.setRange(1, 10_000)
        self.trials.setValue(DEFAULT_TRIALS)
        self.trials.setSuffix(" trials")
        self.trials.setToolTip("How many trials a random or Bayesian search runs")
        self.grid_count = QLabel()
        self.grid_count.setObjectName("sweep_grid_count")
        self.metric_box = QComboBox()
        self.metric_box.setObjectName("sweep_metric")
        self.metric_box.setEditable(True)
        self.metric_box.addItems(METRICS)
        self.metric_box.setToolTip("What compares the trials: a final evaluation metric "
                                   "(test_accuracy) or a training series (loss)")
        self.direction = QComboBox()
        self.direction.setObjectName("sweep_direction")
        for maximize, text in DIRECTIONS.items():
            self.direction.addItem(text, maximize)
        self.direction.setToolTip("Whether the metric is better higher or lower (by its name: "
                                  "accuracies higher, losses lower)")
        self.length = QSpinBox()
        self.length.setObjectName("sweep_length")
        self.length.setRange(1, 10_000_000)
        self.length.setValue(DEFAULT_STEPS)
        self.length.setToolTip("How long each trial trains")
        self.unit = QComboBox()
        self.unit.setObjectName("sweep_unit")
        self.unit.addItems(["steps", "epochs"])
        self.devices = devices_field()
        self.devices.setMinimumWidth(220)
        self.prune = QCheckBox("Stop poor trials early")
        self.prune.setObjectName("sweep_prune")
        self.prune.setToolTip("Stop a trial doing worse than the median of the trials before it "
                              "at the same point (Optuna's median pruner)")
        self._lay_out()
        self.method.currentIndexChanged.connect(self._method_chosen)
        self.metric_box.currentTextChanged.connect(lambda _text: self.changed.emit())
        self.devices.textChanged.connect(lambda _text: self.changed.emit())
        self._method_chosen()

    def _lay_out(self) -> None:
        row = QHBoxLayout()
        for widget in (self.method, self.trials, self.grid_count):
            row.addWidget(widget)
        row.addSpacing(12)
        for widget in (QLabel("optimise"), self.metric_box, self.direction):
            row.addWidget(widget)
        row.addSpacing(12)
        for widget in (QLabel("each trial"), self.length, self.unit):
            row.addWidget(widget)
        row.addSpacing(12)
        row.addWidget(self.prune)
        row.addStretch(1)
        where = QHBoxLayout()  # a line of its own: the one above fills a 1024-pixel screen
        label = QLabel("&Devices:")
        label.setBuddy(self.devices)
        where.addWidget(label)
        where.addWidget(self.devices)
        hint = QLabel(DEVICES_HINT)
        hint.setObjectName("sweep_devices_hint")
        hint.setEnabled(False)  # dim, as a hint
        hint.setWordWrap(True)
        where.addWidget(hint, 1)
        lines = QVBoxLayout(self)
        lines.addLayout(row)
        lines.addLayout(where)

    @property
    def grid(self) -> bool:
        return self.method.currentData() == "grid"

    def _method_chosen(self) -> None:
        self.trials.setVisible(not self.grid)
        self.grid_count.setVisible(self.grid)
        self.prune.setChecked(not self.grid)  # a grid is an ablation: every cell is wanted whole
        self.changed.emit()

    def show_grid_size(self, size: int) -> None:
        self.grid_count.setText(f"{size} trial{'s' if size != 1 else ''}")

    def problem(self) -> str | None:
        """What keeps these controls from describing a sweep (None: nothing)."""
        if not self.metric_box.currentText().strip():
            return "name the metric to optimise"
        try:
            parse_devices(self.devices.text())
        except DevicesError as err:
            return str(err)
        return None

    def options(self) -> dict:
        """The fields of the engine's SweepOptions these controls say."""
        method = self.method.currentData()
        return dict(method=method, trials=None if self.grid else self.trials.value(),
                    metric=self.metric_box.currentText().strip(),
                    maximize=self.direction.currentData(), prune=self.prune.isChecked(),
                    devices=parse_devices(self.devices.text()),
                    **{self.unit.currentText(): self.length.value()})
