"""Exporting a project, from the command line as a PyTorch user runs it: every file written is
named, the exported train.py explains itself, ONNX carries the trained weights, a project with
nothing to export is refused, and a bad file is refused without loading torch."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from studio.cli import main
from studio.core import fileformat
from studio.core.project import Project
from tests.helpers import EXAMPLES, ROOT

LENET = str(EXAMPLES / "lenet.studio")


def run_script(folder, *args):
    return subprocess.run([sys.executable, "train.py", *args], cwd=folder, capture_output=True,
                          text=True, timeout=300)


def test_export_names_every_file_it_wrote(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["export", LENET, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["data/digits.npz", "model.py", "train.py"]
    for name in written:
        assert name in said
    assert f"({len(written)} files)" in said


def test_exported_train_py_explains_its_options_and_refuses_epochs_with_steps(tmp_path):
    out = tmp_path / "out"
    assert main(["export", LENET, "--out", str(out)]) == 0
    help_text = run_script(out, "--help")
    assert help_text.returncode == 0
    text = " ".join(help_text.stdout.split())
    assert "Training script of the Studio project 'LeNet'" in text
    for option, words in [("--epochs", "passes over the training data"),
                          ("--steps", "optimizer steps"), ("--device", "where to train"),
                          ("--seed", "seed"), ("--data-dir", "data files"),
                          ("--out", "weights.pt"), ("--weights", "start from these weights")]:
        assert option in text and words in text, option
    assert "Without --epochs or --steps it trains for" in text
    both = run_script(out, "--epochs", "1", "--steps", "3")
    assert both.returncode == 2
    assert "not allowed with argument" in both.stderr


def test_exported_epochs_wins_over_the_projects_step_count(tmp_path):
    project = fileformat.load(LENET)
    project.training.configure(steps=500)
    source = tmp_path / "lenet500.studio"
    fileformat.save(project, source)
    out = tmp_path / "out"
    assert main(["export", str(source), "--out", str(out)]) == 0
    result = run_script(out, "--epochs", "1", "--out", "run")
    assert result.returncode == 0, result.stderr
    steps = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("step ")]
    assert steps[-1] == "24/24"  # one epoch of LeNet's digits, not the project's 500 steps


def test_a_network_used_nowhere_is_refused_with_a_reason(tmp_path):
    project = Project("Lonely")
    net = project.network("Encoder")
    x = net.add("Input", id="x")
    net.chain(x, net.add("Linear", id="fc", out_features=4), net.add("Output", id="y"))
    path = tmp_path / "lonely.studio"
    fileformat.save(project, path)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "studio", "export", str(path), "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "Encoder" in proc.stderr and "used nowhere" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_a_malformed_file_is_refused_without_importing_torch(tmp_path):
    bad = tmp_path / "bad.studio"
    bad.write_text('{"format": "studio", "version": 1, "name": ')
    code = ("import sys\nfrom studio.cli import main\n"
            f"status = main(['export', {str(bad)!r}, '--out', {str(tmp_path / 'o')!r}, "
            "'--onnx'])\n"
            "print(status, 'torch' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.stdout.split() == ["2", "False"], proc.stderr
    assert "not valid JSON" in proc.stderr


def test_onnx_export_carries_the_trained_weights(tmp_path, capsys):
    onnx = pytest.importorskip("onnx")
    import torch
    from onnx import numpy_helper

    checkpoint = tmp_path / "lenet.ckpt"
    assert main(["train", LENET, "--steps", "5", "--checkpoint", str(checkpoint),
                 "--quiet"]) == 0
    out = tmp_path / "out"
    assert main(["export", LENET, "--out", str(out), "--weights", str(checkpoint),
                 "--onnx"]) == 0
    said = capsys.readouterr().out
    assert "weights.pt" in said and "model.onnx" in said
    trained = torch.load(checkpoint, weights_only=True)["networks"]["lenet"]
    graph = onnx.load(out / "model.onnx").graph
    initializers = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    weights_pt = torch.load(out / "weights.pt", weights_only=True)
    assert set(trained) <= set(initializers)
    for name, tensor in trained.items():
        np.testing.assert_array_equal(initializers[name], tensor.numpy(), err_msg=name)
        np.testing.assert_array_equal(weights_pt[f"lenet.{name}"].numpy(), tensor.numpy())


def test_onnx_export_refuses_weights_of_another_project(tmp_path):
    pytest.importorskip("onnx")
    checkpoint = tmp_path / "lenet.ckpt"
    assert main(["train", LENET, "--steps", "2", "--checkpoint", str(checkpoint),
                 "--quiet"]) == 0
    doc = json.loads((EXAMPLES / "lenet.studio").read_text())
    fc1 = next(n for n in doc["training"]["nodes"] if n["id"] == "fc1")
    fc1["params"]["out_features"] = 100  # edited since training: fc1 no longer fits
    edited = tmp_path / "edited.studio"
    edited.write_text(json.dumps(doc))
    proc = subprocess.run([sys.executable, "-m", "studio", "export", str(edited), "--out",
                           str(tmp_path / "o"), "--onnx", "--weights", str(checkpoint)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "do not fit the network" in proc.stderr and "Traceback" not in proc.stderr
