"""File > Export PyTorch Code (with ONNX, TorchScript and torch.export programs) and Export ONNX,
from the window.

The dialog suggests a folder beside the project (``lenet_export`` next to ``lenet.studio``), which
need not exist yet: Export creates it. Choose... opens a folder chooser that starts there and can
make new folders. The trained weights go along when there are some. Afterwards the status bar
names every file written. Files that would be overwritten are named first. The writing itself is
``studio.engine.export``, the same as ``studio export``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from studio.core import fileformat
from studio.engine.export import WEIGHTS_FORMATS
from studio.ui.confirm import confirm

CODE_FILES = ("model.py", "train.py", "weights.pt", "weights.safetensors", "model.onnx",
              "model.torchscript.pt", "model.pt2")
# the programs the dialog offers besides the code: kind (engine/program_export.PROGRAMS), label,
# what it is for, and the package it needs (None: torch alone)
PROGRAM_CHOICES = (
    ("onnx", "ONNX graph (model.onnx)", "Each network as an ONNX graph, inputs and outputs named "
     "after its ports, with the trained weights when exported", "onnx"),
    ("torchscript", "TorchScript (model.torchscript.pt)", "Each network scripted (or traced when "
     "scripting fails) for torch.jit.load: runs without Python source", None),
    ("torch_export", "torch.export program (model.pt2)", "Each network as a torch.export program "
     "for torch.export.load, batch size free", None),
)


def suggested_folder(project_path, project_name: str, last_parent: str = "") -> Path:
    """Beside the project file (``lenet.studio`` -> ``lenet_export``); for a project never
    saved, in the folder last exported to, else the home folder."""
    if project_path:
        path = Path(project_path)
        stem = path.name[: -len(fileformat.SUFFIX)] if path.name.endswith(fileformat.SUFFIX) \
            else path.stem
        return path.resolve().parent / f"{stem}_export"
    base = Path(last_parent) if last_parent and Path(last_parent).is_dir() else Path.home()
    return base / f"{project_name.replace(' ', '_')}_export"


def folder_chooser(parent, start: Path) -> QFileDialog:
    """A chooser of folders that starts at ``start`` (or its nearest existing parent) and offers
    New Folder: no ReadOnly option, which would hide that button."""
    existing = start
    while not existing.is_dir() and existing != existing.parent:
        existing = existing.parent
    dialog = QFileDialog(parent, "Export PyTorch code to", str(existing))
    dialog.setObjectName("export_folder_chooser")
    dialog.setFileMode(QFileDialog.FileMode.Directory)
    dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    dialog.setOption(QFileDialog.Option.ReadOnly, False)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
    dialog.setLabelText(QFileDialog.DialogLabel.Accept, "Choose")
    return dialog


class ExportDialog(QDialog):
    """Where to export the code, and whether the trained weights and an ONNX graph go along."""

    def __init__(self, start: Path, has_weights: bool, parent=None):
        super().__init__(parent)
        self.setObjectName("export_dialog")
        self.setWindowTitle("Export PyTorch Code")
        intro = QLabel("Writes model.py (the networks) and train.py (the training loop): "
                       "standalone PyTorch, the same code Studio trains. The folder is "
                       "created if it does not exist.")
        intro.setWordWrap(True)
        self.folder = QLineEdit(str(start))
        self.folder.setObjectName("export_folder")
        self.folder.setToolTip("The folder to write into; a new folder's name can be typed here")
        self.folder.setMinimumWidth(420)
        self.browse = QPushButton("Choose\u2026")
        self.browse.setToolTip("Pick a folder (the chooser can also create one)")
        self.browse.clicked.connect(self.choose)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(self.browse)
        self.weights = QCheckBox("Trained weights as")
        self.weights.setObjectName("export_weights")
        self.weights.setEnabled(has_weights)
        self.weights.setChecked(has_weights)
        self.weights.setToolTip("python train.py --weights weights.pt starts from them" if
                                has_weights else "Nothing trained yet: train first to export "
                                "weights")
        form = QFormLayout()
        form.addRow("Folder:", row)
        self.weights_format = QComboBox()
        self.weights_format.setObjectName("export_weights_format")
        for kind, suffix in WEIGHTS_FORMATS.items():
            self.weights_format.addItem(f"weights{suffix}", kind)
        self.weights_format.setToolTip("weights.pt (weights-only torch.load) or "
                                       "weights.safetensors: tensors keyed network.parameter")
        self.weights_format.setEnabled(has_weights)
        self.weights.toggled.connect(self.weights_format.setEnabled)
        weights_row = QHBoxLayout()
        weights_row.addWidget(self.weights)
        weights_row.addWidget(self.weights_format)
        weights_row.addStretch(1)
        form.addRow("Also:", weights_row)
        self.programs: dict[str, QCheckBox] = {}
        for kind, label, tip, package in PROGRAM_CHOICES:
            box = QCheckBox(label)
            box.setObjectName(f"export_{kind}")
            ready = package is None or importlib.util.find_spec(package) is not None
            box.setEnabled(ready)
            box.setToolTip(tip if ready else f"Needs the '{package}' package (pip install "
                           f"{package})")
            form.addRow("", box)
            self.programs[kind] = box
        self.onnx = self.programs["onnx"]
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setDefault(True)
        # Enter in the folder field exports: no other button takes the default with the focus
        for other in (self.browse, buttons.button(QDialogButtonBox.StandardButton.Cancel)):
            other.setAutoDefault(False)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.chooser: QFileDialog | None = None

    def target(self) -> Path:
        return Path(self.folder.text().strip()).expanduser()

    def choose(self) -> None:
        self.chooser = folder_chooser(self, self.target())
        self.chooser.fileSelected.connect(self.folder.setText)
        self.chooser.open()


class Exporter(QObject):
    """The window's Export PyTorch Code and Export ONNX commands."""

    def __init__(self, bench):
        super().__init__(bench.dialog_parent)
        self.bench = bench  # ui/workbench.py: what these commands may use of the window
        self.dialog: ExportDialog | None = None

    def _checkpoint(self):
        return self.bench.controller.trained_checkpoint()

    def export_code_dialog(self) -> ExportDialog:
        """Open the export dialog (window-modal); exporting happens when it is accepted."""
        doc = self.bench.session.doc
        last = self.bench.settings.value("export/last_parent", "") or ""
        start = suggested_folder(doc.path, self.bench.session.project.name, str(last))
        self.dialog = ExportDialog(start, self._checkpoint() is not None, self.bench.dialog_parent)
        self.dialog.accepted.connect(self._dialog_accepted)
        self.dialog.open()
        return self.dialog

    def _dialog_accepted(self) -> None:
        d = self.dialog
        self.export_code(d.target(), weights=d.weights.isChecked(),
                         weights_format=d.weights_format.currentData(),
                         programs=[k for k, box in d.programs.items() if box.isChecked()])

    def export_code(self, folder, weights: bool = True, onnx: bool = False,
                    programs=(), weights_format: str = "pt") -> bool:
        """Write model.py and train.py (and the data files they read) into ``folder``, with the
        trained weights as weights.pt or .safetensors (``weights_format``) when asked and there
        are some, and the ``programs`` asked
        (kinds of engine/program_export.PROGRAMS; ``onnx``: ONNX too). Existing files are
        replaced only after the user agrees."""
        from studio.engine.codegen import CodegenError
        from studio.engine.export import ExportError, describe_written, write_export

        out = Path(folder)
        checkpoint = self._checkpoint() if weights else None
        if not self._may_replace(out):
            return False
        project = self.bench.session.project
        try:
            written = write_export(project, out, checkpoint=checkpoint,
                                   weights_format=weights_format)
        except CodegenError as err:
            self.bench.show_error("Cannot export yet", f"{err}\n\n" + "\n".join(
                str(p) for p in err.problems[:8]))
            return False
        except (OSError, ExportError) as err:
            self.bench.show_error("Cannot export", str(err))
            return False
        kinds = list(programs) + (["onnx"] if onnx and "onnx" not in programs else [])
        done = self._programs(project, out, kinds, checkpoint)
        if done is None:
            return False
        written += done.paths
        self.bench.settings.setValue("export/last_parent", str(out.resolve().parent))
        notes = "".join(f"; {note}" for note in done.notes)
        self.bench.status(f"Exported {describe_written(out, written)}{notes}", 15000)
        return True

    def _programs(self, project, out: Path, kinds, checkpoint):
        from studio.engine.program_export import write_programs

        return self._busy("Cannot export", lambda: write_programs(project, out, kinds,
                                                                  checkpoint=checkpoint))

    def _busy(self, title: str, write):
        """``write()`` under the wait cursor (it imports torch now, not before), or None after
        saying why it refused."""
        from studio.engine.network_export import NetworkExportError

        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            return write()
        except NetworkExportError as err:
            self.bench.show_error(title, str(err))
            return None
        finally:
            QApplication.restoreOverrideCursor()

    def _may_replace(self, out: Path) -> bool:
        existing = [name for name in CODE_FILES if (out / name).exists()]
        if not existing:
            return True
        return confirm(self.bench.dialog_parent, "Replace exported files?",
                       f"{out} already holds {', '.join(existing)}. Replace them?",
                       "replace_export_box",
                       detail="Changes you made to them there will be lost.")

    def export_onnx_dialog(self) -> None:
        doc = self.bench.session.doc
        folder = Path(doc.path).resolve().parent if doc.path else Path.home()
        path, _ = QFileDialog.getSaveFileName(self.bench.dialog_parent, "Export ONNX",
                                              str(folder / "model.onnx"), "ONNX models (*.onnx)")
        if path:
            self.export_onnx(path)

    def export_onnx(self, path) -> bool:
        """Export the project's networks as ONNX, with the trained weights when there are some
        (imports torch now, not before)."""
        written = self._onnx(Path(path), self._checkpoint())
        if written is None:
            return False
        self.bench.status("Wrote " + ", ".join(str(p) for p in written), 10000)
        return True

    def _onnx(self, path: Path, checkpoint):
        from studio.engine.onnx_export import export_onnx

        project = self.bench.session.project
        return self._busy("Cannot export ONNX", lambda: export_onnx(project, path,
                                                                    checkpoint=checkpoint))
