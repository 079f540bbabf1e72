"""Train on: this machine, several processes of it (data-parallel, ``engine/local_ranks.py``),
or another machine over SSH (``engine/remote.py``): a choice in the training panel. The
data-parallel items are there when the machine has them: "All N GPUs (DDP)" with two GPUs or more,
two CPU processes with two cores. "Remote host..." asks for the host as the user's ssh knows
it, the Python that has Studio there and, if need be, an ssh configuration file; the hosts
chosen stay in the list for the window's life. Studio keeps no password: ssh runs with the
user's own keys and agent.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from studio.engine.local_ranks import local_rank_choices
from studio.engine.remote_host import RemoteHost

ASK = "ask"  # the last item's data: ask for a new host


class RemoteHostDialog(QDialog):
    """The host, the remote Python and the ssh configuration file of a remote run."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("remote_host_dialog")
        self.setWindowTitle("Train on a Remote Host")
        self.setMinimumWidth(460)
        form = QFormLayout(self)
        note = QLabel("Studio runs your own <tt>ssh</tt> with your keys and agent (no password "
                      "is asked or kept). The remote machine needs Studio installed.")
        note.setWordWrap(True)
        form.addRow(note)
        self.host = QLineEdit(objectName="remote_host")
        self.host.setPlaceholderText("user@machine or an alias from ~/.ssh/config")
        self.python = QLineEdit(objectName="remote_python")
        self.python.setPlaceholderText("none: the studio command on its PATH")
        self.ssh_config = QLineEdit(objectName="remote_ssh_config")
        self.ssh_config.setPlaceholderText("~/.ssh/config")
        form.addRow("Host:", self.host)
        form.addRow("Python there:", self.python)
        form.addRow("ssh config file:", self.ssh_config)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.host.textChanged.connect(self._enable)
        form.addRow(self.buttons)
        self._enable()

    def _enable(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(self.host.text().strip()))

    def remote_host(self) -> RemoteHost:
        return RemoteHost(self.host.text().strip(), python=self.python.text().strip() or None,
                          ssh_config=self.ssh_config.text().strip() or None)


class TrainOnChooser(QWidget):
    """The "Train on" row: the controller trains the next run where it says."""

    chosen = Signal(object)  # a RemoteHost, a LocalRanks, or None for this machine's one process

    def __init__(self, controller, parent=None, ranks=None):
        super().__init__(parent)
        self.controller = controller
        self.dialog: RemoteHostDialog | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Train on:"))
        self.combo = QComboBox(objectName="train_on")
        self.combo.setToolTip("Where the next run trains: here in one process, here in several "
                              "(data-parallel), or on another machine over SSH")
        self.combo.addItem("This machine", None)
        for choice in local_rank_choices() if ranks is None else ranks:
            self.combo.addItem(choice.label, choice)
            self.combo.setItemData(self.combo.count() - 1, choice.explanation,
                                   Qt.ItemDataRole.ToolTipRole)
        self.combo.addItem("Remote host\u2026", ASK)
        # the panel's width is not the longest choice's: the closed list elides, the open one
        # is as wide as its items
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(12)
        self.combo.view().setMinimumWidth(self.combo.view().sizeHintForColumn(0) + 24)
        self.combo.activated.connect(self._activated)
        row.addWidget(self.combo, 1)
        self._current = 0

    def _activated(self, index: int) -> None:
        data = self.combo.itemData(index)
        if data == ASK:
            self.combo.setCurrentIndex(self._current)  # until a host is given
            self.dialog = RemoteHostDialog(self)
            self.dialog.accepted.connect(lambda: self.choose(self.dialog.remote_host()))
            self.dialog.open()
            return
        self._select(index)

    def choose(self, host) -> None:
        """Train the next runs on ``host`` (a RemoteHost, added to the list; a LocalRanks from
        the list; None: this machine, one process)."""
        if host is None:
            self._select(0)
            return
        for index in range(self.combo.count()):
            if self.combo.itemData(index) == host:
                self._select(index)
                return
        if not isinstance(host, RemoteHost):
            raise ValueError(f"{host} is not offered on this machine")
        self.combo.insertItem(self.combo.count() - 1, f"{host.host} (SSH)", host)
        self.combo.view().setMinimumWidth(self.combo.view().sizeHintForColumn(0) + 24)
        self._select(self.combo.count() - 2)

    def _select(self, index: int) -> None:
        self.combo.setCurrentIndex(index)
        self._current = index
        host = self.combo.itemData(index)
        self.controller.train_on(host)
        self.chosen.emit(host)

    def set_enabled_for(self, running: bool) -> None:
        """Where a run trains is chosen before it starts."""
        self.combo.setEnabled(not running)
