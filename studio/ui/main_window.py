"""The main window: graph tabs in the middle, palette, inspector, code and problems in docks.

It owns the session (document, analysis, code) and the editor, wires the actions to them and
keeps the tabs in step with the project's networks. Files (New, Open, Recent, Examples, Save,
and asking before work is lost) are ``ui/files.py``; Export is ``ui/export_dialog.py``; autosave
and recovery ``ui/autosave.py``; the Help menu and the theme switch ``ui/help.py``. The dock
layout is remembered in QSettings.
"""

from __future__ import annotations

import atexit
from pathlib import Path

import shiboken6
from PySide6.QtCore import QByteArray, QMimeData, QPoint, QSettings, Qt, QTimer
from PySide6.QtGui import QCursor, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QTabWidget,
    QToolBar,
)

from studio.core import package_files, recovery, templates
from studio.core.document import Document
from studio.core.project import INSTANCE
from studio.ui import theme
from studio.ui.actions import Actions
from studio.ui.autosave import Autosave, RecoveryDialog
from studio.ui.canvas.quick_add import QuickAdd
from studio.ui.canvas.scene import GraphScene
from studio.ui.canvas.view import GraphView
from studio.ui.code_view import CodeView
from studio.ui.dashboard.dashboard import Dashboard
from studio.ui.editing import Editor
from studio.ui.export_dialog import Exporter
from studio.ui.files import NewDialog, ProjectFiles
from studio.ui.help import Help
from studio.ui.inspector import Inspector
from studio.ui.layouts import WindowLayouts
from studio.ui.palette import Palette
from studio.ui.problems import ProblemsList
from studio.ui.session import Session

EXAMPLES = package_files.examples_folder()
CLIPBOARD_MIME = "application/x-studio-nodes"
MAX_RECENT = 8
TRAINING_TAB = "Training"


def settings_store() -> QSettings:
    return QSettings("Studio", "Studio")


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, recovery_folder=None, parent=None):
        super().__init__(parent)
        self.settings = settings if settings is not None else settings_store()
        self.recovery_folder = recovery_folder
        self.session = Session(parent=self)
        self.editor = Editor(self.session)
        self.views: dict[str, GraphView] = {}
        self.setObjectName("studio_main_window")
        self.setWindowTitle("Studio")
        self.setDockOptions(QMainWindow.DockOption.AllowTabbedDocks |
                            QMainWindow.DockOption.AnimatedDocks)
        self.actions = Actions(self)
        self.files = ProjectFiles(self)
        self.exporter = Exporter(self)
        self.help = Help(self)
        self._build_widgets()
        self.layouts = WindowLayouts(self)
        self._build_menus()
        self._connect()
        self.quick_add = QuickAdd(self)
        self.quick_add.chosen.connect(self._quick_added)
        self._quick_at = None
        self._rebuild_tabs()
        self._update_title()
        self._update_status()
        self.autosaver = Autosave(self)
        self.autosave_timer = self.autosaver.timer
        self.layouts.reset()  # sized for the screen, the editing layout
        self._restore_layout()

    # construction ---------------------------------------------------------------------------------
    def _dock(self, title: str, name: str, widget, area, tip: str) -> QDockWidget:
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
        return dock

    def _build_widgets(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setMovable(False)
        self.tabs.setToolTip("")
        self.setCentralWidget(self.tabs)
        self.palette = Palette()
        self.inspector = Inspector(self.session, self.editor)
        self.code_view = CodeView(self.session)
        self.problems = ProblemsList(self.session)
        L, R, B = (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea,
                   Qt.DockWidgetArea.BottomDockWidgetArea)
        self.palette_dock = self._dock("Blocks", "palette_dock", self.palette, L,
                                       "Blocks by category: drag one onto the canvas")
        self.inspector_dock = self._dock("Inspector", "inspector_dock", self.inspector, R,
                                         "The selected node's parameters, shape and cost")
        self.code_dock = self._dock("Code", "code_dock", self.code_view, B,
                                    "The generated PyTorch code, with the selection highlighted")
        self.problems_dock = self._dock("Problems", "problems_dock", self.problems, B,
                                        "What stops the project from running, and how to fix it")
        self.splitDockWidget(self.code_dock, self.problems_dock, Qt.Orientation.Horizontal)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.resizeDocks([self.palette_dock, self.inspector_dock], [200, 340],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.code_dock, self.problems_dock], [620, 250],
                         Qt.Orientation.Horizontal)
        self.dashboard = Dashboard(self)
        self.resizeDocks([self.code_dock], [330], Qt.Orientation.Vertical)
        self.resizeDocks([self.inspector_dock, self.dashboard.panel_dock], [430, 330],
                         Qt.Orientation.Vertical)
        self.totals = QLabel()
        self.totals.setToolTip("Totals of the project: parameters and multiply-adds per sample")
        self.zoom_label = QLabel()
        self.zoom_label.setToolTip("Zoom of the canvas (wheel to zoom, F to fit)")
        self.statusBar().addPermanentWidget(self.totals)
        self.statusBar().addPermanentWidget(self.zoom_label)
        tb = QToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.setMovable(False)
        a = self.actions
        panel = self.dashboard.panel
        for act in (a.new, a.open, a.save, None, a.undo, a.redo, None, a.fit, a.auto_layout,
                    a.export_code, None, panel.train_action, panel.pause_action,
                    panel.stop_action):
            if act is None:
                tb.addSeparator()
            else:
                tb.addAction(act)
        self.addToolBar(tb)
        self.toolbar = tb

    def _build_menus(self) -> None:
        a = self.actions
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addAction(a.new)
        self.templates_menu = m.addMenu("New from &Template")
        for name in templates.TEMPLATES:
            act = self.templates_menu.addAction(name.capitalize())
            act.setToolTip(templates.describe(name))
            act.setStatusTip(templates.describe(name))
            act.triggered.connect(lambda _=False, n=name: self.new_project(n))
        m.addAction(a.open)
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.setToolTipsVisible(True)
        self.recent_menu.aboutToShow.connect(lambda: self.files.fill_recent(self.recent_menu))
        self.examples_menu = m.addMenu("E&xamples")
        self.examples_menu.setToolTipsVisible(True)
        self.files.fill_examples(self.examples_menu)
        m.addSeparator()
        m.addActions([a.save, a.save_as])
        m.addSeparator()
        m.addActions([a.export_code, a.export_onnx])
        m.addSeparator()
        m.addAction(a.quit)
        m = mb.addMenu("&Edit")
        m.addActions([a.undo, a.redo])
        m.addSeparator()
        m.addActions([a.cut, a.copy, a.paste, a.duplicate, a.linked_duplicate])
        m.addSeparator()
        m.addActions([a.delete, a.delete_reconnect, a.select_all])
        m.addSeparator()
        m.addAction(a.add_block)
        m = mb.addMenu("&Graph")
        m.addActions([a.make_network, a.explode])
        m.addSeparator()
        m.addActions([a.new_network, a.rename_network, a.remove_network])
        m.addSeparator()
        self.align_menu = m.addMenu("&Align")
        self.align_menu.setToolTipsVisible(True)
        self.align_menu.addActions([a.align_left, a.align_top])
        for how in ("right", "bottom", "hcenter", "vcenter", "distribute-h", "distribute-v"):
            text, tip = ALIGN_TEXT[how]
            act = self.align_menu.addAction(text)
            act.setObjectName(f"align_{how}")
            act.setToolTip(tip)
            act.setStatusTip(tip)
            act.triggered.connect(lambda _=False, h=how: self.align(h))
        m.addAction(a.auto_layout)
        m.addSeparator()
        view_data = m.addAction("View &Dataset\u2026")
        view_data.setObjectName("view_dataset")
        tip = ("Look at the training data before training: samples with labels, class counts, "
               "shapes and value ranges (the selected Dataset block, else the first one)")
        view_data.setToolTip(tip)
        view_data.setStatusTip(tip)
        view_data.triggered.connect(lambda _=False: self.view_dataset())
        panel = self.dashboard.panel
        m = mb.addMenu("T&rain")
        m.addActions([panel.train_action, panel.pause_action, panel.stop_action])
        m.addSeparator()
        m.addActions([panel.continue_action, panel.save_action])
        m = mb.addMenu("&View")
        m.addActions([a.fit, a.zoom_in, a.zoom_out, a.zoom_reset])
        m.addSeparator()
        m.addAction(a.snap)
        m.addSeparator()
        for dock in self._all_docks():
            m.addAction(dock.toggleViewAction())
        self.layouts.fill_menu(m)
        m.addAction(a.reset_layout)
        m.addSeparator()
        m.addMenu(self.help.theme_menu)
        m = mb.addMenu("&Help")
        self.help.fill_menu(m)
        m.addActions([a.shortcuts, a.about])
        for menu in mb.findChildren(QMenu):
            menu.setToolTipsVisible(True)

    def _connect(self) -> None:
        a, s = self.actions, self.session
        a.on("new", self.files.new_dialog)
        a.on("open", self.files.open_dialog)
        a.on("save", self.files.save)
        a.on("save_as", self.files.save_as)
        a.on("export_code", self.exporter.export_code_dialog)
        a.on("export_onnx", self.exporter.export_onnx_dialog)
        a.on("quit", self.close)
        a.on("undo", s.undo)
        a.on("redo", s.redo)
        a.on("cut", self.cut)
        a.on("copy", self.copy)
        a.on("paste", self.paste)
        a.on("duplicate", lambda: self.duplicate(False))
        a.on("linked_duplicate", lambda: self.duplicate(True))
        a.on("delete", lambda: self.delete_selection(ask=True))
        a.on("delete_reconnect", lambda: self.delete_selection(reconnect=True))
        a.on("select_all", self.select_all)
        a.on("add_block", self.open_quick_add)
        a.on("make_network", self.make_network)
        a.on("explode", self.explode)
        a.on("new_network", self.new_network)
        a.on("rename_network", self.rename_network)
        a.on("remove_network", self.remove_network)
        a.on("align_left", lambda: self.align("left"))
        a.on("align_top", lambda: self.align("top"))
        a.on("auto_layout", self.auto_layout)
        a.on("fit", lambda: self.view().fit_all())
        a.on("zoom_in", lambda: self.view().zoom_in())
        a.on("zoom_out", lambda: self.view().zoom_out())
        a.on("zoom_reset", lambda: self.view().set_zoom(1.0))
        a.snap.toggled.connect(self._set_snap)
        a.on("reset_layout", self.reset_layout)
        a.on("shortcuts", self.show_shortcuts)
        a.on("about", self.show_about)
        s.changed.connect(self._on_change)
        s.replaced.connect(self._on_replaced)
        s.analyzed.connect(self._on_analyzed)
        s.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        s.selection_changed.connect(self._update_actions)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.palette.activated.connect(self._palette_activated)
        self.problems.go_to.connect(self.select_node)
        self.inspector.open_network.connect(self.open_network_tab)
        self.inspector.select_node.connect(self.select_node)
        self.dashboard.panel.save_weights_requested.connect(self.save_weights)
        self.dashboard.controller.failed.connect(self._training_failed)

    # tabs -----------------------------------------------------------------------------------------
    def _rebuild_tabs(self) -> None:
        current = self.current_key() if self.tabs.count() else "training"
        self.tabs.blockSignals(True)
        while self.tabs.count():
            w = self.tabs.widget(0)
            self.tabs.removeTab(0)
            w.deleteLater()
        self.views.clear()
        keys = ["training"] + list(self.session.project.networks)
        for key in keys:
            self._add_tab(key)
        self.tabs.blockSignals(False)
        index = keys.index(current) if current in keys else 0
        self.tabs.setCurrentIndex(index)
        self._tab_changed(index)

    def _add_tab(self, key: str) -> None:
        scene = GraphScene(self.editor, key)
        view = GraphView(scene)
        scene.setParent(view)  # goes with its tab
        scene.open_network.connect(self.open_network_tab)
        scene.quick_add.connect(lambda pos, v=view: self.open_quick_add(pos, v))
        scene.wire_dropped.connect(lambda n, p, pos, v=view: self.open_quick_add(pos, v, (n, p)))
        scene.selectionChanged.connect(lambda s=scene: self._scene_selection(s))
        scene.snap = self.actions.snap.isChecked()
        view.zoom_changed.connect(self._show_zoom)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(lambda p, v=view: self._context_menu(v, p))
        view.installEventFilter(self)
        self.views[key] = view
        label = TRAINING_TAB if key == "training" else key
        i = self.tabs.addTab(view, label)
        self.tabs.setTabToolTip(i, "The training graph: data, models, losses and optimizers"
                                if key == "training" else
                                f"The reusable network {key}: one class, used by its instances")
        QTimer.singleShot(0, view.show_graph)

    def _sync_tabs(self) -> None:
        keys = ["training"] + list(self.session.project.networks)
        if list(self.views) != keys:
            self._rebuild_tabs()

    def current_key(self) -> str:
        view = self.tabs.currentWidget()
        return view.graph_key if isinstance(view, GraphView) else "training"

    def view(self, key: str | None = None) -> GraphView:
        return self.views[key or self.current_key()]

    def scene(self, key: str | None = None) -> GraphScene:
        return self.view(key).scene()

    def _tab_changed(self, _index) -> None:
        key = self.current_key()
        if key not in self.views:
            return
        graph = self.session.doc.graph(key)
        networks = [n for n in self.session.project.networks if n != key]
        self.palette.populate(graph.kind, networks)
        self.inspector.set_graph(key)
        self.session.select(key, self.scene(key).selected_ids())
        self._show_zoom(self.view(key).zoom())
        self._update_actions()

    def open_network_tab(self, name: str) -> None:
        if name in self.views:
            self.tabs.setCurrentWidget(self.views[name])

    # document events ------------------------------------------------------------------------------
    def _on_change(self, change) -> None:
        if change.structure:
            self._sync_tabs()
            for key in change.graphs:
                if key in self.views:
                    self.scene(key).rebuild()
        for key, view in self.views.items():
            if key in change.graphs and not change.structure:
                view.scene().apply_change(change)
        self._update_title()
        self._update_actions()

    def _on_replaced(self) -> None:
        self._rebuild_tabs()
        self._update_title()
        self._update_actions()

    def _on_analyzed(self) -> None:
        for view in self.views.values():
            view.scene().show_analysis(self.session.analysis)
        self._update_status()

    def _scene_selection(self, scene) -> None:
        if not shiboken6.isValid(self.tabs) or not shiboken6.isValid(scene):
            return  # the window is being torn down
        if scene.graph_key == self.current_key():
            self.session.select(scene.graph_key, scene.selected_ids())
        self._update_actions()

    def select_node(self, key: str, node_id: str) -> None:
        """Show a node: switch to its graph, select it, scroll to it."""
        if key not in self.views:
            return
        self.tabs.setCurrentWidget(self.views[key])
        if node_id:
            self.scene(key).select_nodes([node_id])
            self.view(key).center_on_node(node_id)
            self.view(key).setFocus()

    # status ---------------------------------------------------------------------------------------
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

    def _update_actions(self) -> None:
        a, doc = self.actions, self.session.doc
        a.undo.setEnabled(doc.can_undo)
        a.redo.setEnabled(doc.can_redo)
        a.undo.setText(f"&Undo {doc.undo_text}" if doc.can_undo else "&Undo")
        a.redo.setText(f"&Redo {doc.redo_text}" if doc.can_redo else "&Redo")
        a.undo.setIconText("Undo")  # the toolbar keeps a short label; the menu says what
        a.redo.setIconText("Redo")
        a.undo.setToolTip(f"Undo {doc.undo_text} (Ctrl+Z)" if doc.can_undo else "Nothing to undo")
        a.redo.setToolTip(f"Redo {doc.redo_text} (Ctrl+Shift+Z)" if doc.can_redo else
                          "Nothing to redo")
        ids = self.session.selection[1]
        has = bool(ids) or bool(self.views and self.scene().selected_wires())
        for act in (a.cut, a.copy, a.duplicate, a.linked_duplicate, a.make_network):
            act.setEnabled(bool(ids))
        a.delete.setEnabled(has)
        a.delete_reconnect.setEnabled(bool(ids))
        a.align_left.setEnabled(len(ids) > 1)
        a.align_top.setEnabled(len(ids) > 1)
        picked = self.session.selected_node
        a.explode.setEnabled(picked is not None and picked[1].block == INSTANCE)
        is_net = self.current_key() != "training"
        a.rename_network.setEnabled(is_net)
        a.remove_network.setEnabled(is_net)

    # editing commands -----------------------------------------------------------------------------
    def selected(self) -> tuple[str, list[str]]:
        key = self.current_key()
        return key, self.scene(key).selected_ids()

    def delete_selection(self, ask: bool = False, reconnect: bool = False) -> bool:
        key, ids = self.selected()
        scene = self.scene(key)
        if not ids:
            wires = scene.selected_wires()
            return self.editor.disconnect(key, [w.edge for w in wires]) if wires else False
        if ask and not reconnect and self.editor.can_reconnect(key, ids):
            answer = self.ask_reconnect(ids)
            if answer is None:
                return False
            reconnect = answer
        return self.editor.delete(key, ids, reconnect=reconnect)

    def ask_reconnect(self, ids) -> bool | None:
        """Offer to reconnect around deleted chain nodes: True, False, or None (cancel)."""
        box = QMessageBox(self)
        box.setObjectName("reconnect_box")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Delete")
        what = ids[0] if len(ids) == 1 else f"these {len(ids)} nodes"
        box.setText(f"Reconnect the wires around {what}?")
        box.setInformativeText("Its input can be wired straight to what it fed, so the chain "
                               "stays connected.")
        yes = box.addButton("Delete and Reconnect", QMessageBox.ButtonRole.AcceptRole)
        no = box.addButton("Just Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(yes)
        box.exec()
        clicked = box.clickedButton()
        return True if clicked is yes else False if clicked is no else None

    def copy(self) -> bool:
        key, ids = self.selected()
        if not ids:
            return False
        text = self.editor.copy_data(key, ids)
        if text is None:
            return False
        mime = QMimeData()
        mime.setData(CLIPBOARD_MIME, QByteArray(text.encode("utf-8")))
        mime.setText(text)
        QGuiApplication.clipboard().setMimeData(mime)
        _release_clipboard_at_exit()
        self.statusBar().showMessage(f"Copied {len(ids)} node{'s' if len(ids) != 1 else ''}", 4000)
        return True

    def cut(self) -> bool:
        key, ids = self.selected()
        return self.copy() and self.editor.delete(key, ids)

    def paste(self) -> list[str]:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None:
            return []
        if mime.hasFormat(CLIPBOARD_MIME):
            text = bytes(mime.data(CLIPBOARD_MIME)).decode("utf-8", "replace")
        elif mime.hasText() and mime.text().lstrip().startswith("{"):
            text = mime.text()
        else:
            self.statusBar().showMessage("Nothing to paste: copy some nodes first", 5000)
            return []
        key = self.current_key()
        ids = self.editor.paste(key, text)
        if ids:
            self.scene(key).select_nodes(ids)
        return ids

    def duplicate(self, linked: bool) -> list[str]:
        key, ids = self.selected()
        if not ids:
            return []
        new = self.editor.duplicate(key, ids, linked=linked)
        if new:
            self.scene(key).select_nodes(new)
        return new

    def select_all(self) -> None:
        scene = self.scene()
        scene.select_nodes(list(scene.nodes))

    def make_network(self, name: str | None = None) -> str | None:
        key, ids = self.selected()
        if not ids:
            return None
        if name is None:
            name, ok = QInputDialog.getText(self, "Make Network", "Name of the new network:",
                                            text=self.editor.free_network_name())
            if not ok or not name.strip():
                return None
        instance = self.editor.make_network(key, ids, name.strip())
        if instance is not None and key in self.views:
            self.tabs.setCurrentWidget(self.views[key])
            self.scene(key).select_nodes([instance])
        return instance

    def explode(self) -> list[str]:
        key, ids = self.selected()
        if len(ids) != 1:
            return []
        new = self.editor.explode(key, ids[0])
        if new and key in self.views:
            self.scene(key).select_nodes(new)
        return new

    def new_network(self) -> str | None:
        name, ok = QInputDialog.getText(self, "New Network", "Name of the network:",
                                        text=self.editor.free_network_name("Network"))
        if not ok or not name.strip():
            return None
        made = self.editor.add_network(name.strip())
        if made:
            self.open_network_tab(made)
        return made

    def rename_network(self) -> bool:
        key = self.current_key()
        if key == "training":
            return False
        name, ok = QInputDialog.getText(self, "Rename Network", f"New name for {key}:", text=key)
        if not ok or not name.strip() or name.strip() == key:
            return False
        done = self.editor.rename_network(key, name.strip())
        if done:
            self.open_network_tab(name.strip())
        return done

    def remove_network(self) -> bool:
        key = self.current_key()
        return key != "training" and self.editor.remove_network(key)

    def align(self, how: str) -> bool:
        key, ids = self.selected()
        return self.editor.align(key, ids, how)

    def view_dataset(self):
        """Open the dataset view for the selected Dataset block (else the first one); the
        data loads in the background, so the editor stays responsive."""
        from PySide6.QtWidgets import QDialog, QVBoxLayout

        from studio.ui.dataset_view import DatasetView

        graph = self.session.project.training
        key, ids = self.selected()
        chosen = [i for i in ids if key == "training" and graph.nodes[i].block == "Dataset"]
        chosen = chosen or [n.id for n in graph.nodes.values() if n.block == "Dataset"]
        if not chosen:
            self.statusBar().showMessage("The training graph has no Dataset block to view", 5000)
            return None
        node = graph.nodes[chosen[0]]
        dialog = QDialog(self)
        dialog.setWindowTitle(f"Dataset: {node.title or node.id}")
        dialog.resize(1000, 640)
        layout = QVBoxLayout(dialog)
        view = DatasetView(dialog)
        layout.addWidget(view)
        path = getattr(self.session.doc, "path", None)
        root = str(Path(path).resolve().parent) if path else None
        view.load(dict(node.params), root=root)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.show()
        dialog.dataset_view = view
        return dialog

    def auto_layout(self) -> bool:
        key = self.current_key()
        done = self.editor.auto_layout(key)
        if done:
            self.view(key).fit_all()
        return done

    def _set_snap(self, on: bool) -> None:
        for view in self.views.values():
            view.scene().snap = on

    # adding blocks --------------------------------------------------------------------------------
    def _palette_activated(self, payload: str) -> None:
        view = self.view()
        center = view.mapToScene(view.viewport().rect().center())
        view.drop_block(payload, center)
        view.setFocus()

    def open_quick_add(self, scene_pos=None, view=None, wire=None) -> None:
        """The search popup at ``scene_pos`` (else the pointer). ``wire``: (node, output) of a
        wire let go there; only blocks that take it are offered, and the chosen one is wired."""
        view = view or self.view()
        if scene_pos is None:
            local = view.viewport().mapFromGlobal(QCursor.pos())
            if not view.viewport().rect().contains(local):
                local = view.viewport().rect().center()
            scene_pos = view.mapToScene(local)
        payloads, ports, header = self.palette.all_payloads(), None, ""
        if wire is not None:
            ports = self.editor.blocks_accepting(view.graph_key, wire[0], wire[1], payloads)
            payloads = [p for p in payloads if p in ports]
            header = f"Blocks that take {wire[0]}.{wire[1]}"
        self._quick_at = (view, scene_pos, wire, ports)
        where = view.viewport().mapToGlobal(view.mapFromScene(scene_pos))
        self.quick_add.open_at(where, payloads, header)

    def _quick_added(self, payload: str) -> None:
        if self._quick_at is None:
            return
        view, pos, wire, ports = self._quick_at
        self._quick_at = None
        if wire is None:
            view.drop_block(payload, pos)
        else:
            view.add_wired(payload, pos, wire[0], wire[1], ports[payload])
        view.setFocus()

    def eventFilter(self, obj, event):
        if isinstance(obj, GraphView) and event.type() == event.Type.KeyPress \
                and event.key() == Qt.Key.Key_Tab and not event.modifiers():
            self.open_quick_add(view=obj)
            return True
        return super().eventFilter(obj, event)

    def _context_menu(self, view: GraphView, point: QPoint) -> None:
        a = self.actions
        menu = QMenu(self)
        menu.setToolTipsVisible(True)
        scene_pos = view.mapToScene(point)
        node = view.scene().node_at(scene_pos)
        if node is not None and not node.isSelected():
            view.scene().select_nodes([node.node_id])
        add = menu.addAction("Add Block Here\u2026")
        add.setToolTip("Type a block's name to add it here")
        add.triggered.connect(lambda: self.open_quick_add(scene_pos, view))
        menu.addSeparator()
        menu.addActions([a.cut, a.copy, a.paste, a.duplicate, a.linked_duplicate])
        menu.addSeparator()
        menu.addActions([a.delete, a.delete_reconnect])
        menu.addSeparator()
        menu.addActions([a.make_network, a.explode, a.align_left, a.align_top, a.auto_layout,
                         a.fit])
        menu.popup(view.viewport().mapToGlobal(point))

    # files (studio/ui/files.py) ---------------------------------------------------------------
    def maybe_save(self) -> bool:
        """Before the window closes: True to go on (asks when work would be lost)."""
        return self.files.maybe_save("closing Studio", include_running=False)

    def set_document(self, doc: Document, issues=()) -> None:
        old = self.session.doc
        if old is not doc:
            recovery.forget(old, self.recovery_folder)
        self.session.set_document(doc)
        self.problems.set_load_issues(issues)
        QTimer.singleShot(0, self._fit_all_views)

    def _fit_all_views(self) -> None:
        for view in self.views.values():
            view.show_graph()

    def new_project(self, template: str = "blank") -> bool:
        return self.files.new_project(template)

    def open_path(self, path, ask: bool = True) -> bool:
        return self.files.open_path(path, ask)

    def open_example(self, path) -> bool:
        return self.files.open_example(path)

    def save_to(self, path) -> bool:
        return self.files.save_to(path)

    # export (studio/ui/export_dialog.py) ----------------------------------------------------------
    def export_code(self, folder, weights: bool = True, onnx: bool = False) -> bool:
        return self.exporter.export_code(folder, weights=weights, onnx=onnx)

    def export_onnx(self, path) -> bool:
        return self.exporter.export_onnx(path)

    # training ---------------------------------------------------------------------------------------
    def save_weights(self) -> bool:
        """Train > Save Weights: the trained state goes beside the project file (saved first)."""
        if not self.session.doc.path and not self.files.save_as():
            return False
        try:
            path = self.dashboard.controller.save_weights()
        except OSError as err:
            self.show_error("Cannot save the weights", str(err))
            return False
        self.statusBar().showMessage(f"Saved the trained weights to {path}", 8000)
        return True

    def _training_failed(self, event: dict) -> None:
        """Say what went wrong in the status bar and show the node at fault; the graph and the
        plots so far are kept."""
        self.statusBar().showMessage(f"Training: {event.get('message', '')}", 15000)
        node = event.get("node")
        if node and node[0] in self.views and node[1] in self.session.doc.graph(node[0]).nodes:
            self.select_node(node[0], node[1])

    def _confirm_stop_training(self) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, "Training is running",
                          "Stop training and close? The weights trained so far are not saved.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("stop_training_box")
        return box.exec() == QMessageBox.StandardButton.Yes

    def show_error(self, title: str, text: str) -> QMessageBox:
        """A warning that does not block (window-modal)."""
        self.statusBar().showMessage(text.splitlines()[0], 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                          self)
        box.setObjectName("error_box")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.last_error = text
        return box

    last_error = ""

    def recent_files(self) -> list[str]:
        return self.files.recent_files()

    # autosave and recovery (studio/ui/autosave.py) ----------------------------------------------
    def autosave(self):
        return self.autosaver.autosave()

    def offer_recovery(self) -> bool:
        return self.autosaver.offer_recovery()

    # window ---------------------------------------------------------------------------------------
    def _restore_layout(self) -> None:
        self._default_state = self.saveState()
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())

    def _all_docks(self) -> list:
        return [self.palette_dock, self.inspector_dock, self.code_dock, self.problems_dock,
                *self.dashboard.all_docks]

    def reset_layout(self) -> None:
        self.layouts.reset()

    def closeEvent(self, event):
        if not self.maybe_save():
            event.ignore()
            return
        if self.dashboard.controller.running and not self._confirm_stop_training():
            event.ignore()
            return
        self.save_layout()
        self.autosave_timer.stop()
        self.dashboard.controller.shutdown()
        recovery.forget(self.session.doc, self.recovery_folder)
        event.accept()

    def apply_theme(self) -> None:
        for view in self.views.values():
            view.viewport().update()
            view.scene().update()
        self.code_view.apply_theme()
        self.inspector.rebuild()

    def show_shortcuts(self):
        """Help > Keyboard Shortcuts (studio/ui/help.py)."""
        return self.help.show_shortcuts()

    def show_about(self) -> None:
        QMessageBox.about(self, "About Studio", "<b>Studio</b><p>Design, train and understand "
                          "neural networks by drawing them. Every wire shows its shape, every "
                          "node its cost; Export writes the very code Studio trains.</p>")


_clipboard_guard = []


def _release_clipboard_at_exit() -> None:
    """Take our nodes off the clipboard before the interpreter exits: a QMimeData still on the
    clipboard while Qt and Python tear down crashes PySide on the way out."""
    if _clipboard_guard:
        return

    def release():
        app = QApplication.instance()
        if app is None:
            return
        clipboard = QGuiApplication.clipboard()
        mime = clipboard.mimeData()
        if mime is not None and mime.hasFormat(CLIPBOARD_MIME):
            clipboard.clear()

    atexit.register(release)
    _clipboard_guard.append(release)


ALIGN_TEXT = {
    "right": ("Align &Right", "Line the selected nodes' right edges up"),
    "bottom": ("Align &Bottom", "Line the selected nodes' bottom edges up"),
    "hcenter": ("Centre in a &Column", "Put the selected nodes' centres on one vertical line"),
    "vcenter": ("Centre in a Ro&w", "Put the selected nodes' centres on one horizontal line"),
    "distribute-h": ("Distribute &Horizontally", "Space the selected nodes evenly left to right"),
    "distribute-v": ("Distribute &Vertically", "Space the selected nodes evenly top to bottom"),
}


def _macs(n: int) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.2f} G"
    if n >= 1e6:
        return f"{n / 1e6:.1f} M"
    return f"{n:,}"


__all__ = ["MainWindow", "NewDialog", "RecoveryDialog", "settings_store", "theme"]
