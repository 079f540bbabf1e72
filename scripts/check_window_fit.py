"""Check on a real X server that the window fits its screen in every layout, before and while
training, and keep a screenshot of each.

    Xvfb :151 -screen 0 1280x800x24 &
    DISPLAY=:151 python scripts/check_window_fit.py --out /tmp/fit-1280 [--example lenet]

For each layout (Editing, Training, Analysis) it takes a screenshot before training and while
training (after every plot has news), and checks that the window's frame stays inside the
screen's available area at its first size, the canvas keeps at least 400x300 and the Pause and
Stop buttons are on screen. Exit status 1 if any check fails. Needs ImageMagick's ``import``
for the screenshots (they are skipped without it).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder for the screenshots")
    parser.add_argument("--example", default="lenet", help="example project to train")
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="at most this long to wait for training news")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QToolButton

    from studio.core.document import Document
    from studio.core.fileformat import load
    from studio.ui import theme
    from studio.ui.layouts import LAYOUTS, MIN_CANVAS
    from studio.ui.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    theme.apply_theme(app)
    scratch = Path(tempfile.mkdtemp(prefix="studio-fit-"))
    settings = QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, recovery_folder=scratch / "recovery")
    window.show()
    out = Path(args.out) if args.out else scratch
    out.mkdir(parents=True, exist_ok=True)

    def pump(seconds: float, until=None) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end and not (until and until()):
            app.processEvents()
            time.sleep(0.02)

    pump(1.0)
    screen = window.screen().availableGeometry()
    size = window.size()
    tag = f"{screen.width()}x{screen.height()}"
    panel = window.dashboard.panel
    buttons = [b for b in panel.findChildren(QToolButton)
               if b.defaultAction() in (panel.pause_action, panel.stop_action)]
    failures = []

    def check(stage: str) -> None:
        frame, canvas = window.frameGeometry(), window.tabs.size()
        seen = all(b.isVisible() and not b.visibleRegion().isEmpty() for b in buttons)
        row = (f"{tag} {stage:22s} frame {frame.x()},{frame.y()} {frame.width()}x{frame.height()}"
               f"  canvas {canvas.width()}x{canvas.height()}  pause/stop on screen {seen}")
        print(row)
        if not screen.contains(frame) or window.size() != size:
            failures.append(f"{stage}: the window left the screen or changed size")
        if canvas.width() < MIN_CANVAS.width() or canvas.height() < MIN_CANVAS.height():
            failures.append(f"{stage}: the canvas is {canvas.width()}x{canvas.height()}")
        if stage.endswith("training") and not stage.startswith("editing") and not seen:
            failures.append(f"{stage}: Pause/Stop are not on screen")
        if shutil.which("import"):
            subprocess.run(["import", "-window", "root", str(out / f"{tag}_{stage}.png")],
                           check=False)

    window.set_document(Document(load(ROOT / "examples" / f"{args.example}.studio")))
    pump(0.5)
    for name in LAYOUTS:
        window.layouts.apply(name)
        pump(0.5)
        check(f"{name}_before")
    dash = window.dashboard
    dash.tile_views()
    panel.train()
    pump(args.seconds, until=lambda: dash.store.current is not None and
         dash.store.current.histograms and dash.store.current.step >= 20)
    for name in LAYOUTS:
        window.layouts.apply(name)
        pump(1.0)
        check(f"{name}_training")
    window.resize(size.width() + 400, size.height())
    window.reset_layout()
    pump(0.5)
    check("reset")
    dash.controller.shutdown()
    window.session.doc.mark_saved()
    print(f"screenshots in {out}")
    for failure in failures:
        print("FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
