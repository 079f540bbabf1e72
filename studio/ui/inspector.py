"""The inspector: a form for the selected node, built from its block's declaration.

It shows the node's title, one editor per parameter under its human label (ranges, choices,
check boxes), only the parameters that apply to the node's other values (re-evaluated as they
change), the reason for a refused or inconsistent value in words under its field, the output
shape and cost, the node's other problems, the block's explanation and, for activations, a plot
of the function and its derivative (``inspector_node``, ``inspector_instance``,
``inspector_plot``). With nothing selected it shows the verdict's totals and the advanced
training settings (the Training panel owns those of a run; ``inspector_graph``). Edits apply
at once as commands; a typing burst on one field is one undo step.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QScrollArea

from studio.ui.inspector_graph import GraphPage, SelectionPage
from studio.ui.inspector_node import NodePage
from studio.ui.inspector_page import InspectorPage


class Inspector(QScrollArea):
    """Shows the page for the session's selection, rebuilt when the selection or the graph's
    structure changes, and kept up to date by edits and analyses in between."""

    open_network = Signal(str)
    select_node = Signal(str, str)  # graph key, node id

    def __init__(self, session, editor, parent=None):
        super().__init__(parent)
        self.session, self.editor = session, editor
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setToolTip("")
        self.graph_key = "training"
        self.page: InspectorPage | None = None
        session.selection_changed.connect(self.rebuild)
        session.replaced.connect(self.rebuild)
        session.changed.connect(self._changed)
        session.analyzed.connect(self._analyzed)
        self.rebuild()

    @property
    def editors(self) -> dict:
        """The page's fields by name: a parameter's, ``args.NAME``, ``settings.NAME``."""
        return self.page.editors

    @property
    def title_edit(self):
        """The selected node's title field, or None."""
        return getattr(self.page, "title_edit", None)

    @property
    def plot(self):
        """The selected activation's plot, or None."""
        return getattr(self.page, "plot", None)

    def set_graph(self, key: str) -> None:
        """The graph shown on the canvas (for the form shown when nothing is selected)."""
        if key != self.graph_key:
            self.graph_key = key
            if not self.session.selection[1]:
                self.rebuild()

    def rebuild(self) -> None:
        picked = self.session.selected_node
        key, ids = self.session.selection
        if picked is not None:
            page = NodePage(self.session, self.editor, *picked, self.open_network.emit,
                            self.select_node.emit)
        elif len(ids) > 1:
            page = SelectionPage(self.session, self.editor, key, ids)
        else:
            page = GraphPage(self.session, self.editor, self.graph_key)
        page.column.addStretch(1)
        if self.page is not None:
            self.page.leave()
        old = self.takeWidget()
        self.page = page
        self.setWidget(page)
        if old is not None:
            old.deleteLater()

    def _changed(self, change) -> None:
        if change.structure:
            self.rebuild()
        else:
            self.page.follow(change)

    def _analyzed(self) -> None:
        self.page.follow_analysis()

    def shown_fields(self) -> list[str]:
        """The labels of the fields shown, in order (what a user reads)."""
        form = self.page.form
        if form is None:
            return []
        out = []
        for ed in self.editors.values():
            label = form.labelForField(ed.widget)
            if label is not None and ed.widget.isVisibleTo(self) and label.isVisibleTo(self):
                out.append(label.text())
        return out

    def plot_data(self):
        """(x, f(x)) and (x, f'(x)) as drawn (tests read them)."""
        return self.plot.drawn() if self.plot is not None else None
