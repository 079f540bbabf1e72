"""The window's project files: New, Open, Open Recent, Examples, Save, Save As, and the prompt
that stands between the user and losing work.

Nothing a user made is lost without asking: before the project is replaced or the window closes,
the prompt names what would go (unsaved changes to the file, trained weights not yet saved, a
run still training) and offers Save, which keeps all of it. Bundled examples always open as
untitled copies, from the menu or by path, so Save never overwrites the shipped file. A project
that was never saved takes its name from the file it is first saved as.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QVBoxLayout,
)

from studio.core import fileformat, package_files, recovery, templates
from studio.core.document import Document
from studio.core.project import ProjectError
from studio.ui.actions import command_action
from studio.ui.confirm import confirm

MAX_RECENT = 8
UNTITLED = "Untitled"


@cache
def template_names() -> frozenset:
    """The names projects get from File > New (a blank project is "Untitled"): not names a
    user chose, so the first Save As replaces them with the file's name."""
    return frozenset({UNTITLED} | {make().name for make in templates.TEMPLATES.values()})


def name_from_file(path) -> str | None:
    """A project name from a file name (``tiny.studio`` -> "tiny"), or None if none fits."""
    stem = Path(path).name
    if stem.endswith(fileformat.SUFFIX):
        stem = stem[: -len(fileformat.SUFFIX)]
    name = re.sub(r"[^A-Za-z0-9 _-]+", "_", stem).strip(" _-")
    name = re.sub(r"^[^A-Za-z]+", "", name)[:64].rstrip(" ")
    return name or None


def is_example(path) -> bool:
    """Whether ``path`` is one of the bundled examples (in the checkout or installed)."""
    try:
        folder = package_files.examples_folder().resolve()
        return Path(path).resolve().parent == folder
    except (OSError, RuntimeError):
        return False


class ProjectFiles(QObject):
    """Opening and saving the window's project; asking before anything is lost."""

    def __init__(self, bench):
        super().__init__(bench.dialog_parent)
        self.bench = bench  # ui/workbench.py: what these commands may use of the window
        self.session = bench.session
        self.settings = bench.settings
        self.import_action = command_action(
            "&Import Model...", "import_model", "Import an nn.Module from a Python file (runs "
            "that file) or an ONNX file as an editable project, its weights beside it",
            self.import_dialog,
            self)
        self.importer = None  # the open Import dialog, if any

    def _status(self, text: str, ms: int = 6000) -> None:
        self.bench.status(text, ms)

    # what would be lost -----------------------------------------------------------------------
    def doc_name(self) -> str:
        doc = self.session.doc
        return Path(doc.path).name if doc.path else self.session.project.name

    def unsaved_work(self) -> list[str]:
        """What closing the project now would lose, in words: unsaved edits, trained weights."""
        lost = []
        if self.session.doc.modified:
            lost.append(f"unsaved changes to {self.doc_name()}")
        weights = self.unsaved_weights()
        if weights:
            lost.append(weights)
        return lost

    def unsaved_weights(self) -> str | None:
        """"trained weights from the last run (12 epochs)" when they are saved nowhere."""
        controller = self.bench.controller
        if not controller.weights_unsaved:
            return None
        run = controller.run
        if run is None:
            return "trained weights from the last run"
        epoch = run.progress.epoch if run.progress is not None else 0
        steps = (run.final.steps if run.final is not None else 0) or run.step
        if epoch:
            length = f"{epoch} epoch{'s' if epoch != 1 else ''}"
        else:
            length = f"{steps:,} step{'s' if steps != 1 else ''}"
        return f"trained weights from the last run ({length})"

    def maybe_save(self, doing: str = "closing the project", include_running: bool = True) -> bool:
        """Before the project is replaced (or the window closes): True to go on. Asks only when
        something would be lost; Save keeps the project and its trained weights."""
        controller = self.bench.controller
        if include_running and controller.running and not self._confirm_stop(doing):
            return False
        lost = self.unsaved_work()
        if not lost:
            return True
        box = QMessageBox(self.bench.dialog_parent)
        box.setObjectName("unsaved_box")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Save your work?")
        box.setText(f"Save before {doing}?")
        items = "".join(f"<li>{what}</li>" for what in lost)
        keeps = "Save keeps the project and its trained weights (beside it)." \
            if self.unsaved_weights() else ""
        box.setInformativeText(f"This would be lost if you don't save:<ul>{items}</ul>{keeps}")
        box.setStandardButtons(QMessageBox.StandardButton.Save |
                               QMessageBox.StandardButton.Discard |
                               QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        box.setEscapeButton(QMessageBox.StandardButton.Cancel)
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Save:
            return self.save() and not self.unsaved_work()
        return answer == QMessageBox.StandardButton.Discard

    def _confirm_stop(self, doing: str) -> bool:
        return confirm(self.bench.dialog_parent, "Training is running",
                       f"Stop training before {doing}? The weights trained so far are not "
                       "saved.", "stop_training_box")

    # replacing the project --------------------------------------------------------------------
    def new_project(self, template: str = "blank") -> bool:
        if not self.maybe_save("starting a new project"):
            return False
        self.bench.set_document(templates.new_from_template(template))
        self._status(f"New project from the {template} template", 5000)
        return True

    def new_dialog(self) -> None:
        dialog = NewDialog(self.bench.dialog_parent)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.choice:
            self.new_project(dialog.choice)

    def open_dialog(self) -> None:
        doc = self.session.doc
        start = str(Path(doc.path).parent) if doc.path else \
            str(self.settings.value("files/last_folder", "") or package_files.examples_folder())
        path, _ = QFileDialog.getOpenFileName(self.bench.dialog_parent, "Open project", start,
                                              "Studio projects (*.studio);;All files (*)")
        if path:
            self.open_path(path)

    def import_dialog(self) -> None:
        """File > Import Model...: the dialog runs ``studio import`` and opens what it
        writes (``ui/import_dialog.py``)."""
        from studio.ui.import_dialog import ImportDialog

        doc = self.session.doc
        folder = str(Path(doc.path).parent) if doc.path else \
            str(self.settings.value("files/last_folder", "") or Path.home())
        self.importer = ImportDialog(self.open_path, self.bench.dialog_parent, folder)
        self.importer.open()

    def open_path(self, path, ask: bool = True) -> bool:
        """Open a project file. A damaged one opens with what could be read; what could not is
        listed in the problems. An unreadable one leaves the current project as it was. A
        bundled example opens as an untitled copy."""
        if is_example(path):
            return self.open_example(path, ask=ask)
        if ask and not self.maybe_save(f"opening {Path(path).name}"):
            return False
        try:
            project, issues = fileformat.load_lenient(path)
        except (fileformat.FileFormatError, OSError, ProjectError) as err:
            self.bench.show_error("Cannot open the file", f"{path}: {err}")
            return False
        doc = Document(project, path=str(path))
        if issues:
            doc.mark_modified()
        self.bench.set_document(doc, issues)
        self.add_recent(str(path))
        message = f"Opened {Path(path).name}"
        if issues:
            message += f"; {len(issues)} part(s) could not be read (see Problems)"
        self._status(message, 8000)
        return True

    def open_example(self, path, ask: bool = True) -> bool:
        """Open an example as an unsaved copy: Save asks where, so examples stay as they are."""
        if ask and not self.maybe_save(f"opening the example {Path(path).stem}"):
            return False
        try:
            project = fileformat.load(path)
        except (fileformat.FileFormatError, OSError, ProjectError) as err:
            self.bench.show_error("Cannot open the example", f"{path}: {err}")
            return False
        self.bench.set_document(Document(project))
        self._status(f"Opened a copy of the example {Path(path).name}: Save asks where to keep "
                     "it", 8000)
        return True

    def open_copy(self, project, what: str) -> bool:
        """Open ``project`` (the graph a recorded run trained) as a new unsaved project, after
        asking to save what would be lost: Save asks where to keep it."""
        if not self.maybe_save(f"opening the graph of {what}"):
            return False
        self.bench.set_document(Document(project))
        self._status(f"Opened the graph of {what} as an unsaved project", 8000)
        return True

    # saving -----------------------------------------------------------------------------------
    def save(self) -> bool:
        path = self.session.doc.path
        if not path:
            return self.save_as()
        return self.save_to(path)

    def save_as(self) -> bool:
        doc = self.session.doc
        folder = self.settings.value("files/last_folder", "") or str(Path.home())
        start = doc.path or str(Path(folder) / f"{self.session.project.name}{fileformat.SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(self.bench.dialog_parent, "Save project", start,
                                              "Studio projects (*.studio)")
        if not path:
            return False
        if not path.endswith(fileformat.SUFFIX):
            path += fileformat.SUFFIX
        return self.save_to(path)

    def save_to(self, path) -> bool:
        """Write the project to ``path`` (and its unsaved trained weights beside it)."""
        doc = self.session.doc
        renamed = self._name_after_first_file(path)
        try:
            fileformat.save(self.session.project, path)
        except (OSError, ProjectError, ValueError) as err:
            if renamed:
                self.session.project.name = renamed
            self.bench.show_error("Cannot save", f"{path}: {err}")
            return False
        doc.mark_saved(str(path))
        recovery.forget(doc, self.bench.recovery_folder)
        if renamed:
            self.session.reanalyze()
            self.session.regenerate()
        controller = self.bench.controller
        controller.carry_unsaved_runs()  # runs trained before the first Save go beside it
        if controller.weights_unsaved and not controller.running:
            try:
                controller.save_weights()
            except OSError as err:
                self.bench.show_error("Cannot save the weights", f"{path}: {err}")
        self.add_recent(str(path))
        self.settings.setValue("files/last_folder", str(Path(path).resolve().parent))
        self.bench.title_changed()
        self._status(f"Saved {path}", 5000)
        return True

    def _name_after_first_file(self, path) -> str | None:
        """A never-saved project still named as File > New named it takes the file's name
        (``tiny.studio`` -> "tiny", and ``class Tiny`` in the code); returns the old name when
        renamed. A name the user chose is kept."""
        project = self.session.project
        if self.session.doc.path or project.name not in template_names():
            return None
        new = name_from_file(path)
        if new is None or new == project.name:
            return None
        old, project.name = project.name, new
        return old

    # recent files and examples ----------------------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, path: str) -> None:
        path = str(Path(path).resolve())
        files = [path] + [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent", files[:MAX_RECENT])

    def fill_recent(self, menu: QMenu) -> None:
        menu.clear()
        files = [p for p in self.recent_files() if Path(p).exists()]
        for i, p in enumerate(files):
            act = menu.addAction(f"&{i + 1} {Path(p).name}")
            act.setToolTip(p)
            act.setStatusTip(p)
            act.triggered.connect(lambda _=False, path=p: self.open_path(path))
        if not files:
            none = menu.addAction("No recent files")
            none.setEnabled(False)

    def fill_examples(self, menu: QMenu) -> None:
        menu.setToolTipsVisible(True)
        for path in package_files.example_paths():
            act = menu.addAction(path.stem)
            act.setStatusTip(f"Open a copy of the example {path.name}")
            act.setToolTip(f"Open a copy of the example {path.name}")
            act.triggered.connect(lambda _=False, p=path: self.open_example(p))


class NewDialog(QDialog):
    """File > New: pick a template (classifier, GAN, VAE, blank)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("New Project")
        self.choice: str | None = None
        self.list = QListWidget()
        self.list.setToolTip("Choose a starting point; Enter creates it")
        for name in templates.TEMPLATES:
            item = QListWidgetItem(templates.describe(name))
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(templates.describe(name))
            self.list.addItem(item)
        self.list.setWordWrap(True)
        self.list.setCurrentRow(0)
        self.list.itemActivated.connect(lambda _i: self.accept())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok |
                                   QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Start from a template:"))
        layout.addWidget(self.list)
        layout.addWidget(buttons)
        self.resize(520, 320)

    def accept(self):
        item = self.list.currentItem()
        self.choice = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        super().accept()


__all__ = ["NewDialog", "ProjectFiles", "is_example", "name_from_file"]
