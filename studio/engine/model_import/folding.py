"""Which submodules become one reusable network: those of one class, used at least twice, whose
traced graphs are the same blocks wired the same way. Whole-number settings that differ between
the uses (a width, a stride) become the network's arguments; any other difference makes a
second network of that class. Deepest modules first, so a network can hold instances of another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from studio.core.params import Arg, Int, IntTuple
from studio.core.project import INSTANCE
from studio.core.registry import get_block
from studio.engine.model_import.mapping import Sketch, module_claimants, sketch
from studio.engine.model_import.tracing import CONTAINERS, run_values, trace
from studio.engine.naming import class_name

ARG_KIND = Int(0, 1 << 20)


@dataclass
class Folded:
    """A reusable network made from a class's submodules: its name, arguments (name ->
    default), the sketch of its body (argument values replaced by ``Arg``) and, per use, the
    argument values."""

    name: str
    args: dict
    body: Sketch
    uses: dict = field(default_factory=dict)  # module path -> {arg: value}


@dataclass
class Plan:
    """How the model's modules are imported: kept whole as one block, a reusable network, or
    traced into; with the problems met on the way."""

    whole: set
    networks: dict  # name -> Folded, deepest first
    instance: dict  # module path -> network name
    problems: list


def _joined(*parts) -> str:
    return ".".join(p for p in parts if p)


def plan(model: nn.Module, inputs: dict, top_name: str, apart: frozenset = frozenset()) -> Plan:
    """Decide for every submodule of ``model``; ``inputs``: what each one received
    (``tracing.record_inputs``); ``apart``: networks (by name) not to make again, their uses
    imported as the layers they hold."""
    whole, problems = set(), []
    candidates: dict = {}
    for path, module in model.named_modules():
        if not path:
            continue
        if any(path.startswith(w + ".") for w in whole):
            continue
        if module_claimants(module):
            whole.add(path)
        elif type(module).__module__.startswith("torch.nn") and not isinstance(module,
                                                                                CONTAINERS):
            whole.add(path)
            if path in inputs:
                problems.append(f"{path}: {type(module).__name__} layer is not supported (no "
                                "block stands for it)")
        elif type(module) not in CONTAINERS and path in inputs and inputs[path].tensors:
            candidates.setdefault(type(module), []).append(path)
    result = Plan(whole, {}, {}, problems)
    taken = {top_name}
    classes = sorted(candidates, key=lambda c: -max(p.count(".") for p in candidates[c]))
    for cls in classes:
        paths = candidates[cls]
        if len(paths) < 2:
            continue
        groups: dict = {}
        for path in paths:
            body = _sketch_of(model, path, inputs, result)
            if body.problems or len(body.ops) < 2:
                continue  # problems are reported where the parent traces through it; a
                # network of one block (a converter's wrapper of one call) would add nothing
            groups.setdefault(signature(body), []).append((path, body))
        for members in groups.values():
            if len(members) < 2:
                continue
            name = class_name(cls.__name__)
            while name in taken:
                name = _next_name(name)
            taken.add(name)
            if name in apart:
                continue
            folded = _fold(name, members)
            result.networks[name] = folded
            for path in folded.uses:
                result.instance[path] = name
    return result


def _next_name(name: str) -> str:
    stem, _, number = name.rpartition("_")
    if stem and number.isdigit():
        return f"{stem}_{int(number) + 1}"
    return f"{name}_2"


def instance_lookup(plan: Plan, where: str):
    """The ``instance_of`` a sketch of the module at ``where`` needs."""
    def instance_of(path, module):
        full = _joined(where, path)
        name = plan.instance.get(full)
        if name is None:
            return None
        folded = plan.networks[name]
        outputs = [f"out{i}" if len(folded.body.outputs) > 1 else "out"
                   for i in range(1, len(folded.body.outputs) + 1)]
        return name, dict(folded.uses[full]), outputs, list(folded.body.inputs)
    return instance_of


def keeps_whole(plan: Plan, where: str):
    return lambda path, module: _joined(where, path) in plan.whole or \
        _joined(where, path) in plan.instance


def _sketch_of(model, path: str, inputs: dict, current: Plan) -> Sketch:
    module = model.get_submodule(path)
    gm = trace(module, keeps_whole(current, path), path)
    values = run_values(gm, inputs, path)
    return sketch(gm, values, path, instance_lookup(current, path))


def _settings(op) -> dict:
    """The values of an op that may differ between uses: (key -> whole number)."""
    out = {}
    if op.block == INSTANCE:
        for k, v in op.params["args"].items():
            out[("args", k)] = v
        return out
    spec = get_block(op.block)
    for prm in spec.params:
        value = op.params.get(prm.name)
        if isinstance(prm.kind, (Int, IntTuple)) and not isinstance(value, bool):
            number = _uniform(value)
            if number is not None:
                out[(prm.name,)] = number
    return out


def _uniform(value):
    if isinstance(value, int):
        return value
    if isinstance(value, tuple) and value and all(isinstance(v, int) and v == value[0]
                                                  for v in value):
        return value[0]
    return None


def signature(body: Sketch) -> tuple:
    """The structure of a sketch, the whole-number settings left out."""
    ops = []
    for op in body.ops:
        loose = _settings(op)
        fixed = tuple(sorted((k, repr(v)) for k, v in op.params.items()
                             if (k,) not in loose and k != "args"))
        if op.block == INSTANCE:
            fixed = (op.params["network"], tuple(sorted(op.params["args"])))
        ops.append((op.id, op.block, op.path, op.shares, fixed, tuple(op.inputs),
                    tuple(sorted(loose)), repr(op.state)))
    return tuple(body.inputs), tuple(ops), tuple(body.outputs)


def _fold(name: str, members: list) -> Folded:
    first = members[0][1]
    vectors: dict = {}
    for index, op in enumerate(first.ops):
        for key in _settings(op):
            values = tuple(_settings(body.ops[index])[key] for _, body in members)
            if len(set(values)) > 1:
                vectors[(index, key)] = values
    names: dict = {}  # value vector -> argument name
    taken: set = set()
    arg_of: dict = {}
    for (index, key), values in vectors.items():
        if values not in names:
            base = key[-1]
            arg = base if base not in taken else f"{first.ops[index].id}_{base}"
            while arg in taken:
                arg += "_"
            taken.add(arg)
            names[values] = arg
        arg_of[(index, key)] = names[values]
    args = {arg: values[0] for values, arg in names.items()}
    for (index, key), arg in arg_of.items():
        op = first.ops[index]
        if key[0] == "args":
            op.params["args"][key[1]] = Arg(arg)
        else:
            op.params[key[0]] = Arg(arg)
    uses = {path: {arg: values[i] for values, arg in names.items()}
            for i, (path, _) in enumerate(members)}
    return Folded(name, args, first, uses)
