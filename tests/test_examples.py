"""Every example opens, checks clean, compiles, and learns (short runs; full runs in bench/)."""

import json
import struct

import pytest
import torch

from studio.core.fileformat import load
from studio.core.inference import analyze
from studio.engine.codegen import generate
from studio.engine.loader import RESOURCES_DATA
from studio.engine.loader import load as load_code
from studio.engine.runner import RunConfig
from studio.engine.trainer import train_project
from tests.helpers import EXAMPLES

NAMES = sorted(p.stem for p in EXAMPLES.glob("*.studio"))


def test_the_promised_examples_exist():
    assert set(NAMES) >= {"lenet", "resnet18", "resnet_digits", "conv_costs", "dcgan", "vae",
                          "cvae", "siren"}


@pytest.mark.parametrize("name", NAMES)
def test_example_checks_clean_and_compiles(name):
    project = load(EXAMPLES / f"{name}.studio")
    analysis = analyze(project)
    assert analysis.ok, analysis.problems
    code = generate(project)
    compile(code.model_source, "model.py", "exec")
    compile(code.train_source, "train.py", "exec")


def _train(name, steps, **kw):
    module = load_code(generate(load(EXAMPLES / f"{name}.studio")))
    training = module.Training("cpu", 0, RESOURCES_DATA, steps=steps, **kw)
    history = []
    step = 0
    while step < training.total_steps:
        for batch in training.batches:
            history.append({k: float(v) for k, v in training.train_step(batch).items()})
            step += 1
            if step >= training.total_steps:
                break
    return module, training, history


def test_lenet_reaches_97_percent_on_held_out_digits():
    _, training, _ = _train("lenet", None)  # the example's own 12 epochs, about a second
    assert training.evaluate()["test_accuracy"] >= 0.97


def test_resnet18_has_exactly_torchvisions_parameter_count():
    project = load(EXAMPLES / "resnet18.studio")
    assert analyze(project).total_params == 11_689_512
    code = generate(project)
    assert code.model_source.count("class BasicBlock(nn.Module)") == 1
    model_ns = load_code(code).model_module
    net = model_ns.ResNet18()
    assert sum(p.numel() for p in net.parameters()) == 11_689_512
    with torch.no_grad():
        assert net(torch.randn(1, 3, 64, 64)).shape == (1, 1000)


def test_residual_digits_learns():
    _, training, history = _train("resnet_digits", 60)
    assert history[-1]["loss"] < history[0]["loss"] * 0.5
    assert training.evaluate()["test_accuracy"] > 0.6


def test_conv_costs_table_shows_the_trade_off():
    a = analyze(load(EXAMPLES / "conv_costs.studio"))
    params = {r.node.id: r.params for r in a.rows}
    five = params["conv5x5"]
    two_three = params["conv3x3_a"] + params["conv3x3_b"]
    factored = params["conv1x5"] + params["conv5x1"]
    separable = params["depth5x5"] + params["point1x1"]
    assert five == 32 * 32 * 25 + 32
    assert separable == (32 * 25 + 32) + (32 * 32 + 32)
    assert separable < factored < two_three < five
    rf = {r.node.id: r.rf_text for r in a.rows}
    assert rf["conv5x5"] == rf["conv3x3_b"] == rf["conv5x1"] == rf["point1x1"] == "7x7"


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_dcgan_steps_discriminator_then_generator_and_writes_samples(tmp_path):
    project = load(EXAMPLES / "dcgan.studio")
    code = generate(project)
    step = code.train_source[code.train_source.index("def train_step"):]
    assert step.index("self.adam_d.step()") < step.index("self.adam_g.step()")
    # the generator runs without autograd while the discriminator learns
    d_part = step[:step.index("self.adam_d.step()")]
    assert "with torch.no_grad():\n            fake = self.generator(z)" in d_part
    log = tmp_path / "log.jsonl"
    result = train_project(project, RunConfig(steps=30, samples_dir=tmp_path / "s"), log_path=log,
                           progress=False)
    assert result.steps == 30
    assert _png_size(tmp_path / "s" / "samples.png") == (8 * 18 + 2, 8 * 18 + 2)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert {"loss_d", "loss_g"} <= set(records[0])


def test_discriminator_only_optimizer_leaves_the_generator_alone():
    module, training, _ = _train("dcgan", 1)
    before = [p.detach().clone() for p in training.generator.parameters()]
    # run only the discriminator's half by stepping with a zero generator learning rate
    for group in training.adam_g.param_groups:
        group["lr"] = 0.0
    training.train_step(next(iter(training.batches)))
    after = list(training.generator.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize("name", ["vae", "cvae"])
def test_vaes_learn_and_preview(name):
    _, training, history = _train(name, 80)
    assert history[-1]["loss"] < history[0]["loss"] * 0.75
    previews = training.previews()
    assert set(previews) == {"samples", "reconstructions"}
    count = 100 if name == "cvae" else 64
    assert previews["samples"].shape == (count, 1, 16, 16)
    assert 0 <= previews["samples"].min() and previews["samples"].max() <= 1


def test_cvae_draws_the_requested_class_per_row():
    module, training, _ = _train("cvae", 1)
    assert module.PREVIEWS["samples"]["nrow"] == 10
    source = generate(load(EXAMPLES / "cvae.studio")).train_source
    assert "wanted = torch.arange(n, device=self.device) * 10 // n" in source


def test_siren_fits_the_image_better_than_relu():
    _, training, _ = _train("siren", 40)
    result = training.evaluate()
    assert result["test_mse_siren"] < result["test_mse_relumlp"] / 2
    previews = training.previews()
    assert previews["fit_siren"].shape == (1, 3, 64, 64)


def test_nan_loss_is_reported_on_the_loss_node():
    """SGD at a learning rate far too large for a regression diverges to inf, then NaN."""
    from studio.core.project import Project
    from studio.engine.errors import TrainingError

    project = Project("Diverges")
    t = project.training
    t.configure(batch_size=256, log_every=1)
    data = t.add("Dataset", id="image", dataset="image", size=16, channels=3)
    fit = t.stack(data["coords"], ("Linear", dict(out_features=64)), "ReLU",
                  ("Linear", dict(out_features=3)))
    loss = t.add("MSE", title="fit_loss", id="fit_loss")
    t.connect(fit, loss["input"])
    t.connect(data["pixel"], loss["target"])
    t.chain(loss, t.add("SGD", id="sgd", lr=10.0))
    with pytest.raises(TrainingError) as info:
        train_project(project, RunConfig(steps=500), progress=False)
    assert info.value.node == ("training", "fit_loss")
    assert "lower the learning rate" in str(info.value)


def test_safetensors_weights_round_trip(tmp_path):
    from studio.engine.weights import load_weights

    project = load(EXAMPLES / "lenet.studio")
    train_project(project, RunConfig(steps=5, save_weights=tmp_path / "w.safetensors"),
                  progress=False)
    weights = load_weights(tmp_path / "w.safetensors")
    assert weights["lenet.fc3.weight"].shape == (10, 84)


