"""The original weights in the imported project: which tensor of the generated network each
``state_dict`` key of the original model is (the key map), and the checkpoint that carries them,
written as the app's checkpoints are so ``studio train --init-from`` and ``studio export
--weights`` take it."""

from __future__ import annotations

import torch

from studio.core.project import Project
from studio.engine import checkpoint, loader
from studio.engine.codegen import GeneratedCode
from studio.engine.probes import attribute_origins


def build_network(code: GeneratedCode, network: str):
    """The generated module of ``network`` (a network used once: its class takes no size)."""
    model = loader.load(code).model_module
    return getattr(model, code.classes[network])()


def key_map(module, code: GeneratedCode, origins: dict) -> dict:
    """Generated ``state_dict`` key -> the original model's key, for every tensor of ``module``
    (built from ``code``). ``origins[(network, node id)]``: the module path the node came from
    (relative to the module its network was made of), or {torch name: block's name} for a node
    holding a tensor that a call read directly."""
    attrs = attribute_origins(code)
    out: dict = {}

    def visit(mod, prefix: str, original: str):
        cls = type(mod).__name__
        for attr, child in mod.named_children():
            origin = attrs.get((cls, attr))
            if origin is None:
                continue
            source = origins.get(origin)
            inner_prefix = f"{prefix}{attr}."
            if isinstance(source, dict):  # tensors a call read: named as the original names them
                for theirs, ours in source.items():
                    for key in child.state_dict():
                        if key == ours or key.startswith(ours + "."):
                            out[inner_prefix + key] = original + theirs + key[len(ours):]
                continue
            inner_original = f"{original}{source}." if source else original
            if any((type(child).__name__, a) in attrs for a, _ in child.named_children()):
                visit(child, inner_prefix, inner_original)
            else:
                for key in child.state_dict():
                    out[inner_prefix + key] = inner_original + key

    visit(module, "", "")
    return out


def mapped_state(original: dict, keys: dict) -> dict:
    """The original tensors under the generated network's names."""
    return {ours: original[theirs] for ours, theirs in keys.items()}


def write_checkpoint(path, project: Project, networks: dict, project_text: str) -> None:
    """A Studio checkpoint at step 0 holding ``networks`` (instance -> state dict)."""
    state = {
        "format": checkpoint.FORMAT, "version": checkpoint.VERSION,
        "networks": {k: {n: t.detach().clone() for n, t in v.items()}
                     for k, v in networks.items()},
        "optimizers": {}, "schedulers": {},
        "step": 0, "epoch": 0, "epoch_step": 0,
        "rng": {"torch": torch.get_rng_state(), "batches": torch.Generator().get_state()},
        "history": [], "project": project_text,
    }
    checkpoint.save(state, path)
