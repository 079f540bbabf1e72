"""Issue 17's user, end to end through the CLI: import ResNet-18 from a Python file, give it a
10-class classifier, freeze the rest, train on a built-in set from the original weights, export
it as code, ONNX and TorchScript, and ask it about a picture drawn as a PNG. The frozen layers
keep the original weights, the new classifier is trained from its initialization, and every
program written runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from studio.cli import main
from studio.core import fileformat
from studio.core.document import Document, SetFrozen, SetParams
from studio.engine import checkpoint
from studio.engine.library.data import _write_png
from tests.helpers import ROOT

ZOO = ROOT / "tests" / "model_zoo" / "classic.py"
MODEL = "Resnet18"  # the network the import names after the factory


@pytest.mark.slow
def test_resnet18_imported_fine_tuned_exported_and_asked_about_a_picture(tmp_path, capsys):
    project_file = tmp_path / "r18.studio"
    assert main(["import", f"{ZOO}:resnet18", "--out", str(project_file), "--input",
                 "3x32x32"]) == 0
    original = tmp_path / "r18.ckpt"
    assert original.is_file()

    # in the editor's own commands: a 10-class classifier, everything before it frozen
    doc = Document(fileformat.load(project_file))
    doc.push(SetParams(MODEL, "fc", {"out_features": 10}))
    layers = [n.id for n in doc.project.networks[MODEL].nodes.values()
              if n.id != "fc" and n.block in ("Conv2d", "BatchNorm2d", "Network")]
    for node_id in layers:
        doc.push(SetFrozen(MODEL, node_id, True))
    doc.project.training.nodes["shapes"].params["count"] = 160
    fileformat.save(doc.project, project_file)
    assert main(["check", str(project_file)]) == 0

    trained = tmp_path / "trained.ckpt"
    capsys.readouterr()
    assert main(["train", str(project_file), "--init-from", str(original), "--steps", "6",
                 "--checkpoint", str(trained), "--no-record"]) == 0
    said = capsys.readouterr().out
    assert "fc" in said  # the report names the classifier it could not load (1000 -> 10)

    before = checkpoint.load(original)["networks"]
    after = checkpoint.load(trained)["networks"]
    (net,) = [name for name in after if "conv1.weight" in after[name]]
    learned = [k for k in before[net] if not k.startswith("fc.") and "running" not in k
               and "num_batches" not in k]
    assert len(learned) == 60 and "layer4_1.conv2.weight" in learned
    changed = [k for k in learned if not torch.equal(after[net][k], before[net][k])]
    assert changed == []  # every frozen weight is the original's
    assert not torch.equal(after[net]["fc.bias"][:4], torch.zeros(4))
    assert after[net]["fc.weight"].shape == (10, 512)  # the new classifier, trained

    exported = tmp_path / "export"
    assert main(["export", str(project_file), "--weights", str(trained), "--out",
                 str(exported), "--onnx", "--torchscript"]) == 0
    assert (exported / "model.py").is_file() and (exported / "train.py").is_file()
    assert (exported / "model.onnx").is_file()
    scripted = list(exported.glob("*.pt"))
    assert scripted, sorted(p.name for p in exported.iterdir())
    program = torch.jit.load(str(scripted[0]))
    with torch.no_grad():
        scores = program(torch.zeros(1, 3, 32, 32))
    assert scores.shape == (1, 10)

    picture = tmp_path / "drawn.png"
    canvas = np.zeros((64, 64, 3), np.uint8)
    canvas[16:48, 16:48] = (250, 250, 250)  # a square, drawn big: the reader shrinks it
    _write_png(picture, canvas)
    capsys.readouterr()
    assert main(["predict", str(project_file), "--weights", str(trained), str(picture),
                 "--top", "3", "--json"]) == 0
    (answer,) = json.loads(capsys.readouterr().out)
    probabilities = [c["probability"] for c in answer["classes"]]
    assert len(probabilities) == 3 and probabilities == sorted(probabilities, reverse=True)


@pytest.mark.slow
def test_resnet18_in_the_window_imported_fine_tuned_and_asked_about_a_dropped_picture(
        window, qtbot, tmp_path):
    from studio.ui.testing import drop_files
    from tests.test_import_window import _dialog

    out = tmp_path / "r18.studio"
    dialog = _dialog(window, ZOO, "resnet18", out, "3x32x32")
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=180_000)
    assert window.session.doc.path == str(out)
    editor = window.editor
    assert editor.set_params(MODEL, "fc", {"out_features": 10}, merge=False)
    for node in list(window.session.project.networks[MODEL].nodes.values()):
        if node.id != "fc" and node.block in ("Conv2d", "BatchNorm2d", "Network"):
            assert editor.set_frozen(MODEL, node.id, True)
    assert editor.set_params("training", "shapes", {"count": 160}, merge=False)
    assert window.session.verdict.can_train
    dash = window.dashboard
    assert dash.controller.load_weights(tmp_path / "r18.ckpt") is None  # Train > Load Weights
    assert dash.panel.train()
    qtbot.waitUntil(lambda: dash.store.current.step >= 3, timeout=180_000)
    # the run took the original weights that fit; only the new classifier started afresh
    assert list(window.fresh_marks.marks.get(MODEL, {})) == ["fc"]
    assert "1000" in window.fresh_marks.marks[MODEL]["fc"]
    dash.controller.stop()
    qtbot.waitUntil(lambda: not dash.controller.running, timeout=120_000)
    picture = tmp_path / "drawn.png"
    canvas = np.zeros((64, 64, 3), np.uint8)
    canvas[16:48, 16:48] = (250, 250, 250)
    _write_png(picture, canvas)
    predictor = window.predictor
    assert drop_files(window, [picture])
    qtbot.waitUntil(lambda: not predictor.running and len(predictor.panel.answers) == 1,
                    timeout=180_000)
    assert predictor.dock.isVisible() and len(predictor.panel.bars) == 5
    assert "classified" in predictor.panel.status.text()
