"""A 1280x800 screen: open LeNet from File > Examples, tile every plot, train a little with F5,
pause and stop with the keyboard; the window and its controls stay on the screen throughout.

Run by tests/window/test_window_scenarios.py on an Xvfb display of that size."""

from __future__ import annotations

from studio_steps import (
    controls_on_screen,
    curve_points,
    open_example,
    pause_resume,
    set_epochs,
    stop_training,
    tile_and_check,
    train_and_watch,
    widget_on_screen,
    window_on_screen,
)
from xdriver import Scenario, run_main


def body(s: Scenario) -> None:
    s.step("the window opens inside the screen", lambda: s.log(f"window {window_on_screen(s)}"))
    s.shot("opened")
    s.step("File > Examples > lenet", lambda: open_example(s, "lenet"), needed=True)
    s.step("every dock tab bar on the screen is a current group's (no stale bar behind)",
           lambda: s.check(s.gui(lambda: _stale_tab_texts(s.window)) == [],
                           f"stale tab bars: {s.gui(lambda: _stale_tab_texts(s.window))}"))
    # long enough to pause and stop on a quiet machine too (12 epochs end in about 2 s)
    s.step("set 300 epochs in the Training panel", lambda: set_epochs(s, "300"))
    s.step("View > Tile Training Plots: the plots and the window are on the screen",
           lambda: tile_and_check(s, {"curves", "classifier"}))
    s.shot("lenet tiled")
    s.step("F5 trains and the curves show it", lambda: train_and_watch(s), needed=True)

    def trained_a_little():
        s.wait_until(lambda: curve_points(s.window) >= 6, "a few more points plotted", 60)
        window_on_screen(s)
        controls_on_screen(s, ("pause", "stop"))
        for name in ("inspector_dock", "training_dock", "curves_dock"):
            why = s.gui(lambda n=name: widget_on_screen(_dock(s, n)))
            s.check(why is None, f"the {name.replace('_', ' ')} {why}")

    s.step("while training, the window, Pause, Stop and the docks are on the screen",
           trained_a_little)
    s.shot("lenet training")
    s.step("F6 pauses, F6 again resumes", lambda: pause_resume(s))
    s.step("Shift+F5 stops; the window is still inside the screen", lambda: stop_training(s))
    s.step("after training, still no stale tab bar behind the plots' tabs",
           lambda: s.check(s.gui(lambda: _stale_tab_texts(s.window)) == [],
                           f"stale tab bars: {s.gui(lambda: _stale_tab_texts(s.window))}"))
    s.shot("lenet stopped")
    s.step("View > Reset Panels keeps the window on the screen", lambda: (
        s.menu_path("View", "Reset Panels"), window_on_screen(s), controls_on_screen(s)))
    s.shot("panels reset")


def _stale_tab_texts(window) -> list:
    from studio.ui.layouts import stale_tab_bars

    return [[bar.tabText(i) for i in range(bar.count())] for bar in stale_tab_bars(window)]


def _dock(s: Scenario, name: str):
    from PySide6.QtWidgets import QDockWidget

    return s.window.findChild(QDockWidget, name)


if __name__ == "__main__":
    run_main("1280x800", body)
