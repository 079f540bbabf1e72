"""Training on a busy machine (the test runs CPU-burning processes beside the app): LeNet from
File > Examples with conv1 selected and every plot tiled, F5, and everything a user waits for
arrives: the curves, moving progress, gradient norms and conv1's weight histograms; pause,
resume and stop answer; the window stays on the 1600x1000 screen.

Run by tests/window/test_window_scenarios.py on an Xvfb display of that size."""

from __future__ import annotations

import pyqtgraph as pg
from studio_steps import (
    node_point,
    open_example,
    pause_resume,
    set_epochs,
    shows_any,
    stop_training,
    tile_and_check,
    train_and_watch,
    window_on_screen,
)
from xdriver import Scenario, run_main

PROBE_TIMEOUT = 120.0  # seconds of training on a busy machine for the first probes to show


def body(s: Scenario) -> None:
    s.step("the window opens inside the screen", lambda: s.log(f"window {window_on_screen(s)}"))
    s.step("File > Examples > lenet", lambda: open_example(s, "lenet"), needed=True)
    s.step("set 1000 epochs in the Training panel", lambda: set_epochs(s, "1000"))

    def select_conv1():
        s.click(node_point(s, "conv1"))
        s.wait_until(lambda: s.window.scene().selected_ids() == ["conv1"], "conv1 is selected", 5)

    s.step("click conv1 on the canvas", select_conv1)
    s.step("View > Tile Training Plots", lambda: tile_and_check(s, {"curves", "gradients"}))
    s.step("F5 trains; the curves plot it; progress moves; the window stays on the screen",
           lambda: train_and_watch(s), needed=True)
    s.shot("busy training")
    s.step("gradient norms are plotted", lambda: s.wait_until(
        lambda: _plotted(s.window.dashboard.gradients, "gradient_norms"),
        "the Gradients view plots gradient norms", PROBE_TIMEOUT))
    s.step("conv1's weight histogram is shown", lambda: s.wait_until(
        lambda: _plotted(s.window.dashboard.gradients, "weights_histogram", on_screen=False),
        "the Gradients view shows conv1's weight histogram", PROBE_TIMEOUT))
    s.shot("busy probes")
    s.step("F6 pauses, F6 resumes", lambda: pause_resume(s))
    s.step("Shift+F5 stops and keeps what was trained", lambda: stop_training(s))
    s.shot("busy stopped")


def _plotted(view, name: str, on_screen: bool = True) -> bool:
    """Whether the plot ``name`` of a view has data in it, shown (``on_screen``: at least in
    part on the screen; else maybe scrolled out of the dock). GUI thread."""
    for plot in view.findChildren(pg.PlotWidget):
        if plot.objectName() != name or not plot.isVisible():
            continue
        if on_screen and not shows_any(plot):
            continue
        for item in plot.getPlotItem().listDataItems():
            if item.isVisible() and item.xData is not None and len(item.xData) > 0:
                return True
    return False


if __name__ == "__main__":
    run_main("busy machine", body)
