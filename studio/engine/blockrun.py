"""Running one block on its own, through the same rendering the generator uses.

The block contract test checks each declaration's shape rule against real torch with this, and
the inspector can show a block's live behaviour without building a whole project.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from studio.core.registry import BlockSpec, TensorType, Values
from studio.engine import library
from studio.engine.render import call


def namespace(spec: BlockSpec) -> dict:
    """Globals for evaluating a block's code: torch, nn, F and the helpers it names."""
    ns = {"torch": torch, "nn": nn, "F": F}
    names = list(spec.helpers) + list(spec.extra.get("after_init_helpers", ()))
    if names:
        exec(compile(library.source_of(names), f"<helpers of {spec.id}>", "exec"), ns)
    return ns


class BlockRunner:
    """One block as a callable: ``runner(**tensors) -> dict of output tensors``."""

    def __init__(self, spec: BlockSpec, values: dict, input_types: dict, device="cpu"):
        self.spec = spec
        self.values = Values(values)
        self.ns = namespace(spec)
        self.ns["self"] = self
        self.module = None
        if spec.module is not None:
            c = spec.module(self.values, input_types)
            if c is not None:
                self.module = eval(call(c), self.ns)
                if isinstance(self.module, nn.Module):
                    self.module.to(device)
                after = spec.extra.get("after_init")
                if after and after(self.values, "block_module"):
                    self.ns["block_module"] = self.module
                    eval(after(self.values, "block_module"), self.ns)
        self.device = torch.device(device)

    def __call__(self, **tensors) -> dict:
        ports = self.spec.input_ports(self.values)
        names = {}
        for p in ports:
            if p.name not in tensors:
                continue
            value = tensors[p.name]
            if p.multi:
                names[p.name] = []
                for i, v in enumerate(value):
                    self.ns[f"{p.name}_{i}"] = v
                    names[p.name].append(f"{p.name}_{i}")
            else:
                self.ns[f"in_{p.name}"] = value
                names[p.name] = f"in_{p.name}"
        first = next(iter(tensors.values()), None)
        if isinstance(first, list):
            first = first[0]
        self.ns["n_batch"] = first.shape[0] if first is not None else 2
        self.ns["block_device"] = self.device
        args = dict(names, n="n_batch", device="block_device")
        if self.spec.forward is not None:
            expr = self.spec.forward(self.values, args, "block_module" if self.module is not None
                                     else None)
        else:
            flat = []
            for p in ports:
                if p.name in names:
                    flat += names[p.name] if p.multi else [names[p.name]]
            expr = f"block_module({', '.join(flat)})"
        self.ns["block_module"] = self.module
        out = eval(expr, self.ns)
        ports_out = [p.name for p in self.spec.output_ports(self.values)]
        if len(ports_out) == 1:
            return {ports_out[0]: out}
        return dict(zip(ports_out, out))


def random_input(t: TensorType, batch: int = 2, classes: int = 3, generator=None):
    """A random batch for a port type: normal floats, or class indices below ``classes``."""
    shape = (batch,) + tuple(t.shape)
    if t.dtype == "long":
        return torch.randint(0, classes, shape, generator=generator)
    return torch.randn(shape, generator=generator)
