"""What a Studio user does and looks at, in terms of the real window: open an example from the
menu, tile the plots, train with the keyboard, see a plotted curve, check that the window and
its controls are on the screen. Shared by the window scenarios and the first-hour benchmark."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication, QToolButton
from xdriver import Scenario, StepFailed

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
    if widget.visibleRegion().isEmpty():
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


def open_example(s: Scenario, name: str, answer_prompt=None) -> None:
    """File > Examples > ``name`` with the mouse; the window then shows that example. A prompt
    that appears (unsaved work, trained weights) is answered by ``answer_prompt(dialog)``, or
    fails the step when none is given."""
    before = s.gui(lambda: id(s.window.session.doc))
    s.menu_path("File", "Examples", name)
    if answer_prompt is not None:
        answer_prompt(s.modal(f"a prompt before opening {name}", 10))
    s.wait_until(lambda: id(s.window.session.doc) != before or QApplication.activeModalWidget(),
                 f"the example {name} opens")
    dialog = s.gui(lambda: QApplication.activeModalWidget())
    if dialog is not None:
        text = s.gui(lambda: getattr(dialog, "text", lambda: dialog.windowTitle())())
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


def focus_canvas(s: Scenario) -> None:
    """Click an empty spot of the canvas (keys then go to the editor, not a text field)."""
    view = s.gui(lambda: s.window.view())
    s.click(lambda: view.mapToGlobal(view.rect().topLeft()) + _offset(12, 12))


def _offset(x: int, y: int):
    from PySide6.QtCore import QPoint

    return QPoint(x, y)


def tile_plots(s: Scenario) -> None:
    s.menu_path("View", "Tile Training Plots")
    s.wait_until(lambda: s.window.dashboard.docks["curves"].isVisible(), "the plots are shown")


def start_training(s: Scenario, first_points: int = 1, timeout: float = TRAINING_TIMEOUT) -> None:
    """F5, then wait until the Curves view plots the first steps."""
    focus_canvas(s)
    s.key("F5")
    s.wait_until(lambda: s.window.dashboard.controller.running or
                 s.window.dashboard.panel.error_text, "F5 starts training", 30)
    error = s.gui(lambda: s.window.dashboard.panel.error_text)
    s.check(not error, f"F5 did not train: {error}")
    s.wait_until(lambda: curve_points(s.window) >= first_points,
                 f"the Curves view plots {first_points} point(s)", timeout)
