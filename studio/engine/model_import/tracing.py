"""Tracing a PyTorch model for import: what each submodule receives, its ``torch.fx`` graph with
the given layers kept whole, and the value of every node of that graph for one batch.

The model runs once on a batch of ``BATCH`` random inputs (in eval mode, without gradients) with
hooks recording the shapes each submodule receives; each graph is then traced and interpreted on
inputs of those shapes (zeros: only the shapes matter), so every node knows its per-sample
shape (tensors) or its value (sizes computed from shapes). ``BATCH`` is 2 so a value that
mixes the batch dimension with the others shows itself.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import torch
from torch import fx, nn

BATCH = 2
CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


class TraceError(ValueError):
    """The model cannot be traced (data-dependent control flow, inputs of an unexpected kind)."""


@dataclass
class Inputs:
    """What the one call of a submodule received: per input, its full shape (batch first) and
    dtype, None for a module called on anything but plain tensors (a list of tensors, a
    number); and what it returned (shape and dtype, None if not one tensor or if it was called
    more than once), so a traced graph need not run it again to know its shape."""

    tensors: tuple | None
    output: tuple | None = None
    calls: int = 1


def record_inputs(model: nn.Module, sample: tuple) -> tuple[dict, object]:
    """Module path -> ``Inputs`` of its first call, from one run of ``model`` on ``sample`` (in
    eval mode), and what the model returned."""
    seen: dict = {}
    hooks = []
    for path, module in model.named_modules():
        def before(mod, args, path=path):
            if path in seen:
                seen[path].calls += 1
            elif args and all(isinstance(a, torch.Tensor) for a in args):
                seen[path] = Inputs(tuple((tuple(a.shape), a.dtype) for a in args))
            else:
                seen[path] = Inputs(None)

        def after(mod, args, output, path=path):
            if seen[path].calls == 1 and isinstance(output, torch.Tensor):
                seen[path].output = (tuple(output.shape), output.dtype)

        hooks.append(module.register_forward_pre_hook(before))
        hooks.append(module.register_forward_hook(after))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            output = model(*sample)
    except Exception as err:  # noqa: BLE001 - any failure of the user's model is reported
        raise TraceError(f"the model fails on an input of shape "
                         f"{' and '.join(_dims(t.shape[1:]) for t in sample)}: "
                         f"{type(err).__name__}: {err}") from None
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return seen, output


def _dims(shape) -> str:
    return "x".join(str(n) for n in shape)


class _KeepWhole(fx.Tracer):
    """Traces into every module except those ``whole(path, module)`` keeps as one call, and into
    every function except those a block's import rule names (a library's own function, such as
    torchvision's ``channel_shuffle``, is then one call, as the rule expects)."""

    def __init__(self, whole):
        super().__init__(autowrap_functions=_claimed_functions())
        self.whole = whole

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return self.whole(qualname, m)


def _claimed_functions() -> tuple:
    """The functions outside torch that import rules name, from the modules already imported
    (a model using one has imported it)."""
    from studio.core.registry import all_blocks

    found = []
    for spec in all_blocks():
        for name in spec.imports.functions if spec.imports else ():
            module, _, attr = name.rpartition(".")
            if module.split(".")[0] in ("torch", "operator"):
                continue
            fn = getattr(sys.modules.get(module), attr, None)
            if callable(fn):
                found.append(fn)
    return tuple(found)


def trace(module: nn.Module, whole, where: str) -> fx.GraphModule:
    """``module``'s graph, keeping the submodules ``whole(path, module)`` chooses as calls;
    ``where``: its path in the model, for the message when it cannot be traced."""
    tracer = _KeepWhole(whole)
    try:
        graph = tracer.trace(module)
    except Exception as err:  # noqa: BLE001 - fx raises many kinds; all mean the same here
        place = f"{where} ({type(module).__name__})" if where else type(module).__name__
        text = " ".join(str(err).split())[:300]
        raise TraceError(f"{place} cannot be traced by torch.fx: {type(err).__name__}: {text}. "
                         "Its forward must not depend on the values of its tensors") from None
    return fx.GraphModule(tracer.root, graph, type(module).__name__)


class _Recorder(fx.Interpreter):
    """Runs a traced graph and keeps every node's value: a tensor's shape, anything else itself.
    A submodule whose one call was recorded is not run again: a tensor of the shape it returned
    stands for its output (the shapes are all that is kept)."""

    def __init__(self, gm: fx.GraphModule, recorded: dict, where: str):
        super().__init__(gm)
        self.values: dict = {}
        self.recorded = recorded
        self.where = where

    def run_node(self, n):
        result = super().run_node(n)
        self.values[n.name] = describe(result)
        return result

    def call_module(self, target, args, kwargs):
        seen = self.recorded.get(f"{self.where}.{target}" if self.where else target)
        if seen is not None and seen.calls == 1 and seen.output is not None:
            shape, dtype = seen.output
            return torch.zeros(shape, dtype=dtype)
        return super().call_module(target, args, kwargs)


@dataclass(frozen=True)
class Traced:
    """A tensor value of a traced node: its full shape (batch first) and whether it is floating."""

    shape: tuple
    floating: bool = True


def describe(value):
    """A node's value as plain data: tensors as ``Traced``, containers element by element."""
    if isinstance(value, torch.Tensor):
        return Traced(tuple(value.shape), value.is_floating_point())
    if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        return type(value)(describe(v) for v in value)
    if isinstance(value, torch.Size):
        return tuple(value)
    return value


def run_values(gm: fx.GraphModule, recorded: dict, where: str) -> dict:
    """Node name -> value, from running ``gm``, the module at ``where``, on inputs of the shapes
    ``recorded`` (``record_inputs``) for it."""
    args = [torch.zeros(shape, dtype=dtype) for shape, dtype in recorded[where].tensors]
    recorder = _Recorder(gm, recorded, where)
    gm.eval()  # the model's own modules: import_model puts their modes back afterwards
    with torch.no_grad():
        recorder.run(*args)
    return recorder.values
