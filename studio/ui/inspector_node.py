"""The inspector's page for one node: its title, one field per parameter under its human label
(only those that apply to its other values, and any with something to say), the output shape
and cost, its other problems, the block's explanation and, for an activation, its plot. A
linked duplicate shows its original's values, read-only, with a way to go there. A layer or a
network instance has a Frozen box: its weights do not train (fine-tuning the rest).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QFormLayout, QLabel, QLineEdit, QPushButton

from studio.core.project import INSTANCE, Network, ProjectError
from studio.core.registry import Values, get_block
from studio.ui import theme
from studio.ui.canvas.node_item import compact
from studio.ui.inspector_instance import InstanceFields
from studio.ui.inspector_page import InspectorPage, dim_label, field_label, html
from studio.ui.param_widgets import ParamEditor

FROZEN_TIP = ("Frozen: no gradient for its parameters and no optimizer updates them, so its "
              "weights stay as loaded while the rest trains (the exported code does the same)")


class NodePage(InspectorPage):
    def __init__(self, session, editor, key, node, open_network, select_node):
        """``open_network(name)`` and ``select_node(key, node_id)`` answer its buttons."""
        super().__init__(session, editor)
        self.key, self.node_id = key, node.id
        self.plot = None
        graph = session.doc.graph(key)
        if node.block == INSTANCE:
            spec = get_block(INSTANCE)
            sub = f"instance of {node.params.get('network')}"
        else:
            spec = get_block(node.block)
            sub = f"{spec.title} \u00b7 {spec.category}"
        self.heading(node.title or node.id, sub)
        source = node
        if node.shares and node.shares in graph.nodes:
            source = graph.nodes[node.shares]
        self.form = self.fields(graph, node, source, spec)
        self.column.addLayout(self.form)
        if source is not node:
            note = QLabel(f"Linked duplicate of <b>{html(source.id)}</b>: it calls the same "
                          "module, so its parameters and weights are that node's.")
            note.setWordWrap(True)
            self.column.addWidget(note)
            button = QPushButton(f"Edit {source.id}")
            button.setToolTip("Select the original node to change both")
            button.clicked.connect(lambda: select_node(key, source.id))
            self.column.addWidget(button)
        if node.block == INSTANCE:
            name = str(node.params.get("network"))
            button = QPushButton(f"Open {name}")
            button.setToolTip(f"Show the network {name} in its tab (or double-click the node)")
            button.clicked.connect(lambda: open_network(name))
            self.column.addWidget(button)
        self.info = QLabel()
        self.info.setTextFormat(Qt.TextFormat.RichText)
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.column.addWidget(self.info)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setTextFormat(Qt.TextFormat.RichText)
        self.column.addWidget(self.problems)
        if node.block != INSTANCE and spec.plot is not None:
            from studio.ui.inspector_plot import ActivationPlot

            self.plot = ActivationPlot(spec)
            self.column.addWidget(self.plot)
            self.plot.show_node(source)
        explanation = dim_label(html(spec.explanation))
        explanation.setObjectName("explanation")
        self.column.addWidget(explanation)
        self.follow_analysis()

    def fields(self, graph, node, source, spec) -> QFormLayout:
        """The title, then the parameters (or the instance's network and arguments)."""
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.title_edit = QLineEdit(node.title)
        self.title_edit.setObjectName("title")
        self.title_edit.setPlaceholderText(node.id)
        self.title_edit.setToolTip("The node's name: shown on the canvas and used for names in "
                                   "the generated code")
        self.title_edit.editingFinished.connect(self.title_done)
        form.addRow(field_label("Title", "The node's name"), self.title_edit)
        self.frozen_box = None
        if (node.block == INSTANCE or spec.module is not None) and not node.shares:
            self.frozen_box = QCheckBox("Frozen: its weights do not train")
            self.frozen_box.setObjectName("frozen")
            self.frozen_box.setToolTip(FROZEN_TIP)
            self.frozen_box.setChecked(node.frozen)
            self.frozen_box.toggled.connect(
                lambda on: self.editor.set_frozen(self.key, self.node_id, on))
            form.addRow(field_label("Frozen", FROZEN_TIP), self.frozen_box)
        if node.block == INSTANCE:
            InstanceFields(self, self.key, node).add_rows(form)
            return form
        args = list(graph.args) if isinstance(graph, Network) else None
        assignment = self.session.project.assignment
        locked = assignment.locked_params(self.key, node.id) if assignment else set()
        lock = assignment.lock_of(self.key, node.id) if assignment else None
        if self.frozen_box is not None and lock is not None and lock.whole:
            self.frozen_box.setEnabled(False)
        for prm in spec.params:
            ed = ParamEditor(prm.name, prm.kind, source.params.get(prm.name, prm.default),
                             prm.help, self.param_setter(source.id, prm.name),
                             self.session.end_merge, args)
            ed.widget.setEnabled(source is node and prm.name not in locked)
            self.editors[prm.name] = ed
            self.add_row(form, prm, ed, locked=prm.name in locked)
        return form

    def param_setter(self, node_id: str, name: str):
        return self.reporting_refusal(name, name, lambda value: self.editor.set_params(
            self.key, node_id, {name: value}, merge=True))

    def title_done(self) -> None:
        node = self.session.doc.graph(self.key).nodes.get(self.node_id)
        text = self.title_edit.text().strip()
        if node is not None and text != node.title:
            self.editor.set_title(self.key, self.node_id, text)

    def leave(self) -> None:
        """A title typed but not confirmed (Enter, or a click elsewhere first) is dropped when
        the selection moves on without that, as the inspector always did."""
        self.title_edit.blockSignals(True)

    # updating ---------------------------------------------------------------------------------
    def follow(self, change) -> None:
        """The node's title and values after an edit (undo included) that touched it."""
        if (self.key, self.node_id) not in change.nodes and not change.wires:
            return
        graph = self.session.doc.graph(self.key)
        node = graph.nodes.get(self.node_id)
        if node is None:
            return
        source = graph.nodes.get(node.shares, node) if node.shares else node
        if not self.title_edit.hasFocus():
            self.title_edit.setText(node.title)
        if self.frozen_box is not None and self.frozen_box.isChecked() != node.frozen:
            self.frozen_box.blockSignals(True)
            self.frozen_box.setChecked(node.frozen)
            self.frozen_box.blockSignals(False)
        for name, ed in self.editors.items():
            if name.startswith("args."):
                given = node.params.get("args") or {}
                if name[5:] in given:
                    ed.set_value(given[name[5:]])
            elif name in source.params:
                ed.set_value(source.params[name])
        self.show_applicable(source)
        if self.plot is not None:
            self.plot.show_node(source)

    def show_applicable(self, node) -> None:
        """Show the fields that apply to the node's values now, and any field with something
        to say (a refused value, a problem), so nothing at fault is ever hidden."""
        if node.block == INSTANCE:
            return
        spec = get_block(node.block)
        values = Values({p.name: node.params.get(p.name, p.default) for p in spec.params})
        for prm in spec.params:
            ed = self.editors.get(prm.name)
            if ed is None:
                continue
            shown = prm.applies_to(values) or bool(ed.message())
            self.form.setRowVisible(ed.widget, shown)
            ed.message_label().setVisible(shown and bool(ed.message()))

    def follow_analysis(self) -> None:
        """Shapes, cost and problems from the session's analysis and verdict."""
        key, node_id = self.key, self.node_id
        row = self.session.analysis.result(key, node_id)
        lines = []
        if row is not None and row.inputs:
            ins = ", ".join(_port(k, row.inputs) + html(_describe(v)) for k, v in row.inputs.items())
            lines.append(f"input {ins}")
        if row is not None and row.outputs:
            outs = ", ".join(_port(k, row.outputs) + f"<b>{html(t.describe())}</b>"
                             for k, t in row.outputs.items())
            lines.append(f"output {outs}")
        if row is not None and row.ok:
            cost = f"{row.params:,} parameters ({compact(row.params)}), {row.macs:,} multiply-adds"
            lines.append(cost + (f", receptive field {row.rf_text}" if row.rf_text else ""))
        self.info.setText("<br>".join(lines) or "<i>shape unknown until the inputs are wired</i>")
        probs = [p for p in self.session.verdict.problems if p.graph == key and p.node == node_id]
        for name, ed in self.editors.items():
            if not name.startswith(("args.", "settings.")):
                ed.show_problem(next((p.message for p in probs if p.field == name), ""))
        probs = [p for p in probs if p.field not in self.editors]  # the rest go below the form
        try:
            graph = self.session.doc.graph(key)
        except ProjectError:
            graph = None  # its network was just removed: the selection follows
        node = graph.nodes.get(node_id) if graph is not None else None
        if node is not None:
            self.show_applicable(graph.nodes.get(node.shares, node) if node.shares else node)
        color = theme.current().error.name()
        self.problems.setText("<br>".join(
            f"<span style='color:{color}'>\u26a0 {('<b>' + html(p.field) + '</b>: ') if p.field else ''}"
            f"{html(p.message)}</span>" for p in probs))
        self.problems.setVisible(bool(probs))


def _port(name: str, ports: dict) -> str:
    """'name: ' before a port's shape, unless it is the only port and plainly named."""
    return "" if len(ports) == 1 and name in ("x", "out") else f"{html(name)}: "


def _describe(v) -> str:
    if isinstance(v, list):
        return " + ".join(t.describe() for t in v)
    return v.describe()
