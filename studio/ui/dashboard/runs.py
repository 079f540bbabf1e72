"""The Runs panel: every recorded run of the project (``engine/run_history.py``) in a table.

Sortable and filterable, one column per final metric, with parameters, multiply-adds and what
changed since the run before (``engine/run_projects.changes``, diffs cached by graph pair).
Selecting runs overlays their curves in the Curves view (``CurvesView.show_recorded``, read
from the history's series). A run's graph opens as a new unsaved project (``open_graph``, the
window's file flow asks to save first); Compare shows what the current graph changed against
the run's (the window's Diff panel and canvas marks, ``Workbench.compare_with``); Continue
resumes from the run's kept checkpoint when the project as it is now can take its weights;
Rename, Note and Delete edit the history.

The panel reads the history on its own connection, on the UI thread: a listing is one small
SELECT, done when a run begins or ends and, while one trains, with the dashboard's frames at
most every two seconds (``VIEW_FPS``), only while the panel is on screen. Recording itself
happens on the run's writer thread (``controller.py``). A run still training has no final
metrics yet: its metric cells show the newest values its writer committed (held-out at the
last epoch end, training losses at the last commit, ``RunHistory.latest``), so its losses get
columns of their own while it trains; a listing changes only the cells whose text changed.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QAction, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.engine.run_history import RUNNING, RunHistory, RunHistoryError
from studio.engine.run_keeping import delete_run, recorded_checkpoint
from studio.engine.run_projects import changes as run_changes
from studio.engine.run_projects import run_project
from studio.engine.run_writer import HISTORY_ERRORS
from studio.ui import theme
from studio.ui.actions import command_action
from studio.ui.canvas.node_item import compact
from studio.ui.confirm import confirm
from studio.ui.dashboard.compat import TrainedStateFit
from studio.ui.dashboard.panel import duration
from studio.ui.dashboard.store import Run, Series

RELEVANT = {"all", "state", "progress", "history"}
# what a comparison reads first (what changed, and what it did to the metrics) on the left;
# the final metrics' columns come between these two groups
HEAD_COLUMNS = ("Run", "Name", "Status", "Changed")
TAIL_COLUMNS = ("Parameters", "Mult-adds", "Steps", "Duration", "Started", "Note")
TEXT_COLUMNS = {"Name", "Status", "Changed", "Started", "Note"}  # the rest align right
WIDEST = {"Changed": 260, "Note": 220, "Name": 160}  # pixels, before the user widens them
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
NUMBER_ROLE = Qt.ItemDataRole.UserRole + 2
EMPTY_TEXT = "No runs recorded yet: every training run of this project is listed here"


def run_title(number: int, name: str | None) -> str:
    """How a run is named in the panel, the curves' legend and the window: "run 3 (wide)"."""
    return f"run {number}" + (f" ({name})" if name else "")


def recorded_curves(history: RunHistory, record) -> Run:
    """A recorded run's train metrics as a ``store.Run``, for the Curves view's overlay."""
    run = Run(record.number, run_title(record.number, record.name))
    for (kind, name), points in history.series(record.number).items():
        if kind == "train":
            series = run.metrics[name] = Series(max(len(points), 1))
            series.extend([p[0] for p in points],
                          [math.nan if p[2] is None else p[2] for p in points])
    return run


def when(seconds: float, now: float | None = None) -> str:
    """A start time as short as is clear: the time today, the day this year, else the date."""
    moment, today = time.localtime(seconds), time.localtime(now)
    if moment[:3] == today[:3]:
        return time.strftime("%H:%M", moment)
    return time.strftime("%d %b %H:%M" if moment[0] == today[0] else "%Y-%m-%d", moment)


def _count(n: int | None) -> tuple:
    return (compact(n), n, f"{n:,}") if n is not None else ("", -1, None)


def live_metrics(latest: dict) -> dict:
    """A running run's newest values by metric name, from ``RunHistory.latest``: (value,
    step); a held-out metric and a training loss never share a name ("test_loss", "loss")."""
    return {name: (value, step) for (kind, name), (step, value) in sorted(latest.items())
            if kind in ("eval", "train") and value is not None}


def _metric_cell(record, name: str, live: dict | None) -> tuple:
    value = record.evaluation.get(name)
    if value is not None:
        return f"{value:.4g}", value, repr(value)
    if live and name in live:
        value, step = live[name]
        return (f"{value:.4g}", value,
                f"{value!r}: the newest value logged, at step {step:,}; the run is training")
    return "", -math.inf, None


def _cells(record, change: str, metrics: list, live: dict | None = None) -> list[tuple]:
    """(text, sort value, tooltip or None) per column of one run; ``live``: a running run's
    newest values (``live_metrics``) where it has no final ones yet."""
    status_tip = f"{record.status}: {record.message}" if record.message else None
    cells = [(str(record.number), record.number, None),
             (record.name or "", record.name or "", record.name),
             (record.status, record.status, status_tip), (change, change, change)]
    cells += [_metric_cell(record, name, live) for name in metrics]
    ended = record.status != RUNNING
    cells += [_count(record.params), _count(record.macs),
              (f"{record.steps:,}", record.steps, None),
              (duration(record.seconds), record.seconds if ended else math.inf, None),
              (when(record.started), record.started,
               time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.started))),
              (record.note or "", record.note or "", record.note)]
    return cells


class RunsView(QWidget):
    """The project's recorded runs; the dashboard calls ``refresh`` with its topics."""

    open_graph = Signal(object, str)  # the run's Project, and what it is ("run 3 (wide)")

    def __init__(self, controller, curves, bench, parent=None):
        super().__init__(parent)
        self.setObjectName("runs_view")
        self.controller = controller
        self.curves = curves
        self.status = bench.status  # (text, ms): the window's status bar
        self._compare_with = bench.compare_with  # (Project, title): the Diff panel
        self.history: RunHistory | None = None
        self.records: list = []
        self.rows: list = []  # the cells shown, per record
        self.columns: tuple = ()
        self._known_changes: dict = {}  # engine.run_projects.changes' cache of diffs
        self._fits: dict = {}  # graph hash -> TrainedStateFit of that graph
        self._curves: dict = {}  # run number -> (steps, status, store.Run)
        self._problem: str | None = None  # why the history cannot be read

        self.filter = QLineEdit()
        self.filter.setObjectName("runs_filter")
        self.filter.setPlaceholderText("Filter runs")
        self.filter.setClearButtonEnabled(True)
        self.filter.setToolTip("Show only the runs whose name, status, change or note contains "
                               "this text")
        self.model = QStandardItemModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setObjectName("runs_table")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)  # the newest first
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(
            self.table.fontMetrics().height() + 8)
        self.table.horizontalHeader().setHighlightSections(False)
        self.table.setToolTip("Select runs to overlay their curves in the Curves view; "
                              "right-click for more")
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.doubleClicked.connect(lambda _index: self._open_selected())
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.summary = QLabel(EMPTY_TEXT)
        self.summary.setObjectName("runs_summary")
        self._dim_summary()
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.actions_of: dict[str, QAction] = {}
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.filter, 1)
        for key, text, tip, slot in (
                ("open", "Open Graph", "Open the graph this run trained, as a new unsaved "
                 "project", self._open_selected),
                ("continue", "Continue", "Continue training from this run's checkpoint, with "
                 "the project as it is now", self._continue_selected),
                ("compare", "Compare", "Compare the current graph with this run's: the Diff "
                 "panel lists what changed and the canvas marks it", self._compare_selected),
                ("rename", "Rename\u2026", "Give this run a name", self._ask_rename),
                ("note", "Note\u2026", "Write a note on this run", self._ask_note),
                ("delete", "Delete\u2026", "Delete the selected runs, their curves and "
                 "checkpoints", self._ask_delete)):
            action = self.actions_of[key] = command_action(text, f"runs_{key}", tip, slot, self)
            button = QToolButton()
            button.setDefaultAction(action)
            head.addWidget(button)
        self.actions_of["delete"].setShortcut("Del")
        self.actions_of["delete"].setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.table.addAction(self.actions_of["delete"])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(head)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        controller.editing.analyzed.connect(self._update_actions)
        controller.state_changed.connect(lambda _state: self._update_actions())
        self._update_actions()

    def _dim_summary(self) -> None:
        self.summary.setStyleSheet(f"color: {theme.current().text_dim.name()};")

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Follow a switch between the light and dark themes."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "summary"):
            self._dim_summary()

    # reading the history ----------------------------------------------------------------------
    def refresh(self, topics: set) -> None:
        """The dashboard's call: read the history again when a run began, ended or progressed,
        or another project is open."""
        if topics & RELEVANT:
            self.reload()

    def reload(self) -> None:
        history = self._open(self.controller.history_location())
        try:
            records = history.runs() if history is not None else []
            changes = run_changes(history, records, self._known_changes) if records else []
            live = {r.number: live_metrics(history.latest(r.number))
                    for r in records if r.status == RUNNING}
        except HISTORY_ERRORS as err:
            self._problem, records, changes, live = str(err), [], [], {}
        self._show(records, changes, live)

    def _open(self, location: Path) -> RunHistory | None:
        """The history at ``location``, opened once (and never created: a project that never
        trained gets no folder); None while there is none."""
        if self.history is not None and self.history.path == location:
            return self.history
        self.close_history()
        self._problem = None
        try:
            self.history = RunHistory(location, create=False)
        except RunHistoryError as err:
            if location.exists():
                self._problem = str(err)
            return None
        return self.history

    def close_history(self) -> None:
        """Forget the history shown (another project, or the project saved elsewhere): its
        selection and overlaid curves go with it."""
        if self.history is not None:
            self.history.close()
        self.history = None
        self.table.clearSelection()
        self.records, self.rows, self._curves, self._fits = [], [], {}, {}
        self.curves.show_recorded([])

    def _show(self, records: list, changes: list, live: dict) -> None:
        metrics = list(dict.fromkeys([n for r in records for n in r.evaluation] +
                                     [n for values in live.values() for n in values]))
        columns = (*HEAD_COLUMNS, *metrics, *TAIL_COLUMNS)
        rows = [_cells(r, c, metrics, live.get(r.number)) for r, c in zip(records, changes)]
        numbers = [r.number for r in records]
        if columns != self.columns or numbers != [r.number for r in self.records]:
            self._rebuild(columns, records, rows)
        else:
            for row, (cells, before) in enumerate(zip(rows, self.rows)):
                for column, (cell, old) in enumerate(zip(cells, before)):
                    if cell != old:
                        self._fill(self.model.item(row, column), cell)
        self.records, self.rows = records, rows
        self._say_where(records)
        self._update_actions()

    def _rebuild(self, columns: tuple, records: list, rows: list) -> None:
        chosen = set(self.selected_numbers())
        self.columns = columns
        self.model.clear()
        self.model.setHorizontalHeaderLabels(list(columns))
        for record, cells in zip(records, rows):
            items = []
            for column, cell in zip(columns, cells):
                item = QStandardItem()
                item.setData(record.number, NUMBER_ROLE)
                if column not in TEXT_COLUMNS:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight |
                                          Qt.AlignmentFlag.AlignVCenter)
                self._fill(item, cell)
                items.append(item)
            self.model.appendRow(items)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.resizeColumnsToContents()
        for name, most in WIDEST.items():
            index = columns.index(name)
            header.resizeSection(index, min(header.sectionSize(index), most))
        header.setStretchLastSection(True)
        self.select(sorted(chosen & {r.number for r in records}))

    @staticmethod
    def _fill(item: QStandardItem, cell: tuple) -> None:
        text, key, tip = cell
        item.setText(text)
        item.setData(key, SORT_ROLE)
        item.setToolTip(tip or "")

    def _say_where(self, records: list) -> None:
        if self._problem:
            self.summary.setText(f"The run history cannot be read: {self._problem}")
            return
        where = self.controller.history_location().parent
        project = self.controller.editing.project.name
        if not records:
            self.summary.setText(EMPTY_TEXT)
        elif self.controller.editing.doc.path:
            self.summary.setText(f"{len(records)} run{'s' * (len(records) != 1)} of "
                                 f"{project}, kept in {where}")
        else:
            self.summary.setText(f"{len(records)} run{'s' * (len(records) != 1)} of the unsaved "
                                 f"project {project}, kept in {where}")
        self.summary.setToolTip(str(where))

    # selection --------------------------------------------------------------------------------
    def selected_numbers(self) -> list[int]:
        """The numbers of the selected runs, in the table's order."""
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return [self.proxy.index(r, 0).data(NUMBER_ROLE) for r in rows]

    def selected_records(self) -> list:
        by_number = {r.number: r for r in self.records}
        return [by_number[n] for n in self.selected_numbers() if n in by_number]

    def select(self, numbers) -> None:
        """Select these runs (and overlay their curves)."""
        selection = self.table.selectionModel()
        selection.clearSelection()
        wanted = set(numbers)
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, 0).data(NUMBER_ROLE) in wanted:
                selection.select(self.proxy.index(row, 0),
                                 selection.SelectionFlag.Select | selection.SelectionFlag.Rows)

    def selected_project(self) -> tuple | None:
        """(the Project the one selected run trained, its title), or None: what another part
        of the window (a comparison with the current graph) asks of the selection."""
        chosen = self.selected_records()
        if len(chosen) != 1 or self.history is None:
            return None
        record = chosen[0]
        return run_project(self.history, record), run_title(record.number, record.name)

    def _selection_changed(self, *_args) -> None:
        self._update_actions()
        self._overlay()

    def _overlay(self) -> None:
        """The selected runs' curves in the Curves view (but the current run's, which is drawn
        live there already)."""
        live = self.controller.recorded_number
        runs = []
        for record in self.selected_records():
            if record.number == live or self.history is None:
                continue
            cached = self._curves.get(record.number)
            if cached is None or cached[:2] != (record.steps, record.status):
                try:
                    cached = (record.steps, record.status,
                              recorded_curves(self.history, record))
                except HISTORY_ERRORS:
                    continue
                self._curves[record.number] = cached
            runs.append(cached[2])
        self.curves.show_recorded(runs)

    def _update_actions(self) -> None:
        chosen = self.selected_records()
        one = len(chosen) == 1
        for key in ("open", "compare", "rename", "note"):
            self.actions_of[key].setEnabled(one)
        # a run still recording (here or by `studio train`) is deleted once it has ended
        self.actions_of["delete"].setEnabled(bool(chosen) and all(
            r.status != RUNNING for r in chosen))
        why = self.continue_blocker(chosen[0]) if one else "select one run to continue it"
        act = self.actions_of["continue"]
        act.setEnabled(why is None)
        note = self.continue_note(chosen[0]) if why is None else None
        act.setToolTip(f"Cannot continue: {why}" if why else
                       "Continue training from this run's checkpoint, with the project as it "
                       "is now" + (f": it {note}" if note else ""))

    def continue_blocker(self, record) -> str | None:
        """Why this run cannot be continued now, or None."""
        if self.controller.running:
            return "training is running"
        if record.status == RUNNING or self.history is None:
            return "the run has not ended"
        if recorded_checkpoint(self.history.path, record.checkpoint) is None:
            return "this run kept no checkpoint"
        return None

    def continue_note(self, record) -> str | None:
        """What continuing this run does with the layers changed since it trained, or None when
        its weights all fit the project as it is now."""
        fit = self._fits.get(record.graph)
        if fit is None:
            fit = self._fits[record.graph] = TrainedStateFit()
            try:
                fit.remember(run_project(self.history, record))
            except HISTORY_ERRORS:
                return None
        return fit.note(self.controller.editing.analysis)

    # commands ---------------------------------------------------------------------------------
    def _context_menu(self, pos) -> None:
        menu = QMenu(self)
        menu.setToolTipsVisible(True)
        keys = list(self.actions_of)
        for key in keys[:3]:
            menu.addAction(self.actions_of[key])
        menu.addSeparator()
        for key in keys[3:]:
            menu.addAction(self.actions_of[key])
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def _one(self):
        chosen = self.selected_records()
        return chosen[0] if len(chosen) == 1 else None

    def _open_selected(self) -> None:
        self._with_selected_project(self.open_graph.emit)

    def _compare_selected(self) -> None:
        self._with_selected_project(self._compare_with)

    def _with_selected_project(self, use) -> None:
        try:
            chosen = self.selected_project()
        except HISTORY_ERRORS as err:
            self.status(f"The run's graph cannot be read: {err}", 10000)
            return
        if chosen is not None:
            use(*chosen)

    def _continue_selected(self) -> None:
        record = self._one()
        if record is None or self.history is None:
            return
        try:
            why = self.continue_blocker(record) or self.controller.continue_run(
                recorded_checkpoint(self.history.path, record.checkpoint))
        except HISTORY_ERRORS as err:
            why = str(err)
        self.status(f"Cannot continue {run_title(record.number, record.name)}: {why}" if why
                    else f"Continuing {run_title(record.number, record.name)}", 8000)

    def _ask_rename(self) -> None:
        record = self._one()
        if record is None:
            return
        name, ok = QInputDialog.getText(self, "Rename Run", f"Name of run {record.number}:",
                                        text=record.name or "")
        if ok:
            self.rename(record.number, name)

    def _ask_note(self) -> None:
        record = self._one()
        if record is None:
            return
        note, ok = QInputDialog.getMultiLineText(self, "Note on Run",
                                                 f"Note on run {record.number}:",
                                                 record.note or "")
        if ok:
            self.annotate(record.number, note)

    def _ask_delete(self) -> None:
        chosen = self.selected_records()
        if not chosen or not self.actions_of["delete"].isEnabled():
            return
        names = ", ".join(run_title(r.number, r.name) for r in chosen)
        if confirm(self, "Delete Runs", f"Delete {names}?", "delete_runs_box",
                   detail="Their curves, graphs and checkpoints are removed from the run "
                   "history. This cannot be undone.", warning=True, cancel_by_default=True):
            self.delete([r.number for r in chosen])

    def rename(self, number: int, name: str) -> None:
        self._edit(lambda history: history.rename(number, name.strip() or None))

    def annotate(self, number: int, note: str) -> None:
        self._edit(lambda history: history.annotate(number, note.strip() or None))

    def delete(self, numbers) -> None:
        def remove(history):
            for number in numbers:
                delete_run(history, number)
                self._curves.pop(number, None)

        self._edit(remove)

    def _edit(self, change) -> None:
        if self.history is None:
            return
        try:
            change(self.history)
        except HISTORY_ERRORS as err:
            self.status(f"The run history could not be changed: {err}", 10000)
        self.reload()
        self._overlay()
