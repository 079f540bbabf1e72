"""Comparing the current graph with another project: a recorded run's graph or a file.

``compare_with(project, title)`` is the one way in (File > Compare With File... goes through
``compare_with_file``; the Runs panel passes a run's graph and "run 3"). From then until the
Diff panel is closed the comparison follows the user's edits: a moment after the last edit
(``DIFF_DELAY_MS``) the diff is taken again, from the other project (analysed once) to the
current one (whose analysis the session keeps up to date), and the panel and the canvas marks
follow it. The canvas marks only the nodes whose mark changed (``GraphScene.show_diff``).
Closing the panel clears every mark.

View > Diff (``view_action``) hides and shows the panel like the other docks' entries; the dock
is made by the first comparison, so until then the entry is disabled. Hiding it (the entry, or
the dock's close button) ends the comparison; showing it again, by whichever entry, compares
with the same project again.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QFileDialog

from studio.core import fileformat
from studio.core.diff import ADDED, REMOVED, ProjectDiff, diff_projects, edits_text
from studio.core.inference import analyze, node_ports
from studio.core.project import Project, ProjectError
from studio.ui.actions import command_action
from studio.ui.canvas.diff_marks import Ghost, Mark
from studio.ui.canvas.node_item import node_height
from studio.ui.diff_panel import DiffPanel, arrows

DIFF_DELAY_MS = 300
VIEW_TIP = "Show or hide the diff: what differs between the current graph and another project"
VIEW_TIP_BEFORE = ("Show the diff, once the current graph is compared with another project "
                   "(File > Compare With File\u2026, or Compare in the Runs panel)")
COMPARE_TIP = ("Compare the current graph with another project file: the Diff panel lists what "
               "was added, removed and changed, and the canvas marks it")


class Comparison(QObject):
    """The Diff panel, the canvas marks and the diff they show, while a comparison is open."""

    def __init__(self, session, tabs, make_dock, status, show_error, dialog_parent):
        """``make_dock(panel)`` puts the panel in a new dock of the window and returns it."""
        super().__init__(dialog_parent)
        self.session = session
        self.tabs = tabs
        self._make_dock = make_dock
        self._status = status
        self._show_error = show_error
        self._dialog_parent = dialog_parent
        self.other: Project | None = None
        self.title = ""
        self.diff: ProjectDiff | None = None
        self._other_analysis = None
        self.panel = DiffPanel()
        self.panel.go_to.connect(self.show_node)
        self.panel.stop_requested.connect(self.stop)
        self.dock = None
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DIFF_DELAY_MS)
        self.timer.timeout.connect(self.refresh)
        session.analyzed.connect(self._edited)
        self.action = command_action("Compare &With File\u2026", "action_compare_file",
                                     COMPARE_TIP, self.compare_with_file_dialog, self)
        self._last: tuple | None = None  # (project, title, analysis) of the latest comparison
        self.view_action = command_action("&Diff", "action_view_diff", VIEW_TIP_BEFORE,
                                          self._show_or_hide, self)
        self.view_action.setCheckable(True)
        self.view_action.setEnabled(False)

    @property
    def active(self) -> bool:
        return self.other is not None

    # starting -----------------------------------------------------------------------------------
    def compare_with(self, project: Project, title: str) -> ProjectDiff:
        """Compare the current graph with ``project`` (named ``title`` in the panel: "run 3",
        "lenet_v1.studio"), show the Diff panel and mark the canvas; returns the diff."""
        self._begin(project, title)
        if self.dock is None:
            self.dock = self._make_dock(self.panel)
            self.dock.installEventFilter(self)
            self.view_action.setEnabled(True)
            self.view_action.setToolTip(VIEW_TIP)
            self.view_action.setStatusTip(VIEW_TIP)
        self.dock.setWindowTitle(f"Diff: current vs {title}")
        self.dock.show()
        self.dock.raise_()
        self.refresh()
        self._status(f"Comparing the current graph with {title}: {len(self.diff.nodes)} "
                     f"node change(s)", 6000)
        return self.diff

    def _begin(self, project: Project, title: str, analysis=None) -> None:
        """The other project (analysed once: it does not change while compared)."""
        self.other, self.title = project, title
        self._other_analysis = analysis if analysis is not None else analyze(project)
        self._last = (project, title, self._other_analysis)
        self.panel.clear()

    def _show_or_hide(self) -> None:
        """View > Diff: show the panel (comparing again) or close it (ending the comparison)."""
        if self.dock is None:
            return
        if self.view_action.isChecked():
            self.dock.show()
            self.dock.raise_()
        else:
            self.dock.close()

    def compare_with_file(self, path) -> bool:
        """Compare with a project file; a file that cannot be read is named in a warning and
        changes nothing (the current project and any comparison shown stay as they were)."""
        try:
            project = fileformat.load(path)
        except (fileformat.FileFormatError, OSError, ProjectError, ValueError) as err:
            self._show_error("Cannot compare with the file",
                             f"{path}: {err}\n\nNothing was changed; the current project is as "
                             "it was.")
            return False
        self.compare_with(project, Path(path).name)
        return True

    def compare_with_file_dialog(self) -> None:
        doc = self.session.doc
        start = str(Path(doc.path).parent) if doc.path else ""
        path, _ = QFileDialog.getOpenFileName(self._dialog_parent, "Compare with project", start,
                                              "Studio projects (*.studio);;All files (*)")
        if path:
            self.compare_with_file(path)

    # following the edits ------------------------------------------------------------------------
    def _edited(self) -> None:
        if self.active:
            self.timer.start()

    def refresh(self) -> None:
        """Take the diff again and show it in the panel and on the canvas."""
        self.timer.stop()
        if not self.active:
            return
        self.diff = diff_projects(self.other, self.session.project,
                                  (self._other_analysis, self.session.analysis))
        self.panel.show_diff(self.diff, self.title)
        self._mark(self.diff)

    def _mark(self, diff: ProjectDiff) -> None:
        marks: dict = {}
        ghosts: dict = {}
        for change in diff.nodes:
            if change.status == REMOVED:
                ghosts.setdefault(change.graph, []).append(self._ghost(change))
            else:
                marks.setdefault(change.graph, {})[change.node] = Mark(
                    change.status, self._note(change))
        for key, view in self.tabs.views.items():
            view.scene().show_diff(marks.get(key, {}), ghosts.get(key, ()))

    def _note(self, change) -> str:
        if change.status == ADDED:
            return f"added: only in the current graph, not in {self.title}"
        return f"changed since {self.title}: {arrows(edits_text(change))}"

    def _ghost(self, change) -> Ghost:
        """Where the removed node stood in the other project, as tall as it was there."""
        graph = dict(self.other.graphs())[change.graph]
        try:
            height = node_height(len(node_ports(graph, change.node, "input")),
                                 len(node_ports(graph, change.node, "output")))
        except KeyError:
            height = node_height(1, 1)
        return Ghost(change.node, change.block[0], tuple(graph.nodes[change.node].pos), height,
                     f"{change.node} ({change.block[0]}): removed, only in {self.title}")

    # the panel's rows ---------------------------------------------------------------------------
    def show_node(self, graph: str, node_id: str, status: str) -> None:
        """Switch to the node's graph, select it and centre it (a removed node: its ghost)."""
        if graph not in self.tabs.views:
            self._status(f"The network {graph} is only in {self.title}", 6000)
            return
        view = self.tabs.views[graph]
        scene = view.scene()
        if status == REMOVED or node_id not in scene.nodes:
            self.tabs.select_node(graph, "")
            scene.select_nodes([])
            ghost = scene.ghosts.get(node_id)
            if ghost is not None:
                view.centerOn(ghost.scene_rect().center())
            self._status(f"{node_id} is only in {self.title}", 6000)
            return
        self.tabs.select_node(graph, node_id)
        view.centerOn(scene.nodes[node_id].scene_rect().center())

    # stopping -----------------------------------------------------------------------------------
    def stop(self) -> None:
        """Close the Diff panel and clear the marks."""
        if self.dock is not None:
            self.dock.close()
        self._clear()

    def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
        """The dock closed: the comparison ends; shown again (View > Diff, the dock's own
        entry in the window's menus): the latest comparison resumes. View > Diff follows."""
        if obj is self.dock:
            kind = event.type()
            if kind == QEvent.Type.Close:
                self._clear()
            elif kind == QEvent.Type.Show and not self.active and self._last is not None:
                self._begin(*self._last)
                self.refresh()
            if kind in (QEvent.Type.Show, QEvent.Type.Hide):
                self.view_action.setChecked(not self.dock.isHidden())
        return super().eventFilter(obj, event)

    def _clear(self) -> None:
        self.timer.stop()
        self.other = self._other_analysis = self.diff = None
        self.title = ""
        self.panel.clear()
        for view in self.tabs.views.values():
            view.scene().show_diff({}, ())

