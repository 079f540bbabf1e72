"""The window part of scripts/check_wheel.sh: run by the interpreter of a fresh virtual environment
that has only the Studio wheel installed, from a folder outside the checkout, under an X server.

It checks what a user of the installed app sees first: the main window opens, the Examples menu
lists the examples that ship in the wheel and opens one, and the application icon loads. It waits
on Qt events with generous timeouts (never a fixed sleep) and exits non-zero on the first failure.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

WAIT_MS = 60_000


def fail(message: str) -> None:
    print(f"check_wheel_window: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition: bool, message: str) -> None:
    if not condition:
        fail(message)


def wait_until(condition, timeout_ms: int = WAIT_MS) -> bool:
    """Process Qt events until ``condition()`` holds; False when ``timeout_ms`` passes first."""
    from PySide6.QtCore import QDeadlineTimer
    from PySide6.QtTest import QTest

    deadline = QDeadlineTimer(timeout_ms)
    while not condition():
        if deadline.hasExpired():
            return False
        QTest.qWait(20)
    return True


def main() -> int:
    import studio

    installed = Path(studio.__file__).resolve()
    check(Path(sys.prefix).resolve() in installed.parents,
          f"studio is imported from {installed}, not from the environment at {sys.prefix}")

    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QGuiApplication

    from studio.core import package_files
    from studio.ui.app import build

    state = Path(tempfile.mkdtemp(prefix="studio-wheel-window-"))
    settings = QSettings(str(state / "settings.ini"), QSettings.Format.IniFormat)
    app, window = build(settings=settings, recovery_folder=state / "recovery", offer_recovery=False)
    check(QGuiApplication.platformName() == "xcb",
          f"the window runs on '{QGuiApplication.platformName()}', not on the X server")
    check(wait_until(lambda: window.windowHandle() is not None
                         and window.windowHandle().isExposed(), WAIT_MS),
          "the main window was not shown on the X server within 60 s")
    size = window.size()
    print(f"window shown at {size.width()}x{size.height()} on {os.environ.get('DISPLAY')}")

    check(not app.windowIcon().isNull() and not app.windowIcon().pixmap(64, 64).isNull(),
          f"the application icon did not load from {package_files.resource('icons', 'studio.svg')}")

    shipped = [p.stem for p in package_files.example_paths()]
    check("lenet" in shipped, f"the wheel ships no lenet example (examples: {shipped})")
    for path in package_files.example_paths():
        check(Path(sys.prefix).resolve() in path.resolve().parents,
              f"example {path} is read from outside the installed package")
    listed = {a.text(): a for a in window.examples_menu.actions() if a.text()}
    check(sorted(listed) == sorted(shipped),
          f"the Examples menu lists {sorted(listed)}, the wheel ships {sorted(shipped)}")
    print(f"Examples menu: {', '.join(sorted(listed))}")

    listed["lenet"].trigger()
    check(wait_until(lambda: window.session.project.name == "LeNet", WAIT_MS),
          f"choosing Examples > lenet left the project '{window.session.project.name}' open")
    print(f"opened the lenet example: project '{window.session.project.name}'")

    return 0  # the window is left open: closing it would ask about the unsaved example copy


if __name__ == "__main__":
    sys.exit(main())
