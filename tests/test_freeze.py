"""Freeze (issue 17): a frozen node or network instance keeps its weights while the rest trains:
no gradient, left out of its optimizer, in Studio's run and in the exported train.py alike; the
flag is saved in the project file (format 2, written only when a node is frozen) and set by an
undoable edit."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from studio.core.document import Document
from studio.core.edits import set_frozen
from studio.core.fileformat import VERSION, FileFormatError, dumps, load, loads, loads_lenient
from studio.engine import checkpoint
from studio.engine.codegen import generate
from studio.engine.export import write_export
from studio.engine.loader import RESOURCES_DATA
from studio.engine.loader import load as load_code
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig, Runner
from tests.helpers import EXAMPLES

LENET = EXAMPLES / "lenet.studio"


def frozen_lenet():
    project = load(LENET)
    project.training.nodes["conv1"].frozen = True
    return project


def test_the_flag_is_saved_as_format_2_only_when_used():
    text = LENET.read_text()
    assert '"version": 1' in dumps(loads(text))  # nothing frozen: still format 1
    saved = dumps(frozen_lenet())
    assert '"version": 2' in saved and '"frozen": true' in saved
    again = loads(saved)
    assert again.training.nodes["conv1"].frozen and not again.training.nodes["conv2"].frozen
    bad = saved.replace('"frozen": true', '"frozen": "yes"')
    with pytest.raises(FileFormatError, match="frozen"):
        loads(bad)
    assert not loads_lenient(bad)[0].training.nodes["conv1"].frozen
    newer = saved.replace('"version": 2', f'"version": {VERSION + 1}')
    with pytest.raises(FileFormatError, match="newer Studio"):
        loads(newer)


def test_freezing_is_one_undoable_edit():
    doc = Document(load(LENET))
    set_frozen(doc, "training", "conv1", True)
    assert doc.project.training.nodes["conv1"].frozen and doc.undo_text == "freeze"
    doc.undo()
    assert not doc.project.training.nodes["conv1"].frozen
    doc.redo()
    assert doc.project.training.nodes["conv1"].frozen


def build(project, steps=6):
    module = load_code(generate(project))
    return module.Training(torch.device("cpu"), 0, str(RESOURCES_DATA), steps, None)


def train_steps(training, n: int) -> None:
    for batch, _ in zip(training.batches, range(n)):
        training.train_step(batch)


def snapshot(training) -> dict:
    return {f"{net}.{k}": v.detach().clone() for net, m in training.networks.items()
            for k, v in m.state_dict().items()}


def test_a_frozen_layer_keeps_its_weights_bit_for_bit_while_the_rest_trains():
    training = build(frozen_lenet())
    conv1 = training.lenet.conv1
    assert not any(p.requires_grad for p in conv1.parameters())
    in_optimizer = {id(p) for group in training.adam.param_groups for p in group["params"]}
    assert not in_optimizer & {id(p) for p in conv1.parameters()}
    assert {id(p) for p in training.lenet.fc1.parameters()} <= in_optimizer
    before = snapshot(training)
    train_steps(training, 5)
    after = snapshot(training)
    for key in ("lenet.conv1.weight", "lenet.conv1.bias"):
        assert torch.equal(before[key], after[key]), key
    for key in ("lenet.conv2.weight", "lenet.fc1.weight", "lenet.fc3.bias"):
        assert not torch.equal(before[key], after[key]), key


def test_a_frozen_network_instance_keeps_its_weights():
    project = load(EXAMPLES / "resnet_digits.studio")
    project.training.nodes["block1"].frozen = True
    training = build(project)
    before = snapshot(training)
    training.set_train(True)
    train_steps(training, 3)
    after = snapshot(training)
    params = {f"block1.{k}" for k, _ in training.block1.named_parameters()}
    assert params and all(torch.equal(before[k], after[k]) for k in params)
    assert not torch.equal(before["block2.conv1.weight"], after["block2.conv1.weight"])


def test_the_exported_train_py_freezes_the_same(tmp_path):
    project = frozen_lenet()
    ckpt = tmp_path / "trained.ckpt"
    result = Runner(project, RunConfig(steps=3, checkpoint_path=str(ckpt),
                                       probes=ProbeRates.off(), previews=False),
                    lambda e: None).run()
    assert result["status"] == "finished"
    out = tmp_path / "export"
    write_export(project, out, checkpoint=ckpt)
    assert "self.conv1.requires_grad_(False)" in (out / "model.py").read_text()
    assert "if p.requires_grad]" in (out / "train.py").read_text()
    run = subprocess.run([sys.executable, "train.py", "--weights", "weights.pt", "--steps", "4",
                          "--out", "run"], cwd=out, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    start = torch.load(out / "weights.pt", weights_only=True)
    end = torch.load(out / "run" / "weights.pt", weights_only=True)
    assert torch.equal(start["lenet.conv1.weight"], end["lenet.conv1.weight"])
    assert not torch.equal(start["lenet.fc1.weight"], end["lenet.fc1.weight"])
    # and Studio's own run left conv1 as it was initialized, too
    fresh = build(frozen_lenet())
    assert torch.equal(checkpoint.load(ckpt)["networks"]["lenet"]["conv1.weight"],
                       fresh.lenet.conv1.weight.detach())
