"""The inspector: a form for the selected node, built from its block's declaration.

It shows the node's title, one editor per parameter under its human label (ranges, choices,
check boxes), only the parameters that apply to the node's other values (re-evaluated as they
change), the reason for a refused or inconsistent value in words under its field, the output
shape and cost, the node's other problems, the block's explanation and, for activations, a plot
of the function and its derivative. With nothing selected it shows the verdict's totals and the
advanced training settings (the Training panel owns those of a run). Edits apply at once as
commands; a typing burst on one field is one undo step.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from studio.core.params import ParamError
from studio.core.project import INSTANCE, RUN_SETTINGS, TRAINING_SETTINGS, Network, ProjectError
from studio.core.registry import Values, get_block
from studio.core.verdict import size_text
from studio.ui import theme
from studio.ui.canvas.node_item import compact
from studio.ui.param_widgets import ParamEditor

PLOT_RANGE = 4.0


def _html(text) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Inspector(QScrollArea):
    open_network = Signal(str)
    select_node = Signal(str, str)  # graph key, node id

    def __init__(self, session, editor, parent=None):
        super().__init__(parent)
        self.session, self.editor = session, editor
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setToolTip("")
        self.editors: dict[str, ParamEditor] = {}
        self.form: QFormLayout | None = None  # the rows of the node's parameters
        self.title_edit: QLineEdit | None = None
        self.plot = None
        self._curves = None
        self._for = None  # (graph key, node id) the form was built for
        self.graph_key = "training"
        self._body = None
        session.selection_changed.connect(self.rebuild)
        session.replaced.connect(self.rebuild)
        session.changed.connect(self._changed)
        session.analyzed.connect(self._refresh_info)
        self.rebuild()

    def set_graph(self, key: str) -> None:
        """The graph shown on the canvas (for the form shown when nothing is selected)."""
        if key != self.graph_key:
            self.graph_key = key
            if not self.session.selection[1]:
                self.rebuild()

    # building -------------------------------------------------------------------------------------
    def _start(self) -> QVBoxLayout:
        self.editors = {}
        self.form = None
        self.title_edit = None
        self.plot = None
        self._curves = None
        self._info = None
        self._problems = None
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.setSpacing(8)
        self._body = body
        return layout

    def _finish(self, layout) -> None:
        layout.addStretch(1)
        old = self.takeWidget()
        self.setWidget(self._body)
        if old is not None:
            old.deleteLater()

    def rebuild(self) -> None:
        picked = self.session.selected_node
        key, ids = self.session.selection
        layout = self._start()
        if picked is not None:
            self._for = (picked[0], picked[1].id)
            self._node_form(layout, *picked)
        elif len(ids) > 1:
            self._for = None
            head = QLabel(f"<b>{len(ids)} nodes selected</b>")
            layout.addWidget(head)
            hint = QLabel("Drag to move them together. Copy, duplicate, linked duplicate, "
                          "align, make network and delete act on all of them (Edit menu, or "
                          "right-click the canvas).")
            hint.setWordWrap(True)
            layout.addWidget(hint)
            self._totals(layout, key, ids)
        else:
            self._for = None
            self._graph_form(layout, self.graph_key)
        self._finish(layout)

    def _heading(self, layout, title: str, sub: str) -> None:
        label = QLabel(f"<span style='font-size:12pt; font-weight:600'>{_html(title)}</span>"
                       f"&nbsp;&nbsp;<span style='color:{theme.current().text_dim.name()}'>"
                       f"{_html(sub)}</span>")
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setWordWrap(True)
        layout.addWidget(label)

    def _node_form(self, layout, key, node) -> None:
        graph = self.session.doc.graph(key)
        if node.block == INSTANCE:
            spec = get_block(INSTANCE)
            sub = f"instance of {node.params.get('network')}"
        else:
            spec = get_block(node.block)
            sub = f"{spec.title} \u00b7 {spec.category}"
        self._heading(layout, node.title or node.id, sub)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.title_edit = QLineEdit(node.title)
        self.title_edit.setObjectName("title")
        self.title_edit.setPlaceholderText(node.id)
        self.title_edit.setToolTip("The node's name: shown on the canvas and used for names in "
                                   "the generated code")
        self.title_edit.editingFinished.connect(self._title_done)
        form.addRow(self._label("Title", "The node's name"), self.title_edit)
        source = node
        if node.shares and node.shares in graph.nodes:
            source = graph.nodes[node.shares]
        args = list(graph.args) if isinstance(graph, Network) else None
        if node.block == INSTANCE:
            self._instance_rows(form, key, node)
        else:
            for prm in spec.params:
                ed = ParamEditor(prm.name, prm.kind, source.params.get(prm.name, prm.default),
                                 prm.help, self._edit_callback(key, source.id, prm.name),
                                 self.session.end_merge, args)
                ed.widget.setEnabled(source is node)
                self.editors[prm.name] = ed
                self._add_row(form, prm, ed)
        self.form = form
        layout.addLayout(form)
        if source is not node:
            note = QLabel(f"Linked duplicate of <b>{_html(source.id)}</b>: it calls the same "
                          "module, so its parameters and weights are that node's.")
            note.setWordWrap(True)
            layout.addWidget(note)
            button = QPushButton(f"Edit {source.id}")
            button.setToolTip("Select the original node to change both")
            button.clicked.connect(lambda: self.select_node.emit(key, source.id))
            layout.addWidget(button)
        if node.block == INSTANCE:
            name = str(node.params.get("network"))
            button = QPushButton(f"Open {name}")
            button.setToolTip(f"Show the network {name} in its tab (or double-click the node)")
            button.clicked.connect(lambda: self.open_network.emit(name))
            layout.addWidget(button)
        self._info = QLabel()
        self._info.setTextFormat(Qt.TextFormat.RichText)
        self._info.setWordWrap(True)
        self._info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self._info)
        self._problems = QLabel()
        self._problems.setWordWrap(True)
        self._problems.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self._problems)
        if node.block != INSTANCE and spec.plot is not None:
            self._make_plot(layout, spec, source)
        text = spec.explanation if node.block != INSTANCE else spec.explanation
        explanation = QLabel(_html(text))
        explanation.setWordWrap(True)
        explanation.setObjectName("explanation")
        explanation.setStyleSheet(f"color: {theme.current().text_dim.name()}")
        layout.addWidget(explanation)
        self._refresh_info()

    def _instance_rows(self, form, key, node) -> None:
        from studio.core.params import Choice

        networks = tuple(self.session.project.networks)
        current = node.params.get("network")
        options = networks if current in networks else networks + (current,)
        ed = ParamEditor("network", Choice(options), current, "the network to instantiate",
                         self._edit_callback(key, node.id, "network"), self.session.end_merge)
        self.editors["network"] = ed
        form.addRow(self._label("Network", "the network this node is an instance of"), ed.widget)
        form.addRow(ed.message_label())
        net = self.session.project.networks.get(current)
        if net is None:
            return
        given = dict(node.params.get("args") or {})
        outer = self.session.doc.graph(key)
        outer_args = list(outer.args) if isinstance(outer, Network) else None
        for name, decl in net.args.items():
            ed = ParamEditor(name, decl.kind, given.get(name, decl.default), decl.help or
                             f"argument of {net.name}", self._arg_callback(key, node.id, name),
                             self.session.end_merge, outer_args)
            self.editors[f"args.{name}"] = ed
            form.addRow(self._label(name, decl.help or f"argument {name} of {net.name}"), ed.widget)
            form.addRow(ed.message_label())

    def _label(self, name, help) -> QLabel:
        label = QLabel(name)
        label.setToolTip(help)
        return label

    def _add_row(self, form: QFormLayout, prm, ed: ParamEditor) -> None:
        """The field under its human label, and below it the reason its value is refused."""
        label = self._label(prm.title, f"{prm.name}: {prm.help}")
        label.setObjectName(f"label_{prm.name}")
        form.addRow(label, ed.widget)
        form.addRow(ed.message_label())

    def _edit_callback(self, key, node_id, name):
        def edit(value):
            refused = []
            self.session.message.connect(refused.append)
            try:
                ok = self.editor.set_params(key, node_id, {name: value}, merge=True)
            finally:
                self.session.message.disconnect(refused.append)
            ed = self.editors.get(name)
            if ed is not None:
                ed.show_error("" if ok else _reason(refused, name))
        return edit

    def _arg_callback(self, key, node_id, name):
        def edit(value):
            node = self.session.doc.graph(key).nodes.get(node_id)
            if node is None:
                return
            args = dict(node.params.get("args") or {})
            args[name] = value
            self.editor.set_params(key, node_id, {"args": args}, merge=True)
        return edit

    def _title_done(self) -> None:
        if self._for is None or self.title_edit is None:
            return
        key, node_id = self._for
        node = self.session.doc.graph(key).nodes.get(node_id)
        text = self.title_edit.text().strip()
        if node is not None and text != node.title:
            self.editor.set_title(key, node_id, text)

    # the form when nothing is selected --------------------------------------------------------------
    def _graph_form(self, layout, key) -> None:
        project = self.session.project
        try:
            graph = self.session.doc.graph(key)
        except ProjectError:
            key, graph = "training", project.training
        if key == "training":
            self._heading(layout, project.name, "training graph")
        else:
            self._heading(layout, key, "reusable network")
        self._totals(layout, key, None)
        if key == "training":
            form = QFormLayout()
            form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
            for prm in TRAINING_SETTINGS:
                if prm.name in RUN_SETTINGS:
                    continue  # the Training panel's
                ed = ParamEditor(prm.name, prm.kind, graph.settings.get(prm.name, prm.default),
                                 prm.help, self._setting_callback(prm.name), self.session.end_merge)
                self.editors[f"settings.{prm.name}"] = ed
                self._add_row(form, prm, ed)
            title = QLabel("<b>Advanced training settings</b>")
            layout.addWidget(title)
            owned = [p.title.lower() for p in TRAINING_SETTINGS if p.name in RUN_SETTINGS]
            note = QLabel(f"The dataset, {', '.join(owned[:-1])} and {owned[-1]} are set in the "
                          "Training panel.")
            note.setObjectName("run_settings_note")
            note.setWordWrap(True)
            note.setStyleSheet(f"color: {theme.current().text_dim.name()}")
            layout.addWidget(note)
            layout.addLayout(form)
            self.form = form
        elif isinstance(graph, Network) and graph.args:
            dash = " \u2014 "
            lines = "".join(f"<li><b>{_html(a.name)}</b> = {_html(a.default)}"
                            f"{dash + _html(a.help) if a.help else ''}</li>"
                            for a in graph.args.values())
            args = QLabel(f"Arguments (use them in a field as <code>=name</code>):<ul>{lines}</ul>")
            args.setWordWrap(True)
            layout.addWidget(args)
        hint = QLabel("Select a block to edit it. Drag blocks in from the palette or press Tab "
                      "on the canvas; drag from an output port to an input port to wire them.")
        hint.setWordWrap(True)
        hint.setStyleSheet(f"color: {theme.current().text_dim.name()}")
        layout.addWidget(hint)

    def _setting_callback(self, name):
        def edit(value):
            refused = []
            self.session.message.connect(refused.append)
            try:
                ok = self.editor.set_settings({name: value}, merge=True)
            finally:
                self.session.message.disconnect(refused.append)
            ed = self.editors.get(f"settings.{name}")
            if ed is not None:
                ed.show_error("" if ok else _reason(refused, name))
        return edit

    def _totals(self, layout, key, ids) -> None:
        a = self.session.analysis
        memory = None
        if ids:
            rows = [r for r in a.rows if r.graph == key and r.node.id in ids and r.depth <= 1]
            params = sum(r.params for r in rows)
            macs = sum(r.macs for r in rows)
            text = f"{params:,} parameters, {macs:,} multiply-adds per sample in the selection"
        else:
            v = self.session.verdict  # as the status bar and Problems say it
            text = (f"<b>{_html(v.params_text)}</b>, <b>{v.total_macs:,}</b> multiply-adds per "
                    f"sample; {_html(v.summary)}")
            memory = v.memory if key == "training" and v.total_params else None
            if memory is not None:
                text += (f"<br>Memory to train: about {size_text(memory.total)} for a batch of "
                         f"{memory.batch_size:,}")
        self._info = QLabel(text)
        self._info.setObjectName("totals")
        if memory is not None:
            self._info.setToolTip(self.session.verdict.memory_text)
        self._info.setWordWrap(True)
        layout.addWidget(self._info)

    # updating ---------------------------------------------------------------------------------------
    def _changed(self, change) -> None:
        if self._for is None:
            key, ids = self.session.selection
            if not ids and "training" in change.graphs and self.graph_key == "training":
                settings = self.session.project.training.settings
                for name, ed in self.editors.items():
                    if name.startswith("settings."):
                        ed.set_value(settings.get(name[9:]))
            if change.structure:
                self.rebuild()
            return
        key, node_id = self._for
        if change.structure:
            self.rebuild()
            return
        if (key, node_id) not in change.nodes and not change.wires:
            return
        graph = self.session.doc.graph(key)
        node = graph.nodes.get(node_id)
        if node is None:
            return
        source = graph.nodes.get(node.shares, node) if node.shares else node
        if self.title_edit is not None and not self.title_edit.hasFocus():
            self.title_edit.setText(node.title)
        for name, ed in self.editors.items():
            if name.startswith("args."):
                given = node.params.get("args") or {}
                if name[5:] in given:
                    ed.set_value(given[name[5:]])
            elif name in source.params:
                ed.set_value(source.params[name])
        self._show_applicable(source)
        self._update_plot(source)

    def _show_applicable(self, node) -> None:
        """Show the fields that apply to the node's values now, and any field with something
        to say (a refused value, a problem), so nothing at fault is ever hidden."""
        if self.form is None or node.block == INSTANCE:
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

    def shown_fields(self) -> list[str]:
        """The labels of the fields shown, in order (what a user reads)."""
        if self.form is None:
            return []
        out = []
        for ed in self.editors.values():
            label = self.form.labelForField(ed.widget)
            if label is not None and ed.widget.isVisibleTo(self) and label.isVisibleTo(self):
                out.append(label.text())
        return out

    def _refresh_info(self) -> None:
        if self._for is None:
            return
        key, node_id = self._for
        if self._info is None:
            return
        row = self.session.analysis.result(key, node_id)
        lines = []
        if row is not None and row.inputs:
            ins = ", ".join(_port(k, row.inputs) + _html(_describe(v)) for k, v in row.inputs.items())
            lines.append(f"input {ins}")
        if row is not None and row.outputs:
            outs = ", ".join(_port(k, row.outputs) + f"<b>{_html(t.describe())}</b>"
                             for k, t in row.outputs.items())
            lines.append(f"output {outs}")
        if row is not None and row.ok:
            cost = f"{row.params:,} parameters ({compact(row.params)}), {row.macs:,} multiply-adds"
            lines.append(cost + (f", receptive field {row.rf_text}" if row.rf_text else ""))
        self._info.setText("<br>".join(lines) or "<i>shape unknown until the inputs are wired</i>")
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
            self._show_applicable(graph.nodes.get(node.shares, node) if node.shares else node)
        color = theme.current().error.name()
        self._problems.setText("<br>".join(
            f"<span style='color:{color}'>\u26a0 {('<b>' + _html(p.field) + '</b>: ') if p.field else ''}"
            f"{_html(p.message)}</span>" for p in probs))
        self._problems.setVisible(bool(probs))

    # activation plot --------------------------------------------------------------------------------
    def _make_plot(self, layout, spec, node) -> None:
        import pyqtgraph as pg

        t = theme.current()
        plot = pg.PlotWidget()
        plot.setObjectName("activation_plot")
        plot.setBackground(t.node)
        plot.setMinimumHeight(170)
        plot.setMaximumHeight(200)
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.addLegend(offset=(8, 8), labelTextColor=t.text, labelTextSize="8pt")
        for axis in ("left", "bottom"):
            plot.getAxis(axis).setTextPen(t.text_dim)
            plot.getAxis(axis).setPen(t.node_border)
        color = t.category("activation")
        f = plot.plot([], [], pen=pg.mkPen(color, width=2.2), name=f"{spec.id}(x)")
        d = plot.plot([], [], pen=pg.mkPen(t.text_dim, width=1.6, style=Qt.PenStyle.DashLine),
                      name="derivative")
        plot.setToolTip(f"{spec.title} (solid) and its derivative (dashed) on "
                        f"[{-PLOT_RANGE:g}, {PLOT_RANGE:g}]")
        self.plot, self._curves, self._plot_fn = plot, (f, d), spec.plot.curve
        layout.addWidget(plot)
        self._update_plot(node)

    def _update_plot(self, node) -> None:
        if self.plot is None:
            return
        x = np.linspace(-PLOT_RANGE, PLOT_RANGE, 801)
        try:
            spec = get_block(node.block)
            values = Values({p.name: node.params.get(p.name, p.default) for p in spec.params})
            with np.errstate(all="ignore"):
                y = np.asarray(self._plot_fn(x, values), dtype=float)
                dy = np.gradient(y, x)
        except (ValueError, TypeError, ArithmeticError, ParamError, AttributeError):
            return
        ok = np.isfinite(y) & np.isfinite(dy)
        self._curves[0].setData(x[ok], y[ok])
        self._curves[1].setData(x[ok], dy[ok])

    def plot_data(self):
        """(x, f(x)) and (x, f'(x)) as drawn (tests read them)."""
        if self._curves is None:
            return None
        return self._curves[0].getData(), self._curves[1].getData()


def _reason(messages: list, name: str) -> str:
    """Why an edit was refused, in words, from the session's message ('Not done: ...')."""
    text = messages[-1].removeprefix("Not done: ") if messages else "the value was refused"
    _, sep, rest = text.partition(f"{name}: ")
    text = rest if sep else text
    return text[:1].upper() + text[1:]


def _port(name: str, ports: dict) -> str:
    """'name: ' before a port's shape, unless it is the only port and plainly named."""
    return "" if len(ports) == 1 and name in ("x", "out") else f"{_html(name)}: "


def _describe(v) -> str:
    if isinstance(v, list):
        return " + ".join(t.describe() for t in v)
    return v.describe()
