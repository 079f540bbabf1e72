"""The main window: graph tabs in the middle, palette, inspector, code and problems in docks.

It builds the parts and wires them together, and owns only what belongs to the window itself:
its docks, the status bar and title, and closing. The parts live in their own modules: the
graph tabs ``ui/graph_tabs.py``; the Edit and Graph commands ``ui/edit_commands.py``; adding
blocks (palette, quick add, context menu) ``ui/block_adding.py``; the menus and tool bar
``ui/menus.py``; files ``ui/files.py``; export ``ui/export_dialog.py``; autosave and recovery
``ui/autosave.py``; training prompts ``ui/training_prompts.py``; dock layouts ``ui/layouts.py``;
help and the theme switch ``ui/help.py``; the training panel and plots ``ui/dashboard/``;
comparing with another project (the Diff panel and the canvas marks) ``ui/comparison.py``. The
parts that need something of the window get a ``Workbench`` (``ui/workbench.py``), never the
window. The dock layout is remembered in QSettings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMessageBox

from studio.core import recovery
from studio.core.document import Document
from studio.ui.actions import Actions
from studio.ui.assignment_panel import TIP, Assignments
from studio.ui.autosave import Autosave
from studio.ui.block_adding import BlockAdding
from studio.ui.code_view import CodeView
from studio.ui.comparison import Comparison
from studio.ui.dashboard.controller import TrainingController
from studio.ui.dashboard.dashboard import Dashboard
from studio.ui.edit_commands import EditCommands
from studio.ui.editing import Editor
from studio.ui.export_dialog import Exporter
from studio.ui.files import ProjectFiles
from studio.ui.fresh_marks import FreshMarks
from studio.ui.graph_tabs import GraphTabs
from studio.ui.help import Help
from studio.ui.inspector import Inspector
from studio.ui.layer_times import LayerTimes
from studio.ui.layouts import WindowLayouts, hide_stale_tab_bars, make_scrollable
from studio.ui.lessons import Lessons
from studio.ui.lr_finder_dialog import LearningRateFinder
from studio.ui.menus import Menus, build_toolbar
from studio.ui.palette import Palette
from studio.ui.predict_panel import ImagePredictor, picture_paths
from studio.ui.problems import ProblemsList
from studio.ui.session import Session
from studio.ui.sweep.dialog import SweepLauncher
from studio.ui.training_prompts import TrainingPrompts
from studio.ui.workbench import Workbench

DOCKS = (  # attribute, title, object name, area, tooltip
    ("palette", "Blocks", "palette_dock", Qt.DockWidgetArea.LeftDockWidgetArea,
     "Blocks by category: drag one onto the canvas"),
    ("inspector", "Inspector", "inspector_dock", Qt.DockWidgetArea.RightDockWidgetArea,
     "The selected node's parameters, shape and cost"),
    ("code_view", "Code", "code_dock", Qt.DockWidgetArea.BottomDockWidgetArea,
     "The generated PyTorch code, with the selection highlighted"),
    ("problems", "Problems", "problems_dock", Qt.DockWidgetArea.BottomDockWidgetArea,
     "What stops the project from running, and how to fix it"),
)


def settings_store() -> QSettings:
    return QSettings("Studio", "Studio")


class MainWindow(QMainWindow):
    last_error = ""  # the text of the last error shown (tests read it)

    def __init__(self, settings: QSettings | None = None, recovery_folder=None, parent=None):
        super().__init__(parent)
        self.settings = settings if settings is not None else settings_store()
        # a dock shown, hidden, moved or tabbed can leave Qt's old tab bar on screen: looked
        # for once the layout has settled (layouts.hide_stale_tab_bars)
        self._tab_bar_check = QTimer(self)
        self._tab_bar_check.setSingleShot(True)
        self._tab_bar_check.setInterval(0)
        self._tab_bar_check.timeout.connect(lambda: hide_stale_tab_bars(self))
        self.recovery_folder = recovery_folder
        self.session = Session(parent=self)
        self.editor = Editor(self.session)
        self.setObjectName("studio_main_window")
        self.setWindowTitle("Studio")
        self.setDockOptions(QMainWindow.DockOption.AllowTabbedDocks |
                            QMainWindow.DockOption.AnimatedDocks)
        self.actions = Actions(self)
        self.tabs = GraphTabs(self.session, self.editor)
        self.setCentralWidget(self.tabs)
        self.views = self.tabs.views
        self._build_docks()
        bench = self._workbench(TrainingController(self.session, self))
        self.dashboard = Dashboard(bench)
        self.code_dock.raise_()
        self.resizeDocks([self.code_dock], [330], Qt.Orientation.Vertical)
        self.resizeDocks([self.inspector_dock, self.dashboard.panel_dock], [430, 330],
                         Qt.Orientation.Vertical)
        self.comparison = Comparison(self.session, self.tabs, self._diff_dock, self._status,
                                     self.show_error, self)
        self.fresh_marks = FreshMarks(bench.controller, self.session, self.tabs, self._status,
                                      self)
        self.files = ProjectFiles(bench)
        self.lessons = Lessons(self.files, self.dashboard, self.session, self._lesson_dock,
                               self._place_lesson_dock, self.show_error, self)
        self.assignments = Assignments(bench, self.palette, lambda panel: self._add_dock(
            "Assignment", "assignment_dock", panel, Qt.DockWidgetArea.RightDockWidgetArea, TIP),
            self._place_lesson_dock, self)
        self.exporter = Exporter(bench)
        self.lr_finder = LearningRateFinder(bench)
        self.layer_times = LayerTimes(bench)
        self.predictor = ImagePredictor(bench, self)
        self.setAcceptDrops(True)  # a picture file dropped anywhere is predicted on
        self.sweeps = SweepLauncher(bench)
        self.training = TrainingPrompts(bench, self.files.save_as, self)
        self.help = Help(self)
        self.commands = EditCommands(self.tabs, self.editor, self.session, self.actions,
                                     self._status, self)
        self.toolbar = build_toolbar(self.actions, self.dashboard.panel)
        self.addToolBar(self.toolbar)
        self._build_status_bar()
        self.layouts = WindowLayouts(self)
        self.menus = Menus(self)
        self.examples_menu = self.menus.examples
        self._connect()
        self.adding = BlockAdding(self.tabs, self.editor, self.palette, self.actions, self)
        self.quick_add = self.adding.popup
        self.tabs.rebuild()
        self._update_title()
        self._update_status()
        self.autosaver = Autosave(bench)
        self.layouts.reset()  # sized for the screen, the editing layout
        self._restore_layout()

    # construction ---------------------------------------------------------------------------------
    def _workbench(self, controller) -> Workbench:
        return Workbench(
            session=self.session, editor=self.editor, controller=controller,
            settings=self.settings, recovery_folder=self.recovery_folder, dialog_parent=self,
            add_dock=self._add_view_dock, status=self._status, show_error=self.show_error,
            set_document=self.set_document, title_changed=self._update_title,
            select_node=self.select_node, show_health=self.tabs.show_health,
            compare_with=self.compare_with,
            arrange=lambda name: self.layouts.apply(name))

    def _add_dock(self, title: str, name: str, widget, area, tip: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        # An opaque content widget: a live view redrawing itself (training plots, progress)
        # then repaints only itself, not the dock and the main window behind it.
        widget.setAutoFillBackground(True)
        dock.setWidget(widget)
        dock.setToolTip(tip)
        dock.toggleViewAction().setStatusTip(f"Show or hide the {title.lower()}")
        dock.toggleViewAction().setToolTip(f"Show or hide the {title.lower()}: {tip}")
        self.addDockWidget(area, dock)
        dock.visibilityChanged.connect(self._tab_bar_check.start)
        dock.dockLocationChanged.connect(self._tab_bar_check.start)
        return dock

    def _build_docks(self) -> None:
        """The editing docks (the dashboard adds its own); ``layouts`` arranges them all."""
        self.palette = Palette()
        self.inspector = Inspector(self.session, self.editor)
        self.code_view = CodeView(self.session)
        self.problems = ProblemsList(self.session)
        for attr, title, name, area, tip in DOCKS:
            setattr(self, name, self._add_dock(title, name, getattr(self, attr), area, tip))
        self._first_arrangement()

    def _first_arrangement(self) -> None:
        """Where the editing docks start, before ``layouts`` sizes every dock for the screen
        (its sizes are worked out from these): the side columns reach the bottom edge, the
        problems beside the code."""
        self.splitDockWidget(self.code_dock, self.problems_dock, Qt.Orientation.Horizontal)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.resizeDocks([self.palette_dock, self.inspector_dock], [200, 340],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.code_dock, self.problems_dock], [620, 250],
                         Qt.Orientation.Horizontal)
        self._last_tab = self.code_dock

    def _add_view_dock(self, title: str, name: str, widget, area, tip: str) -> QDockWidget:
        """A dock for a view of the dashboard, placed as it is added: on the right under the
        inspector, at the bottom as a tab behind the code and the views before it."""
        dock = self._add_dock(title, name, widget, area, tip)
        if area == Qt.DockWidgetArea.RightDockWidgetArea:
            self.splitDockWidget(self.inspector_dock, dock, Qt.Orientation.Vertical)
        else:
            self.tabifyDockWidget(self._last_tab, dock)
            self._last_tab = dock
        return dock

    def _diff_dock(self, panel) -> QDockWidget:
        """The Diff panel's dock, made when a comparison first opens: under the canvas, in
        front of the code (its rows are long)."""
        dock = self._add_dock("Diff", "diff_dock", panel, Qt.DockWidgetArea.BottomDockWidgetArea,
                              "What differs between the current graph and the project it is "
                              "compared with; click a row to show the node")
        make_scrollable(dock)
        if self.code_dock.isVisible():
            self.tabifyDockWidget(self.code_dock, dock)
        return dock

    def _lesson_dock(self, panel) -> QDockWidget:
        """The Lesson panel's dock, hidden until a lesson opens (``_place_lesson_dock``)."""
        return self._add_dock("Lesson", "lesson_dock", panel,
                              Qt.DockWidgetArea.RightDockWidgetArea,
                              "The open lesson: what to look at, what to try, what you should "
                              "see (Lessons menu)")

    def _place_lesson_dock(self, dock) -> None:
        """Beside the canvas on the right, as a tab in front of the inspector (wide and tall
        enough to read), wherever the layouts have put the inspector since."""
        if not dock.isVisible() and self.inspector_dock.isVisible():
            self.tabifyDockWidget(self.inspector_dock, dock)

    def _build_status_bar(self) -> None:
        self.totals = QLabel()
        self.totals.setToolTip("Totals of the project: parameters and multiply-adds per sample")
        self.zoom_label = QLabel()
        self.zoom_label.setToolTip("Zoom of the canvas (wheel to zoom, F to fit)")
        self.statusBar().addPermanentWidget(self.totals)
        self.statusBar().addPermanentWidget(self.zoom_label)

    def _connect(self) -> None:
        a, s, tabs = self.actions, self.session, self.tabs
        a.on("new", self.files.new_dialog)
        a.on("open", self.files.open_dialog)
        a.on("save", self.files.save)
        a.on("save_as", self.files.save_as)
        a.on("export_code", self.exporter.export_code_dialog)
        a.on("export_onnx", self.exporter.export_onnx_dialog)
        a.on("quit", self.close)
        a.on("undo", s.undo)
        a.on("redo", s.redo)
        self.commands.connect_actions()
        a.on("fit", lambda: self.view().fit_all())
        a.on("zoom_in", lambda: self.view().zoom_in())
        a.on("zoom_out", lambda: self.view().zoom_out())
        a.on("zoom_reset", lambda: self.view().set_zoom(1.0))
        a.snap.toggled.connect(tabs.set_snap)
        a.on("reset_layout", self.reset_layout)
        a.on("shortcuts", self.help.show_shortcuts)
        a.on("about", self.show_about)
        s.changed.connect(self._on_change)
        s.replaced.connect(self._on_replaced)
        s.analyzed.connect(self._on_analyzed)
        s.message.connect(lambda text: self._status(text, 8000))
        s.selection_changed.connect(self.commands.update_actions)
        tabs.graph_shown.connect(self._graph_shown)
        tabs.selection_changed.connect(self.commands.update_actions)
        tabs.zoom_changed.connect(self._show_zoom)
        self.problems.go_to.connect(self.select_node)
        self.inspector.open_network.connect(tabs.open_network)
        self.inspector.select_node.connect(self.select_node)
        self.dashboard.panel.save_weights_requested.connect(self.training.save_weights)
        self.dashboard.runs.open_graph.connect(self.files.open_copy)

    # the graphs -----------------------------------------------------------------------------------
    def current_key(self) -> str:
        return self.tabs.current_key()

    def view(self, key: str | None = None):
        return self.tabs.view(key)

    def scene(self, key: str | None = None):
        return self.tabs.scene(key)

    def open_network_tab(self, name: str) -> None:
        self.tabs.open_network(name)

    def select_node(self, key: str, node_id: str) -> None:
        """Show a node: switch to its graph, select it, scroll to it."""
        self.tabs.select_node(key, node_id)

    def _graph_shown(self, key: str) -> None:
        graph = self.session.doc.graph(key)
        networks = [n for n in self.session.project.networks if n != key]
        self.palette.populate(graph.kind, networks)
        self.inspector.set_graph(key)
        self.session.select(key, self.scene(key).selected_ids())
        self._show_zoom(self.view(key).zoom())
        self.commands.update_actions()

    def compare_with(self, project, title: str):
        """Compare the current graph with another project (a run's graph, a file's), named
        ``title`` ("run 3"): the Diff panel lists the changes and the canvas marks them until
        the panel is closed (``ui/comparison.py``). Returns the ``core.diff.ProjectDiff``."""
        return self.comparison.compare_with(project, title)

    def view_dataset(self):
        """Graph > View Dataset (``ui/dataset_view.py``, loaded when first asked for)."""
        from studio.ui.dataset_view import open_dataset_view

        return open_dataset_view(self, self.session, self.commands.selected(), self._status)

    # the document ---------------------------------------------------------------------------------
    def _on_change(self, change) -> None:
        self.tabs.apply_change(change)
        self._update_title()
        self.commands.update_actions()

    def _on_replaced(self) -> None:
        self.tabs.rebuild()
        self._update_title()
        self.commands.update_actions()

    def _on_analyzed(self) -> None:
        self.tabs.show_analysis(self.session.analysis)
        self._update_status()

    def set_document(self, doc: Document, issues=()) -> None:
        old = self.session.doc
        if old is not doc:
            recovery.forget(old, self.recovery_folder)
        self.session.set_document(doc)
        self.problems.set_load_issues(issues)
        QTimer.singleShot(0, self.tabs.show_graphs)

    def open_path(self, path, ask: bool = True) -> bool:
        return self.files.open_path(path, ask)

    def offer_recovery(self) -> bool:
        return self.autosaver.offer_recovery()

    # status ---------------------------------------------------------------------------------------
    def _status(self, text: str, ms: int) -> None:
        self.statusBar().showMessage(text, ms)

    def _update_title(self) -> None:
        doc = self.session.doc
        name = Path(doc.path).name if doc.path else f"{self.session.project.name} (unsaved)"
        self.setWindowTitle(f"{name}[*] \u2014 Studio")
        self.setWindowModified(doc.modified)

    def _update_status(self) -> None:
        v = self.session.verdict  # the same verdict as Problems, the code banner and Train
        n = len(v.problems)
        self.totals.setText(f"{v.params_text} \u00b7 {_macs(v.total_macs)} multiply-adds "
                            f"\u00b7 {v.summary}")
        self.problems_dock.setWindowTitle(f"Problems ({n})" if n else "Problems")

    def _show_zoom(self, z: float) -> None:
        self.zoom_label.setText(f"{z * 100:.0f}%")

    def show_error(self, title: str, text: str) -> QMessageBox:
        """A warning that does not block (window-modal)."""
        self._status(text.splitlines()[0], 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                          self)
        box.setObjectName("error_box")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.last_error = text
        return box

    def show_about(self) -> None:
        QMessageBox.about(self, "About Studio", "<b>Studio</b><p>Design, train and understand "
                          "neural networks by drawing them. Every wire shows its shape, every "
                          "node its cost; Export writes the very code Studio trains.</p>")

    # the window -----------------------------------------------------------------------------------
    def all_docks(self) -> list[QDockWidget]:
        return [self.palette_dock, self.inspector_dock, self.code_dock, self.problems_dock,
                *self.dashboard.all_docks]

    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())

    def reset_layout(self) -> None:
        self.layouts.reset()

    def apply_theme(self) -> None:
        self.tabs.repaint_graphs()
        self.code_view.apply_theme()
        self.inspector.rebuild()

    def dragEnterEvent(self, event):  # noqa: N802 - Qt's name
        if picture_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dropEvent(self, event):  # noqa: N802 - Qt's name
        paths = picture_paths(event.mimeData())
        if not paths:
            super().dropEvent(event)
            return
        event.acceptProposedAction()
        self.predictor.predict(paths)

    def closeEvent(self, event):  # noqa: N802 - Qt's name
        if not self.files.maybe_save("closing Studio", include_running=False) \
                or not self.training.may_close() or not self.sweeps.may_close():
            event.ignore()
            return
        self.save_layout()
        self.autosaver.timer.stop()
        self.dashboard.controller.shutdown()
        self.lr_finder.shutdown()
        self.layer_times.shutdown()
        self.predictor.shutdown()
        self.sweeps.shutdown()
        recovery.forget(self.session.doc, self.recovery_folder)
        event.accept()


def _macs(n: int) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.2f} G"
    if n >= 1e6:
        return f"{n / 1e6:.1f} M"
    return f"{n:,}"
