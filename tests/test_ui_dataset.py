"""The dataset view opens from the editor for the project's Dataset block."""

from studio.core.document import Document
from studio.core.fileformat import load
from studio.ui.main_window import MainWindow
from tests.helpers import EXAMPLES


def test_view_dataset_from_the_editor(qtbot, tmp_path):
    window = MainWindow(recovery_folder=tmp_path)
    qtbot.addWidget(window)
    window.set_document(Document(load(EXAMPLES / "lenet.studio")))
    dialog = window.view_dataset()
    assert dialog is not None
    view = dialog.dataset_view
    with qtbot.waitSignal(view.loaded, timeout=30_000) as blocker:
        pass
    split = blocker.args[0]
    assert len(split.train[0]) == 1497
    dialog.grab().save(str(tmp_path / "dataset.png"))
    dialog.close()
