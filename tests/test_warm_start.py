"""Weights that fit are kept: ``studio train --init-from`` (a state_dict as .pt or .safetensors,
or a Studio checkpoint) and Continue Training after an edit load every tensor that fits, the
rest start afresh, and a report says which, by node."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from studio.cli import main
from studio.core.fileformat import load
from studio.core.project import Project
from studio.engine import checkpoint
from studio.engine.events import Error, Started, WeightsFitted
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig, Runner
from tests.helpers import EXAMPLES

LENET = EXAMPLES / "lenet.studio"


def run(project, **config):
    events = []
    config.setdefault("probes", ProbeRates.off())
    config.setdefault("previews", False)
    result = Runner(project, RunConfig(**config), events.append).run()
    return result, events


def one(events, kind):
    found = [e for e in events if isinstance(e, kind)]
    assert len(found) == 1, found
    return found[0]


def mlp(layers) -> Project:
    """Moons through Linear layers ``(id, width)`` with ReLUs between, then ``out`` (2)."""
    p = Project("Moons")
    t = p.training
    t.configure(batch_size=64, epochs=1)
    data = t.add("Dataset", id="moons", dataset="moons", count=600, noise=0.1)
    items = []
    for name, width in layers:
        items += [("Linear", name, dict(out_features=width)), "ReLU"]
    logits = t.stack(data["x"], *items, ("Linear", "out", dict(out_features=2)))
    loss = t.add("CrossEntropy", id="loss")
    t.connect(logits, loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add("Adam", id="adam", lr=1e-2))
    return p


def trained(tmp_path, project, steps=3, name="trained.ckpt"):
    path = tmp_path / name
    result, _ = run(project, steps=steps, checkpoint_path=str(path))
    assert result["status"] == "finished"
    return path, checkpoint.load(path)["networks"]


def test_a_plain_state_dict_loads_what_fits_and_reports_the_rest_by_node(tmp_path):
    _, nets = trained(tmp_path, load(LENET))
    weights = {k: v.clone() for k, v in nets["lenet"].items()}  # unprefixed, as model.state_dict()
    weights["fc3.weight"] = torch.zeros(5, 84)  # a head for 5 classes: refused
    del weights["fc3.bias"]  # missing
    weights["extra.weight"] = torch.zeros(3)  # unexpected
    path = tmp_path / "plain.pt"
    torch.save(weights, path)
    after = tmp_path / "after.ckpt"
    result, events = run(load(LENET), steps=1, init_from=str(path), checkpoint_path=str(after))
    assert result["status"] == "finished"
    report = one(events, WeightsFitted)
    assert events.index(report) < events.index(one(events, Started))
    assert sorted(report.loaded) == ["training/conv1", "training/conv2", "training/fc1",
                                     "training/fc2"]
    assert report.refused == {"training/fc3": [["lenet.fc3.weight", "5x84", "10x84"]]}
    assert report.missing == {"training/fc3": ["lenet.fc3.bias"]}
    assert report.unexpected == {"lenet.extra": ["lenet.extra.weight"]}
    assert report.reinitialized == ["training/fc3"]
    text = "\n".join(report.lines())
    assert "re-initialized fc3: lenet.fc3.weight is 5x84 in the source, 10x84 here" in text
    assert "8 tensor(s) loaded into 4 node(s)" in text
    # the loaded tensors were the file's when training began: one step later they moved only
    # a little, while fc3 (initialized as usual) is far from the zeros of the file
    now = checkpoint.load(after)["networks"]["lenet"]
    assert torch.allclose(now["conv1.weight"], weights["conv1.weight"], atol=0.05)
    assert now["fc3.weight"].abs().sum() > 1


def test_safetensors_and_checkpoints_load_whole(tmp_path):
    path, nets = trained(tmp_path, load(LENET))
    flat = tmp_path / "w.safetensors"
    save_file({f"lenet.{k}": v.contiguous() for k, v in nets["lenet"].items()}, str(flat))
    for source in (flat, path):
        result, events = run(load(LENET), steps=3, init_from=str(source))
        report = one(events, WeightsFitted)
        assert result["status"] == "finished" and report.reinitialized == []
        assert not report.unexpected and len(report.loaded) == 5


def test_nodes_of_networks_are_named_through_their_instance(tmp_path):
    project = load(EXAMPLES / "resnet_digits.studio")
    path, _ = trained(tmp_path, project, steps=1)
    edited = load(EXAMPLES / "resnet_digits.studio")
    result, events = run(edited, steps=1, init_from=str(path))
    report = one(events, WeightsFitted)
    assert result["status"] == "finished" and report.reinitialized == []
    assert "training/block1/conv1" in report.loaded and "training/fc" in report.loaded


def test_an_unreadable_weights_file_fails_the_run_saying_so(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_text("not weights")
    result, events = run(load(LENET), steps=1, init_from=str(bad))
    error = one(events, Error)
    assert result["status"] == "failed" and error.kind == "weights"
    assert "not a readable weights file" in error.message


def test_continue_after_an_edit_keeps_what_fits(tmp_path):
    """fc1 widened, fc2 removed, fcx added: out keeps its trained weights, fc1 and fcx start
    afresh, and the run goes on from the trained step."""
    path, nets = trained(tmp_path, mlp([("fc1", 16), ("fc2", 16)]))
    edited = mlp([("fc1", 32), ("fcx", 16)])
    # an exact resume refuses, naming the change
    result, events = run(edited, steps=3, resume_from=str(path))
    assert result["status"] == "failed" and "fc1's weight was 16x2" in one(events, Error).message
    # a warm one keeps what fits: with no steps left, the saved state is what was loaded
    kept = tmp_path / "kept.ckpt"
    result, events = run(edited, steps=3, resume_from=str(path), warm_start=True,
                         checkpoint_path=str(kept))
    report = one(events, WeightsFitted)
    assert result["status"] == "finished" and report.source == "the trained state"
    assert report.reinitialized == ["training/fc1", "training/fcx"]
    assert list(report.loaded) == ["training/out"]
    assert report.unexpected == {"moons1.fc2": ["moons1.fc2.weight", "moons1.fc2.bias"]}
    net = next(iter(nets))
    now = checkpoint.load(kept)["networks"][net]
    assert torch.equal(now["out.weight"], nets[net]["out.weight"])
    assert now["fc1.weight"].shape == (32, 2)
    # and training goes on from step 3
    result, events = run(edited, steps=6, resume_from=str(path), warm_start=True)
    assert result["status"] == "finished" and result["steps"] == 6
    assert one(events, Started).step == 3


def test_continue_without_an_edit_stays_exact(tmp_path):
    path, _ = trained(tmp_path, load(LENET), steps=2)
    result, events = run(load(LENET), steps=4, resume_from=str(path), warm_start=True)
    assert result["status"] == "finished" and not any(isinstance(e, WeightsFitted)
                                                      for e in events)


def test_cli_init_from_prints_the_report(tmp_path, capsys):
    path, nets = trained(tmp_path, load(LENET))
    weights = dict(nets["lenet"])
    weights["fc3.weight"] = torch.zeros(5, 84)
    torch.save(weights, tmp_path / "w.pt")
    assert main(["train", str(LENET), "--steps", "2", "--init-from", str(tmp_path / "w.pt"),
                 "--quiet", "--no-record"]) == 0
    out = capsys.readouterr().out
    assert "1 node(s) re-initialized: fc3" in out and "5x84 in the source, 10x84 here" in out
    assert "trained 2 steps" in out


@pytest.mark.parametrize("args, words", [
    (["--init-from", "w.pt", "--resume", "c.ckpt"], "not both"),
    (["--init-from", "missing.pt"], "no weights file at missing.pt"),
])
def test_cli_init_from_bad_input(args, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", str(LENET), "--steps", "1", "--quiet", "--no-record", *args]) == 2
    assert words in capsys.readouterr().err


def test_continue_after_an_edit_keeps_the_optimizer_state_of_the_layers_kept(tmp_path):
    """fc2 widened: Adam's moments come back for every tensor whose shape still fits (fc1,
    out's bias) and start afresh for fc2 and out's weight, which changed shape."""
    path, _ = trained(tmp_path, mlp([("fc1", 16), ("fc2", 16)]), steps=4)
    saved = checkpoint.load(path)
    names = saved["optimizer_params"]["adam"]
    moments = {names[k]: v for k, v in saved["optimizers"]["adam"]["state"].items()}
    edited = mlp([("fc1", 16), ("fc2", 24)])  # fc2 wider: fc2 and out change shape
    runner = Runner(edited, RunConfig(steps=8, resume_from=str(path), warm_start=True,
                                      probes=ProbeRates.off(), previews=False), lambda e: None)
    runner.build()
    position = runner.start_from()
    assert position.step == 4
    training = runner.training
    (net,) = training.networks
    module = training.networks[net]
    adam = training.adam
    for key in ("fc1.weight", "fc1.bias"):
        state = adam.state[module.get_parameter(key)]
        old = moments[f"{net}.{key}"]
        assert torch.equal(state["exp_avg"], old["exp_avg"])
        assert torch.equal(state["exp_avg_sq"], old["exp_avg_sq"])
        assert float(state["step"]) == float(old["step"]) == 4
    for key in ("fc2.weight", "fc2.bias", "out.weight"):  # reshaped: afresh
        assert module.get_parameter(key) not in adam.state
    assert torch.equal(adam.state[module.get_parameter("out.bias")]["exp_avg"],
                       moments[f"{net}.out.bias"]["exp_avg"])  # out's bias kept its shape
    # and training goes on from there with the moments it kept
    result, events = run(edited, steps=6, resume_from=str(path), warm_start=True)
    assert result["status"] == "finished" and one(events, Started).step == 4
