"""What a run's normalization layers do on the probe batch (the course's BatchNorm lesson).

For each BatchNorm node: its input's statistics per channel on the probe batch beside the
running statistics it will use in eval mode, and how far its training-mode output (each group
of ``batch_size`` samples normalized by its own statistics, as in a training step) lies from
its eval-mode output (everything normalized by the running statistics), in units of the
output's spread. With a very small batch each group's statistics are noisy, and the gap grows.
A LayerNorm (or GroupNorm) normalizes each sample by itself: no running statistics, the same
output in both modes; it is reported beside for comparison. Taken with the activations probe,
on one forward pass of the probe batch in eval mode (hooks on the layers' inputs); the
training is left as it was.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from studio.engine.events import Normalization

PER_SAMPLE = (nn.LayerNorm, nn.GroupNorm)


def _by_sample(module) -> bool:
    return isinstance(module, PER_SAMPLE) or (
        isinstance(module, nn.modules.batchnorm._NormBase) and not module.track_running_stats)


def normalization_modules(groups: dict) -> dict:
    """node key -> its normalization module, from ``probes.parameter_nodes``' groups."""
    found = {}
    for key, modules in groups.items():
        for module in modules:
            if isinstance(module, (nn.modules.batchnorm._NormBase, *PER_SAMPLE)):
                found[key] = module
    return found


def _channel_stats(x: torch.Tensor):
    dims = [d for d in range(x.dim()) if d != 1]
    return x.mean(dims), x.var(dims, unbiased=False)


def measure(module, x: torch.Tensor, batch_size: int) -> dict:
    """One layer's numbers for its input ``x`` (the probe batch)."""
    x = x.detach().float()
    if _by_sample(module):
        return {"kind": "per_sample", "gap": 0.0, "batch_mean": None, "batch_var": None,
                "running_mean": None, "running_var": None}
    weight = module.weight.detach().float() if module.weight is not None else None
    bias = module.bias.detach().float() if module.bias is not None else None
    running_mean = module.running_mean.detach().float()
    running_var = module.running_var.detach().float()
    size = max(2, min(batch_size, x.shape[0]))
    train = torch.cat([F.batch_norm(part, None, None, weight, bias, True, 0.0, module.eps)
                       for part in x.split(size) if part.shape[0] > 1 or x.dim() > 2])
    evaluated = F.batch_norm(x[: train.shape[0]], running_mean, running_var, weight, bias,
                             False, 0.0, module.eps)
    spread = float(train.std()) or 1.0
    mean, var = _channel_stats(x)
    return {"kind": "batch", "gap": float((train - evaluated).abs().mean()) / spread,
            "batch_mean": mean.cpu().numpy(), "batch_var": var.cpu().numpy(),
            "running_mean": running_mean.cpu().numpy(), "running_var": running_var.cpu().numpy(),
            "group": size}


class NormalizationProbe:
    """The normalization layers of one built run; ``measure(step)`` runs the probe batch."""

    def __init__(self, modules: dict, inspect, batch, batch_size: int):
        self.modules, self.inspect, self.batch = modules, inspect, batch
        self.batch_size = batch_size

    @classmethod
    def of(cls, groups: dict, inspect, batch, batch_size: int):
        """None for a run without normalization layers or probe batch."""
        modules = normalization_modules(groups)
        return cls(modules, inspect, batch, batch_size) if modules and batch else None

    def measure(self, step: int) -> Normalization | None:
        inputs: dict = {}
        hooks = [module.register_forward_pre_hook(
            lambda _m, args, key=key: inputs.setdefault(key, args[0]))
            for key, module in self.modules.items()]
        try:
            with torch.no_grad():
                self.inspect(self.batch)
        finally:
            for hook in hooks:
                hook.remove()
        nodes = {key: measure(self.modules[key], x, self.batch_size)
                 for key, x in inputs.items() if torch.is_tensor(x) and x.shape[0] > 1}
        return Normalization(step, nodes, self.batch_size) if nodes else None
