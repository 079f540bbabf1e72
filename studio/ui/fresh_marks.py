"""The nodes a run re-initialized, shown: after a run that loaded weights (Continue Training
after an edit, Train > Load Weights) reports the nodes whose tensors did not fit, the status bar
names them and each gets a small mark on the canvas (``NodeItem.set_fresh_mark``) with the
reason in its tooltip, in its own graph and on the instances that run it. The marks go at the
next edit or the next run.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from studio.engine.node_keys import NodeKey
from studio.ui.dashboard.health import resolve_node

STATUS_MS = 15_000


class FreshMarks(QObject):
    def __init__(self, controller, editing, tabs, status, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.editing = editing
        self.tabs = tabs
        self.status = status
        self.marks: dict = {}  # graph key -> {node id: why}
        controller.weights_fitted.connect(self.show)
        controller.state_changed.connect(self._state_changed)
        editing.changed.connect(lambda _change: self.clear())
        editing.replaced.connect(self.clear)

    def show(self, report) -> None:
        """Mark the nodes ``report`` (an events.WeightsFitted) re-initialized, and say so."""
        self.marks = marks_of(self.editing.project, report)
        self._draw()
        fresh = report.reinitialized
        if fresh:
            names = ", ".join(NodeKey.parse(k).label for k in fresh)
            self.status(f"Loaded the weights that fit from {report.source}; started afresh: "
                        f"{names} (marked \u21ba on the canvas)", STATUS_MS)
        else:
            self.status(f"Loaded every weight from {report.source}", STATUS_MS)

    def clear(self) -> None:
        if self.marks:
            self.marks = {}
            self._draw()

    def _state_changed(self, state: str) -> None:
        if state == "starting":
            self.clear()

    def _draw(self) -> None:
        for key, view in self.tabs.views.items():
            found = self.marks.get(key, {})
            for node_id, item in view.scene().nodes.items():
                item.set_fresh_mark(found.get(node_id))


def marks_of(project, report) -> dict:
    """graph key -> {node id: why it started afresh} for the nodes of ``report`` that the
    project still has, and for the instances on the way to a node inside a network."""
    out: dict = {}
    for key in report.reinitialized:
        why = "; ".join(
            [f"{name} is {theirs} in {report.source}, {ours} here"
             for name, theirs, ours in report.refused.get(key, [])]
            + ([f"{report.source} has no {', '.join(report.missing[key])}"]
               if key in report.missing else []))
        found = resolve_node(project, key)
        if found is None:
            continue
        (graph, node_id), containers, _ = found
        out.setdefault(graph, {})[node_id] = why
        for graph_key, instance, inner in containers:
            notes = out.setdefault(graph_key, {})
            note = f"{inner}: {why}"
            notes[instance] = f"{notes[instance]}; {note}" if instance in notes else note
    return out
