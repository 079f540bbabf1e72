"""Data-parallel training from the window: the training panel's "Train on" offers this
machine's ranks (two CPU processes here; "all N GPUs" on a machine with several), Train starts
them under torchrun, the dashboard follows rank 0 (the device says how many ranks), Pause holds
every rank and Resume lets them go on, Stop leaves a checkpoint that Continue starts from, and a
rank that dies is named in the panel with no rank left behind."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QComboBox

from studio.core.document import Document
from studio.core.fileformat import load
from studio.engine.distributed_session import DistributedSession
from studio.engine.local_ranks import LocalRanks
from studio.engine.session import TrainingSession
from studio.ui.dashboard.train_on import TrainOnChooser
from studio.ui.testing import open_window
from tests.helpers import EXAMPLES, rank_pids

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="torchrun's gloo ranks, tested on Linux")

WAIT_MS = 180_000
CPU_RANKS = LocalRanks(2, "cpu")


def _lenet_window(qtbot, tmp_path, steps: int):
    window = open_window(qtbot, tmp_path)
    project = load(EXAMPLES / "lenet.studio")
    project.training.configure(steps=steps, log_every=5)
    window.set_document(Document(project))
    dash = window.dashboard
    return dash, dash.panel, dash.controller


def _choose_ranks(panel) -> QComboBox:
    combo = panel.findChild(QComboBox, "train_on")
    index = next(i for i in range(combo.count()) if combo.itemData(i) == CPU_RANKS)
    assert combo.itemText(index) == "2 CPU processes (DDP)"
    combo.activated.emit(index)
    return combo


def _losses(dash) -> int:
    run = dash.store.current
    return len(run.metrics["loss"]) if run is not None and "loss" in run.metrics else 0


def test_two_processes_train_pause_resume_stop_and_continue_from_the_window(qtbot, tmp_path):
    dash, panel, controller = _lenet_window(qtbot, tmp_path, 1_000_000)
    combo = _choose_ranks(panel)
    assert controller.ranks == CPU_RANKS and controller.remote is None

    panel.train_action.trigger()
    assert isinstance(controller.session, DistributedSession) and not combo.isEnabled()
    qtbot.waitUntil(lambda: _losses(dash) >= 2, timeout=WAIT_MS)
    assert "cpu (2 ranks)" in panel.device_label.text()
    # the throughput shown is the run's: rank 0's times the ranks
    qtbot.waitUntil(lambda: "samples/s" in panel.progress_label.text(), timeout=WAIT_MS)

    panel.pause_action.trigger()
    qtbot.waitUntil(lambda: controller.state == "paused", timeout=WAIT_MS)
    held = _losses(dash)
    panel.train_action.trigger()  # the Train button reads Resume while paused
    qtbot.waitUntil(lambda: controller.state == "running" and _losses(dash) > held + 1,
                    timeout=WAIT_MS)

    panel.stop_action.trigger()
    qtbot.waitUntil(lambda: controller.state in ("finished", "stopped", "failed"),
                    timeout=WAIT_MS)
    run = dash.store.current
    assert controller.state == "stopped" and run.error is None, run.error
    assert combo.isEnabled() and panel.continue_action.isEnabled()
    stopped_at = run.metrics["loss"].x[-1]
    assert Path(controller.trained_checkpoint()).is_file()

    panel.continue_action.trigger()  # continues on the two processes from the checkpoint
    assert isinstance(controller.session, DistributedSession)
    qtbot.waitUntil(lambda: dash.store.current.metrics.get("loss") is not None and
                    dash.store.current.metrics["loss"].x[-1] > stopped_at, timeout=WAIT_MS)
    panel.stop_action.trigger()
    qtbot.waitUntil(lambda: controller.state in ("finished", "stopped", "failed"),
                    timeout=WAIT_MS)
    assert controller.state == "stopped", dash.store.current.error

    combo.activated.emit(0)  # back to one process
    assert controller.ranks is None
    panel.train_action.trigger()
    assert type(controller.session) is TrainingSession
    panel.stop_action.trigger()
    qtbot.waitUntil(lambda: controller.state in ("finished", "stopped", "failed"),
                    timeout=WAIT_MS)


def test_a_rank_that_dies_is_named_in_the_panel(qtbot, tmp_path):
    dash, panel, controller = _lenet_window(qtbot, tmp_path, 1_000_000)
    _choose_ranks(panel)
    panel.train_action.trigger()
    qtbot.waitUntil(lambda: _losses(dash) >= 1, timeout=WAIT_MS)
    ranks = rank_pids(controller.session)
    os.kill(ranks[1], signal.SIGKILL)
    qtbot.waitUntil(lambda: not controller.running, timeout=WAIT_MS)
    assert controller.state == "failed"
    assert "rank 1 ended with exit code -9 (killed by SIGKILL)" in panel.error_text
    assert "gloo" not in panel.error_text  # rank 0's lost peer is the details, not the news
    assert not any(Path(f"/proc/{pid}").exists() for pid in ranks.values())


def test_the_choice_offers_all_gpus_only_where_there_are_several(qtbot):
    chooser = TrainOnChooser(controller=None, ranks=[LocalRanks(4, "cuda"), CPU_RANKS])
    qtbot.addWidget(chooser)
    labels = [chooser.combo.itemText(i) for i in range(chooser.combo.count())]
    assert labels == ["This machine", "All 4 GPUs (DDP)", "2 CPU processes (DDP)",
                      "Remote host\u2026"]
