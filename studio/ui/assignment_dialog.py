"""File > Save as Assignment...: the teacher's side of an assignment.

A small dialog over the open project: a title and instructions, the goals to set (a parameter
or multiply-add budget, an output shape at a node, held-out accuracy within some epochs, a skip
connection), the nodes to lock (the selected ones are ticked to begin with) and, optionally,
the only blocks a student may add. Save writes a copy of the project with the assignment
(``core/assignment.py``) to a file of its own; the open project stays as it is.
"""

from __future__ import annotations

import copy
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
)

from studio.core import fileformat
from studio.core.assignment import Assignment, Lock
from studio.core.goals import Accuracy, MaxMacs, MaxParams, OutputShape, SkipConnection
from studio.core.project import ProjectError
from studio.core.registry import all_blocks

MAX_SPIN = 2_000_000_000


class AssignmentDialog(QDialog):
    def __init__(self, bench, selection=("training", [])):
        super().__init__(bench.dialog_parent)
        self.bench, self.session = bench, bench.session
        project, verdict = self.session.project, self.session.verdict
        self.setObjectName("assignment_dialog")
        self.setWindowTitle("Save as Assignment")
        self.title = QLineEdit(project.name)
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("What the student should do (Markdown)")
        self.text.setMaximumHeight(80)
        form = QFormLayout()
        form.addRow("Title", self.title)
        form.addRow("Instructions", self.text)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self._goals(project, verdict))
        lists = QHBoxLayout()
        lists.addWidget(self._locks(project, selection), 1)
        lists.addWidget(self._palette(project), 1)
        layout.addLayout(lists, 1)
        self.error = QLabel()
        self.error.setObjectName("assignment_error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save |
                                   QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save_dialog)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    # the parts --------------------------------------------------------------------------------
    def _goals(self, project, verdict) -> QGroupBox:
        box = QGroupBox("Goals")
        grid = QGridLayout(box)
        self.use_params = QCheckBox("At most this many parameters")
        self.params = _spin(max(verdict.total_params, 1))
        self.use_macs = QCheckBox("At most this many multiply-adds per sample")
        self.macs = _spin(max(verdict.total_macs, 1))
        self.use_shape = QCheckBox("Output shape of a node")
        self.shape_node = QComboBox()
        self.shape_node.addItems(list(project.training.nodes))
        self.shape = QLineEdit()
        self.shape.setPlaceholderText("e.g. 10 or 16 x 8 x 8")
        self.shape_node.currentTextChanged.connect(self._show_shape)
        self.use_accuracy = QCheckBox("Held-out accuracy (%) within epochs")
        self.percent = QDoubleSpinBox()
        self.percent.setRange(0.0, 100.0)
        self.percent.setValue(90.0)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 1_000_000)
        self.epochs.setValue(max(int(project.training.settings["epochs"]), 1))
        self.use_skip = QCheckBox("Must use a skip connection (a layer taking a node's output "
                                  "and that of a layer after it)")
        rows = [(self.use_params, self.params), (self.use_macs, self.macs),
                (self.use_shape, self.shape_node, self.shape),
                (self.use_accuracy, self.percent, self.epochs), (self.use_skip,)]
        for r, widgets in enumerate(rows):
            for c, widget in enumerate(widgets):
                grid.addWidget(widget, r, c, 1, 3 if len(widgets) == 1 else 1)
        self._show_shape(self.shape_node.currentText())
        return box

    def _locks(self, project, selection) -> QGroupBox:
        box = QGroupBox("Locked nodes (cannot be moved, deleted, rewired or changed)")
        self.lock_list = QListWidget()
        self.lock_list.setObjectName("lock_list")
        key, chosen = selection
        for graph_key, graph in project.graphs():
            for node_id in graph.nodes:
                name = node_id if graph_key == "training" else f"{graph_key}/{node_id}"
                item = QListWidgetItem(name)
                item.setData(Qt.ItemDataRole.UserRole, (graph_key, node_id))
                item.setCheckState(Qt.CheckState.Checked if graph_key == key and node_id in chosen
                                   else Qt.CheckState.Unchecked)
                self.lock_list.addItem(item)
        self.param_locks = QLineEdit()
        self.param_locks.setObjectName("param_locks")
        self.param_locks.setPlaceholderText("Only some parameters: fc3.out_features, ...")
        self.param_locks.setToolTip("Parameters that cannot change, as node.parameter, "
                                    "separated by commas (the rest of the node stays editable)")
        column = QVBoxLayout(box)
        column.addWidget(self.lock_list)
        column.addWidget(self.param_locks)
        return box

    def _param_locks(self, whole: set) -> list[Lock]:
        """The locks 'fc3.out_features, conv1.kernel_size' asks for, by node."""
        wanted: dict = {}
        graph = self.session.project.training
        for entry in filter(None, (e.strip() for e in self.param_locks.text().split(","))):
            node_id, _, name = entry.partition(".")
            node = graph.nodes.get(node_id)
            if node is None or name not in node.params:
                raise ValueError(f"{entry!r} is not a node.parameter of the training graph")
            if ("training", node_id) not in whole:
                wanted.setdefault(node_id, []).append(name)
        return [Lock("training", node_id, tuple(names)) for node_id, names in wanted.items()]

    def _palette(self, project) -> QGroupBox:
        box = QGroupBox("Only these blocks may be added")
        box.setCheckable(True)
        box.setChecked(False)
        self.palette_box = box
        self.block_list = QListWidget()
        self.block_list.setObjectName("block_list")
        used = {n.block for _, g in project.graphs() for n in g.nodes.values()}
        for spec in all_blocks():
            item = QListWidgetItem(spec.id)
            item.setCheckState(Qt.CheckState.Checked if spec.id in used
                               else Qt.CheckState.Unchecked)
            self.block_list.addItem(item)
        QVBoxLayout(box).addWidget(self.block_list)
        return box

    def _show_shape(self, node_id: str) -> None:
        row = self.session.analysis.result("training", node_id)
        if row is not None and row.outputs:
            self.shape.setText(" x ".join(str(d) for d in next(iter(row.outputs.values())).shape))

    # the assignment ---------------------------------------------------------------------------
    def assignment(self) -> Assignment:
        """The assignment the dialog describes; ValueError saying what is wrong."""
        goals = []
        if self.use_params.isChecked():
            goals.append(MaxParams(self.params.value()))
        if self.use_macs.isChecked():
            goals.append(MaxMacs(self.macs.value()))
        if self.use_shape.isChecked():
            try:
                shape = tuple(int(d) for d in self.shape.text().replace("x", " ").split())
            except ValueError:
                raise ValueError(f"the output shape {self.shape.text()!r} is not sizes such as "
                                 "16 x 8 x 8") from None
            if not shape or min(shape) < 1:
                raise ValueError("the output shape needs at least one size of 1 or more")
            goals.append(OutputShape("training", self.shape_node.currentText(), shape))
        if self.use_accuracy.isChecked():
            goals.append(Accuracy(round(self.percent.value(), 2), self.epochs.value()))
        if self.use_skip.isChecked():
            goals.append(SkipConnection())
        locks = [Lock(*self.lock_list.item(i).data(Qt.ItemDataRole.UserRole))
                 for i in range(self.lock_list.count())
                 if self.lock_list.item(i).checkState() == Qt.CheckState.Checked]
        locks += self._param_locks({(lock.graph, lock.node) for lock in locks})
        palette = None
        if self.palette_box.isChecked():
            palette = tuple(self.block_list.item(i).text() for i in range(self.block_list.count())
                            if self.block_list.item(i).checkState() == Qt.CheckState.Checked)
        if not goals and not locks and palette is None:
            raise ValueError("set a goal, lock a node or restrict the blocks first")
        return Assignment(self.title.text().strip()[:200], self.text.toPlainText(),
                          tuple(locks), palette, tuple(goals))

    def save_to(self, path) -> bool:
        """Write a copy of the project with the assignment to ``path``; False after saying
        why not under the lists."""
        try:
            assignment = self.assignment()
            project = copy.deepcopy(self.session.project)
            project.assignment = assignment.bind(project)
            fileformat.save(project, path)
        except (ValueError, ProjectError, OSError) as err:
            self.error.setText(f"Not saved: {err}")
            return False
        self.bench.status(f"Saved the assignment {Path(path).name}: open it to work on it as a "
                          "student would", 10000)
        return True

    def save_dialog(self) -> None:
        start = str(Path(self.session.doc.path or self.session.project.name).with_suffix("")) \
            + "-assignment" + fileformat.SUFFIX
        path, _ = QFileDialog.getSaveFileName(self, "Save assignment", start,
                                              "Studio projects (*.studio)")
        if path and self.save_to(path if path.endswith(fileformat.SUFFIX)
                                 else path + fileformat.SUFFIX):
            self.accept()


def _spin(value: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(0, MAX_SPIN)
    spin.setGroupSeparatorShown(True)
    spin.setValue(min(value, MAX_SPIN))
    return spin
