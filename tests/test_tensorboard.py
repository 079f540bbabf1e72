"""Runs written for TensorBoard, read back as TensorBoard reads them: every loss and metric at
its steps, the learning rate, gradient and weight histograms, feature maps of watched nodes and
preview images, one folder per run."""

from __future__ import annotations

import pytest

from studio.cli import main
from tests.helpers import EXAMPLES

pytest.importorskip("tensorboard", reason="the 'tensorboard' extra")
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)


def read_run(folder) -> dict:
    """{kind: {tag: [step, ...]}} of everything written into a run's folder."""
    run = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0,
                                                        "images": 0})
    run.Reload()
    read = {"scalars": run.Scalars, "histograms": run.Histograms, "images": run.Images}
    return {kind: {tag: [e.step for e in read[kind](tag)] for tag in run.Tags()[kind]}
            for kind in read}


def test_studio_train_writes_losses_rates_histograms_and_feature_maps(tmp_path, capsys):
    board = tmp_path / "tb"
    for _ in range(2):
        assert main(["train", str(EXAMPLES / "lenet.studio"), "--steps", "30", "--quiet",
                     "--tensorboard", str(board), "--watch", "conv1"]) == 0
    said = capsys.readouterr().out
    runs = sorted(board.iterdir())
    assert len(runs) == 2 and all(r.name.startswith("lenet-run") for r in runs)  # one per run
    assert str(runs[-1]) in said
    run = read_run(runs[0])
    scalars = run["scalars"]
    assert scalars["train/loss"] == list(range(1, 31))  # every step's loss
    assert scalars["lr/adam"] == [10, 20, 30]  # with every logged step
    for metric in ("test_loss", "test_accuracy"):
        assert scalars[f"eval/{metric}"][-1] == 30 and scalars[f"final/{metric}"] == [30]
    assert scalars["grad_norm/conv1"][0] == 1 and "update_ratio/fc3" in scalars
    for kind in ("weights", "grads"):
        assert set(run["histograms"]) >= {f"{kind}/{n}" for n in
                                          ("conv1", "conv2", "fc1", "fc2", "fc3")}
        assert run["histograms"][f"{kind}/conv1"][0] == 1
    assert run["images"]["features/conv1"][0] == 1  # the watched node's feature maps


def test_a_generators_previews_become_images(tmp_path):
    board = tmp_path / "tb"
    assert main(["train", str(EXAMPLES / "vae.studio"), "--steps", "3", "--quiet",
                 "--no-record", "--tensorboard", str(board)]) == 0
    (folder,) = board.iterdir()
    assert folder.name.startswith("vae-")  # unrecorded: named by its time
    run = read_run(folder)
    assert {"preview/reconstructions", "preview/samples"} <= set(run["images"])
    assert run["scalars"]["train/kl"] == [1, 2, 3] and "weights/decoder/fc1" in run["histograms"]


def test_the_projects_setting_writes_each_run_beside_the_project(tmp_path):
    from studio.core import fileformat

    project = fileformat.load(EXAMPLES / "lenet.studio")
    assert '"tensorboard"' not in fileformat.dumps(project)  # not set: left out of the file
    project.training.configure(tensorboard="boards")  # relative: in the project's folder
    path = tmp_path / "lenet.studio"
    fileformat.save(project, path)
    assert fileformat.load(path).training.settings["tensorboard"] == "boards"
    assert main(["train", str(path), "--steps", "3", "--quiet", "--no-record"]) == 0
    (folder,) = (tmp_path / "boards").iterdir()
    assert read_run(folder)["scalars"]["train/loss"] == [1, 2, 3]


def test_the_window_writes_a_run_for_tensorboard_from_its_run_writer(qtbot, tmp_path):
    from studio.ui.testing import open_window

    window = open_window(qtbot, tmp_path)
    assert window.files.open_example(EXAMPLES / "lenet.studio")
    board = tmp_path / "tb"
    window.editor.set_settings({"steps": 12, "tensorboard": str(board)})
    window.dashboard.panel.train_action.trigger()
    controller = window.dashboard.controller
    qtbot.waitUntil(lambda: controller.state in ("finished", "failed"), timeout=60_000)
    assert controller.state == "finished", controller.state
    writer = controller.recordings.current
    qtbot.waitUntil(lambda: writer.done, timeout=60_000)  # its last events written
    (folder,) = board.iterdir()
    assert folder.name == f"lenet-run{writer.number}"
    run = read_run(folder)
    assert run["scalars"]["train/loss"] == list(range(1, 13))
    assert run["histograms"]["weights/conv1"][0] == 1  # the window's probes run by default
