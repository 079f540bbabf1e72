"""How a training failure is told: ``TrainingError`` naming the node at fault where the generated
line that raised can be traced back to one, and in words a person can act on (out of memory:
a smaller batch)."""

from __future__ import annotations

import traceback

import torch

from studio.engine.codegen import GeneratedCode
from studio.engine.loader import node_at


class TrainingError(RuntimeError):
    """Training stopped; ``node`` is (graph, node id) of the node at fault when known."""

    def __init__(self, message: str, node: tuple | None = None, kind: str = "runtime"):
        super().__init__(message)
        self.node = node
        self.kind = kind  # "runtime", "oom", "shape", "data", "nan"


def locate(code: GeneratedCode, err: BaseException) -> tuple | None:
    """The node whose generated line raised ``err`` (innermost generated frame)."""
    found = None
    for frame in traceback.extract_tb(err.__traceback__):
        hit = node_at(code, frame.filename, frame.lineno)
        if hit:
            found = hit
    return found


def explain(code: GeneratedCode, err: BaseException) -> TrainingError:
    node = locate(code, err)
    where = f"{node[0]}/{node[1]}: " if node else ""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    lowered = text.lower()
    if isinstance(err, (torch.OutOfMemoryError, MemoryError)) or "out of memory" in lowered \
            or "can't allocate memory" in lowered or "cannot allocate memory" in lowered:
        return TrainingError(f"{where}out of memory ({text}); try a smaller batch size", node,
                             "oom")
    kind = "shape" if any(w in lowered for w in ("shape", "size", "dimension")) else "runtime"
    return TrainingError(f"{where}{type(err).__name__}: {text}", node, kind)


def resolve_device(choice: str) -> str:
    """'auto' picks CUDA, then Apple MPS, then CPU; an explicit choice must be available."""
    if choice == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise TrainingError("device cuda was asked for, but this torch sees no CUDA GPU; use "
                            "--device cpu or auto")
    if choice == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise TrainingError("device mps was asked for, but it is not available here")
    return choice
