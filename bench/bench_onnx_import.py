"""Importing ONNX files (``studio import model.onnx``): per family, the family's own definition
(tests/model_zoo, random weights, eval mode) written by ``torch.onnx.export`` as a user writes it,
then converted by onnx2torch and imported; nodes, parameters, convert and import seconds, and
the largest difference between the imported network (Studio's generated code with the written
weights) and onnxruntime running the file, or why the family is refused.

    python bench/bench_onnx_import.py                 # every family at 3x224x224
    BENCH_SIZE=64 python bench/bench_onnx_import.py resnet18 mobilenet_v2

Where this machine's torchvision cannot be imported, onnx2torch is loaded with the tests'
stand-in for it (tests/stand_ins/torchvision; see its docstring).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from bench_import import FAMILIES
from common import ROOT  # noqa: F401  (puts the repository on sys.path)

from studio.engine.model_import import ModelImportError, import_model
from studio.engine.model_import.onnx_source import OnnxSourceError, convert
from studio.engine.network_export import built_networks
from tests.model_zoo import classic, mobile, modern

SIZE = int(os.environ.get("BENCH_SIZE", 224))


def _onnx2torch_loads() -> None:
    try:
        import torchvision  # noqa: F401
    except Exception:  # noqa: BLE001 - the CUDA wheel beside a CPU torch raises RuntimeError
        for name in [m for m in sys.modules if m.startswith("torchvision")]:
            del sys.modules[name]
        sys.path.insert(0, str(Path(ROOT) / "tests" / "stand_ins"))


def one(name: str, folder: Path) -> str:
    import onnxruntime

    model = next(getattr(m, name) for m in (classic, mobile, modern) if hasattr(m, name))()
    model.eval()
    path = folder / f"{name}.onnx"
    torch.onnx.export(model, (torch.randn(1, 3, SIZE, SIZE),), str(path), dynamo=False,
                      opset_version=17, input_names=["image"],
                      dynamic_axes={"image": {0: "batch"}})
    started = time.perf_counter()
    try:
        module, _ = convert(path)
        converted = time.perf_counter() - started
        imported = import_model(module, (3, SIZE, SIZE), name=name)
    except (OnnxSourceError, ModelImportError) as err:
        return f"{name:<19} refused: {' '.join(str(err).split())[:150]}"
    project_path = imported.write(folder / f"{name}.studio")
    from studio.core.fileformat import load

    [exported] = built_networks(load(project_path["project"]), project_path["weights"])
    x = torch.randn(2, 3, SIZE, SIZE)
    with torch.no_grad():
        got = exported.module.eval()(x).numpy()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    expected = session.run(None, {"image": x.numpy()})[0]
    s = imported.stats
    return (f"{name:<19} {s['nodes']:>6} {s['params']:>12,} {converted:>10.2f} "
            f"{s['seconds']:>9.2f} {np.abs(got - expected).max():>11.1e}")


def main(names) -> int:
    _onnx2torch_loads()
    torch.manual_seed(0)
    print(f"input 3x{SIZE}x{SIZE}, opset 17, eval-mode export with a free batch dimension")
    print(f"{'family':<19} {'nodes':>6} {'parameters':>12} {'convert s':>10} {'import s':>9} "
          f"{'vs runtime':>11}")
    with tempfile.TemporaryDirectory(prefix="studio-onnx-") as tmp:
        for name in names:
            print(one(name, Path(tmp)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or FAMILIES))
