"""Checkpoints that resume exactly: weights, optimizer and schedule states, step counters,
random states and the metric history.

Everything is tensors and plain containers, written with ``torch.save`` and read with
``torch.load(weights_only=True)``: no pickled objects from a file are ever executed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from studio.core.atomic import write_with

FORMAT = "studio-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the project."""


@dataclass
class Position:
    """Where a run is: steps done, the epoch, how far into it, and the batch-order random state
    at the epoch's start (so the same batches follow)."""

    step: int = 0
    epoch: int = 0
    epoch_step: int = 0
    epoch_rng: torch.Tensor | None = None
    history: list = field(default_factory=list)


def _states(items: dict) -> dict:
    return {name: getattr(obj, "_orig_mod", obj).state_dict() for name, obj in items.items()}


def capture(training, position: Position, project_text: str = "", history: bool = True) -> dict:
    """The full state of a run, as plain data (without the metric history if not asked)."""
    state = {
        "format": FORMAT, "version": VERSION,
        "networks": _states(training.networks),
        "optimizers": _states(training.optimizers),
        "optimizer_params": optimizer_parameters(training),
        "schedulers": _states(training.schedulers),
        "step": position.step, "epoch": position.epoch, "epoch_step": position.epoch_step,
        "rng": {"torch": torch.get_rng_state(), "batches": training.rng.get_state()},
        "history": list(position.history) if history else [],
        "project": project_text,
    }
    if position.epoch_rng is not None:
        state["rng"]["epoch_batches"] = position.epoch_rng
    if torch.cuda.is_available():
        state["rng"]["cuda"] = torch.cuda.get_rng_state_all()
    scaler = getattr(training, "scaler", None)
    if scaler is not None:
        state["scaler"] = scaler.state_dict()
    return state


def optimizer_parameters(training) -> dict:
    """Each optimizer's parameters by name (``lenet.conv1.weight``), in the order its state
    numbers them (None for one no network holds): what lets a warm start after an edit give
    the layers it keeps their optimizer state back (``warm_start.keep_optimizer_state``)."""
    names = {}
    for net, module in training.networks.items():
        for key, parameter in getattr(module, "_orig_mod", module).named_parameters():
            names.setdefault(id(parameter), f"{net}.{key}")
    return {name: [names.get(id(p)) for group in getattr(opt, "_orig_mod", opt).param_groups
                   for p in group["params"]]
            for name, opt in training.optimizers.items()}


def copy_state(state: dict) -> dict:
    """A deep copy (tensors cloned) for keeping a last good state in memory."""
    def clone(v):
        if isinstance(v, torch.Tensor):
            return v.detach().clone()
        if isinstance(v, dict):
            return {k: clone(x) for k, x in v.items()}
        if isinstance(v, list):
            return [clone(x) for x in v]
        if isinstance(v, tuple):
            return tuple(clone(x) for x in v)
        return v
    return clone(state)


def check_format(state) -> None:
    """Raise CheckpointError unless ``state`` is a checkpoint this Studio can read."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError("not a Studio checkpoint")
    if state.get("version", 0) > VERSION:
        raise CheckpointError(f"written by a newer Studio (checkpoint version {state['version']})")


def fits(training, state: dict) -> bool:
    """Whether ``state`` restores exactly into ``training``: the same networks, optimizers and
    schedulers, and every network tensor of the same name and shape."""
    if not isinstance(state, dict):
        return False
    for kind in ("networks", "optimizers", "schedulers"):
        if set(getattr(training, kind)) != set(state.get(kind, {})):
            return False
    return not any(mismatches(getattr(m, "_orig_mod", m).state_dict(), state["networks"][name])
                   for name, m in training.networks.items())


def restore(training, state: dict) -> Position:
    """Load a captured state into a freshly built ``Training``; returns where to continue."""
    check_format(state)
    for kind in ("networks", "optimizers", "schedulers"):
        ours = getattr(training, kind)
        theirs = state.get(kind, {})
        if set(ours) != set(theirs):
            raise CheckpointError(f"the checkpoint's {kind} ({', '.join(sorted(theirs)) or 'none'})"
                                  f" do not match the project's ({', '.join(sorted(ours)) or 'none'})")
        for name, obj in ours.items():
            module = getattr(obj, "_orig_mod", obj)
            changes = mismatches(module.state_dict(), theirs[name]) if kind == "networks" else []
            if changes:
                raise CheckpointError(f"the trained weights of {name} no longer fit the project: "
                                      + "; ".join(changes))
            try:
                module.load_state_dict(theirs[name])
            except (RuntimeError, ValueError, KeyError) as err:
                text = " ".join(str(err).split())
                raise CheckpointError(f"{kind[:-1]} {name!r} does not fit the checkpoint: "
                                      f"{text}") from None
    scaler = getattr(training, "scaler", None)
    if scaler is not None and "scaler" in state:
        scaler.load_state_dict(state["scaler"])
    return restore_position(training, state)


def restore_position(training, state: dict) -> Position:
    """The random states and where the run was, from ``state``; the weights are left as they
    are (``restore`` loads them first; a warm start after an edit loads what fits)."""
    rng = state["rng"]
    torch.set_rng_state(rng["torch"])
    training.rng.set_state(rng["batches"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    return Position(state["step"], state["epoch"], state["epoch_step"], rng.get("epoch_batches"),
                    list(state.get("history", [])))


def mismatches(ours: dict, theirs: dict) -> list[str]:
    """In words, each tensor of a network's state that the trained one cannot fill:
    ``conv1's weight was 6x1x5x5, is now 8x1x5x5``, ``fc4's bias is new``, ``fc3's weight is
    gone``."""
    def name(key: str) -> str:
        layer, _, tensor = key.rpartition(".")
        return f"{layer}'s {tensor}" if layer else tensor

    def shape(t) -> str:
        return "x".join(str(n) for n in t.shape) or "a scalar"

    out = []
    for key, value in ours.items():
        if key not in theirs:
            out.append(f"{name(key)} is new")
        elif tuple(theirs[key].shape) != tuple(value.shape):
            out.append(f"{name(key)} was {shape(theirs[key])}, is now {shape(value)}")
    out += [f"{name(key)} is gone" for key in theirs if key not in ours]
    return out


def save(state: dict, path) -> Path:
    """Write atomically (temporary file, then rename), with a normal file's permissions."""
    return write_with(path, lambda tmp: torch.save(state, tmp))


def load(path) -> dict:
    """Read a checkpoint with the weights-only loader (no code from the file runs)."""
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint at {path}") from None
    except Exception as err:  # noqa: BLE001 - any unreadable file is the same answer
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(err).__name__})") \
            from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a Studio checkpoint")
    return state


def network_weights(state: dict) -> dict:
    """Every network's weights from a checkpoint, keyed ``network.parameter`` like the
    ``weights.pt`` an exported ``train.py`` writes and reads with ``--weights``."""
    return {f"{net}.{k}": v for net, params in state.get("networks", {}).items()
            for k, v in params.items()}


def export_weights(checkpoint_path, out_path) -> Path:
    """Write a checkpoint's trained weights as a weights-only ``weights.pt`` for exported code."""
    return write_weights(network_weights(load(checkpoint_path)), out_path)


def write_weights(weights: dict, out_path) -> Path:
    """Write ``network.parameter`` tensors as a weights-only ``weights.pt``, atomically."""
    return write_with(out_path, lambda tmp: torch.save(weights, tmp))
