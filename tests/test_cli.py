"""The command line: check, export and train, and one clear line for bad input."""

import json
import subprocess
import sys

import pytest

from studio.cli import main
from tests.helpers import EXAMPLES, ROOT

LENET = str(EXAMPLES / "lenet.studio")


def test_check_prints_a_table_with_totals(capsys):
    assert main(["check", LENET]) == 0
    out = capsys.readouterr().out
    assert "conv1" in out and "6 x 28 x 28" in out and "156" in out
    assert "total: 61,706 parameters" in out
    assert "no problems" in out


def test_check_json(capsys):
    assert main(["check", LENET, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_params"] == 61_706
    assert data["errors"] == []
    conv1 = next(n for n in data["nodes"] if n["id"] == "conv1")
    assert conv1 == {**conv1, "block": "Conv2d", "output_shape": [6, 28, 28], "params": 156,
                     "macs": 117_600}


def test_check_reports_problems_with_exit_2_as_the_readme_says(tmp_path, capsys):
    doc = json.loads((EXAMPLES / "lenet.studio").read_text())
    node = next(n for n in doc["training"]["nodes"] if n["id"] == "fc1")
    node["params"]["out_features"] = 7  # fc2 still fine; loss still fine: change a conv instead
    conv = next(n for n in doc["training"]["nodes"] if n["id"] == "conv2")
    conv["params"]["kernel_size"] = 30
    path = tmp_path / "broken.studio"
    path.write_text(json.dumps(doc))
    assert main(["check", str(path), "--json"]) == 2
    errors = json.loads(capsys.readouterr().out)["errors"]
    assert errors[0]["node"] == "conv2" and errors[0]["field"] == "kernel_size"


def test_export_writes_model_and_train(tmp_path, capsys):
    assert main(["export", LENET, "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "model.py").exists()
    assert (tmp_path / "out" / "train.py").exists()
    assert (tmp_path / "out" / "data" / "digits.npz").exists()


def test_export_with_weights_from_a_checkpoint(tmp_path, capsys):
    checkpoint = tmp_path / "lenet.ckpt"
    assert main(["train", LENET, "--steps", "150", "--checkpoint", str(checkpoint),
                 "--quiet"]) == 0
    out = tmp_path / "out"
    assert main(["export", LENET, "--out", str(out), "--weights", str(checkpoint)]) == 0
    assert "weights.pt" in capsys.readouterr().out
    import torch

    weights = torch.load(out / "weights.pt", weights_only=True)
    assert "lenet.conv1.weight" in weights
    # the exported script evaluates the trained weights after one more step: far above chance
    result = subprocess.run([sys.executable, "train.py", "--weights", "weights.pt", "--steps", "1",
                             "--out", "run"], cwd=out, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.split("test_accuracy:")[1].split()[0]) > 0.8


def test_export_refuses_a_file_that_is_not_a_checkpoint(tmp_path, capsys):
    bad = tmp_path / "bad.ckpt"
    bad.write_text("not a checkpoint")
    assert main(["export", LENET, "--out", str(tmp_path / "o"), "--weights", str(bad)]) == 2
    assert "--weights" in capsys.readouterr().err


def test_train_logs_json_lines_and_saves(tmp_path):
    log = tmp_path / "log.jsonl"
    args = ["train", LENET, "--steps", "30", "--seed", "1", "--log", str(log), "--save",
            str(tmp_path / "w.pt"), "--quiet"]
    assert main(args) == 0
    records = [json.loads(line) for line in log.read_text().splitlines()]
    metrics = [r for r in records if "event" not in r]
    assert [r["step"] for r in metrics] == list(range(1, 31))  # every step's losses
    assert "loss" in metrics[0]
    evaluations = [r for r in records if r.get("event") == "evaluation"]
    assert evaluations[0]["step"] == 24  # the end of the first epoch
    assert records[-1]["event"] == "final" and "test_accuracy" in records[-1]
    import torch

    weights = torch.load(tmp_path / "w.pt", weights_only=True)
    assert "lenet.conv1.weight" in weights


@pytest.mark.parametrize("args, words", [
    (["check", "missing.studio"], "cannot open"),
    (["train", LENET, "--epochs", "1", "--steps", "1"], "not both"),
    (["export", str(ROOT / "README.md"), "--out", "/tmp/x"], "not valid JSON"),
])
def test_bad_input_gives_one_line_and_exit_2(args, words):
    proc = subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("name, files", [("lenet", ["model.onnx"]),
                                         ("dcgan", ["model_generator.onnx",
                                                    "model_discriminator.onnx"])])
def test_export_onnx_writes_valid_graphs(tmp_path, capsys, name, files):
    onnx = pytest.importorskip("onnx")
    assert main(["export", str(EXAMPLES / f"{name}.studio"), "--out", str(tmp_path), "--onnx"]) == 0
    for f in files:
        model = onnx.load(tmp_path / f)
        onnx.checker.check_model(model)
        assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
