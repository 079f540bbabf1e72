"""The sweep dialog's rows of "what varies": each picks a node of the project (a network's too)
and one of its parameters that applies, or its block, or a training setting, and the values
written as ``studio sweep --vary`` takes them (``4,8,16``, ``1..5``, ``log:1e-4..1e-2``).

A row only writes its spec (``conv1.out_channels=4,8``); ``core.sweep.SweepSpace`` checks it, and
the dialog shows the error under the row it names.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.project import INSTANCE, TRAINING_SETTINGS
from studio.core.registry import Values, get_block
from studio.core.sweep import BLOCK, SETTINGS, block_alternatives
from studio.ui import theme

VALUES_HINT = "4,8,16 \u00b7 a range 1..5 \u00b7 a log range log:1e-4..1e-2"
BLOCK_TEXT = "block (swap for\u2026)"
SETTINGS_TEXT = "Training settings"


def targets(project) -> list[tuple[str, tuple | None]]:
    """What a row can vary, as (text, (graph, node) or None for the training settings): the
    training graph's nodes, then each network's, never a network instance (its network's own
    nodes are listed instead)."""
    out: list[tuple[str, tuple | None]] = [(SETTINGS_TEXT, None)]
    for key, graph in [("training", project.training), *project.networks.items()]:
        for node in graph.nodes.values():
            if node.block == INSTANCE:
                continue
            where = node.id if key == SETTINGS else f"{key}/{node.id}"
            out.append((f"{where} ({node.block})", (key, node.id)))
    return out


def fields_of(project, target) -> list[tuple[str, str]]:
    """(field name, text) a target offers: a node's parameters that apply to its values and its
    block; the training settings."""
    if target is None:
        return [(p.name, p.title) for p in TRAINING_SETTINGS]
    key, node_id = target
    graph = project.training if key == SETTINGS else project.networks[key]
    node = graph.nodes[node_id]
    spec = get_block(node.block)
    values = Values({**{p.name: p.default for p in spec.params}, **node.params})
    shown = [(p.name, p.title) for p in spec.params if p.applies_to(values)]
    return [*shown, (BLOCK, BLOCK_TEXT)]


def dimension_name(target, field: str) -> str:
    """The WHAT of ``WHAT=VALUES``: ``conv1.out_channels``, ``Net/conv.kernel_size``,
    ``training.batch_size`` (a training-graph node called ``training`` as ``training/...``)."""
    if target is None:
        return f"{SETTINGS}.{field}"
    key, node_id = target
    if key == SETTINGS and node_id != SETTINGS:
        return f"{node_id}.{field}"
    return f"{key}/{node_id}.{field}"


class VaryRow(QWidget):
    """One thing that varies: target, field, values, a remove button, and its error below."""

    changed = Signal()
    remove_requested = Signal(object)

    def __init__(self, project, parent=None):
        super().__init__(parent)
        self.project = project
        self.target_box = QComboBox()
        self.target_box.setObjectName("sweep_target")
        self.target_box.setToolTip("A node of the project (a network's nodes too), or the "
                                   "training settings")
        self.target_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.targets = targets(project)  # by index: Qt would not keep a tuple as item data
        for text, _target in self.targets:
            self.target_box.addItem(text)
        self.field_box = QComboBox()
        self.field_box.setObjectName("sweep_field")
        self.field_box.setToolTip("The parameter that varies, or the block, swapped for "
                                  "another of its kind that takes the same wires")
        self.field_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.values = QLineEdit()
        self.values.setObjectName("sweep_values")
        self.values.setPlaceholderText(VALUES_HINT)
        self.values.setToolTip("Values as a list (4,8,16), a range (1..5) or a log range "
                               "(log:1e-4..1e-2), as `studio sweep --vary` takes them")
        self.values.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.values.setMinimumWidth(160)
        self.remove = QToolButton()
        self.remove.setObjectName("sweep_remove_row")
        self.remove.setText("\u2212")
        self.remove.setToolTip("Remove this row")
        self.error = QLabel()
        self.error.setObjectName("sweep_row_error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.current().error.name()}")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        grid.addWidget(self.target_box, 0, 0)
        grid.addWidget(self.field_box, 0, 1)
        grid.addWidget(QLabel("="), 0, 2)
        grid.addWidget(self.values, 0, 3)
        grid.addWidget(self.remove, 0, 4)
        grid.addWidget(self.error, 1, 0, 1, 5)
        grid.setColumnStretch(3, 1)
        self.target_box.currentIndexChanged.connect(self._target_chosen)
        self.field_box.currentIndexChanged.connect(self._field_chosen)
        self.values.textChanged.connect(self.changed)
        self.remove.clicked.connect(lambda: self.remove_requested.emit(self))
        self._target_chosen()

    # choosing ---------------------------------------------------------------------------------
    def choose(self, target, field: str, values: str) -> None:
        """Set the row (tests, and the first row the dialog proposes)."""
        self.target_box.setCurrentIndex([t for _, t in self.targets].index(target))
        self.field_box.setCurrentIndex(self.field_box.findData(field))
        self.values.setText(values)

    @property
    def target(self) -> tuple | None:
        """(graph, node id), or None for the training settings."""
        return self.targets[self.target_box.currentIndex()][1]

    @property
    def field(self) -> str | None:
        return self.field_box.currentData()

    def _target_chosen(self) -> None:
        self.field_box.blockSignals(True)
        self.field_box.clear()
        for name, text in fields_of(self.project, self.target):
            self.field_box.addItem(text, name)
        self.field_box.blockSignals(False)
        self._field_chosen()

    def _field_chosen(self) -> None:
        """A block swap proposes the node's block and its alternatives; anything else starts
        empty, with the syntax as the placeholder."""
        if self.field == BLOCK and self.target is not None:
            key, node_id = self.target
            graph = self.project.training if key == SETTINGS else self.project.networks[key]
            blocks = [graph.nodes[node_id].block, *block_alternatives(self.project, key, node_id)]
            self.values.setText(",".join(blocks))
        else:
            self.values.clear()
        self.changed.emit()

    # the spec ---------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return dimension_name(self.target, self.field or "")

    def spec(self) -> str:
        return f"{self.name}={self.values.text().strip()}"

    def show_error(self, text: str | None) -> None:
        self.error.setText(text or "")
        self.error.setVisible(bool(text))


class VaryRows(QWidget):
    """The rows, and the button adding one."""

    changed = Signal()

    def __init__(self, project, parent=None):
        super().__init__(parent)
        self.project = project
        self.rows: list[VaryRow] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.box = QVBoxLayout()
        self.box.setSpacing(6)
        layout.addLayout(self.box)
        self.add_button = QPushButton("&Add What Varies")
        self.add_button.setObjectName("sweep_add_row")
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(lambda: self.add())
        layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)

    def add(self) -> VaryRow:
        row = VaryRow(self.project)
        row.changed.connect(self.changed)
        row.remove_requested.connect(self.remove)
        self.rows.append(row)
        self.box.addWidget(row)
        self.changed.emit()
        return row

    def remove(self, row: VaryRow) -> None:
        self.rows.remove(row)
        row.deleteLater()
        row.hide()
        self.changed.emit()

    def specs(self) -> list[str]:
        return [row.spec() for row in self.rows]

    def row_named_by(self, message: str) -> VaryRow | None:
        """The row a SweepSpace error is about (its message starts with the row's name)."""
        return next((r for r in sorted(self.rows, key=lambda r: -len(r.name))
                     if message.startswith(r.name)), None)

    def set_enabled(self, enabled: bool) -> None:
        for row in self.rows:
            row.setEnabled(enabled)
        self.add_button.setEnabled(enabled)
