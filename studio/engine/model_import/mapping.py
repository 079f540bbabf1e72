"""One traced graph as Studio blocks: each layer, function and method call becomes the block whose
``ImportRule`` claims it (``core.import_rules``), with its parameters, checked by the block's own
shape rule against the traced shapes. What no block stands for is collected, with its module
path, rather than raised, so one message can list everything a model lacks.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import torch
from torch import fx, nn

from studio.core.import_rules import NotImportable, ParamArg, TensorArg
from studio.core.params import ParamError
from studio.core.project import INSTANCE
from studio.core.registry import ShapeError, TensorType, Values, all_blocks
from studio.engine.model_import.tracing import BATCH, Traced

PASS_THROUGH = ("contiguous",)  # tensor methods that change nothing a Studio graph sees


@dataclass
class Op:
    """A node to be: ``block`` with ``params`` (for a network instance, its network and argument
    values), its input wires ``(port, source op, source port or None for the first)``, the path
    of the module it holds relative to the traced module ("" for a call) and, for a tensor the
    call reads directly, ``state``: torch name -> the block's module name."""

    id: str
    block: str
    params: dict
    inputs: list
    path: str = ""
    state: dict | None = None
    shares: str | None = None  # a module called a second time: the op that holds it


@dataclass
class Sketch:
    """A traced module as blocks: its Input ids, ops in order and outputs ``(op, port)``."""

    inputs: list
    ops: list
    outputs: list
    problems: list = field(default_factory=list)


_REFUSED = object()  # the value of a refused node that is not a tensor


@dataclass(frozen=True)
class _Tensor:
    op: str
    port: str | None
    shape: tuple  # per sample
    floating: bool = True


@dataclass(frozen=True)
class _Several:
    op: str
    ports: tuple
    shapes: tuple


@dataclass(frozen=True)
class _Param:
    arg: ParamArg
    key: str  # its state_dict key relative to the traced module


def function_name(fn) -> str:
    """How a function is written in code: ``torch.flatten``, ``torch.nn.functional.relu``,
    ``operator.add``."""
    name = getattr(fn, "__name__", str(fn))
    if getattr(operator, name, None) is fn:
        return f"operator.{name}"
    if getattr(torch, name, None) is fn:
        return f"torch.{name}"
    if getattr(torch.nn.functional, name, None) is fn:
        return f"torch.nn.functional.{name}"
    return f"{getattr(fn, '__module__', '') or ''}.{getattr(fn, '__qualname__', name)}".lstrip(".")


def module_attrs(module: nn.Module) -> dict:
    """A module's plain attributes and its tensors' shapes (None for an absent one)."""
    out = {}
    for name, value in vars(module).items():
        if not name.startswith("_") and _plain(value):
            out[name] = tuple(value) if isinstance(value, list) else value
    for name, value in list(module._parameters.items()) + list(module._buffers.items()):
        out[name] = None if value is None else tuple(value.shape)
    return out


def _plain(value) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def claimants(kind: str, name: str, qualname: str = "") -> list:
    """The block declarations whose import rule claims this layer, function or method."""
    return [s for s in all_blocks() if s.imports and s.imports.claims(kind, name, qualname)]


def module_claimants(module: nn.Module) -> list:
    cls = type(module)
    return claimants("module", cls.__name__, f"{cls.__module__}.{cls.__qualname__}")


class _Mapper:
    def __init__(self, gm: fx.GraphModule, values: dict, where: str, instance_of):
        self.gm = gm
        self.values = values
        self.where = where
        self.instance_of = instance_of  # (path, module) -> (network, args, outputs, inputs) | None
        self.env: dict = {}
        self.sketch = Sketch([], [], [])
        self.holder: dict = {}  # module path -> op id holding it

    def place(self, node: fx.Node) -> str:
        stack = node.meta.get("nn_module_stack") or {}
        inner = next(reversed(stack), "") if stack else ""
        path = node.target if node.op == "call_module" else inner
        full = ".".join(p for p in (self.where, path) if p)
        return full or "(the model's forward)"

    def problem(self, node: fx.Node, what: str) -> None:
        self.sketch.problems.append(f"{self.place(node)}: {what}")

    # values --------------------------------------------------------------------------------
    def view(self, x):
        """An argument as a rule sees it."""
        if isinstance(x, fx.Node):
            v = self.env.get(x.name)
            if isinstance(v, _Tensor):
                return TensorArg(v.shape)
            if isinstance(v, _Param):
                return v.arg
            if isinstance(v, _Several):
                return [TensorArg(s) for s in v.shapes]
            return v
        if isinstance(x, (list, tuple)):
            return type(x)(self.view(i) for i in x)
        if isinstance(x, dict):
            return {k: self.view(v) for k, v in x.items()}
        return x

    def tensors_in(self, node: fx.Node) -> list:
        found = []

        def walk(x):
            if isinstance(x, fx.Node):
                v = self.env.get(x.name)
                if isinstance(v, _Tensor):
                    found.append(v)
            elif isinstance(x, (list, tuple)):
                for i in x:
                    walk(i)

        walk(list(node.args) + list(node.kwargs.values()))
        return found

    def params_in(self, node: fx.Node) -> list:
        return [self.env[a.name] for a in node.all_input_nodes
                if isinstance(self.env.get(a.name), _Param)]

    def traced(self, node: fx.Node):
        return self.values.get(node.name)

    # nodes ---------------------------------------------------------------------------------
    def run(self) -> Sketch:
        for node in self.gm.graph.nodes:
            handler = getattr(self, f"on_{node.op}")
            handler(node)
        return self.sketch

    def on_placeholder(self, node):
        value = self.traced(node)
        self.sketch.inputs.append(node.name)
        if not isinstance(value, Traced):  # ``*tensors``: a network's inputs are single tensors
            self.problem(node, f"takes {type(value).__name__} {node.name!r}, not one tensor")
            self.refused(node)
            return
        self.env[node.name] = _Tensor(node.name, None, value.shape[1:], value.floating)

    def on_get_attr(self, node):
        value = self.gm
        for part in node.target.split("."):
            value = getattr(value, part)
        if isinstance(value, torch.Tensor):
            self.env[node.name] = _Param(ParamArg(tuple(value.shape), node.target.rsplit(".")[-1]),
                                         node.target)
        else:
            self.env[node.name] = value

    def on_output(self, node):
        def walk(x):
            if isinstance(x, (list, tuple)):
                for i in x:
                    walk(i)
                return
            v = self.env.get(x.name) if isinstance(x, fx.Node) else None
            if isinstance(v, _Tensor):
                self.sketch.outputs.append((v.op, v.port))
            elif v is not _REFUSED and not (isinstance(x, fx.Node) and v is None
                                            and x.name in self.env):
                # (a value already refused is not reported twice)
                self.problem(node, f"returns {type(v).__name__ if v is not None else x!r}, not a "
                                   "tensor")
        walk(node.args[0])

    def on_call_module(self, node):
        module = self.gm.get_submodule(node.target)
        if self.settle(node):
            return
        inst = self.instance_of(node.target, module)
        if inst is not None:
            network, args, outputs, ports = inst
            # each tensor to the network's Input of its position (a network may take several)
            inputs = [(port, t.op, t.port) for port, t in zip(ports, self.tensors_in(node))]
            op = Op(node.name, INSTANCE, {"network": network, "args": args}, inputs, node.target)
            self.add(node, op, outputs)
            return
        a = module_attrs(module)
        a["kind"] = "module"
        self.apply(node, module_claimants(module), a, f"{type(module).__name__} layer",
                   path=node.target)

    def on_call_function(self, node):
        if self.settle(node):
            return
        name = function_name(node.target)
        if node.target is operator.getitem and isinstance(self.env.get(node.args[0].name),
                                                          _Several):
            several = self.env[node.args[0].name]
            i = node.args[1]
            self.env[node.name] = _Tensor(several.op, several.ports[i], several.shapes[i])
            return
        self.apply(node, claimants("function", name), self.call_attrs(node), f"{name}(...)")

    def on_call_method(self, node):
        if self.settle(node):
            return
        if node.target in PASS_THROUGH:
            self.env[node.name] = self.env[node.args[0].name]
            return
        self.apply(node, claimants("method", node.target), self.call_attrs(node),
                   f"tensor method .{node.target}()")

    def settle(self, node) -> bool:
        """A node whose value is not a tensor (a size, a shape) is a constant: no block."""
        if self.after_refused(node):
            return True
        value = self.traced(node)
        if _has_tensor(value):
            for t in _flat(value):
                if isinstance(t, Traced) and (not t.shape or t.shape[0] != BATCH):
                    self.problem(node, "makes a tensor whose first dimension is not the batch "
                                       "(Studio's blocks keep the batch dimension first)")
                    self.env[node.name] = None  # its shape is not per sample: stop here
                    return True
            return False
        self.env[node.name] = value
        return True

    def call_attrs(self, node) -> dict:
        a = {"kind": "method" if node.op == "call_method" else "function",
             "args": tuple(self.view(x) for x in node.args)}
        a.update({k: self.view(v) for k, v in node.kwargs.items()})
        return a

    # blocks --------------------------------------------------------------------------------
    def apply(self, node, specs, a, what: str, path: str = "") -> None:
        if self.after_refused(node):
            return
        ins = self.tensors_in(node)
        value = self.traced(node)
        a["in_shapes"] = tuple(t.shape for t in ins)
        a["in_shape"] = ins[0].shape if ins else ()
        outs = [t.shape[1:] for t in _flat(value) if isinstance(t, Traced)]
        a["out_shape"] = outs[0] if outs else ()
        params_read = self.params_in(node)
        reasons = []
        for spec in specs:
            rule = spec.imports
            if params_read and not rule.takes_parameters:
                continue
            try:
                found = self.fit(spec, rule.params(a), ins, value)
            except (NotImportable, ParamError, ShapeError, KeyError, TypeError) as err:
                reasons.append(f"{spec.id}: {err}")
                continue
            params, ports = found
            state = rule.state(a) if rule.state else None
            if params_read:
                state = {p.key: (state or {}).get(p.arg.name, p.arg.name) for p in params_read}
                path = ""
            op = Op(node.name, spec.id, params,
                    [(port, t.op, t.port) for port, t in ports], path, state)
            self.add(node, op, found_outputs(spec, params))
            return
        if params_read and not reasons:
            reasons.append("it reads a learnable tensor directly, and no block that holds one "
                           "stands for it")
        detail = f" ({'; '.join(reasons)})" if reasons else " (no block stands for it)"
        self.problem(node, f"{what} is not supported{detail}")
        self.refused(node)

    def refused(self, node) -> None:
        """Stand in for a refused node's value: a tensor of its shape, so what follows it is
        checked (and reported) too; anything else as refused, so what reads it is not."""
        value = self.traced(node)
        self.env[node.name] = (_Tensor("", None, value.shape[1:], value.floating)
                               if isinstance(value, Traced) else _REFUSED)

    def after_refused(self, node) -> bool:
        """Whether ``node`` reads a refused value that is not a tensor (then it is refused
        silently: its own problem is the one already reported)."""
        if any(self.env.get(n.name) is _REFUSED for n in node.all_input_nodes):
            self.refused(node)
            return True
        return False

    def fit(self, spec, params: dict, ins: list, value):
        """The block's validated parameters and port wiring, if its shape rule gives the traced
        output; raises otherwise."""
        params = spec.validate(params)
        p = Values(params)
        ports = spec.input_ports(p)
        types = [TensorType(t.shape, "float" if t.floating else "long") for t in ins]
        wiring, shapes = [], {}
        if len(ports) == 1 and ports[0].multi:
            wiring = [(ports[0].name, t) for t in ins]
            shapes[ports[0].name] = types
        else:
            if len(ins) > len(ports) or len(ins) < sum(1 for q in ports if not q.optional):
                raise NotImportable(f"takes {len(ports)} inputs, the call has {len(ins)}")
            for q, t, tt in zip(ports, ins, types):
                wiring.append((q.name, t))
                shapes[q.name] = tt
        if spec.check:
            spec.check(p, shapes)
        got = spec.shape(p, shapes) if spec.shape else {}
        expected = [t.shape[1:] for t in _flat(value) if isinstance(t, Traced)]
        out_ports = [q.name for q in spec.output_ports(p)]
        made = [tuple(got[q].shape) for q in out_ports if q in got]
        if made != [tuple(s) for s in expected]:
            raise NotImportable(f"gives {made}, the layer {expected}")
        return params, wiring

    def add(self, node, op: Op, outputs) -> None:
        if op.path and op.block != INSTANCE and _stateful(self.gm.get_submodule(op.path)):
            if op.path in self.holder:  # a layer with weights called again: a linked duplicate
                op.shares = self.holder[op.path]
            else:
                self.holder[op.path] = op.id
        self.sketch.ops.append(op)
        value = self.traced(node)
        tensors = [t for t in _flat(value) if isinstance(t, Traced)]
        if isinstance(value, Traced):
            self.env[node.name] = _Tensor(op.id, outputs[0] if outputs else None,
                                          value.shape[1:], value.floating)
        else:
            self.env[node.name] = _Several(op.id, tuple(outputs),
                                           tuple(t.shape[1:] for t in tensors))


def _stateful(module: nn.Module) -> bool:
    return any(True for _ in module.parameters()) or any(True for _ in module.buffers())


def found_outputs(spec, params) -> list:
    return [q.name for q in spec.output_ports(Values(params))]


def _flat(value) -> list:
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            out += _flat(v)
        return out
    return [value]


def _has_tensor(value) -> bool:
    return any(isinstance(v, Traced) for v in _flat(value))


def sketch(gm: fx.GraphModule, values: dict, where: str, instance_of) -> Sketch:
    """``gm`` (traced, with its nodes' ``values``) as blocks; ``where``: its path in the model;
    ``instance_of(path, module)``: ``(network, args, output ports, input ports)`` for a submodule
    that is an instance of a reusable network, else None."""
    return _Mapper(gm, values, where, instance_of).run()
