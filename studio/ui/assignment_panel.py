"""The Assignment panel beside the canvas: the open assignment's goals and their state, live.

A project that carries an assignment (``core/assignment.py``) shows the panel when it opens:
its title, its instructions, and one row per goal marked met, not met or unknown with the
reason, judged again after every edit from the session's analysis. After a training run the
accuracy goal reads the run's held-out evaluations (epochs from its steps), until the graph is
edited. The panel also restricts the palette (and so quick add) to the blocks the assignment
allows. File > Save as Assignment... (``assignment_dialog.py``) is the teacher's side.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QTextBrowser, QVBoxLayout, QWidget

from studio.core import fileformat
from studio.core.goals import MET, NOT_MET, GoalState, Trained
from studio.ui import theme
from studio.ui.actions import command_action
from studio.ui.inspector_page import html

TIP = "The assignment's goals: met, not met, or unknown until trained, and why"
MARKS = {MET: "\u2714", NOT_MET: "\u2718"}  # anything else: unknown
FINAL_STATES = ("finished", "stopped")


class AssignmentPanel(QWidget):
    """The title, the instructions, and a row per goal (mark, goal, why)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel()
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.summary = QLabel()
        self.summary.setObjectName("assignment_summary")
        self.goals = QTextBrowser()  # scrolls rather than squeezing rows on a short screen
        self.goals.setObjectName("assignment_goals")
        self.goals.setToolTip(TIP)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.summary)
        layout.addWidget(self.goals, 2)
        layout.addWidget(self.text, 1)
        self.states: list[GoalState] = []
        self.rules = ""

    def show_assignment(self, assignment) -> None:
        self.title.setText(assignment.title or "Assignment")
        self.rules = rules_text(assignment)
        self.text.setMarkdown(assignment.text)
        self.text.setVisible(bool(assignment.text))

    def show_states(self, states: list[GoalState]) -> None:
        """One paragraph per goal: its mark and the goal in bold, the reason under it; then
        what is locked and the blocks allowed."""
        self.states = list(states)
        colors = theme.current()
        color = {MET: colors.health_colour("ok"), NOT_MET: colors.error}
        rows = []
        for state in states:
            tint = color.get(state.state)
            style = f" style='color:{tint.name()}'" if tint is not None else ""
            rows.append(f"<p style='margin:0 0 5px 0'><span{style}><b>{MARKS.get(state.state, '?')} "
                        f"{html(state.goal.describe())}</b></span><br>{html(state.why)}</p>")
        rows.append(f"<p style='margin:0; color:{colors.text_dim.name()}'>{html(self.rules)}</p>")
        bar = self.goals.verticalScrollBar()
        kept = bar.value()
        self.goals.setHtml("".join(rows))
        bar.setValue(kept)
        met = sum(s.state == MET for s in states)
        self.summary.setText(f"{met} of {len(states)} goals met" if states else "No goals")

    def row_texts(self) -> list[str]:
        """What each row says, 'mark goal\nwhy' (tests and scenarios read it)."""
        return [f"{MARKS.get(s.state, '?')} {s.goal.describe()}\n{s.why}" for s in self.states]


class Assignments(QObject):
    """Follows the session: shows the panel for a project with an assignment, judges its
    goals after each analysis and run, and narrows the palette to what it allows."""

    def __init__(self, bench, palette, make_dock, place_dock, parent=None):
        super().__init__(parent)
        self.session, self.controller, self.palette = bench.session, bench.controller, palette
        self.bench = bench
        self.panel = AssignmentPanel()
        self.dock = make_dock(self.panel)
        self.dock.hide()
        self._place_dock = place_dock
        self._trained: tuple[str, Trained] | None = None  # (graph text, what its run measured)
        self.save_action = command_action(
            "Save as &Assignment\u2026", "action_save_assignment",
            "Save a copy of this project as an assignment: goals, locked nodes and the blocks a "
            "student may use", self.save_as_assignment, self)
        self.session.replaced.connect(self._project_replaced)
        self.session.analyzed.connect(self.refresh)
        self.controller.state_changed.connect(self._run_state)
        self._project_replaced()

    @property
    def assignment(self):
        return self.session.project.assignment

    def _project_replaced(self) -> None:
        self._trained = None
        assignment = self.assignment
        self.palette.set_allowed(assignment.allows if assignment is not None and
                                 assignment.palette is not None else None)
        if assignment is None:
            self.dock.hide()
            return
        self.panel.show_assignment(assignment)
        self.refresh()
        self._place_dock(self.dock)
        self.dock.show()
        self.dock.raise_()

    def refresh(self) -> None:
        """Judge every goal on the session's analysis (and the last run, if the graph is the
        one it trained)."""
        assignment = self.assignment
        if assignment is None:
            return
        trained = None
        if self._trained is not None and self._trained[0] == _graph_text(self.session.project):
            trained = self._trained[1]
        self.panel.show_states(assignment.evaluate(
            self.session.project, self.session.analysis, self.session.verdict.unknown, trained))

    def _run_state(self, state: str) -> None:
        run = self.controller.store.current
        if state not in FINAL_STATES or run is None or self.assignment is None:
            return
        trained = trained_from_run(run)
        if trained is not None:
            self._trained = (_graph_text(self.session.project), trained)
            self.refresh()

    def save_as_assignment(self) -> None:
        from studio.ui.assignment_dialog import AssignmentDialog

        AssignmentDialog(self.bench, self.session.selection).open()


def rules_text(assignment) -> str:
    """'Locked: digits, loss, fc3 (out_features). Blocks you may add: Conv2d, ReLU.'"""
    locks = [lock.node + (f" ({', '.join(lock.params)})" if lock.params else "")
             for lock in assignment.locks]
    parts = [f"Locked: {', '.join(locks)}." if locks else "Nothing is locked."]
    if assignment.palette is not None:
        parts.append(f"Blocks you may add: {', '.join(assignment.palette) or 'none'}.")
    return " ".join(parts)


def trained_from_run(run) -> Trained | None:
    """The held-out accuracy a run measured at each evaluation, by epochs trained."""
    if not run.batches_per_epoch:
        return None
    points = []
    for name, series in run.evaluation.items():
        if name.startswith("test_accuracy"):
            points += [(float(x) / run.batches_per_epoch, float(y))
                       for x, y in zip(series.x, series.y)]
            break
    return Trained(tuple(points)) if points else None


def _graph_text(project) -> str:
    """The project as a file says it, without positions or the assignment: what a run
    trained (a node moved since still has its accuracy)."""
    data = fileformat.to_dict(project)
    data.pop("assignment", None)
    for graph in [data["training"], *data["networks"]]:
        for node in graph["nodes"]:
            node.pop("pos", None)
    return repr(data)
