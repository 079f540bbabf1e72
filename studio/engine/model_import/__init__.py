"""Import a PyTorch ``nn.Module`` as an editable Studio project (``studio import``).

``import_model(module, (3, 224, 224))`` traces the model (``tracing``), maps every layer and call
to the block that declares it (``mapping``, from the blocks' ``ImportRule``), folds the
submodules used several times with one structure into reusable networks (``folding``), builds
and lays out the project (``building``), and carries the original weights over under the
generated code's names (``weights``). Nothing is written until ``write`` is called, and a model
with anything Studio cannot represent is refused first, with every such operation listed.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from studio.core.atomic import write_atomic
from studio.core.fileformat import dumps
from studio.core.project import Project
from studio.engine.model_import import building, folding, tracing, weights
from studio.engine.model_import.mapping import sketch
from studio.engine.naming import class_name


class ModelImportError(ValueError):
    """The model cannot be imported; ``problems`` lists each unsupported operation with the
    module path where it occurs."""

    def __init__(self, message: str, problems=()):
        super().__init__(message)
        self.problems = list(problems)


@dataclass
class Imported:
    """An imported model: the project, the id of the model's instance in its training graph,
    the original weights under the generated names (``state``), the key map (generated ->
    original) and figures about the import."""

    project: Project
    instance: str
    state: dict
    keys: dict
    stats: dict = field(default_factory=dict)

    def write(self, path) -> dict:
        """Write ``NAME.studio``, ``NAME.ckpt`` (the original weights as a Studio checkpoint) and
        ``NAME.keys.json`` (each original ``state_dict`` key -> the exported network's key)
        beside it; returns the paths written."""
        path = Path(path)
        text = dumps(self.project)
        ckpt = path.with_suffix(".ckpt")
        keys = path.with_suffix(".keys.json")
        write_atomic(path, text)
        weights.write_checkpoint(ckpt, self.project, {self.instance: self.state}, text)
        write_atomic(keys, json.dumps({"network": self.instance,
                                     "keys": {v: k for k, v in self.keys.items()}}, indent=1))
        return {"project": path, "weights": ckpt, "keys": keys}


def import_model(model: torch.nn.Module, input_shape: tuple, name: str | None = None) -> Imported:
    """``model`` as a project trained on images of ``input_shape`` (per sample, e.g. 3x224x224)."""
    started = time.perf_counter()
    name = class_name(name or type(model).__name__)
    training_flags = {m: m.training for m in model.modules()}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # batches of two: more threads only wait on each other
    try:
        return _import(model, tuple(input_shape), name, started)
    finally:
        torch.set_num_threads(threads)
        for m, flag in training_flags.items():
            m.training = flag


def _import(model, input_shape, name, started) -> Imported:
    sample = (torch.randn((tracing.BATCH,) + input_shape),)
    try:
        inputs, expected = tracing.record_inputs(model, sample)
    except tracing.TraceError as err:
        raise ModelImportError(str(err)) from None
    apart: frozenset = frozenset()
    while True:
        try:
            return _build(model, input_shape, name, started, sample, inputs, expected, apart)
        except _NotOneClass as err:
            if err.network in apart:
                raise ModelImportError(str(err)) from None
            apart |= {err.network}  # its uses become the layers they hold


class _NotOneClass(ModelImportError):
    """A folded network whose uses cannot share one class (a size its blocks need fixed)."""

    def __init__(self, message: str, network: str):
        super().__init__(message)
        self.network = network


def _build(model, input_shape, name, started, sample, inputs, expected, apart) -> Imported:
    from studio.engine.codegen import CodegenError, generate

    try:
        plan = folding.plan(model, inputs, name, apart)
        gm = tracing.trace(model, folding.keeps_whole(plan, ""), "")
        values = tracing.run_values(gm, inputs, "")
    except tracing.TraceError as err:
        raise ModelImportError(str(err)) from None
    top = sketch(gm, values, "", folding.instance_lookup(plan, ""))
    problems = list(dict.fromkeys(plan.problems + top.problems))
    if problems:
        raise ModelImportError(f"{len(problems)} operation(s) of the model have no block in "
                               "Studio; nothing was written:\n  " + "\n  ".join(problems),
                               problems)
    output = [v for v in tracing_outputs(gm, values)]
    try:
        project, instance, origins = building.build(name, plan.networks, top, input_shape,
                                                    output[0].shape[1:])
    except building.BuildError as err:
        raise ModelImportError(str(err)) from None
    try:
        code = generate(project)
    except CodegenError as err:
        found = re.search(r"network (\S+) cannot be written as one class", str(err))
        if found and found.group(1) in plan.networks:
            raise _NotOneClass(str(err), found.group(1)) from None
        raise ModelImportError(f"the imported project cannot be written as code: {err}") from None
    built = weights.build_network(code, name)
    keys = weights.key_map(built, code, origins)
    original = model.state_dict()
    state = built.state_dict()
    if set(keys) != set(state) or set(keys.values()) != set(original):
        missing = sorted(set(original) - set(keys.values()))[:5]
        raise ModelImportError("the imported network does not hold the model's tensors "
                               f"one for one (unmatched: {', '.join(missing) or 'none'})")
    mapped = weights.mapped_state(original, keys)
    built.load_state_dict(mapped)
    stats = {"nodes": sum(len(g.nodes) for _, g in project.graphs()),
             "networks": len(project.networks),
             "params": sum(p.numel() for p in built.parameters()),
             "original_params": sum(p.numel() for p in model.parameters()),
             "seconds": time.perf_counter() - started}
    built.eval()
    with torch.no_grad():
        stats["max_diff"] = largest_difference(built(*sample), expected)
    return Imported(project, instance, mapped, keys, stats)


def largest_difference(ours, theirs) -> float:
    """The largest absolute difference between two outputs (a tensor, or tensors in order)."""
    flat = [(a, b) for a, b in zip(_tensors(ours), _tensors(theirs))]
    return max((float((a - b).abs().max()) for a, b in flat), default=0.0)


def _tensors(value) -> list:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    return []


def tracing_outputs(gm, values) -> list:
    """The traced values the model returns, in order."""
    out = []
    for node in gm.graph.nodes:
        if node.op == "output":
            def walk(x):
                if isinstance(x, (list, tuple)):
                    for i in x:
                        walk(i)
                elif hasattr(x, "name"):
                    out.append(values[x.name])
            walk(node.args[0])
    return out
