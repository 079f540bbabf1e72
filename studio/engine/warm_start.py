"""Load what fits: weights from a file or a trained state into a freshly built ``Training``,
tensor by tensor. Every tensor whose name and shape fit is taken; every other one keeps its
usual initialization; the ``WeightsFitted`` event says which, by node.

``studio train --init-from`` and Train > Load Weights start a run from a file this way (a
``state_dict`` saved as weights-only ``.pt`` or ``.safetensors``, or a Studio checkpoint);
Continue Training after an edit keeps the trained layers that still fit and carries on from the
trained state's step (``resume``): each optimizer keeps its state (Adam's moments, SGD's
momentum) for the parameters it still updates whose shapes still fit, named as the checkpoint
names them, and starts afresh for the rest; schedules start afresh.
"""

from __future__ import annotations

from pathlib import Path

import torch

from studio.engine import checkpoint
from studio.engine.checkpoint import CheckpointError, Position
from studio.engine.events import WeightsFitted
from studio.engine.node_keys import ROOT, node_key, within
from studio.engine.probes import attribute_origins, parameter_nodes

WRAPPERS = ("state_dict", "model_state_dict", "model")  # common dicts around a state_dict


def read(path) -> dict:
    """The tensors of a weights file or a checkpoint: network name -> state dict for a Studio
    checkpoint, else ``{None: state dict}`` (keys maybe prefixed by a network name, as Save
    Weights and an exported ``train.py`` write them). Nothing in the file is executed."""
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            data = load_file(str(path))
        else:
            data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"no weights file at {path}") from None
    except Exception as err:  # noqa: BLE001 - any unreadable file is the same answer
        raise CheckpointError(f"{path} is not a readable weights file ({type(err).__name__}: "
                              f"{' '.join(str(err).split())[:200]})") from None
    if isinstance(data, dict) and data.get("format") == checkpoint.FORMAT:
        return dict(data.get("networks", {}))
    for key in WRAPPERS:
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
            break
    if not isinstance(data, dict) or not data or \
            not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(f"{path} holds no state_dict (a dict of tensors by name)")
    return {None: data}


def by_network(sources: dict, networks) -> dict:
    """Split a flat state dict among the networks: ``lenet.conv1.weight`` goes to ``lenet``;
    with one network, unprefixed keys (a plain ``model.state_dict()``) go to it. Keys no network
    takes stay under None."""
    if None not in sources:
        return sources
    out = {k: dict(v) for k, v in sources.items() if k is not None}
    names = list(networks)
    for key, value in sources[None].items():
        head, _, rest = key.partition(".")
        if head in networks and rest:
            out.setdefault(head, {})[rest] = value
        elif len(names) == 1:
            out.setdefault(names[0], {})[key] = value
        else:
            out.setdefault(None, {})[key] = value
    return out


def tensor_nodes(training, code) -> dict:
    """(network, torch key prefix) -> node key of the node that holds those tensors."""
    owner = {id(m): key for key, mods in parameter_nodes(training, code).items() for m in mods}
    origins = attribute_origins(code)
    out = {}
    for net, module in training.networks.items():
        module = getattr(module, "_orig_mod", module)
        for name, mod in module.named_modules(remove_duplicate=False):
            if id(mod) in owner:
                out[(net, name)] = owner[id(mod)]
        origin = origins.get(("Training", net))
        if (net, "") not in out and origin is not None:
            graph, node = origin
            out[(net, "")] = node_key(node) if graph == ROOT else within(node_key(graph), node)
    return out


def _node_of(nodes: dict, net: str, key: str) -> str:
    """The node holding ``key`` of ``net``: the longest known prefix of the key."""
    parts = key.split(".")
    for n in range(len(parts) - 1, -1, -1):
        found = nodes.get((net, ".".join(parts[:n])))
        if found is not None:
            return found
    return node_key(net)


def _shape(t) -> str:
    return "x".join(str(n) for n in t.shape) or "a scalar"


def fit(training, code, sources: dict, source: str) -> WeightsFitted:
    """Load every tensor of ``sources`` (network -> state dict, as ``read`` and ``by_network``
    give) that fits the networks of ``training``; the rest keep their initialization."""
    sources = by_network(sources, training.networks)
    nodes = tensor_nodes(training, code)
    loaded: dict = {}
    refused: dict = {}
    missing: dict = {}
    unexpected: dict = {}
    for net, module in training.networks.items():
        module = getattr(module, "_orig_mod", module)
        ours = module.state_dict()
        theirs = sources.get(net, {})
        take = {}
        for key, value in ours.items():
            node = _node_of(nodes, net, key)
            name = f"{net}.{key}"
            if key not in theirs:
                missing.setdefault(node, []).append(name)
            elif tuple(theirs[key].shape) != tuple(value.shape):
                refused.setdefault(node, []).append([name, _shape(theirs[key]), _shape(value)])
            else:
                take[key] = theirs[key]
                loaded.setdefault(node, []).append(name)
        if take:
            module.load_state_dict(take, strict=False)
        for key in theirs:
            if key not in ours:
                unexpected.setdefault(f"{net}.{key.rpartition('.')[0]}".rstrip("."), []).append(
                    f"{net}.{key}")
    for net, theirs in sources.items():
        if net not in training.networks:
            for key in theirs:
                prefix = f"{net}." if net else ""
                layer = f"{prefix}{key}".rpartition(".")[0] or key
                unexpected.setdefault(layer, []).append(f"{prefix}{key}")
    return WeightsFitted(str(source), loaded, refused, missing, unexpected)


def load_into(training, code, path) -> WeightsFitted:
    """``--init-from``: the weights of ``path`` that fit, loaded into ``training``."""
    return fit(training, code, read(path), str(path))


def resume(training, code, state: dict) -> tuple[Position, WeightsFitted | None]:
    """Continue from a trained state: exactly (``checkpoint.restore``) when it fits the project
    as it is; after an edit, the layers that still fit keep their weights, the others start
    afresh (said in the report), and the run carries on from the state's step with fresh
    optimizers (keeping their state for the parameters kept) and schedules."""
    if checkpoint.fits(training, state):
        return checkpoint.restore(training, state), None
    checkpoint.check_format(state)
    report = fit(training, code, dict(state.get("networks", {})), "the trained state")
    keep_optimizer_state(training, state)
    position = checkpoint.restore_position(training, state)
    if position.epoch_step >= len(training.batches):  # the data changed: a new epoch begins
        position.epoch_step, position.epoch_rng = 0, None
    return position, report


def keep_optimizer_state(training, state: dict) -> None:
    """Give each optimizer back its saved state for every parameter it still updates under the
    same name whose state tensors still fit its shape; the others start afresh. A checkpoint
    that does not name its optimizers' parameters (written before they were named) leaves them
    all afresh."""
    named = state.get("optimizer_params", {})
    ours = checkpoint.optimizer_parameters(training)
    for name, optimizer in training.optimizers.items():
        optimizer = getattr(optimizer, "_orig_mod", optimizer)
        saved = state.get("optimizers", {}).get(name)
        if not saved or name not in named:
            continue
        where = {key: index for index, key in enumerate(named[name]) if key is not None}
        params = [p for group in optimizer.param_groups for p in group["params"]]
        kept = {}
        for index, (key, parameter) in enumerate(zip(ours[name], params)):
            old = saved.get("state", {}).get(where.get(key, -1))
            if old is not None and all(
                    not isinstance(v, torch.Tensor) or v.dim() == 0 or v.shape == parameter.shape
                    for v in old.values()):
                kept[index] = old
        if kept:
            fresh = optimizer.state_dict()
            optimizer.load_state_dict({"state": kept, "param_groups": fresh["param_groups"]})
