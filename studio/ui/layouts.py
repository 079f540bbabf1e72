"""The window's arrangements of docks (View > Layout: Editing, Training, Analysis), sized for
the screen the window is on, and the window's default size.

The window must fit any screen from 1280x800 up and never grow by itself. A QMainWindow grows
when the minimum sizes of its docks add up past its width (a row of docks needs the sum of
their minimums), so every dock's content scrolls inside it rather than asking for room: a dock
can be made as small as its title, and a view smaller than its content shows scroll bars.
The layouts then give each panel a size it can be read at.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, QRect, QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication
from PySide6.QtWidgets import QAbstractScrollArea, QDockWidget, QFrame, QScrollArea, QTabBar

LAYOUTS = {  # name -> (menu text, what it is for)
    "editing": ("&Editing", "Blocks on the left, the inspector and the training panel on the "
                "right, the code and problems under a large canvas"),
    "training": ("&Training", "The training panel and inspector on the right, the plots in one "
                 "tabbed area under the canvas"),
    "analysis": ("&Analysis", "Every plot of the project at once, tiled under a smaller canvas, "
                 "with the training panel on the right"),
}
# the size the window prefers, as a share of the screen's available area: 1400x900 on a
# 1600x1000 screen; on small screens (1280x800) the window takes the whole available area
SCREEN_SHARE = (0.875, 0.9)
SMALLEST = QSize(1280, 800)
FRAME_ALLOWANCE = QSize(8, 38)  # a window manager's title bar and borders, roughly
MIN_CANVAS = QSize(400, 300)  # the canvas keeps at least this in every layout
PLOT_ASPECT = 1.6  # a tiled plot reads best about this much wider than tall


def default_size(available: QRect) -> QSize:
    """The window's size on a screen with this available area: a share of it, at least
    1280x800 where the screen has that much, never more than fits with the window frame."""
    width = max(round(available.width() * SCREEN_SHARE[0]), SMALLEST.width())
    height = max(round(available.height() * SCREEN_SHARE[1]), SMALLEST.height())
    return QSize(min(width, available.width() - FRAME_ALLOWANCE.width()),
                 min(height, available.height() - FRAME_ALLOWANCE.height()))


def grid_shape(count: int, width: int, height: int) -> tuple[int, int]:
    """Rows and columns for ``count`` plots in a ``width`` x ``height`` area, choosing the
    number of rows whose cells come nearest a readable aspect."""
    if count <= 1:
        return 1, max(count, 1)
    best = None
    for rows in range(1, min(count, 3) + 1):
        cols = math.ceil(count / rows)
        aspect = (width / cols) / max(height / rows, 1)
        score = abs(math.log(aspect / PLOT_ASPECT))
        if best is None or score < best[0]:
            best = (score, rows, cols)
    return best[1], best[2]


class WindowLayouts(QObject):
    """Arranges the main window's docks; owns View > Layout and the default geometry."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.current = "editing"
        for dock in self._docks():
            make_scrollable(dock)
        self.group = QActionGroup(self)
        self.actions: dict[str, QAction] = {}
        for name, (text, tip) in LAYOUTS.items():
            act = QAction(text, self)
            act.setObjectName(f"layout_{name}")
            act.setCheckable(True)
            act.setToolTip(tip)
            act.setStatusTip(tip)
            act.triggered.connect(lambda _=False, n=name: self.apply(n))
            self.group.addAction(act)
            self.actions[name] = act
        self.actions["editing"].setChecked(True)
        self.tile_action = QAction("&Tile Training Plots", self)
        self.tile_action.setObjectName("tile_plots")
        self.tile_action.setToolTip("Show every training plot at once, tiled under the canvas "
                                    "(the Analysis layout)")
        self.tile_action.setStatusTip(self.tile_action.toolTip())
        self.tile_action.triggered.connect(lambda _=False: self.apply("analysis"))

    def fill_menu(self, menu) -> None:
        """View > Layout > Editing / Training / Analysis, and Tile Training Plots."""
        sub = menu.addMenu("&Layout")
        sub.setToolTipsVisible(True)
        sub.addActions(list(self.actions.values()))
        menu.addAction(self.tile_action)

    # geometry ---------------------------------------------------------------------------------
    def available(self) -> QRect:
        screen = self.window.screen() or QGuiApplication.primaryScreen()
        return screen.availableGeometry()

    def fit_to_screen(self, available: QRect | None = None) -> None:
        """Give the window its default size for the screen and put it inside the screen."""
        area = available if available is not None else self.available()
        size = default_size(area)
        self.window.resize(size)
        x = area.x() + max((area.width() - size.width() - FRAME_ALLOWANCE.width()) // 2, 0)
        y = area.y() + max((area.height() - size.height() - FRAME_ALLOWANCE.height()) // 2, 0)
        if not self.window.isVisible() or self.window.frameGeometry().x() != x:
            self.window.move(x, y)

    def reset(self, available: QRect | None = None) -> None:
        """View > Reset Panels: every panel back in the editing layout, at the default size."""
        self.fit_to_screen(available)
        self.apply("editing")

    # arrangements -----------------------------------------------------------------------------
    def apply(self, name: str) -> None:
        """Put the docks in the named arrangement, sized for the window as it is."""
        self.current = name
        self.actions[name].setChecked(True)
        w = self.window
        for dock in self._docks():
            dock.setFloating(False)
            w.removeDockWidget(dock)
        {"editing": self._editing, "training": self._training,
         "analysis": self._analysis}[name]()
        hide_stale_tab_bars(w)
        dash = w.dashboard
        dash.refresh_all()

    def _content(self) -> QSize:
        """The room below the menu and tool bars and above the status bar."""
        w = self.window
        bars = w.menuBar().sizeHint().height() + w.statusBar().sizeHint().height()
        bars += w.toolbar.sizeHint().height()
        return QSize(w.width(), max(w.height() - bars, MIN_CANVAS.height()))

    def _right_width(self) -> int:
        return min(max(round(self.window.width() * 0.24), 290), 380)

    def _left_width(self) -> int:
        return min(max(round(self.window.width() * 0.14), 180), 240)

    def _editing(self) -> None:
        """Blocks | canvas | inspector over the training panel; code and problems (the plots
        as tabs behind the code) under the canvas."""
        w, dash = self.window, self.window.dashboard
        L, R, B = _areas()
        self._place(w.palette_dock, L)
        self._place(w.inspector_dock, R)
        self._place(dash.panel_dock, R)
        w.splitDockWidget(w.inspector_dock, dash.panel_dock, Qt.Orientation.Vertical)
        self._place(w.code_dock, B)
        self._place(w.problems_dock, B)
        w.splitDockWidget(w.code_dock, w.problems_dock, Qt.Orientation.Horizontal)
        for dock in dash.docks.values():
            self._place(dock, B)
            w.tabifyDockWidget(w.code_dock, dock)
        w.code_dock.raise_()
        content = self._content()
        left, right = self._left_width(), self._right_width()
        middle = content.width() - left - right
        w.resizeDocks([w.palette_dock, w.inspector_dock], [left, right], Qt.Orientation.Horizontal)
        w.resizeDocks([w.code_dock, w.problems_dock], [round(middle * 0.68), round(middle * 0.32)],
                      Qt.Orientation.Horizontal)
        w.resizeDocks([w.code_dock], [round(content.height() * 0.34)], Qt.Orientation.Vertical)
        panel = self._panel_height()
        w.resizeDocks([w.inspector_dock, dash.panel_dock],
                      [content.height() - panel, panel], Qt.Orientation.Vertical)

    def _side_column(self) -> None:
        """The training panel on top of the right column, the inspector, problems and blocks
        as tabs below it (training keeps its buttons and progress in sight)."""
        w, dash = self.window, self.window.dashboard
        _, R, _ = _areas()
        self._place(dash.panel_dock, R)
        self._place(w.inspector_dock, R)
        w.splitDockWidget(dash.panel_dock, w.inspector_dock, Qt.Orientation.Vertical)
        for dock in (w.problems_dock, w.palette_dock):
            self._place(dock, R)
            w.tabifyDockWidget(w.inspector_dock, dock)
        w.inspector_dock.raise_()
        content = self._content()
        panel = min(self._panel_height(), content.height() * 2 // 3)
        w.resizeDocks([dash.panel_dock, w.inspector_dock], [panel, content.height() - panel],
                      Qt.Orientation.Vertical)
        w.resizeDocks([dash.panel_dock], [self._right_width()], Qt.Orientation.Horizontal)

    def _training(self) -> None:
        """The plots as tabs in one area under the canvas (curves in front), the code behind
        them; the training panel on the right."""
        w = self.window
        _, _, B = _areas()
        self._side_column()
        plots = self._plots()
        first = plots[0]
        self._place(first, B)
        for dock in plots[1:] + [w.code_dock]:
            self._place(dock, B)
            w.tabifyDockWidget(first, dock)
        first.raise_()
        content = self._content()
        w.resizeDocks([first], [round(content.height() * 0.45)], Qt.Orientation.Vertical)

    def _analysis(self) -> None:
        """Every plot the project has (Tile Training Plots) in a grid under a canvas kept to
        its minimum; the other plots and the code as tabs behind the last one."""
        w, dash = self.window, self.window.dashboard
        _, _, B = _areas()
        self._side_column()
        shown = [dash.docks[a] for a in dash.relevant_views()]
        rest = [d for d in self._plots() if d not in shown] + [w.code_dock]
        content = self._content()
        width = content.width() - self._right_width()
        height = content.height() - MIN_CANVAS.height() - 20
        rows, cols = grid_shape(len(shown), width, height)
        grid = [shown[r * cols:(r + 1) * cols] for r in range(rows)]
        grid = [row for row in grid if row]
        self._place(grid[0][0], B)
        for above, row in zip(grid, grid[1:]):
            w.splitDockWidget(above[0], row[0], Qt.Orientation.Vertical)
        for row in grid:
            for left, right in zip(row, row[1:]):
                w.splitDockWidget(left, right, Qt.Orientation.Horizontal)
        for dock in shown:
            dock.show()
        for dock in rest:
            self._place(dock, B)
            w.tabifyDockWidget(grid[-1][-1], dock)
        for dock in shown:
            dock.raise_()
        w.resizeDocks([row[0] for row in grid], [height // len(grid)] * len(grid),
                      Qt.Orientation.Vertical)
        for row in grid:
            w.resizeDocks(row, [width // len(row)] * len(row), Qt.Orientation.Horizontal)

    # helpers ----------------------------------------------------------------------------------
    def _place(self, dock, area) -> None:
        self.window.addDockWidget(area, dock)
        dock.show()

    def _panel_height(self) -> int:
        """What the training panel needs to show its settings, buttons and progress without
        scrolling, its title bar included."""
        dash = self.window.dashboard
        panel = dash.panel
        title = dash.panel_dock.style().pixelMetric(
            dash.panel_dock.style().PixelMetric.PM_TitleBarHeight)
        return max(panel.sizeHint().height(), panel.minimumSizeHint().height()) + title + 8

    def _plots(self) -> list:
        """The plot docks, the project's own first (curves leads)."""
        dash = self.window.dashboard
        relevant = dash.relevant_views()
        order = relevant + [a for a in dash.docks if a not in relevant]
        return [dash.docks[a] for a in order]

    def _docks(self) -> list:
        return self.window.all_docks()


def _areas():
    return (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea,
            Qt.DockWidgetArea.BottomDockWidgetArea)


def make_scrollable(dock) -> None:
    """Put the dock's content in a scroll area (unless it scrolls already), so the dock asks
    for no more than its title: a smaller dock shows scroll bars instead of growing the
    window."""
    inner = dock.widget()
    if inner is None or isinstance(inner, QAbstractScrollArea):
        return
    area = QScrollArea()
    area.setObjectName(f"{dock.objectName()}_scroll")
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidgetResizable(True)
    area.setWidget(inner)
    dock.setWidget(area)



def stale_tab_bars(window) -> list:
    """The dock tab bars on show whose tabs are not one current group of tabbed docks.

    Qt keeps one tab bar per group; when the docks are taken out and placed again, a group's
    old bar can stay on screen with the tabs it had (seen on a 1280x800 screen: a cut "Code |
    Curves" bar behind the real one)."""
    docks = {d.windowTitle(): d for d in window.findChildren(QDockWidget)}
    stale = []
    for bar in window.findChildren(QTabBar):
        if bar.parent() is not window or bar.isHidden() or not bar.count():
            continue
        titles = [bar.tabText(i) for i in range(bar.count())]
        first = docks.get(titles[0])
        group = [first, *window.tabifiedDockWidgets(first)] if first is not None else []
        shown = docks.get(bar.tabText(bar.currentIndex()))
        if sorted(titles) != sorted(d.windowTitle() for d in group) or \
                (shown is not None and not _under(bar, shown)):
            stale.append(bar)
    return stale


def _under(bar, dock) -> bool:
    """Whether the tab bar spans no wider than the dock it shows (a group's bar sits under
    its docks; an old one can keep the tabs and stand elsewhere)."""
    slack = 4
    area, docked = bar.geometry(), dock.geometry()
    return docked.left() - slack <= area.left() and area.right() <= docked.right() + slack


def hide_stale_tab_bars(window) -> None:
    """Hide what ``stale_tab_bars`` finds; Qt shows a bar again whenever it reuses it."""
    for bar in stale_tab_bars(window):
        bar.hide()
