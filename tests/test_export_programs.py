"""Programs for deployment, checked against the PyTorch module they came from: ONNX run by
onnxruntime, with the trained weights and the ports' names; TorchScript and ``torch.export``
programs loaded back in a fresh Python that imports torch only (never Studio)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from studio.cli import main
from studio.core import fileformat
from studio.engine.network_export import built_networks
from studio.engine.program_export import export_program, export_torchscript, script_or_trace
from tests.helpers import EXAMPLES

LENET = str(EXAMPLES / "lenet.studio")
TOLERANCE = 1e-5  # float32 noise for networks of this size


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """LeNet trained 5 steps (a checkpoint), and its export with the trained weights."""
    folder = tmp_path_factory.mktemp("trained")
    checkpoint = folder / "lenet.ckpt"
    assert main(["train", LENET, "--steps", "5", "--checkpoint", str(checkpoint), "--quiet",
                 "--no-record"]) == 0
    return checkpoint


def exported_module(folder, class_name, key, weights="weights.pt"):
    """The exported model.py's class with the exported weights, as a user loads them."""
    spec = importlib.util.spec_from_file_location(f"exported_{key}", folder / "model.py")
    code = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(code)
    module = getattr(code, class_name)()
    if weights.endswith(".safetensors"):
        from safetensors.torch import load_file

        saved = load_file(folder / weights)
    else:
        saved = torch.load(folder / weights, weights_only=True)  # weights-only: no pickled code
    module.load_state_dict({k[len(key) + 1:]: v for k, v in saved.items()  # strict
                            if k.startswith(key + ".")})
    return module.eval()


def test_onnx_runs_the_trained_weights_with_the_ports_names(trained, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is in the 'onnx' extra")
    pytest.importorskip("onnx")
    out = tmp_path / "out"
    assert main(["export", LENET, "--out", str(out), "--weights", str(trained), "--onnx"]) == 0
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"]
    assert [o.name for o in session.get_outputs()] == ["fc3_2"]  # the lowered network's port
    images = torch.randn(3, 1, 32, 32)  # a batch size the export never saw
    (got,) = session.run(None, {"image": images.numpy()})
    module = exported_module(out, "LeNet", "lenet")
    with torch.no_grad():
        expected = module(images).numpy()
        fresh = type(module)().eval()(images).numpy()
    assert np.abs(got - expected).max() < TOLERANCE
    assert np.abs(got - fresh).max() > 1e-3  # trained weights, not a fresh initialisation


def test_onnx_names_every_input_and_output_of_a_network(tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is in the 'onnx' extra")
    pytest.importorskip("onnx")
    from studio.engine.onnx_export import export_onnx

    project = fileformat.load(EXAMPLES / "cvae.studio")
    written = export_onnx(project, tmp_path / "model.onnx")
    assert sorted(p.name for p in written) == ["model_decoder.onnx", "model_encoder.onnx"]
    modules = {n.key: n for n in built_networks(project)}
    for path in written:
        net = modules[path.stem.removeprefix("model_")]
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == net.input_names
        assert [o.name for o in session.get_outputs()] == net.output_names
        feeds = dict(zip(net.input_names, (a.numpy() for a in net.args)))
        got = session.run(None, feeds)
        with torch.no_grad():
            expected = net.module(*net.args)
        expected = expected if isinstance(expected, tuple) else (expected,)
        for g, e in zip(got, expected, strict=True):
            assert np.abs(g - e.numpy()).max() < TOLERANCE
    encoder = modules["encoder"]
    assert (encoder.input_names, encoder.output_names) == (["image", "label"], ["mu", "logvar"])


# A program loaded by torch alone: Studio is never imported (nor model.py), as on a deployment
# machine. It runs the saved inputs and saves what every output was.
LOAD_AND_RUN = """
import sys, torch
kind, program_path, inputs_path, outputs_path = sys.argv[1:]
if kind == "torchscript":
    program = torch.jit.load(program_path)
else:
    program = torch.export.load(program_path).module()
with torch.no_grad():
    out = program(*torch.load(inputs_path))
out = list(out) if isinstance(out, (tuple, list)) else [out]
assert not [m for m in sys.modules if m == "studio" or m.startswith("studio.")]
torch.save(out, outputs_path)
"""


def run_without_studio(kind, program, inputs, folder):
    """The program's outputs for ``inputs``, computed in a fresh Python that imports torch only."""
    torch.save(list(inputs), folder / "inputs.pt")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", LOAD_AND_RUN, kind, str(program),
                           str(folder / "inputs.pt"), str(folder / "outputs.pt")],
                          capture_output=True, text=True, cwd=folder, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return torch.load(folder / "outputs.pt", weights_only=True)


def largest_difference(got, module, inputs) -> float:
    with torch.no_grad():
        expected = module(*inputs)
    expected = list(expected) if isinstance(expected, tuple) else [expected]
    assert len(got) == len(expected)
    return max((g - e).abs().max().item() for g, e in zip(got, expected))


def test_studio_export_writes_programs_with_the_trained_weights_that_run_without_studio(
        trained, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["export", LENET, "--out", str(out), "--weights", str(trained), "--torchscript",
                 "--torch-export"]) == 0
    said = capsys.readouterr().out
    assert "model.torchscript.pt" in said and "model.pt2" in said and "note:" not in said
    module = exported_module(out, "LeNet", "lenet")
    images = (torch.randn(3, 1, 32, 32),)  # batch 3: the export saw 2
    for kind, name in (("torchscript", "model.torchscript.pt"), ("torch-export", "model.pt2")):
        got = run_without_studio(kind, out / name, images, tmp_path)
        assert largest_difference(got, module, images) < TOLERANCE, kind
        assert largest_difference(got, type(module)().eval(), images) > 1e-3  # trained weights


@pytest.mark.parametrize("kind, export, suffix", [
    ("torchscript", export_torchscript, ".torchscript.pt"), ("torch-export", export_program, ".pt2")])
def test_every_network_of_a_project_becomes_a_program_with_all_its_outputs(tmp_path, kind,
                                                                           export, suffix):
    project = fileformat.load(EXAMPLES / "cvae.studio")
    done = export(project, tmp_path / f"model{suffix}")
    assert sorted(p.name for p in done.paths) == [f"model_decoder{suffix}",
                                                  f"model_encoder{suffix}"]
    for net in built_networks(project):
        got = run_without_studio(kind, tmp_path / f"model_{net.key}{suffix}", net.args, tmp_path)
        assert len(got) == len(net.output_names)  # the encoder's mu and logvar
        assert largest_difference(got, net.module, net.args) < TOLERANCE


class Unscriptable(torch.nn.Module):
    """A module TorchScript's compiler refuses (a keyword-arguments forward) but can trace."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x, **options):
        return self.fc(x) * 2


def test_a_module_that_cannot_be_scripted_is_traced_and_says_so():
    program, note = script_or_trace(torch.nn.Linear(4, 2), (torch.randn(2, 4),))
    assert isinstance(program, torch.jit.ScriptModule) and note is None
    module, x = Unscriptable().eval(), torch.randn(3, 4)
    program, note = script_or_trace(module, (x,))
    assert "traced, not scripted" in note and "scripting failed" in note
    assert torch.equal(program(x), module(x))


@pytest.mark.parametrize("weights_format", ["pt", "safetensors"])
def test_exported_weights_load_into_the_exported_module_in_either_format(trained, tmp_path,
                                                                         weights_format):
    out = tmp_path / "out"
    assert main(["export", LENET, "--out", str(out), "--weights", str(trained),
                 "--weights-format", weights_format]) == 0
    files = sorted(p.name for p in out.glob("weights*"))
    assert files == [f"weights.{weights_format}"]
    module = exported_module(out, "LeNet", "lenet", files[0])
    expected = torch.load(trained, weights_only=True)["networks"]["lenet"]
    for name, tensor in module.state_dict().items():
        assert torch.equal(tensor, expected[name]), name
    # the exported train.py continues from either file
    proc = subprocess.run([sys.executable, "train.py", "--weights", files[0], "--steps", "1",
                           "--device", "cpu", "--out", "run"], cwd=out, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_the_weights_formats_offered_are_the_ones_written():
    from studio.cli import build_parser
    from studio.engine.export import WEIGHTS_FORMATS

    args = build_parser().parse_args(["export", "x.studio", "--out", "o", "--weights-format",
                                      "safetensors"])
    assert args.weights_format == "safetensors" and set(WEIGHTS_FORMATS) == {"pt", "safetensors"}
