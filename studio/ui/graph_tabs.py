"""The canvas in the middle of the window: one tab per graph, the training graph first and then
each reusable network, kept in step with the project.

The tabs own the graph views and pass the document's news on to their scenes (changes, the
analysis, health colours). What a view asks for beyond its own scene (the quick-add popup, a
context menu, the zoom shown in the status bar) goes out as a signal for the window to route.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import QTabWidget

from studio.ui.canvas.scene import GraphScene
from studio.ui.canvas.view import GraphView

TRAINING = "training"
TRAINING_TAB = "Training"


class GraphTabs(QTabWidget):
    graph_shown = Signal(str)  # the graph now in front
    selection_changed = Signal()  # the selection of a graph changed
    quick_add_requested = Signal(object, object, object)  # scene point or None, view, wire or None
    context_menu_requested = Signal(object, object)  # view, viewport point
    zoom_changed = Signal(float)
    network_opened = Signal(str)  # a network instance was double-clicked

    def __init__(self, session, editor, parent=None):
        super().__init__(parent)
        self.session = session
        self.editor = editor
        self.snap = True
        self.views: dict[str, GraphView] = {}
        self.setDocumentMode(True)
        self.setMovable(False)
        self.setToolTip("")
        self.currentChanged.connect(self._current_changed)
        self.network_opened.connect(self.open_network)

    # the tabs ---------------------------------------------------------------------------------
    def rebuild(self) -> None:
        current = self.current_key() if self.count() else TRAINING
        self.blockSignals(True)
        while self.count():
            w = self.widget(0)
            self.removeTab(0)
            w.deleteLater()
        self.views.clear()
        keys = self._keys()
        for key in keys:
            self._add_tab(key)
        self.blockSignals(False)
        index = keys.index(current) if current in keys else 0
        self.setCurrentIndex(index)
        self._current_changed(index)

    def _keys(self) -> list[str]:
        return [TRAINING] + list(self.session.project.networks)

    def _add_tab(self, key: str) -> None:
        scene = GraphScene(self.editor, key)
        view = GraphView(scene)
        scene.setParent(view)  # goes with its tab
        scene.open_network.connect(self.network_opened)
        scene.quick_add.connect(lambda pos, v=view: self.quick_add_requested.emit(pos, v, None))
        scene.wire_dropped.connect(
            lambda n, p, pos, v=view: self.quick_add_requested.emit(pos, v, (n, p)))
        scene.selectionChanged.connect(lambda s=scene: self._scene_selection(s))
        scene.snap = self.snap
        view.zoom_changed.connect(self.zoom_changed)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(
            lambda p, v=view: self.context_menu_requested.emit(v, p))
        view.installEventFilter(self)
        self.views[key] = view
        i = self.addTab(view, TRAINING_TAB if key == TRAINING else key)
        self.setTabToolTip(i, "The training graph: data, models, losses and optimizers"
                           if key == TRAINING else
                           f"The reusable network {key}: one class, used by its instances")
        QTimer.singleShot(0, view.show_graph)

    def sync(self) -> None:
        """A network was added, renamed or removed: the tabs follow."""
        if list(self.views) != self._keys():
            self.rebuild()

    def current_key(self) -> str:
        view = self.currentWidget()
        return view.graph_key if isinstance(view, GraphView) else TRAINING

    def view(self, key: str | None = None) -> GraphView:
        return self.views[key or self.current_key()]

    def scene(self, key: str | None = None) -> GraphScene:
        return self.view(key).scene()

    def open_network(self, name: str) -> None:
        if name in self.views:
            self.setCurrentWidget(self.views[name])

    def select_node(self, key: str, node_id: str) -> None:
        """Show a node: switch to its graph, select it, scroll to it."""
        if key not in self.views:
            return
        self.setCurrentWidget(self.views[key])
        if node_id:
            self.scene(key).select_nodes([node_id])
            self.view(key).center_on_node(node_id)
            self.view(key).setFocus()

    def _current_changed(self, _index) -> None:
        key = self.current_key()
        if key in self.views:
            self.graph_shown.emit(key)

    def _scene_selection(self, scene) -> None:
        if not shiboken6.isValid(self) or not shiboken6.isValid(scene):
            return  # the window is being torn down
        if scene.graph_key == self.current_key():
            self.session.select(scene.graph_key, scene.selected_ids())
        self.selection_changed.emit()

    def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
        """Tab on a canvas opens the quick-add search at the pointer."""
        if isinstance(obj, GraphView) and event.type() == QEvent.Type.KeyPress \
                and event.key() == Qt.Key.Key_Tab and not event.modifiers():
            self.quick_add_requested.emit(None, obj, None)
            return True
        return super().eventFilter(obj, event)

    # the document's news ----------------------------------------------------------------------
    def apply_change(self, change) -> None:
        if change.structure:
            self.sync()
            for key in change.graphs:
                if key in self.views:
                    self.scene(key).rebuild()
        for key, view in self.views.items():
            if key in change.graphs and not change.structure:
                view.scene().apply_change(change)

    def show_analysis(self, analysis) -> None:
        for view in self.views.values():
            view.scene().show_analysis(analysis)

    def show_health(self, by_graph: dict | None) -> None:
        """Colour each graph's nodes by their training health; None clears the colours."""
        for key, view in self.views.items():
            view.scene().show_health(None if by_graph is None else by_graph.get(key, {}))

    def set_snap(self, on: bool) -> None:
        self.snap = on
        for view in self.views.values():
            view.scene().snap = on

    def show_graphs(self) -> None:
        """Every graph fitted into its view (a project was just opened)."""
        for view in self.views.values():
            view.show_graph()

    def repaint_graphs(self) -> None:
        """The theme changed: every view and scene draws again."""
        for view in self.views.values():
            view.viewport().update()
            view.scene().update()
