"""Render the editor window with example projects open, for the README.

    python scripts/make_screenshots.py            # writes resources/readme/editor_*.png
    python scripts/make_screenshots.py --out DIR  # somewhere else

Runs offscreen (no display needed) at 1400x900, with fresh settings (your own window layout and
recent files are neither used nor changed).
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
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# (example, file name, graph tab, node to select)
SHOTS = (
    ("lenet", "editor_lenet.png", "training", "conv2"),
    ("dcgan", "editor_dcgan.png", "training", "discriminator_real"),
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
    window.resize(1400, 900)
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "resources" / "readme"))
    parser.add_argument("--dark", action="store_true", help="render with the dark theme")
    args = parser.parse_args(argv)
    for example, name, graph, node in SHOTS:
        path = shoot(example, Path(args.out) / name, graph, node, args.dark)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
