"""File > Import Model...: a PyTorch model from a Python file, or an ONNX file, as an editable
project.

The dialog says before anything runs that a chosen Python file will be run (building the model
is running its code, as any Python import does); an ONNX file is data, converted by onnx2torch,
and its input shape comes from the file unless one is given. The import itself is ``studio
import`` in a process of its own (the window imports no torch), and the project it writes is
then opened; a model Studio cannot represent leaves no file, and the dialog shows the list of
what it lacks.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QProcess, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

WARNING = ("Importing runs this Python file to build the model, as any Python import does: "
           "import only files you trust. The project Studio writes is data and never runs code.")
ONNX_NOTE = ("An ONNX file is data: onnx2torch converts it and nothing in it runs. Leave the "
             "input shape empty to use the one the file declares.")
DEFAULT_SHAPE = "3x224x224"


def _with_button(edit: QLineEdit, text: str, chosen) -> QWidget:
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(edit, 1)
    button = QPushButton(text)
    button.clicked.connect(chosen)
    lay.addWidget(button)
    return row


class ImportDialog(QDialog):
    """Choose the file, its factory, the input shape and the project to write; Import runs
    ``studio import`` and hands the written project to ``open_project(path)``."""

    def __init__(self, open_project, parent=None, folder: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Import a Model")
        self.open_project = open_project
        self.process: QProcess | None = None
        self.source = QLineEdit()
        self.source.setPlaceholderText("path/to/model.py or model.onnx")
        self.factory = QLineEdit()
        self.shape = QLineEdit(DEFAULT_SHAPE)
        self.out = QLineEdit()
        self.out.setPlaceholderText("where to write the project (NAME.studio)")
        self.folder = folder
        form = QFormLayout()
        form.addRow("Model file", _with_button(self.source, "Choose...", self._choose_source))
        form.addRow("Class or function", self.factory)
        form.addRow("Input shape", self.shape)
        form.addRow("Project", _with_button(self.out, "Choose...", self._choose_out))
        self.warning = QLabel(WARNING)
        self.warning.setWordWrap(True)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        self.run_button = self.buttons.addButton("Run and Import", QDialogButtonBox.AcceptRole)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        self.source.textChanged.connect(self._source_kind_changed)
        self._source_kind_changed()
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.warning)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)
        self.resize(560, self.sizeHint().height())

    def is_onnx(self) -> bool:
        return self.source.text().strip().lower().endswith(".onnx")

    def _source_kind_changed(self) -> None:
        """A Python file needs its factory and runs; an ONNX file needs neither."""
        onnx = self.is_onnx()
        self.factory.setEnabled(not onnx)
        self.factory.setPlaceholderText("not needed for an ONNX file" if onnx else
                                        "a class or function returning an nn.Module")
        self.warning.setText(ONNX_NOTE if onnx else WARNING)
        self.run_button.setText("Import" if onnx else "Run and Import")
        self.shape.setPlaceholderText("as the file declares" if onnx else DEFAULT_SHAPE)
        if onnx and self.shape.text() == DEFAULT_SHAPE:
            self.shape.clear()
        elif not onnx and not self.shape.text():
            self.shape.setText(DEFAULT_SHAPE)

    def _choose_source(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "The model to import", self.folder,
                                              "Models (*.py *.onnx);;Python files (*.py);;"
                                              "ONNX files (*.onnx)")
        if path:
            self.source.setText(path)
            if not self.out.text():
                self.out.setText(str(Path(path).with_suffix(".studio")))

    def _choose_out(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Imported project", self.out.text() or
                                              self.folder, "Studio projects (*.studio)")
        if path:
            self.out.setText(path if path.endswith(".studio") else path + ".studio")

    def arguments(self) -> list[str] | None:
        """``studio import``'s arguments, or None after saying what is missing."""
        source, factory = self.source.text().strip(), self.factory.text().strip()
        out, shape = self.out.text().strip(), self.shape.text().strip()
        onnx = self.is_onnx()
        needed = [("the model file", source), ("the project to write", out)]
        if not onnx:
            needed[1:1] = [("the class or function", factory)]
            needed.append(("the input shape", shape))
        missing = [name for name, value in needed if not value]
        if missing:
            self.say(f"Choose {', '.join(missing)}.", error=True)
            return None
        if not out.endswith(".studio"):
            out += ".studio"
            self.out.setText(out)
        given = ["--input", shape] if shape else []
        return ["-m", "studio", "import", source if onnx else f"{source}:{factory}", "--out", out,
                *given]

    def say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet("color: #c0392b;" if error else "")
        self.message.setText(text)

    def start(self) -> None:
        """Run ``studio import`` in its own process; the dialog stays until it ends."""
        args = self.arguments()
        if args is None or self.process is not None:
            return
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.SeparateChannels)
        self.process.finished.connect(self._finished)
        self.run_button.setEnabled(False)
        name = Path(self.source.text()).name
        self.say(f"Converting {name}..." if self.is_onnx() else
                 f"Running {name} and importing its model...")
        self.process.start(sys.executable, args)

    def _finished(self, code: int, status) -> None:
        process, self.process = self.process, None
        self.run_button.setEnabled(True)
        err = bytes(process.readAllStandardError()).decode(errors="replace").strip()
        if code != 0 or status != QProcess.NormalExit:
            self.say(err.removeprefix("studio: ") or f"studio import ended with status {code}",
                     error=True)
            return
        self.say("Imported.")
        self.accept()
        self.open_project(self.out.text().strip())

    def reject(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.waitForFinished(5000)
            self.process = None
        super().reject()
