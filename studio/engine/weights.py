"""Trained weights as one file, apart from the checkpoint's full training state: what a user
loads into the exported code."""

from __future__ import annotations

from pathlib import Path

import torch

from studio.core.atomic import write_with


def save_weights(training, path) -> None:
    """Every network's weights in one file: safetensors, or a weights-only torch file (.pt)."""
    write_tensors({f"{net}.{k}": v for net, m in training.networks.items()
                   for k, v in m.state_dict().items()}, path)


def write_tensors(tensors: dict, path) -> Path:
    """``network.parameter`` tensors written atomically as the suffix of ``path`` says:
    safetensors, or a weights-only torch file (.pt)."""
    path = Path(path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        tensors = {k: v.clone() for k, v in tensors.items()}  # it refuses shared storage
        return write_with(path, lambda tmp: save_file(tensors, str(tmp)))
    return write_with(path, lambda tmp: torch.save(tensors, tmp))


def load_weights(path) -> dict:
    """Read weights saved by ``save_weights`` without unpickling arbitrary objects."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, map_location="cpu", weights_only=True)
