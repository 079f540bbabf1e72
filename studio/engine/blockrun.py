"""Running one block on its own, through the same rendering the generator uses.

The block contract test checks each declaration's shape rule against real torch with this, and
the inspector can show a block's live behaviour without building a whole project.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from studio.core.registry import BlockSpec, TensorType, Values
from studio.engine import library
from studio.engine.render import call


def namespace(spec: BlockSpec) -> dict:
    """Globals for evaluating a block's code: torch, nn, F and the helpers it names."""
    ns = {"torch": torch, "nn": nn, "F": F, "math": math}
    names = list(spec.helpers) + list(spec.after_init.helpers if spec.after_init else ())
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
                after = spec.after_init.code(self.values, "block_module") \
                    if spec.after_init else None
                if after:
                    self.ns["block_module"] = self.module
                    eval(after, self.ns)
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
        self.ns["n_batch"] = first.shape[0] if first is not None and first.dim() else 2
        self.ns["block_device"] = self.device
        args = dict(names, n="n_batch", device="block_device")
        expr = self.spec.expression(self.values, args, "block_module"
                                    if self.module is not None else None)
        self.ns["block_module"] = self.module
        out = eval(expr, self.ns)
        ports_out = [p.name for p in self.spec.output_ports(self.values)]
        if len(ports_out) == 1:
            return {ports_out[0]: out}
        return dict(zip(ports_out, out))


DOMAINS = ("normal", "probability", "distribution", "log_probability", "sign", "positive")


def input_domains(spec: BlockSpec, values: dict) -> dict:
    """Port -> value domain a loss declares in its ``LossRole.input_domains`` (a dict, or a
    callable of the parameter values for domains that depend on them, like KLDiv's log_target)."""
    domains = (spec.loss.input_domains if spec.loss else None) or {}
    if callable(domains):
        domains = domains(Values(values))
    for port, domain in domains.items():
        if domain not in DOMAINS:
            raise ValueError(f"{spec.id}: input {port!r} declares unknown domain {domain!r}")
    return dict(domains)


def random_input(t: TensorType, batch: int = 2, classes: int = 3, generator=None,
                 domain: str | None = None):
    """A random batch for a port type: normal floats, or class indices below ``classes``.

    A loss (kind "loss") is one positive scalar. ``domain`` narrows the floats for inputs that
    only accept some values: "probability" (each in (0, 1)), "distribution" (positive, summing
    to 1 along the first per-sample dim), "log_probability" (the log of a distribution), "sign"
    (-1 or 1), "positive" (> 0); "normal" or None is standard normal.
    """
    if t.kind == "loss":
        return torch.rand((), generator=generator) + 0.1
    shape = (batch,) + tuple(t.shape)
    if t.dtype == "long":
        return torch.randint(0, classes, shape, generator=generator)
    if domain in (None, "normal"):
        return torch.randn(shape, generator=generator)
    if domain == "probability":
        return torch.rand(shape, generator=generator).clamp(1e-3, 1 - 1e-3)
    if domain == "sign":
        return torch.randint(0, 2, shape, generator=generator).float() * 2 - 1
    if domain == "positive":
        return torch.rand(shape, generator=generator) + 0.1
    if domain in ("distribution", "log_probability"):
        scores = torch.randn(shape, generator=generator)
        if t.rank == 0:  # one number per sample: a probability of its own
            probs = torch.rand(shape, generator=generator).clamp(1e-3, 1 - 1e-3)
            return probs if domain == "distribution" else probs.log()
        return scores.softmax(1) if domain == "distribution" else scores.log_softmax(1)
    raise ValueError(f"unknown input domain {domain!r}")
