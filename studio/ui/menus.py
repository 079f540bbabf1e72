"""The window's menu bar and tool bar, built from the actions the parts of the window own.

Every command appears as the one QAction that ``ui/actions.py`` (or the part that owns it: the
training panel, the layouts, help) made, so a menu item, a tool button and a shortcut cannot
disagree. Menus whose items change (Open Recent, Examples, templates, Align) are kept on
``Menus`` for whoever fills them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu, QToolBar

from studio.core import templates

ALIGN_TEXT = {
    "right": ("Align &Right", "Line the selected nodes' right edges up"),
    "bottom": ("Align &Bottom", "Line the selected nodes' bottom edges up"),
    "hcenter": ("Centre in a &Column", "Put the selected nodes' centres on one vertical line"),
    "vcenter": ("Centre in a Ro&w", "Put the selected nodes' centres on one horizontal line"),
    "distribute-h": ("Distribute &Horizontally", "Space the selected nodes evenly left to right"),
    "distribute-v": ("Distribute &Vertically", "Space the selected nodes evenly top to bottom"),
}
VIEW_DATASET_TIP = ("Look at the training data before training: samples with labels, class "
                    "counts, shapes and value ranges (the selected Dataset block, else the first "
                    "one)")


def build_toolbar(actions, panel) -> QToolBar:
    """File, undo, view and export commands, then Train, Pause and Stop."""
    tb = QToolBar("Main")
    tb.setObjectName("main_toolbar")
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    tb.setMovable(False)
    a = actions
    for act in (a.new, a.open, a.save, None, a.undo, a.redo, None, a.fit, a.auto_layout,
                a.export_code, None, panel.train_action, panel.pause_action, panel.stop_action):
        if act is None:
            tb.addSeparator()
        else:
            tb.addAction(act)
    return tb


class Menus:
    """File, Edit, Graph, Train, View and Help in the window's menu bar."""

    def __init__(self, window):
        a, mb = window.actions, window.menuBar()
        self._file(mb.addMenu("&File"), a, window.files, window.comparison.action,
                   window.assignments.save_action, window.predictor.action)
        self._edit(mb.addMenu("&Edit"), a)
        self._graph(mb.addMenu("&Graph"), a, window.commands, window.view_dataset)
        panel = window.dashboard.panel
        m = mb.addMenu("T&rain")
        m.addActions([panel.train_action, panel.pause_action, panel.stop_action])
        m.addSeparator()
        m.addActions([panel.continue_action, panel.save_action, panel.load_weights_action])
        m.addSeparator()
        m.addActions([window.lr_finder.action, window.sweeps.action, window.layer_times.action])
        m = mb.addMenu("&View")
        m.addActions([a.fit, a.zoom_in, a.zoom_out, a.zoom_reset])
        m.addSeparator()
        m.addAction(a.snap)
        m.addSeparator()
        for dock in window.all_docks():
            m.addAction(dock.toggleViewAction())
        m.addAction(window.comparison.view_action)  # its dock is made by the first comparison
        m.addAction(window.lessons.dock.toggleViewAction())
        m.addAction(window.assignments.dock.toggleViewAction())
        window.layouts.fill_menu(m)
        m.addAction(a.reset_layout)
        m.addSeparator()
        m.addMenu(window.help.theme_menu)
        window.lessons.fill_menu(mb.addMenu("&Lessons"))
        m = mb.addMenu("&Help")
        window.help.fill_menu(m)
        m.addActions([a.shortcuts, a.about])
        for menu in mb.findChildren(QMenu):
            menu.setToolTipsVisible(True)

    def _file(self, m: QMenu, a, files, compare, save_assignment, predict) -> None:
        m.addAction(a.new)
        self.templates = m.addMenu("New from &Template")
        for name in templates.TEMPLATES:
            act = self.templates.addAction(name.capitalize())
            act.setToolTip(templates.describe(name))
            act.setStatusTip(templates.describe(name))
            act.triggered.connect(lambda _=False, n=name: files.new_project(n))
        m.addAction(a.open)
        m.addAction(files.import_action)
        self.recent = m.addMenu("Open &Recent")
        self.recent.setToolTipsVisible(True)
        self.recent.aboutToShow.connect(lambda: files.fill_recent(self.recent))
        self.examples = m.addMenu("E&xamples")
        self.examples.setToolTipsVisible(True)
        files.fill_examples(self.examples)
        m.addAction(compare)
        m.addAction(predict)
        m.addSeparator()
        m.addActions([a.save, a.save_as, save_assignment])
        m.addSeparator()
        m.addActions([a.export_code, a.export_onnx])
        m.addSeparator()
        m.addAction(a.quit)

    def _edit(self, m: QMenu, a) -> None:
        m.addActions([a.undo, a.redo])
        m.addSeparator()
        m.addActions([a.cut, a.copy, a.paste, a.duplicate, a.linked_duplicate])
        m.addSeparator()
        m.addActions([a.delete, a.delete_reconnect, a.select_all])
        m.addSeparator()
        m.addAction(a.add_block)

    def _graph(self, m: QMenu, a, commands, view_dataset) -> None:
        m.addActions([a.make_network, a.explode])
        m.addSeparator()
        m.addActions([a.new_network, a.rename_network, a.remove_network])
        m.addSeparator()
        self.align = m.addMenu("&Align")
        self.align.setToolTipsVisible(True)
        self.align.addActions([a.align_left, a.align_top])
        for how, (text, tip) in ALIGN_TEXT.items():
            act = self.align.addAction(text)
            act.setObjectName(f"align_{how}")
            act.setToolTip(tip)
            act.setStatusTip(tip)
            act.triggered.connect(lambda _=False, h=how: commands.align(h))
        m.addAction(a.auto_layout)
        m.addSeparator()
        view_data = m.addAction("View &Dataset\u2026")
        view_data.setObjectName("view_dataset")
        view_data.setToolTip(VIEW_DATASET_TIP)
        view_data.setStatusTip(VIEW_DATASET_TIP)
        view_data.triggered.connect(lambda _=False: view_dataset())
