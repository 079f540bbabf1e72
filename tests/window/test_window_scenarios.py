"""The real window, driven as a user drives it: each scenario runs the app in a process of its own
on a fresh Xvfb display of a given screen size (xcb, not offscreen), moved by real mouse and
keyboard events (xdotool), and checks what is on the screen. See tests/window/xdriver.py.

Run only these:  .venv/bin/python -m pytest -q -p no:cacheprovider tests/window
Screenshots of each scenario go to $STUDIO_SCENARIO_SHOTS/<scenario> when set (else tmp_path)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from xserver import missing_tools, run_scenario

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def x_tools():
    missing = missing_tools()
    if missing:
        why = f"the window scenarios need {' and '.join(missing)} (apt: xvfb xdotool)"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


def run(script: str, size, tmp_path: Path, timeout: float, busy: int = 0) -> None:
    name = Path(script).stem.removeprefix("scenario_")
    base = os.environ.get("STUDIO_SCENARIO_SHOTS")
    shots = Path(base) / name if base else tmp_path / "shots"
    status, out = run_scenario(script, size, tmp_path / "home", shots, timeout=timeout, busy=busy)
    assert status == 0, f"scenario {name} failed (exit {status}); screenshots in {shots}\n{out}"


def test_small_screen_1280x800(tmp_path):
    """LeNet with every plot tiled, trained a little, at 1280x800: all of it on the screen."""
    run("scenario_small_screen.py", (1280, 800), tmp_path, timeout=300)


def test_first_hour_1600x1000(tmp_path):
    """Every example opened, a classifier built by dragging, a refused wire, undo/redo, Make
    Network, training tiled with pause/resume/stop, switching while trained, save, reopen,
    export and the export run, at the window size Studio chooses on a 1600x1000 screen."""
    run("scenario_first_hour.py", (1600, 1000), tmp_path, timeout=600)


def test_canvas_editing_1600x1000(tmp_path):
    """LeNet edited with the mouse and keys: a wire that cannot work refused while dragged, a
    taken input replaced only with Shift, a wire let go on empty canvas answered by a search of
    the blocks that take it, Ctrl+G, Tab; each edit one undo step, undone and redone by keys."""
    run("scenario_canvas_editing.py", (1600, 1000), tmp_path, timeout=300)


BUSY_PROCESSES = 2


def test_training_on_a_busy_machine(tmp_path):
    """LeNet trained from the tiled window while two processes burn the CPU beside it: the
    curves, progress, gradient norms and histograms arrive, and the controls answer."""
    run("scenario_busy_machine.py", (1600, 1000), tmp_path, timeout=420, busy=BUSY_PROCESSES)


def test_data_parallel_training_1280x800(tmp_path):
    """LeNet trained by two CPU processes chosen in the training panel's Train on list with the
    mouse: F5 starts the ranks, the curves fill, F6 pauses and resumes, Shift+F5 stops."""
    run("scenario_data_parallel.py", (1280, 800), tmp_path, timeout=420)
