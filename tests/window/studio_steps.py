"""What a Studio user does and looks at, in terms of the real window: open an example from the
menu, tile the plots, train with the keyboard, see a plotted curve, check that the window and
its controls are on the screen. Shared by the window scenarios and the first-hour benchmark."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QToolButton, QWidget
from xdriver import Scenario, StepFailed, gone

TRAINING_TIMEOUT = 120.0  # seconds: a busy two-core machine may take this long for a first step


def screen_rect() -> QRect:
    return QApplication.primaryScreen().geometry()


def rect_text(r: QRect) -> str:
    return f"{r.width()}x{r.height()} at ({r.x()}, {r.y()})"


def window_on_screen(s: Scenario) -> str:
    """Fails unless the whole main window lies on the screen; its geometry as text."""
    def look():
        frame = s.window.frameGeometry()
        return frame, screen_rect(), frame.united(screen_rect()) == screen_rect()

    frame, screen, inside = s.gui(look)
    s.check(inside, f"the window ({rect_text(frame)}) reaches past the screen "
                    f"({rect_text(screen)})")
    return rect_text(frame)


def widget_on_screen(widget) -> str | None:
    """Why ``widget`` cannot be seen and clicked, or None: hidden, covered entirely, or (in
    part) outside the screen or the window. GUI thread."""
    if not widget.isVisible():
        return "is hidden"
    if not shows_any(widget):
        return "is covered or scrolled away"
    top_left = widget.mapToGlobal(widget.rect().topLeft())
    r = QRect(top_left, widget.size())
    if r.united(screen_rect()) != screen_rect():
        return f"reaches past the screen ({rect_text(r)})"
    window = widget.window()
    frame = window.frameGeometry()
    if r.united(frame) != frame:
        return f"reaches past the window ({rect_text(r)} in {rect_text(frame)})"
    return None


def shows_any(widget) -> bool:
    """Whether any part of ``widget`` is on screen (not hidden, covered or scrolled away).
    A widget covered by its own children (a plot's viewport) shows through them. GUI thread."""
    return widget.isVisible() and any(
        w.isVisible() and not w.visibleRegion().isEmpty()
        for w in [widget, *widget.findChildren(QWidget)])


def training_buttons(s: Scenario) -> dict:
    """The training panel's buttons by their action's plain name: train, pause, stop."""
    def find():
        panel = s.window.dashboard.panel
        out = {}
        for b in panel.findChildren(QToolButton):
            act = b.defaultAction()
            for name, panel_act in (("train", panel.train_action), ("pause", panel.pause_action),
                                    ("stop", panel.stop_action)):
                if act is panel_act:
                    out[name] = b
        return out

    return s.gui(find)


def controls_on_screen(s: Scenario, names=("pause", "stop")) -> None:
    buttons = training_buttons(s)
    for name in names:
        s.check(name in buttons, f"the training panel has no {name} button")
        why = s.gui(lambda b=buttons[name]: widget_on_screen(b))
        s.check(why is None, f"the {name.capitalize()} button {why}")


def open_example(s: Scenario, name: str) -> None:
    """File > Examples > ``name`` with the mouse; the window then shows that example. A prompt
    fails the step: nothing was at stake."""
    before = s.gui(lambda: id(s.window.session.doc))
    s.menu_path("File", "Examples", name)
    s.wait_until(lambda: id(s.window.session.doc) != before or QApplication.activeModalWidget(),
                 f"the example {name} opens")
    dialog = s.gui(lambda: QApplication.activeModalWidget())
    if dialog is not None:
        text = s.gui(lambda: dialog.text() if isinstance(dialog, QMessageBox)
                     else dialog.windowTitle())
        raise StepFailed(f"opening {name} asked '{text}' where nothing was at stake")


def curve_points(window) -> int:
    """How many points the Curves view has drawn (its longest curve), as a user sees them.
    GUI thread."""
    best = 0
    for plot in window.dashboard.curves.findChildren(pg.PlotWidget):
        for item in plot.getPlotItem().listDataItems():
            x, _ = item.getData()
            best = max(best, 0 if x is None else len(x))
    return best


def state_text(s: Scenario) -> str:
    return s.gui(lambda: s.window.dashboard.panel.state_label.text())


def progress_text(s: Scenario) -> str:
    return s.gui(lambda: s.window.dashboard.panel.progress_label.text())


_focus_clicks = [0]


def focus_canvas(s: Scenario) -> None:
    """Click an empty spot of the canvas (keys then go to the editor, not a text field). The
    spot alternates, so two of these in a row are never a double-click (which adds a block)."""
    view = s.gui(lambda: s.window.view())
    _focus_clicks[0] += 1
    x = 12 if _focus_clicks[0] % 2 else 44
    s.click(lambda: view.mapToGlobal(view.rect().topLeft()) + QPoint(x, 12))


def tile_plots(s: Scenario) -> None:
    s.menu_path("View", "Tile Training Plots")
    s.wait_until(lambda: s.window.dashboard.docks["curves"].isVisible(), "the plots are shown")


# the canvas -------------------------------------------------------------------------------------
def canvas_point(s: Scenario, fx: float, fy: float) -> tuple[int, int]:
    """A point of the current canvas, as fractions of its width and height, on the screen."""
    def find():
        vp = s.window.view().viewport()
        return vp.mapToGlobal(QPoint(int(vp.width() * fx), int(vp.height() * fy)))

    return s.point(find)


def drop_from_palette(s: Scenario, block: str, at: tuple[int, int]) -> str:
    """Type the block's name into the palette's search, drag its entry onto the canvas at
    ``at`` (a screen point); the new node's id (a dropped node is selected)."""
    palette = s.window.palette
    s.click(palette.search)
    s.key("ctrl+a")
    s.type(block)

    def entry():
        tree = palette.tree
        for item in _leaves(tree):
            if item.data(0, Qt.ItemDataRole.UserRole) == block and not item.isHidden():
                r = tree.visualItemRect(item)
                if r.isValid() and tree.viewport().rect().contains(r.center()):
                    return tree.viewport().mapToGlobal(r.center())
        return None

    start = s.wait_until(entry, f"the palette lists {block} after typing its name", 10)
    before = s.gui(lambda: set(s.window.scene().nodes))
    s.drag(start, at, steps=10)
    new = s.wait_until(lambda: set(s.window.scene().nodes) - before,
                       f"{block} dropped on the canvas appears there", 10)
    s.check(len(new) == 1, f"dropping {block} added {len(new)} nodes")
    return next(iter(new))


def _leaves(tree):
    for i in range(tree.topLevelItemCount()):
        top = tree.topLevelItem(i)
        for j in range(top.childCount()):
            yield top.child(j)


def port_point(s: Scenario, node_id: str, side: str, port: str, key: str | None = None):
    """Where a node's port is on the screen (it must be inside the canvas)."""
    def find():
        view = s.window.view(key)
        item = view.scene().nodes.get(node_id)
        if item is None:
            raise StepFailed(f"no node {node_id} on the canvas")
        p = item.port(side, port)
        if p is None:
            raise StepFailed(f"{node_id} has no {side} port '{port}'")
        local = view.mapFromScene(p.scenePos())
        if not view.viewport().rect().contains(local):
            raise StepFailed(f"{node_id}.{port} is outside the canvas")
        return view.viewport().mapToGlobal(local)

    return s.point(find)


def node_point(s: Scenario, node_id: str, key: str | None = None):
    """The middle of a node's title bar on the screen."""
    def find():
        view = s.window.view(key)
        item = view.scene().nodes.get(node_id)
        if item is None:
            raise StepFailed(f"no node {node_id} on the canvas")
        r = item.scene_rect()
        local = view.mapFromScene(r.center().x(), r.top() + 8)
        if not view.viewport().rect().contains(local):
            raise StepFailed(f"{node_id} is outside the canvas")
        return view.viewport().mapToGlobal(local)

    return s.point(find)


def edges(s: Scenario, key: str = "training") -> set:
    """The wires of a graph as (source, port, destination, port)."""
    return s.gui(lambda: {(e.src, e.src_port, e.dst, e.dst_port)
                          for e in s.window.session.doc.graph(key).edges})


def drag_wire(s: Scenario, src: str, src_port: str, dst: str, dst_port: str) -> None:
    s.drag(port_point(s, src, "output", src_port), port_point(s, dst, "input", dst_port),
           steps=8)


def type_into(s: Scenario, widget, text: str) -> None:
    """Click a field, select what it holds, type ``text`` and press Enter."""
    s.click(widget)
    s.key("ctrl+a")
    s.type(text)
    s.key("Return")


def answer_file_dialog(s: Scenario, path, what: str) -> None:
    """A file dialog is open: type the full path into its name field and press Enter."""
    dialog = s.modal(f"a file dialog to {what}", 15)
    s.check(s.gui(lambda: type(dialog).__name__) == "QFileDialog",
            f"expected a file dialog to {what}, got {s.gui(lambda: dialog.windowTitle())!r}")
    s.key("ctrl+a")
    s.type(str(path))
    s.key("Return")
    s.wait_until(lambda: gone(dialog), f"the file dialog to {what} takes {path}", 15)


# training ---------------------------------------------------------------------------------------
def set_epochs(s: Scenario, value: str) -> None:
    """Type the number of epochs into the Training panel."""
    widget = s.gui(lambda: s.window.dashboard.panel.editors["epochs"].widget)
    type_into(s, widget, value)
    s.wait_until(lambda: str(s.window.session.project.training.settings.get("epochs")) == value,
                 f"the project's epochs become {value}", 5)


def tile_and_check(s: Scenario, expected: set) -> None:
    """View > Tile Training Plots: the ``expected`` views are on the screen, the window too."""
    tile_plots(s)
    window_on_screen(s)
    shown = s.gui(lambda: [a for a, dock in s.window.dashboard.docks.items() if shows_any(dock)])
    s.check(expected <= set(shown), f"tiled, the plots on screen are {shown}")


def train_and_watch(s: Scenario, timeout: float = TRAINING_TIMEOUT) -> None:
    """F5: training starts, the Curves view plots the first steps, the progress text moves on,
    and the window and its Pause and Stop buttons stay on the screen."""
    focus_canvas(s)
    s.key("F5")
    s.wait_until(lambda: s.window.dashboard.controller.running or
                 s.window.dashboard.panel.error_text, "F5 starts training", 30)
    error = s.gui(lambda: s.window.dashboard.panel.error_text)
    s.check(not error, f"F5 did not train: {error}")
    s.wait_until(lambda: curve_points(s.window) >= 3, "the Curves view plots the first steps",
                 timeout)
    first = progress_text(s)
    s.wait_until(lambda: s.window.dashboard.panel.progress_label.text() != first,
                 f"the progress text moves on from '{first}'", 10)
    window_on_screen(s)
    controls_on_screen(s)


def pause_resume(s: Scenario) -> None:
    s.key("F6")
    s.wait_until(lambda: s.window.dashboard.controller.state == "paused", "F6 pauses", 30)
    s.check("Paused" in state_text(s), f"paused, the panel says '{state_text(s)}'")
    s.key("F6")
    s.wait_until(lambda: s.window.dashboard.controller.state == "running", "F6 resumes", 30)


def stop_training(s: Scenario) -> None:
    """Shift+F5: training stops, what was trained is kept, the window is on the screen."""
    s.key("shift+F5")
    s.wait_until(lambda: not s.window.dashboard.controller.running, "Shift+F5 stops", 60)
    s.check(state_text(s).startswith(("Stopped", "Finished")),
            f"after Shift+F5 the panel says '{state_text(s)}'")
    s.wait_until(lambda: s.window.dashboard.controller.trained_checkpoint() is not None,
                 "the trained state is kept", 30)
    window_on_screen(s)
