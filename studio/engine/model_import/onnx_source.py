"""An ONNX file as an ``nn.Module`` for import, through onnx2torch (an optional extra: ``pip install
studio[onnx-import]``), which turns each ONNX node into a torch layer in an ``fx`` graph.

An ONNX file is data: reading and converting it runs no code from it. Before conversion the
graph is tidied in one way the converter needs: PyTorch's exporter shares equal weights
(BatchNorm folded into several convolutions often leaves equal zero biases) through ``Identity``
nodes, which onnx2torch cannot read as weights, so each such ``Identity`` becomes a copy of the
weight it passes on.
"""

from __future__ import annotations

from pathlib import Path

from studio.engine.model_import.source_error import SourceError


class OnnxSourceError(SourceError):
    """The ONNX file cannot be read or converted here; says why."""


def _load(path: Path):
    try:
        import onnx
    except ImportError:
        raise OnnxSourceError("importing an ONNX file needs the onnx and onnx2torch packages "
                              "(pip install studio[onnx-import])") from None
    if not path.is_file():
        raise OnnxSourceError(f"no ONNX file at {path}")
    try:
        return onnx.load(str(path))
    except Exception as err:  # noqa: BLE001 - protobuf raises several kinds for a bad file
        raise OnnxSourceError(f"{path} is not a readable ONNX model: {type(err).__name__}: "
                              f"{' '.join(str(err).split())[:200]}") from None


def input_shape(model) -> tuple | None:
    """The per-sample shape of the model's first input as its file declares it (batch left
    out), or None when it declares no fixed shape."""
    weights = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in weights]
    if not inputs:
        return None
    dims = inputs[0].type.tensor_type.shape.dim
    sizes = [d.dim_value if d.HasField("dim_value") else 0 for d in dims][1:]
    return tuple(sizes) if sizes and min(sizes) > 0 else None


def untangle_shared_weights(model) -> int:
    """Replace each ``Identity`` that passes on a weight (an initializer) by a copy of that
    weight under the Identity's output name; returns how many were replaced."""
    from onnx import TensorProto

    weights = {t.name: t for t in model.graph.initializer}
    kept, copied = [], 0
    for node in model.graph.node:
        if node.op_type == "Identity" and node.input[0] in weights:
            copy = TensorProto()
            copy.CopyFrom(weights[node.input[0]])
            copy.name = node.output[0]
            model.graph.initializer.append(copy)
            weights[copy.name] = copy
            copied += 1
        else:
            kept.append(node)
    del model.graph.node[:]
    model.graph.node.extend(kept)
    return copied


def convert(path: Path) -> tuple:
    """The model in ``path`` as a torch ``fx.GraphModule`` (onnx2torch's layers), and the input
    shape the file declares (``input_shape``), from one reading of the file."""
    model = _load(path)
    declared = input_shape(model)
    try:
        from onnx2torch import convert as onnx_to_torch
    except ImportError:
        raise OnnxSourceError("importing an ONNX file needs the onnx2torch package "
                              "(pip install studio[onnx-import])") from None
    except Exception as err:  # noqa: BLE001 - onnx2torch imports torchvision, which may not load
        raise OnnxSourceError(f"onnx2torch cannot be imported here ({type(err).__name__}: "
                              f"{' '.join(str(err).split())[:160]}); it imports torchvision, "
                              "so install a torchvision built for this torch") from None
    untangle_shared_weights(model)
    try:
        module = onnx_to_torch(model)
    except NotImplementedError as err:  # an ONNX operation onnx2torch has no converter for
        raise OnnxSourceError(f"onnx2torch cannot convert {path.name}: {err}") from None
    except Exception as err:  # noqa: BLE001 - the converter's own refusal
        raise OnnxSourceError(f"onnx2torch cannot convert {path.name}: {type(err).__name__}: "
                              f"{' '.join(str(err).split())[:300]}") from None
    # constants the converter folded into its layers (a Clip's bounds) stay behind as unused
    # layers holding a tensor: drop them, so the model's tensors are the ones it uses
    module.graph.eliminate_dead_code()
    module.delete_all_unused_submodules()
    module.recompile()
    return module, declared
