"""Train > Sweep...: say what varies and how, run the trials off the UI thread, see them in a
table and a scatter against their cost, and apply the best trial's values as one edit.

The spec is checked live by ``core.sweep.SweepSpace`` against the project as it is (its error
shown under the row it names); Start is disabled with the reason while the spec is invalid, the
project cannot train or a training run goes. The sweep trains a copy of the project taken at
Start, so editing meanwhile changes nothing it runs; with Devices given (``devices.py``) one
trial runs on each at a time. Each trial is a recorded run, and the Runs panel reads the
history again as each trial begins and ends. Closing the dialog leaves the sweep running
(Train > Sweep... shows it again); closing the window asks, then cancels it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from studio.core.fileformat import dumps, loads
from studio.core.project import ProjectError
from studio.core.registry import spec_of
from studio.core.sweep import SweepError, SweepSpace, describe
from studio.engine.events import Started
from studio.ui import theme
from studio.ui.actions import command_action
from studio.ui.confirm import confirm
from studio.ui.sweep.how import SweepHow
from studio.ui.sweep.results import ParetoScatter, TrialTable
from studio.ui.sweep.rows import VaryRows
from studio.ui.sweep.thread import SweepThread
from studio.ui.training_guard import TRAINING_GOING, while_training

SWEEP_GOING = "a sweep is running (Train > Sweep): cancel it or let it finish first"
ACTION_TIP = ("Sweep: train variants of the project (parameters, settings, blocks swapped), "
              "each a recorded run, and compare their metric against their cost")
INTRO = ("Each trial trains a variant of the project and is recorded in the Runs panel. Vary a "
         "node's parameter, its block (swapped for another of its kind) or a training setting.")
WIDTHS = ("out_channels", "out_features", "hidden_size")
CLOSE_WAIT_SECONDS = 30.0  # the window closing waits this long for the trial's process to end


class SweepLauncher(QObject):
    """The Train menu's action, the one dialog it opens, and the window's close."""

    def __init__(self, bench):
        super().__init__(bench.dialog_parent)
        self.bench = bench
        self.dialog: SweepDialog | None = None
        self.action = command_action("S&weep\u2026", "sweep", ACTION_TIP, self.open,
                                     bench.dialog_parent)

    @property
    def running(self) -> bool:
        return self.dialog is not None and self.dialog.running

    def open(self) -> SweepDialog:
        """Show the dialog: the running sweep's, else a new one for the project as it is (the
        last one kept while its project is still the one open)."""
        if self.dialog is not None and not self.running and \
                self.dialog.project is not self.bench.session.project:
            self.dialog.deleteLater()
            self.dialog = None
        if self.dialog is None:
            self.dialog = SweepDialog(self.bench)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog

    def may_close(self) -> bool:
        """Before the window closes: True unless a sweep runs and the user keeps it."""
        if not self.running:
            return True
        return confirm(self.bench.dialog_parent, "A sweep is running",
                       "Cancel the sweep and close? Its finished trials stay recorded.",
                       "cancel_sweep_box")

    def shutdown(self) -> None:
        """The window closes: cancel the sweep and wait for its trial's process to end."""
        if self.dialog is not None:
            self.dialog.thread.cancel()
            self.dialog.thread.join(CLOSE_WAIT_SECONDS)


class SweepDialog(QDialog):
    def __init__(self, bench):
        super().__init__(bench.dialog_parent)
        self.bench = bench
        self.project = bench.session.project
        self.space: SweepSpace | None = None  # the spec, when valid
        self.blocker: str | None = None  # why Start is disabled
        self.result = None  # engine.sweep.SweepResult, as trials end
        self.names: list[str] = []  # the running sweep's dimensions
        self.specs: list[str] = []
        self.count = 0
        self._sweeping = False
        self.thread = SweepThread(self)
        self.thread.trial_event.connect(self._trial_event)
        self.thread.trial_ended.connect(self._trial_ended)
        self.thread.ended.connect(self._ended)
        self.setObjectName("sweep_dialog")
        self.setWindowTitle("Sweep")
        self.setModal(False)
        self._build()
        self.rows.add().choose(*self._first_dimension())
        bench.session.analyzed.connect(self.validate)
        while_training(bench.controller, lambda _running: self.validate())
        self._size_for_screen()

    # construction -----------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setObjectName("sweep_splitter")
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self._spec_part())
        splitter.addWidget(self._results_part())
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        layout.addWidget(splitter, 1)
        buttons = QDialogButtonBox()
        self.apply_button = buttons.addButton("Apply &Best",
                                              QDialogButtonBox.ButtonRole.ApplyRole)
        self.apply_button.setObjectName("sweep_apply_best")
        self.apply_button.setAutoDefault(False)
        self.apply_button.clicked.connect(self.apply_best)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setAutoDefault(False)
        close.clicked.connect(self.close)
        layout.addWidget(buttons)
        self._show_state()

    def _spec_part(self) -> QWidget:
        part = QWidget()
        layout = QVBoxLayout(part)
        layout.setContentsMargins(0, 0, 0, 0)
        varies = QGroupBox("What varies")
        inner = QVBoxLayout(varies)
        self.rows = VaryRows(self.project)
        self.rows.changed.connect(self.validate)
        scroll = QScrollArea()
        scroll.setWidget(self.rows)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setMinimumHeight(80)
        inner.addWidget(scroll)
        layout.addWidget(varies, 1)
        self.how = SweepHow()
        self.how.changed.connect(self.validate)
        layout.addWidget(self.how)
        run = QHBoxLayout()
        self.start_button = QPushButton("&Start")
        self.start_button.setObjectName("sweep_start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("&Cancel Sweep")
        self.cancel_button.setObjectName("sweep_cancel")
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setObjectName("sweep_progress")
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(160)
        self.status = QLabel()
        self.status.setObjectName("sweep_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        run.addWidget(self.start_button)
        run.addWidget(self.cancel_button)
        run.addWidget(self.progress)
        run.addWidget(self.status, 1)
        layout.addLayout(run)
        return part

    def _results_part(self) -> QWidget:
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("sweep_results")
        self.table = TrialTable()
        self.scatter = ParetoScatter()
        splitter.addWidget(self.table)
        splitter.addWidget(self.scatter)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([620, 380])  # the table's columns first: values, metric, costs
        self.table.trial_chosen.connect(self.scatter.select_trial)
        self.scatter.trial_chosen.connect(self.table.select_trial)
        return splitter

    def _size_for_screen(self) -> None:
        screen = self.bench.dialog_parent.screen().availableGeometry()
        self.resize(min(1080, screen.width() - 40), min(720, screen.height() - 60))

    def _first_dimension(self) -> tuple:
        """The first row's proposal: the first layer's width, its values left to the user."""
        for node in self.project.training.nodes.values():
            spec = spec_of(node.block)
            names = {p.name for p in spec.params} if spec is not None else set()
            width = next((w for w in WIDTHS if w in names), None)
            if width is not None:
                return ("training", node.id), width, ""
        return None, "batch_size", ""

    # checking ---------------------------------------------------------------------------------
    def validate(self) -> None:
        """Check the spec against the project as it is; errors go under the row they name."""
        if not hasattr(self, "start_button"):
            return  # still being built
        for row in self.rows.rows:
            row.show_error(None)
        self.space, problem = None, None
        empty = next((r for r in self.rows.rows if not r.values.text().strip()), None)
        if not self.rows.rows:
            problem = "add what varies"
        elif empty is not None:
            problem = f"give the values of {empty.name}"
        else:
            problem = self._check_rows()
        project = self.bench.session.project
        if problem is None and self.how.grid:
            try:
                self.how.show_grid_size(len(self.space.grid()))
            except SweepError as err:
                problem = self._say_under_row(str(err))
        if problem is None:
            problem = self.how.problem()
        if problem is None:
            if self.bench.controller.running:
                problem = TRAINING_GOING
            else:
                problem = (self.bench.controller.occupied if not self.running else None) or \
                    self.bench.controller.blocking_problem()
        if project is not self.project:
            problem = "another project is open: close this dialog and open it again"
        self.blocker = problem
        self._show_state()

    def _check_rows(self) -> str | None:
        """Each row on its own (its error under it), then all together."""
        project, bad = self.bench.session.project, None
        for row in self.rows.rows:
            try:
                SweepSpace(project, [row.spec()])
            except SweepError as err:
                row.show_error(str(err))
                bad = bad or f"{row.name} cannot be swept (see below it)"
        if bad:
            return bad
        try:
            self.space = SweepSpace(project, self.rows.specs())
        except SweepError as err:
            return self._say_under_row(str(err))
        return None

    def _say_under_row(self, message: str) -> str:
        self.space = None
        row = self.rows.row_named_by(message)
        if row is None:
            return message
        row.show_error(message)
        return f"{row.name} cannot be swept (see below it)"

    # running ----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """From Start until the dialog has read the sweep's end (a moment after its thread's)."""
        return self._sweeping

    def options(self) -> dict:
        """The fields of the engine's SweepOptions the controls say."""
        path = self.bench.session.doc.path
        return dict(self.how.options(), device=self.project.training.settings["device"],
                    data_root=str(Path(path).resolve().parent) if path else None)

    def start(self) -> bool:
        """Start the sweep the controls describe; False (the reason shown) when it cannot."""
        self.validate()
        if self.running or self.blocker is not None:
            return False
        # The engine's sweep (torch, Optuna) is imported here, on the UI thread: an import on
        # the sweep's thread races PySide's import hook with the UI thread, and can crash.
        from studio.engine.sweep import SweepUnavailable, require_optuna

        try:
            require_optuna()
        except SweepUnavailable as err:
            self._say(f"Cannot start: {err}.", error=True)
            return False
        project = loads(dumps(self.bench.session.project))  # what the trials vary: a copy
        space = SweepSpace(project, self.rows.specs())
        options = self.options()
        self.names, self.specs = [d.name for d in space.dimensions], self.rows.specs()
        self.count = len(space.grid()) if options["method"] == "grid" else options["trials"]
        self.result = None
        self.table.show_headers(self.names, options["metric"])
        self.scatter.show_result(None)
        self.progress.setRange(0, self.count)
        self.progress.setValue(0)
        self._sweeping = True
        self.bench.controller.occupy(self, SWEEP_GOING)
        self.thread.start(project, space, self.bench.controller.history_location(), options)
        self._say(f"Starting trial 1 of {self.count}\u2026")
        self._show_state()
        return True

    def cancel(self) -> None:
        if self.running:
            self.thread.cancel()
            self._say("Cancelling: the running trial is being stopped\u2026")
            self.cancel_button.setEnabled(False)

    def _trial_event(self, trial: int, event) -> None:
        if isinstance(event, Started):
            self.bench.controller.history_changed.emit()  # the Runs panel lists the trial
            self.total_steps = event.total_steps
        step = getattr(event, "step", 0)
        total = getattr(event, "total", None) or getattr(self, "total_steps", 0)
        self._say(f"Trial {trial + 1} of {self.count}: step {step} of {total}")

    def _trial_ended(self, trial) -> None:
        if self.result is None:
            from studio.engine.sweep import SweepResult, maximized  # loaded by the sweep's thread

            options = self.options()
            maximize = options["maximize"]
            self.result = SweepResult(0, options["method"], options["metric"],
                                      maximized(options["metric"]) if maximize is None
                                      else maximize)
        self.result.trials.append(trial)
        self._show_result()
        self.progress.setValue(len(self.result.trials))
        self.bench.controller.history_changed.emit()  # the Runs panel reads the trial's end
        metric = f", {self.result.metric} {trial.metric:.4g}" if trial.metric is not None else ""
        self._say(f"Trial {trial.number + 1} of {self.count} ({describe(trial.values)}) "
                  f"{trial.status}{metric}." +
                  ("" if len(self.result.trials) == self.count else " Starting the next\u2026"))

    def _ended(self, result, error: str) -> None:
        self._sweeping = False
        self.bench.controller.release(self)
        if result is not None:
            self.result = result
            self._show_result()
        best = self.result.best if self.result is not None else None
        if error:
            self._say(f"The sweep stopped: {error}", error=True)
        elif best is None:
            self._say("No trial finished" + (" (the sweep was cancelled)." if result.cancelled
                                              else "."))
        else:
            self._say(f"{'Cancelled after' if result.cancelled else 'Done:'} "
                      f"{len(result.trials)} of {self.count} trials. Best: trial {best.number} "
                      f"({describe(best.values)}), {result.metric} {best.metric:.4g}, run "
                      f"{best.run}.")
            self.table.select_trial(best.number)
        self.bench.controller.history_changed.emit()
        self.validate()

    def _show_result(self) -> None:
        self.table.show_result(self.names, self.result)
        self.scatter.show_result(self.result)

    # applying ---------------------------------------------------------------------------------
    def apply_best(self) -> bool:
        """Set the best trial's values in the project: one edit, undone by Ctrl+Z."""
        best = self.result.best if self.result is not None else None
        if best is None:
            return False
        text = f"apply sweep trial {best.number}: {describe(best.values)}"
        try:
            command = SweepSpace(self.bench.session.project, self.specs).edit(best.values, text)
        except (SweepError, ProjectError) as err:
            self._say(f"Not applied: {err}", error=True)
            return False
        if command is None:
            self._say(f"The project already has trial {best.number}'s values.")
            return False
        if not self.bench.session.push(command):
            self._say("Not applied: the project refused the values (see the status bar).",
                      error=True)
            return False
        self._say(f"Applied trial {best.number}: {describe(best.values)} (Edit > Undo takes it "
                  "back).")
        self.bench.status(f"Applied sweep trial {best.number}", 5000)
        return True

    # state ------------------------------------------------------------------------------------
    def _show_state(self) -> None:
        running = self.running
        self.start_button.setEnabled(not running and self.blocker is None)
        why = None if running else self.blocker
        self.start_button.setToolTip(f"Cannot start: {why}" if why else
                                     "Start the sweep: trials run one after another, or one on "
                                     "each of the devices at a time")
        self.cancel_button.setEnabled(running and not self.thread.cancel_flag.is_set())
        self.progress.setVisible(running)
        self.rows.set_enabled(not running)
        self.how.setEnabled(not running)
        best = self.result.best if self.result is not None and not running else None
        self.apply_button.setEnabled(best is not None)
        self.apply_button.setToolTip(
            f"Set trial {best.number}'s values in the project ({describe(best.values)}): one "
            "edit, Ctrl+Z undoes it" if best is not None else "Run a sweep first")
        if not running and why and self.result is None:
            self._say(f"Cannot start: {why}.", error=True)
        elif not running and self.result is None:
            self._say("Ready.")

    def _say(self, text: str, error: bool = False) -> None:
        colour = theme.current().error.name() if error else ""
        self.status.setStyleSheet(f"color: {colour}" if colour else "")
        self.status.setText(text)
