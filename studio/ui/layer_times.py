"""Train > Measure Layer Times: each layer's forward time on this machine beside the
multiply-adds the canvas counts for it (the conv-costs lesson's question: does a layer with a
tenth of the multiply-adds take a tenth of the time?).

The measurement runs in a process of its own (``engine/layer_timing_process.py``), so the
window never imports torch; its report comes back as plain data and fills a table: node, block,
counted multiply-adds, measured milliseconds, achieved GMAC/s, and each layer's share of the
multiply-adds beside its share of the time. Double-clicking a row shows its node on the canvas.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from studio.engine.layer_timing import DEFAULT_REPEATS, TimingOptions
from studio.engine.layer_timing_process import TimingProcess
from studio.engine.node_keys import ROOT, NodeKey
from studio.ui.canvas.node_item import compact
from studio.ui.training_guard import TRAINING_GOING, DialogCommand, WorkDialog

ACTION_TIP = ("Measure each layer's forward time on this machine, beside the multiply-adds the "
              "canvas counts for it (runs in a separate process; the weights are untouched)")
INTRO = ("Each layer is called on the inputs one batch of the training data gives it, in eval "
         "mode without gradients, and timed alone: warm-up calls, then the median of repeats "
         "that go round every layer in turn. Counted multiply-adds are per sample, as on the "
         "canvas; GMAC/s is what the layer achieved on the whole batch. Backward too also "
         "times each layer's gradients, in train mode, as a training step computes them.")
TIMING_GOING = "layer times are being measured (Train > Measure Layer Times): wait for them"
HEADERS = ("Node", "Block", "Multiply-adds", "ms", "Backward ms", "Backward/forward", "GMAC/s",
           "MACs share", "Time share")
BACKWARD_COLUMNS = (4, 5)
TIPS = {2: "counted by the block's cost rule, per sample (as on the canvas)",
        3: "measured forward time for the whole batch, per call (the median of the repeats); "
           "a node marked \u00d72 runs twice in one forward",
        4: "measured backward time (its parameters' and inputs' gradients, in train mode), per "
           "call; - where nothing in it needs a gradient",
        5: "how many times its forward's time its backward takes",
        6: "billions of multiply-adds per second the forward achieved on the whole batch",
        7: "the layer's part of the counted multiply-adds of all the layers timed",
        8: "the layer's part of the whole forward's measured time (every call)"}
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class LayerTimes(DialogCommand):
    """The Train menu's action and the one dialog it opens."""

    def __init__(self, bench):
        super().__init__(bench, "Measure La&yer Times\u2026", "measure_layer_times", ACTION_TIP,
                         LayerTimesDialog)


class LayerTimesDialog(WorkDialog):
    _answered = Signal(object, object)  # (report, error), emitted on the process's reader thread

    def __init__(self, bench):
        super().__init__(bench.dialog_parent)
        self.bench = bench
        self.process = None
        self.report = None
        self.setObjectName("layer_times_dialog")
        self.setWindowTitle("Layer Times")
        self.setModal(False)
        self._answered.connect(self._ended, Qt.ConnectionType.QueuedConnection)
        layout = QVBoxLayout(self)
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addLayout(self._settings_row())
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setObjectName("layer_times_table")
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        for column, tip in TIPS.items():
            self.table.horizontalHeaderItem(column).setToolTip(tip)
        self.table.cellDoubleClicked.connect(self._show_node)
        layout.addWidget(self.table, 1)
        self.status = QLabel()
        self.status.setObjectName("layer_times_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox()
        buttons.addButton(QDialogButtonBox.StandardButton.Close).clicked.connect(self.close)
        layout.addWidget(buttons)
        self.resize(760, 480)

    def _settings_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.batch = QSpinBox()
        self.batch.setObjectName("layer_times_batch")
        self.batch.setRange(1, 65536)
        self.batch.setValue(self.bench.session.project.training.settings["batch_size"])
        self.batch.setToolTip("samples per forward (the project's batch size at first)")
        self.repeats = QSpinBox()
        self.repeats.setObjectName("layer_times_repeats")
        self.repeats.setRange(1, 1000)
        self.repeats.setValue(DEFAULT_REPEATS)
        self.repeats.setToolTip("timed repeats per layer; the median is shown")
        for text, widget in (("Batch", self.batch), ("Repeats", self.repeats)):
            row.addWidget(QLabel(text))
            row.addWidget(widget)
        self.backward = QCheckBox("&Backward too")
        self.backward.setObjectName("layer_times_backward")
        self.backward.setToolTip("also time each layer's backward (its parameters' and inputs' "
                                 "gradients, in train mode, as a training step computes them)")
        row.addWidget(self.backward)
        row.addStretch(1)
        self.again = QPushButton("&Measure")
        self.again.setObjectName("layer_times_measure")
        self.again.setAutoDefault(False)
        self.again.clicked.connect(self.start)
        row.addWidget(self.again)
        return row

    @property
    def running(self) -> bool:
        return self.process is not None

    def start(self) -> bool:
        """Measure the project as it is now; False (the reason shown) when it cannot."""
        if self.running:
            return False
        controller = self.bench.controller
        why = (TRAINING_GOING if controller.running else controller.occupied or
               controller.blocking_problem())
        if why:
            self._say(f"Cannot measure: {why}.", error=True)
            return False
        path = self.bench.session.doc.path
        options = TimingOptions(batch=self.batch.value(), repeats=self.repeats.value(),
                                backward=self.backward.isChecked(),
                                data_root=str(Path(path).resolve().parent) if path else None)
        self.process = TimingProcess(self.bench.session.project, options, self._answered.emit)
        controller.occupy(self, TIMING_GOING)  # Train would share the cores and skew both
        self.again.setEnabled(False)
        self._say("Measuring in a separate process (building the networks, then timing each "
                  "layer)\u2026")
        return True

    def stop(self) -> None:
        """End a measurement now (the window closes)."""
        if self.process is not None:
            self.process.stop()

    def _ended(self, report, error) -> None:
        self.process = None
        self.bench.controller.release(self)
        self.again.setEnabled(True)
        if error is not None:
            self._say(f"Cannot measure: {error}", error=True)
            if error.node:
                self.bench.select_node(*error.node)
            return
        self.report = report
        self._fill(report)
        threads = f"{report.threads} thread{'s' if report.threads != 1 else ''}"
        self._say(f"A batch of {report.batch} on {report.device}, {threads}, median of "
                  f"{report.repeats}. The whole forward takes {report.forward_ms:.3f} ms; "
                  f"{report.rest_text()}."
                  + (f" The whole backward takes {report.backward_ms:.3f} ms." if report.backward
                     else ""))

    def _fill(self, report) -> None:
        for column in BACKWARD_COLUMNS:
            self.table.setColumnHidden(column, not report.backward)
        self.table.setRowCount(len(report.layers))
        for row, layer in enumerate(report.layers):
            cells = (layer.label, layer.block, compact(layer.macs), f"{layer.ms:.3f}",
                     *layer.backward_cells(), f"{report.macs_per_second(layer) / 1e9:.2f}",
                     f"{report.macs_share(layer):.1%}", f"{report.share(layer):.1%}")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column >= 2:
                    item.setTextAlignment(RIGHT)
                if column == 2:
                    item.setToolTip(f"{layer.macs:,} multiply-adds per sample")
                self.table.setItem(row, column, item)

    def _show_node(self, row: int, _column: int) -> None:
        if self.report is not None and 0 <= row < len(self.report.layers):
            # a node inside a network instance is shown as the instance that runs it
            self.bench.select_node(ROOT, NodeKey.parse(self.report.layers[row].key).path[0])
