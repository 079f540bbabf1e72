"""Data-parallel training from the window at 1280x800: LeNet from File > Examples, the training
panel's "Train on" list opened with the mouse and "2 CPU processes (DDP)" picked from it,
F5 starts the two ranks (the panel says so), the curves fill, F6 pauses and resumes every rank,
Shift+F5 stops and keeps what was trained, and "This machine" is picked back.

Run by tests/window/test_window_scenarios.py on an Xvfb display of that size."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QComboBox
from studio_steps import (
    controls_on_screen,
    open_example,
    pause_resume,
    set_epochs,
    stop_training,
    train_and_watch,
    widget_on_screen,
    window_on_screen,
)
from xdriver import Scenario, run_main

RANKS_TIMEOUT = 240.0  # seconds: torchrun starts two processes that each load torch
CHOICE = "2 CPU processes (DDP)"


def pick(s: Scenario, text: str) -> None:
    """Open the "Train on" list with a click and click the item reading ``text``."""
    combo = s.gui(lambda: s.window.dashboard.panel.findChild(QComboBox, "train_on"))
    why = s.gui(lambda: widget_on_screen(combo))
    s.check(why is None, f"the Train on list {why}")
    s.click(combo)
    s.wait_until(lambda: combo.view().isVisible(), "the Train on list opens", 10)
    s.shot("train on list")

    def item():
        index = combo.findText(text)
        if index < 0:
            raise AssertionError(f"no '{text}' in {[combo.itemText(i) for i in range(combo.count())]}")
        view = combo.view()
        rect = view.visualRect(view.model().index(index, 0))
        return view.viewport().mapToGlobal(rect.center())

    s.click(item)
    s.wait_until(lambda: combo.currentText() == text and QApplication.activePopupWidget() is None,
                 f"'{text}' is chosen", 10)


def body(s: Scenario) -> None:
    s.step("the window opens inside the screen", lambda: s.log(f"window {window_on_screen(s)}"))
    s.step("File > Examples > lenet", lambda: open_example(s, "lenet"), needed=True)
    s.step("set 300 epochs in the Training panel", lambda: set_epochs(s, "300"))
    s.step(f"Train on: {CHOICE}", lambda: pick(s, CHOICE), needed=True)
    s.shot("train on two processes")
    s.step("F5 starts both ranks; the curves plot rank 0's losses",
           lambda: train_and_watch(s, RANKS_TIMEOUT), needed=True)

    def says_ranks():
        s.wait_until(lambda: "2 ranks" in s.window.dashboard.panel.device_label.text(),
                     "the panel says the run trains on 2 ranks", 30)
        s.check(not s.gui(lambda: s.window.dashboard.panel.train_on.combo.isEnabled()),
                "the Train on list can be changed while the run goes on")
        controls_on_screen(s)

    s.step("the panel names the ranks; Train on waits for the run's end", says_ranks)
    s.shot("two ranks training")
    s.step("F6 pauses every rank, F6 resumes them", lambda: pause_resume(s))
    s.step("Shift+F5 stops both ranks and keeps what was trained", lambda: stop_training(s))
    s.shot("two ranks stopped")
    s.step("Train on: This machine again", lambda: pick(s, "This machine"))


if __name__ == "__main__":
    run_main("data parallel", body)
