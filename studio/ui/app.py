"""Starting the editor: ``studio`` opens the window, ``studio FILE`` opens a project in it.

The window is shown before anything imports torch (the code generator and shape inference need
none); torch is loaded only when something runs a network.
"""

from __future__ import annotations

import sys

from studio.core import package_files

ICON = package_files.resource("icons", "studio.svg")


def build(path=None, settings=None, recovery_folder=None, offer_recovery: bool = True,
          spare_worker: bool = True):
    """Create (or reuse) the QApplication and a shown main window; (app, window). With
    ``spare_worker`` a training process is started once the window is up and kept waiting (it
    imports torch meanwhile), so that Train starts at once."""
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from studio.ui import theme
    from studio.ui.collector import keep_collection_on_ui_thread
    from studio.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    keep_collection_on_ui_thread(app)
    app.setApplicationName("Studio")
    app.setOrganizationName("Studio")
    app.setApplicationDisplayName("Studio")
    if ICON.exists():
        app.setWindowIcon(QIcon(str(ICON)))
    theme.apply_theme(app)
    window = MainWindow(settings=settings, recovery_folder=recovery_folder)
    theme.follow_system(app, window.apply_theme)
    window.show()
    if path is not None:
        window.open_path(str(path), ask=False)
    if offer_recovery:
        QTimer.singleShot(0, window.offer_recovery)
    if spare_worker:
        from studio.engine.standby import STANDBY

        QTimer.singleShot(0, lambda: window.dashboard.controller.keep_spare_worker(STANDBY))
    return app, window


def run(path=None) -> int:
    """Open the editor (with ``path`` loaded) and run until the window closes; the exit status."""
    app, window = build(path)
    window.raise_()
    return app.exec()


if __name__ == "__main__":
    sys.exit(run(sys.argv[1] if len(sys.argv) > 1 else None))
