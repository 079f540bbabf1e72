"""The inspector's pages when no single node is selected: for several nodes their totals, and
for none the graph's, as the status bar and Problems say them, with the training graph's
advanced settings (the Training panel owns those of a run) or a network's arguments.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel

from studio.core.project import RUN_SETTINGS, TRAINING_SETTINGS, Network, ProjectError
from studio.core.verdict import size_text
from studio.ui.inspector_page import InspectorPage, dim_label, html
from studio.ui.param_widgets import ParamEditor


class SelectionPage(InspectorPage):
    """Several nodes selected: what acts on all of them, and their parameters and cost."""

    def __init__(self, session, editor, key, ids):
        super().__init__(session, editor)
        self.column.addWidget(QLabel(f"<b>{len(ids)} nodes selected</b>"))
        hint = QLabel("Drag to move them together. Copy, duplicate, linked duplicate, "
                      "align, make network and delete act on all of them (Edit menu, or "
                      "right-click the canvas).")
        hint.setWordWrap(True)
        self.column.addWidget(hint)
        rows = [r for r in session.analysis.rows if r.graph == key and r.node.id in ids
                and r.depth <= 1]
        params = sum(r.params for r in rows)
        macs = sum(r.macs for r in rows)
        totals = QLabel(f"{params:,} parameters, {macs:,} multiply-adds per sample in the "
                        "selection")
        totals.setObjectName("totals")
        totals.setWordWrap(True)
        self.column.addWidget(totals)


class GraphPage(InspectorPage):
    """Nothing selected: the graph shown on the canvas (``key``), or the training graph when
    that graph is gone."""

    def __init__(self, session, editor, key):
        super().__init__(session, editor)
        self.key = key
        project = session.project
        try:
            graph = session.doc.graph(key)
        except ProjectError:
            key, graph = "training", project.training
        if key == "training":
            self.heading(project.name, "training graph")
        else:
            self.heading(key, "reusable network")
        self.add_totals(key)
        if key == "training":
            self.add_settings(graph)
        elif isinstance(graph, Network) and graph.args:
            dash = " \u2014 "
            lines = "".join(f"<li><b>{html(a.name)}</b> = {html(a.default)}"
                            f"{dash + html(a.help) if a.help else ''}</li>"
                            for a in graph.args.values())
            args = QLabel(f"Arguments (use them in a field as <code>=name</code>):<ul>{lines}</ul>")
            args.setWordWrap(True)
            self.column.addWidget(args)
        self.column.addWidget(dim_label(
            "Select a block to edit it. Drag blocks in from the palette or press Tab on the "
            "canvas; drag from an output port to an input port to wire them."))

    def add_totals(self, key) -> None:
        v = self.session.verdict  # as the status bar and Problems say it
        text = (f"<b>{html(v.params_text)}</b>, <b>{v.total_macs:,}</b> multiply-adds per "
                f"sample; {html(v.summary)}")
        memory = v.memory if key == "training" and v.total_params else None
        if memory is not None:
            text += (f"<br>Memory to train: about {size_text(memory.total)} for a batch of "
                     f"{memory.batch_size:,}")
        totals = QLabel(text)
        totals.setObjectName("totals")
        if memory is not None:
            totals.setToolTip(v.memory_text)
        totals.setWordWrap(True)
        self.column.addWidget(totals)

    def add_settings(self, graph) -> None:
        """The advanced training settings, under a note naming those the Training panel has."""
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        for prm in TRAINING_SETTINGS:
            if prm.name in RUN_SETTINGS:
                continue  # the Training panel's
            ed = ParamEditor(prm.name, prm.kind, graph.settings.get(prm.name, prm.default),
                             prm.help, self.setting_setter(prm.name), self.session.end_merge)
            self.editors[f"settings.{prm.name}"] = ed
            self.add_row(form, prm, ed)
        self.column.addWidget(QLabel("<b>Advanced training settings</b>"))
        owned = [p.title.lower() for p in TRAINING_SETTINGS if p.name in RUN_SETTINGS]
        note = dim_label(f"The dataset, {', '.join(owned[:-1])} and {owned[-1]} are set in the "
                         "Training panel.")
        note.setObjectName("run_settings_note")
        self.column.addWidget(note)
        self.column.addLayout(form)
        self.form = form

    def setting_setter(self, name: str):
        return self.reporting_refusal(name, f"settings.{name}", lambda value: (
            self.editor.set_settings({name: value}, merge=True)))

    def follow(self, change) -> None:
        """The settings' values after an edit of the training graph (undo included)."""
        _, ids = self.session.selection
        if ids or "training" not in change.graphs or self.key != "training":
            return
        settings = self.session.project.training.settings
        for name, ed in self.editors.items():
            ed.set_value(settings.get(name.removeprefix("settings.")))
