"""Render the editor window with example projects open, and the dashboard during training,
for the README.

    python scripts/make_screenshots.py            # writes resources/readme/editor_*.png and
                                                  # dashboard_*.png (trains LeNet and the DCGAN)
    python scripts/make_screenshots.py --out DIR  # somewhere else

The pictures show what a user sees: the script starts a private X server (Xvfb) with a
1600x1000 screen and runs itself there (xcb), with the window at the size Studio chooses on that
screen, and with fresh settings (your own window layout and recent files are neither used nor
changed). Needs Xvfb.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCREEN = (1600, 1000)

# (example, file name, graph tab, node to select)
SHOTS = (
    ("lenet", "editor_lenet.png", "training", "conv2"),
    ("dcgan", "editor_dcgan.png", "training", "discriminator_real"),
    ("course/lenet_assignment", "assignment_lenet.png", "training", "fc3"),  # its panel in front
)


def settle(app, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def shoot(example: str, out: Path, graph: str, node: str, dark: bool = False) -> Path:
    from PySide6.QtCore import QSettings

    from studio.ui import theme
    from studio.ui.app import build

    folder = tempfile.mkdtemp(prefix="studio-shots-")
    settings = QSettings(os.path.join(folder, "settings.ini"), QSettings.Format.IniFormat)
    app, window = build(ROOT / "examples" / f"{example}.studio", settings=settings,
                        recovery_folder=folder, offer_recovery=False)
    if dark:
        theme.apply_theme(app, dark=True)
        window.apply_theme()
    settle(app)
    window.session.regenerate()
    window.select_node(graph, "")
    window.view(graph).show_graph()
    settle(app)
    if node:
        window.select_node(graph, node)
    window.statusBar().clearMessage()
    settle(app, 0.4)
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    window.session.doc.mark_saved()
    window.close()
    window.deleteLater()
    settle(app, 0.1)
    return out


# (example, file name, graph tab, watched node, settings, pause at step[, Train on choice])
TRAINING_SHOTS = (
    ("lenet", "dashboard_lenet.png", "training", "conv1", {"epochs": 40}, 700),
    ("dcgan", "dashboard_dcgan.png", "Generator", "relu2", {"epochs": 60, "preview_every": 50},
     900),
    ("lenet", "ranks_lenet.png", "training", "conv1", {"epochs": 40}, 700, "2 CPU processes"),
)


def shoot_training(example: str, out: Path, graph: str, node: str, settings: dict,
                   pause_at: int, train_on: str = "") -> Path:
    """Train from the window with every plot tiled (View > Tile Training Plots, as a user
    does), on the Train on choice starting with ``train_on`` if given, pause at a step, and
    grab the window."""
    from PySide6.QtCore import QSettings

    from studio.ui.app import build

    folder = tempfile.mkdtemp(prefix="studio-shots-")
    qsettings = QSettings(os.path.join(folder, "settings.ini"), QSettings.Format.IniFormat)
    app, window = build(ROOT / "examples" / f"{example}.studio", settings=qsettings,
                        recovery_folder=folder, offer_recovery=False)
    window.editor.set_settings(settings)
    dash = window.dashboard
    dash.tile_views()
    settle(app)
    window.select_node(graph, node)
    window.view(graph).fit_all()
    if train_on:
        chooser = dash.panel.train_on
        index = next(i for i in range(chooser.combo.count())
                     if chooser.combo.itemText(i).startswith(train_on))
        chooser.choose(chooser.combo.itemData(index))
    return train_pause_and_grab(app, window, pause_at, out)


def train_pause_and_grab(app, window, pause_at: int, out: Path) -> Path:
    """Train from the panel, pause at a step, grab the window into ``out``, and close it."""
    dash = window.dashboard
    if not dash.panel.train():
        raise SystemExit(dash.panel.error_text)
    while dash.store.current.step < pause_at and dash.controller.running:
        settle(app, 0.05)
    dash.controller.pause()
    while dash.controller.state != "paused" and dash.controller.running:
        settle(app, 0.05)
    settle(app, 1.0)  # the last frames of events arrive and are drawn
    dash.refresh_all()
    window.statusBar().clearMessage()
    settle(app, 0.3)
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    dash.controller.shutdown()
    window.session.doc.mark_saved()
    window.close()
    window.deleteLater()
    settle(app, 0.1)
    return out


# (lesson, file name, pause at step, node selected on the training graph before Train)
LESSON_SHOTS = (("locality", "lesson_locality.png", 120, ""),
                ("boundary", "lesson_boundary.png", 5000, ""),  # its last step: the final map
                ("shift", "lesson_shift.png", 400, ""),  # its last step
                ("vae", "lesson_vae_latent.png", 1920, ""),  # the end: the final probe
                ("activations", "lesson_activations.png", 290, "relu_fc1"),  # Pre-activations
                ("universal-approximation", "lesson_function_fit.png", 3000, ""))  # its end


def shoot_lesson(lesson_id: str, out: Path, pause_at: int, node: str = "") -> Path:
    """Lessons > the lesson, as a user chooses it; select a node if one is named, train until a
    step, pause, and grab."""
    from PySide6.QtCore import QSettings

    from studio.core.lessons import lesson
    from studio.ui.app import build

    folder = tempfile.mkdtemp(prefix="studio-shots-")
    qsettings = QSettings(os.path.join(folder, "settings.ini"), QSettings.Format.IniFormat)
    app, window = build(settings=qsettings, recovery_folder=folder, offer_recovery=False)
    settle(app)
    if not window.lessons.open(lesson(lesson_id), ask=False):
        raise SystemExit(f"the lesson {lesson_id} did not open")
    settle(app)
    if node:
        window.select_node("training", node)
        settle(app)
    return train_pause_and_grab(app, window, pause_at, out)


def on_screen(argv) -> int:
    """Run this script again on a fresh Xvfb display of SCREEN's size; its exit status."""
    import subprocess

    sys.path.insert(0, str(ROOT / "tests" / "window"))
    from xserver import XServer, scenario_env

    home = tempfile.mkdtemp(prefix="studio-shots-home-")
    with XServer(*SCREEN) as x:
        env = scenario_env(x.display, home)
        return subprocess.run([sys.executable, __file__, "--on-screen", *argv], env=env).returncode


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "resources" / "readme"))
    parser.add_argument("--dark", action="store_true", help="render with the dark theme")
    parser.add_argument("--only", metavar="NAME", help="only the pictures whose file name "
                        "contains NAME (lesson, dashboard, editor_lenet, ...)")
    parser.add_argument("--on-screen", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.on_screen:
        return on_screen([a for a in argv if a != "--on-screen"])
    args.out = str(Path(args.out).resolve())

    def wanted(name: str) -> bool:
        return not args.only or args.only in name

    for example, name, graph, node in SHOTS:
        if wanted(name):
            path = shoot(example, Path(args.out) / name, graph, node, args.dark)
            print(f"wrote {path}")
    for example, name, graph, node, settings, pause_at, *train_on in TRAINING_SHOTS:
        if wanted(name):
            path = shoot_training(example, Path(args.out) / name, graph, node, settings,
                                  pause_at, *train_on)
            print(f"wrote {path}")
    for lesson_id, name, pause_at, node in LESSON_SHOTS:
        if wanted(name):
            path = shoot_lesson(lesson_id, Path(args.out) / name, pause_at, node)
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
