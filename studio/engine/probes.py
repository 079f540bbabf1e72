"""Probes: what the dashboard draws, measured on the code that actually trains.

Activations are read by tracing the generated source while it runs ``Training.inspect`` on a
fixed probe batch: after each generated line executes, the values it assigned are taken from the
frame, and the code generator's line map says which node wrote them. No instrumentation is
written into the exported code, and functional nodes (add, concat, flatten) are seen like any
other. Gradient and weight statistics are read per node from the modules that hold parameters.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from studio.core.project import Project
from studio.core.registry import spec_of
from studio.engine.codegen import GeneratedCode
from studio.engine.node_keys import ROOT, node_key, within

MAX_CHANNELS = 64
MAX_SIDE = 64
MAX_VALUES = 4096
HIST_BINS = 48
_TARGETS = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z_][A-Za-z0-9_]*)*)\s*=[^=]")
_SELF_ATTR = re.compile(r"^\s*self\.([A-Za-z_][A-Za-z0-9_]*)\s*=[^=]")


@dataclass
class ProbeRates:
    """How often each probe runs, in steps (0: never), and the share of the training time that
    periodic probes and previews may take (None: no limit); a probe that is due while probes
    are over their share is skipped, so tiny steps get fewer probes, not slower training."""

    stats_every: int = 20  # gradient and weight norms, update-to-weight ratios
    activations_every: int = 100  # feature maps of watched nodes, dead-unit fractions
    histograms_every: int = 200
    generative_every: int = 100  # a GAN's discriminator, a VAE's latent code (when there is one)
    shift_every: int = 200  # an image classifier's answers and maps for moved images
    probe_count: int = 16  # samples in the fixed probe batch
    sample: int = 0  # which probe sample the feature maps show
    budget: float | None = 0.01

    @classmethod
    def off(cls) -> ProbeRates:
        return cls(0, 0, 0, generative_every=0, shift_every=0)


class _LineIndex:
    """For each generated line: the node that wrote it and the names it assigns."""

    def __init__(self, code: GeneratedCode, files: dict):
        self.by_file: dict[str, dict[int, tuple]] = {}
        for name, filename in files.items():
            source = code.model_source if name == "model.py" else code.train_source
            lines = source.splitlines()
            table = {}
            for (f, lineno), origin in code.line_map.items():
                if f != name:
                    continue
                m = _TARGETS.match(lines[lineno - 1])
                if m and not lines[lineno - 1].lstrip().startswith("self."):
                    table[lineno] = (origin, [t.strip() for t in m.group(1).split(",")])
            self.by_file[filename] = table


class ActivationRecorder:
    """Runs a call with a line tracer on the generated files and keeps the watched values."""

    def __init__(self, code: GeneratedCode, module, project: Project):
        self.files = {"model.py": module.model_module.__file__, "train.py": module.__file__}
        self.index = _LineIndex(code, self.files)
        self.project = project
        self._dead_units_cache: dict[tuple, bool] = {}

    def is_relu_family(self, graph: str, node_id: str) -> bool:
        key = (graph, node_id)
        if key not in self._dead_units_cache:
            g = self.project.training if graph == "training" else \
                self.project.networks.get(graph)
            node = g.nodes.get(node_id) if g is not None else None
            spec = spec_of(node.block) if node is not None else None
            self._dead_units_cache[key] = bool(spec and spec.dead_units)
        return self._dead_units_cache[key]

    def run(self, fn, *args, watch=(), sample: int = 0, full=(), attached: bool = False):
        """Call ``fn(*args)``; returns (result, {key: downsampled array}, {key: dead fraction},
        {key: whole tensor} for the keys in ``full``; ``attached``: those keep their autograd
        graph, for a probe that differentiates them)."""
        shown = set(watch)
        watch = shown | set(full)
        captured: dict[str, torch.Tensor] = {}
        dead: dict[str, float] = {}
        # a frame running a network -> the key of the instance that runs it (node_keys.py)
        instance_keys: dict[int, str] = {}
        pending: dict[int, int] = {}
        files = set(self.index.by_file)

        def take(frame, lineno):
            table = self.index.by_file[frame.f_code.co_filename]
            entry = table.get(lineno)
            if entry is None:
                return
            (graph, node_id), names = entry
            values = [frame.f_locals.get(n) for n in names]
            ports = names if len(names) > 1 else [None]
            for port, value in zip(ports, values):
                if not isinstance(value, torch.Tensor):
                    continue
                key = node_key(node_id, port=port) if graph == ROOT else \
                    within(instance_keys.get(id(frame), graph), node_id, port)
                if key in watch and key not in captured:
                    captured[key] = value if attached and key in full else value.detach()
                if self.is_relu_family(graph, node_id) and key not in dead:
                    dead[key] = dead_fraction(value.detach())

        def local(frame, event, arg):
            fid = id(frame)
            if event == "line":
                if fid in pending:
                    take(frame, pending[fid])
                pending[fid] = frame.f_lineno
            elif event == "return":
                if fid in pending:
                    take(frame, pending.pop(fid))
                instance_keys.pop(fid, None)
            return local

        def tracer(frame, event, arg):
            if event != "call" or frame.f_code.co_filename not in files:
                return None
            caller = frame.f_back
            while caller is not None and caller.f_code.co_filename not in files:
                caller = caller.f_back
            if caller is not None and frame.f_code.co_filename == self.files["model.py"]:
                entry = self.index.by_file[caller.f_code.co_filename].get(caller.f_lineno)
                if entry is not None:
                    (graph, node_id), _ = entry
                    instance_keys[id(frame)] = node_key(node_id) if graph == ROOT else \
                        within(instance_keys.get(id(caller), graph), node_id)
            return local

        old = sys.gettrace()
        sys.settrace(tracer)
        try:
            result = fn(*args)
        finally:
            sys.settrace(old)
        images = {k: downsample(v, sample) for k, v in captured.items() if k in shown}
        whole = {k: captured[k] for k in full if k in captured}
        return result, images, dead, whole


def dead_fraction(value: torch.Tensor) -> float:
    """Share of units (channels, or features) that are zero or negative for the whole batch:
    units that pass no gradient back (the dying-ReLU problem)."""
    if value.dim() < 2 or value.shape[0] == 0:
        return 0.0
    per_unit = value.transpose(0, 1).reshape(value.shape[1], -1)
    return float((per_unit <= 0).all(dim=1).float().mean())


def downsample(value: torch.Tensor, sample: int) -> dict:
    """What a screen can show of one probe sample: feature maps (C x H x W, at most 64 maps of
    64 x 64) or a vector (at most 4096 values), as float32 numpy with the value range."""
    v = value.detach().float()
    if v.dim() >= 1 and v.shape[0] > 0:
        v = v[min(sample, v.shape[0] - 1)]
    if v.dim() == 3:
        v = v[:MAX_CHANNELS]
        if v.shape[1] > MAX_SIDE or v.shape[2] > MAX_SIDE:
            v = F.adaptive_avg_pool2d(v[None], (min(v.shape[1], MAX_SIDE),
                                               min(v.shape[2], MAX_SIDE)))[0]
        kind = "maps"
    else:
        v = v.reshape(-1)[:MAX_VALUES]
        kind = "vector"
    array = v.cpu().numpy().astype(np.float32)
    finite = array[np.isfinite(array)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    return {"kind": kind, "data": array, "range": (lo, hi), "shape": tuple(value.shape[1:])}


# ------------------------------------------------------------------------------------------------
# parameters: which node holds which module
# ------------------------------------------------------------------------------------------------

def attribute_origins(code: GeneratedCode) -> dict:
    """(class name or 'Training', attribute) -> (graph, node) from the ``self.x = ...`` lines."""
    out = {}
    for name, source in (("model.py", code.model_source), ("train.py", code.train_source)):
        lines = source.splitlines()
        current = None
        for i, line in enumerate(lines, 1):
            if line.startswith("class "):
                current = line[6:].split("(")[0].split(":")[0].strip()
            origin = code.line_map.get((name, i))
            m = _SELF_ATTR.match(line)
            if origin and m and current:
                out.setdefault((current, m.group(1)), origin)
    return out


def parameter_nodes(training, code: GeneratedCode) -> dict:
    """node key -> the modules holding that node's own parameters (linked duplicates count
    once, under the original)."""
    return node_modules(training, code, holding_parameters=True)


def node_modules(training, code: GeneratedCode, holding_parameters: bool = False) -> dict:
    """node key -> the modules that are the node itself, down through network instances (a
    module reached twice, as a linked duplicate's, counts once, under the original); with
    ``holding_parameters`` only those with parameters (functional nodes have no module)."""
    origins = attribute_origins(code)
    found: dict[str, list] = {}
    seen: set[int] = set()

    def counts(module) -> bool:
        return not holding_parameters or any(True for _ in module.parameters())

    def visit(module, cls_name: str, instance_key: str):
        for attr, child in module.named_children():
            origin = origins.get((cls_name, attr))
            if origin is None:
                continue
            graph, node_id = origin
            key = node_key(node_id) if graph == ROOT else within(instance_key, node_id)
            child_cls = type(child).__name__
            if any((child_cls, a) in origins for a, _ in child.named_children()):
                visit(child, child_cls, key)
            elif id(child) not in seen and counts(child):
                seen.add(id(child))
                found.setdefault(key, []).append(child)

    for attr, network in training.networks.items():
        network = getattr(network, "_orig_mod", network)
        origin = origins.get(("Training", attr))
        if origin is None:
            continue
        key = node_key(origin[1])
        cls_name = type(network).__name__
        if any((cls_name, a) in origins for a, _ in network.named_children()):
            visit(network, cls_name, key)
        elif counts(network):
            found.setdefault(key, []).append(network)
    return found


@dataclass
class ParameterStats:
    """Per-node norms: gradient, weight, and update-to-weight ratio of the last step."""

    nodes: dict = field(default_factory=dict)

    @staticmethod
    def snapshot(groups: dict) -> dict:
        return {k: [p.detach().clone() for m in mods for p in m.parameters()]
                for k, mods in groups.items()}

    @staticmethod
    def measure(groups: dict, before: dict | None = None) -> dict:
        out = {}
        for key, mods in groups.items():
            params = [p for m in mods for p in m.parameters()]
            weight = _norm([p.detach() for p in params])
            grads = [p.grad.detach() for p in params if p.grad is not None]
            entry = {"weight_norm": weight, "grad_norm": _norm(grads) if grads else 0.0}
            if before is not None and key in before:
                delta = _norm([p.detach() - b for p, b in zip(params, before[key])])
                entry["update_ratio"] = delta / weight if weight > 0 else 0.0
            out[key] = entry
        return out


def _norm(tensors) -> float:
    if not tensors:
        return 0.0
    total = torch.stack([t.float().norm() ** 2 for t in tensors]).sum()
    return math.sqrt(float(total))


def histograms(groups: dict, bins: int = HIST_BINS) -> dict:
    """node key -> {"weights": (counts, edges), "grads": (counts, edges) or None}."""
    out = {}
    for key, mods in groups.items():
        params = [p for m in mods for p in m.parameters()]
        out[key] = {"weights": _hist(torch.cat([p.detach().reshape(-1) for p in params]), bins)}
        grads = [p.grad.detach().reshape(-1) for p in params if p.grad is not None]
        out[key]["grads"] = _hist(torch.cat(grads), bins) if grads else None
    return out


def _hist(values: torch.Tensor, bins: int):
    values = values.float()
    values = values[torch.isfinite(values)]
    if values.numel() == 0:
        return None
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        hi = lo + 1e-6
    counts = torch.histc(values, bins=bins, min=lo, max=hi)
    edges = np.linspace(lo, hi, bins + 1, dtype=np.float32)
    return counts.cpu().numpy().astype(np.int64), edges
