"""Train on a remote host from the window: the training panel's "Train on" choice asks for the
host in a dialog, and Train then trains there over a real SSH connection (a loopback sshd the
test starts, ``tests/ssh_server.py``): the curves fill, the run finishes, its checkpoint comes
back, and choosing "This machine" trains here again."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDialogButtonBox

from studio.core.document import Document
from studio.core.fileformat import load
from studio.engine.remote import RemoteSession
from studio.engine.session import TrainingSession
from studio.ui.dashboard.remote_stop import lost_run
from studio.ui.testing import open_window
from tests.helpers import EXAMPLES
from tests.ssh_server import ALIAS, serve

WAIT_MS = 180_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serve(tmp_path_factory)


def _lenet_window(qtbot, tmp_path, steps: int):
    """The window with LeNet open to train ``steps`` steps: its dashboard, panel, controller."""
    window = open_window(qtbot, tmp_path)
    project = load(EXAMPLES / "lenet.studio")
    project.training.configure(steps=steps)
    window.set_document(Document(project))
    dash = window.dashboard
    return dash, dash.panel, dash.controller


def test_train_on_a_remote_host_chosen_in_the_panel(qtbot, tmp_path, server):
    dash, panel, controller = _lenet_window(qtbot, tmp_path, 15)
    combo = panel.findChild(QComboBox, "train_on")
    assert combo.currentText() == "This machine" and controller.remote is None

    # Remote host...: the dialog asks; OK waits for a host
    combo.activated.emit(combo.count() - 1)
    dialog = panel.train_on.dialog
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()
    qtbot.keyClicks(dialog.host, ALIAS)
    qtbot.keyClicks(dialog.python, server.python)
    qtbot.keyClicks(dialog.ssh_config, str(server.ssh_config))
    assert ok.isEnabled()
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert combo.currentText() == f"{ALIAS} (SSH)"
    assert controller.remote.host == ALIAS and controller.remote.python == server.python

    panel.train_action.trigger()
    assert isinstance(controller.session, RemoteSession) and not combo.isEnabled()
    qtbot.waitUntil(lambda: controller.state in ("finished", "stopped", "failed"),
                    timeout=WAIT_MS)
    run = dash.store.current
    assert controller.state == "finished", run.error
    assert len(run.metrics["loss"]) == 15 and run.device == "cpu"
    assert f"using: cpu on {ALIAS}" in panel.device_label.text()
    assert combo.isEnabled()
    assert controller.trained_checkpoint() is not None and \
        Path(controller.trained_checkpoint()).is_file()  # the state came back: Continue works

    # back to this machine
    combo.activated.emit(0)
    assert controller.remote is None
    panel.train_action.trigger()
    assert type(controller.session) is TrainingSession
    qtbot.waitUntil(lambda: controller.state in ("finished", "stopped", "failed"),
                    timeout=WAIT_MS)
    assert controller.state == "finished"


def test_a_lost_connection_offers_to_follow_the_run_again_and_to_stop_it_there(
        qtbot, tmp_path, server):
    import os
    import signal

    dash, panel, controller = _lenet_window(qtbot, tmp_path, 1_000_000)
    panel.train_on.choose(server.host())
    panel.train_action.trigger()
    qtbot.waitUntil(lambda: len(dash.store.current.metrics.get("loss", ())) > 0,
                    timeout=WAIT_MS)
    first = dash.store.current
    os.kill(controller.session.pid, signal.SIGKILL)  # the connection goes; the run goes on
    qtbot.waitUntil(lambda: lost_run(controller.session) is not None and bool(panel.error_text),
                    timeout=WAIT_MS)
    assert "connection was lost" in panel.error_text.lower()
    assert "href='follow'" in panel.error_text and "href='stop-there'" in panel.error_text
    host, run_id = lost_run(controller.session)
    last = first.metrics["loss"].x[-1]

    panel.error_label.linkActivated.emit("follow")  # what a click on "Follow it again" does
    assert panel.error_label.isHidden()
    followed = dash.store.current
    assert followed is not first and run_id in followed.label
    qtbot.waitUntil(lambda: len(followed.metrics.get("loss", ())) > 0 and
                    followed.metrics["loss"].x[-1] > last, timeout=WAIT_MS)
    assert controller.state == "running"
    os.kill(controller.session.pid, signal.SIGKILL)  # lost again: now stop it there
    qtbot.waitUntil(lambda: lost_run(controller.session) is not None and bool(panel.error_text),
                    timeout=WAIT_MS)
    panel.error_label.linkActivated.emit("stop-there")
    qtbot.waitUntil(lambda: "was asked to stop" in panel.state_label.text(), timeout=WAIT_MS)
    panel.error_label.linkActivated.emit("follow")  # followed once more, it ends stopped
    qtbot.waitUntil(lambda: controller.state in ("finished", "stopped", "failed"),
                    timeout=WAIT_MS)
    assert controller.state == "stopped", dash.store.current.error
