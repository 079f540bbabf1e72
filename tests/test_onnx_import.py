"""``studio import model.onnx`` (issue 17): an ONNX file, converted by onnx2torch, as an editable
project whose network, with the weights written beside it, computes what the ONNX file computes
(checked by onnxruntime); the input shape comes from the file; what cannot be represented is
refused with its place named and nothing written; a file that is not ONNX gets one clear line.

The imports run as a user runs them, ``python -m studio import`` in a process of its own. Where
this machine's torchvision cannot be imported (see tests/stand_ins/torchvision), that process
gets the stand-in on its path so that onnx2torch loads."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from studio.core.fileformat import load
from studio.engine.network_export import built_networks
from tests.model_zoo import classic, mobile
from tests.test_model_import import _randomize_statistics

STAND_INS = Path(__file__).parent / "stand_ins"

pytestmark = pytest.mark.skipif(importlib.util.find_spec("onnx2torch") is None or
                                importlib.util.find_spec("onnxruntime") is None,
                                reason="needs the onnx-import and onnx extras")


@functools.cache
def _environment() -> dict:
    """The environment of a ``studio import`` process: the stand-in torchvision on its path only
    where the installed one cannot be imported."""
    env = dict(os.environ)
    loads = subprocess.run([sys.executable, "-c", "import torchvision"], capture_output=True,
                           env=env).returncode == 0
    if not loads:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(STAND_INS),
                                                        env.get("PYTHONPATH")) if p)
    return env


def studio_import(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio", "import", *map(str, args)],
                          capture_output=True, text=True, env=_environment(), timeout=600)


def export_onnx(model: nn.Module, path: Path, size: int) -> None:
    """The model as an ONNX file the way a user writes one: eval mode (batch norm folded into
    the convolutions), a named input with a free batch dimension."""
    model.eval()
    torch.onnx.export(model, (torch.randn(1, 3, size, size),), str(path), dynamo=False,
                      opset_version=17, input_names=["image"], output_names=["scores"],
                      dynamic_axes={"image": {0: "batch"}, "scores": {0: "batch"}})


def _runtime_output(path: Path, x: torch.Tensor) -> np.ndarray:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]


def _initializer_count(path: Path) -> int:
    import onnx

    return sum(int(np.prod(t.dims)) for t in onnx.load(str(path)).graph.initializer
               if len(t.dims) > 0)


@pytest.mark.parametrize("family", [
    "resnet18",
    pytest.param("mobilenet_v3_small", marks=pytest.mark.slow),  # ReLU6 and ONNX HardSigmoid
])
def test_an_onnx_file_imports_with_its_weights_and_computes_the_same(family, tmp_path):
    torch.manual_seed(0)
    model = next(getattr(m, family) for m in (classic, mobile) if hasattr(m, family))()
    _randomize_statistics(model)
    onnx_file = tmp_path / f"{family}.onnx"
    export_onnx(model, onnx_file, 32)

    out = tmp_path / f"{family}.studio"
    done = studio_import(onnx_file, "--out", out)  # no --input: the file says 3x32x32
    assert done.returncode == 0, done.stderr
    differ = re.search(r"outputs differ from the original by at most (\S+)", done.stdout)
    assert differ and float(differ.group(1)) < 1e-5  # the converted module against Studio's

    project = load(out)
    [exported] = built_networks(project, out.with_suffix(".ckpt"))
    module = exported.module.eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        got = module(x).numpy()
    expected = _runtime_output(onnx_file, x)
    assert got.shape == expected.shape == (3, 1000)
    assert np.abs(got - expected).max() < 1e-4
    # every weight of the file is a weight of the network, and the key map names each one
    count = sum(p.numel() for p in module.parameters()) + sum(
        b.numel() for n, b in module.named_buffers() if "running" in n)
    assert count == _initializer_count(onnx_file)
    keys = json.loads(out.with_suffix(".keys.json").read_text())["keys"]
    assert all(k.endswith((".weight", ".bias")) for k in keys)


class _ErfGate(nn.Module):
    """x * erf(x): ONNX's Erf has no block in Studio."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = self.conv(x)
        return (y * torch.erf(y)).flatten(1)


def test_an_onnx_operation_without_a_block_is_named_and_nothing_is_written(tmp_path):
    onnx_file = tmp_path / "gate.onnx"
    export_onnx(_ErfGate(), onnx_file, 8)
    out = tmp_path / "gate.studio"
    done = studio_import(onnx_file, "--out", out)
    assert done.returncode == 2
    assert "torch.erf" in done.stderr and "Erf" in done.stderr  # the operation and its place
    assert "Traceback" not in done.stderr
    assert not out.exists() and not out.with_suffix(".ckpt").exists()


def test_a_file_that_is_not_onnx_gets_one_clear_line(tmp_path):
    onnx_file = tmp_path / "broken.onnx"
    onnx_file.write_bytes(b"\x08\x07this is not a model" * 5)
    done = studio_import(onnx_file, "--out", tmp_path / "broken.studio")
    assert done.returncode == 2
    assert "is not a readable ONNX model" in done.stderr and "Traceback" not in done.stderr
    missing = studio_import(tmp_path / "absent.onnx", "--out", tmp_path / "x.studio")
    assert missing.returncode == 2 and "no ONNX file at" in missing.stderr
