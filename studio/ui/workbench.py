"""What the parts around the canvas may ask of the main window, and nothing more.

The dashboard, the project files, export, autosave and the training prompts each get one
``Workbench`` instead of the window: the editing session, the training controller, the settings,
and a few requests (add a dock, say something in the status bar, show an error, show a node,
colour the canvas by health, arrange the docks, compare the graph with another project). The
window builds it and answers the requests; neither side depends on the other's insides, so
either can change without the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget


@dataclass(frozen=True)
class Workbench:
    session: object  # ui.session.Session: the document, its analysis and code
    editor: object  # ui.editing.Editor: every edit as one undoable command
    controller: object  # dashboard.controller.TrainingController: the training runs
    settings: QSettings
    recovery_folder: object  # where autosave keeps recovery files (None: the default)
    dialog_parent: QWidget  # owner of the dialogs and message boxes the parts open
    add_dock: Callable  # (title, object name, widget, area, tooltip) -> a new QDockWidget
    status: Callable  # (text, milliseconds): a message in the status bar
    show_error: Callable  # (title, text): a warning that does not block
    set_document: Callable  # (Document, load issues=()): another project in the window
    title_changed: Callable  # (): the project's file or name changed (after Save)
    select_node: Callable  # (graph key, node id): show a node on the canvas
    show_health: Callable  # ({graph key: {node id: health}} or None to clear): canvas colours
    arrange: Callable  # (layout name): put the docks in a named layout
    compare_with: Callable  # (Project, title such as "run 3"): the Diff panel and canvas marks
