"""Programs for deployment, checked against the PyTorch module they came from: ONNX run by
onnxruntime, with the trained weights and the ports' names; TorchScript and ``torch.export``
programs loaded back in a fresh Python that imports torch only (never Studio)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from studio.cli import main
from studio.core import fileformat
from studio.engine.network_export import built_networks
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


def exported_module(folder, class_name, key):
    """The exported model.py's class with the exported weights, as a user loads them."""
    spec = importlib.util.spec_from_file_location(f"exported_{key}", folder / "model.py")
    code = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(code)
    module = getattr(code, class_name)()
    saved = torch.load(folder / "weights.pt", weights_only=True)
    module.load_state_dict({k[len(key) + 1:]: v for k, v in saved.items()
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
