"""Project -> Python source: ``model.py`` (one nn.Module class per network) and ``train.py``.

This is the only translation of a project into code. Studio trains by executing exactly this
source (see ``loader``), and Export writes it to disk, so the two cannot drift; the one part
Export leaves out is the pass Studio's probes watch, written after the script's end
(``GeneratedCode.exported_train_source``). The module imports
no torch: the editor's code view can run it while torch is still loading.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from studio.core.inference import Analysis, NodeResult, analyze, analyze_symbolic
from studio.core.project import INPUT, INSTANCE, OUTPUT, Network, Project
from studio.core.registry import TensorType, Values, get_block, role_of
from studio.core.symbolic import Sym, symbols_in
from studio.engine import library
from studio.engine.forward_code import (
    CodegenError,
    SourceLines,
    VariableNames,
    ancestors,
    attribute_name,
    frozen_line,
    gather_args,
    instance_input_ports,
    instance_ports,
    preferred_name,
    readable_order,
)
from studio.engine.naming import RESERVED, Namer, class_name, identifier
from studio.engine.render import call, shape_comment, value
from studio.engine.training_code import STUDIO_ONLY, write_training

__all__ = ["CodegenError", "GeneratedCode", "generate", "lower"]

SOURCE_ROLES = ("data",)
TRAINING_ROLES = ("data", "loss", "optimizer", "output")


@dataclass
class GeneratedCode:
    model_source: str
    train_source: str
    classes: dict  # network name -> class name
    data_files: list  # files under resources/data the training script reads
    # (file, 1-based line) -> (graph key, node id): which node wrote a line
    line_map: dict = field(default_factory=dict)
    metric_names: list = field(default_factory=list)
    # network name -> (input names, output names) in the order forward takes and returns them
    ports: dict = field(default_factory=dict)

    @property
    def exported_train_source(self) -> str:
        """train.py as Export writes it: without the Studio-only tail (``Training.inspect``)."""
        head, _, _ = self.train_source.partition(STUDIO_ONLY)
        return head.rstrip() + "\n"

    def node_lines(self, graph: str, node_id: str) -> dict:
        """{file: [line, ...]} of the lines generated for a node."""
        out: dict = {}
        for (f, line), (g, n) in self.line_map.items():
            if g == graph and n == node_id:
                out.setdefault(f, []).append(line)
        return out


# ---------------------------------------------------------------------------------------------
# Lowering: layers placed in the training graph become a network class of their own
# ---------------------------------------------------------------------------------------------

def _role(block: str) -> str:
    if block == INSTANCE:
        return "instance"
    return get_block(block).category


def lower(project: Project) -> tuple[Project, dict]:
    """A copy of the project in which each connected group of layers placed directly in the
    training graph is a network, used through one instance. Returns it and a map from each moved
    node id to the instance node id that now holds it."""
    lowered = copy.deepcopy(project)
    t = lowered.training
    layers = [n for n in t.nodes.values()
              if _role(n.block) not in TRAINING_ROLES + ("instance",)]
    layer_ids = {n.id for n in layers}
    parent = {n: n for n in layer_ids}

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for e in t.edges:
        if e.src in layer_ids and e.dst in layer_ids:
            parent[find(e.src)] = find(e.dst)
    for n in layers:
        if n.shares and n.shares in layer_ids:
            parent[find(n.id)] = find(n.shares)
    groups: dict[str, list[str]] = {}
    for n in t.nodes:
        if n in layer_ids:
            groups.setdefault(find(n), []).append(n)

    def has_module(node_id):
        node = t.nodes[node_id]
        spec = get_block(node.block)
        return spec.module is not None

    trainable_groups = [g for g in groups.values() if any(has_module(n) for n in g)]
    moved: dict[str, str] = {}
    taken_names = set(lowered.networks) | {class_name(n) for n in lowered.networks}
    for index, members in enumerate(trainable_groups, 1):
        base = project.name if len(trainable_groups) == 1 else \
            (t.nodes[members[0]].title or f"{project.name} part {index}")
        name = class_name(base)
        while name in taken_names:
            name += "_"
        taken_names.add(name)
        net = Network(name)
        net.project = lowered
        lowered.networks[name] = net
        member_set = set(members)
        inst_id = t.new_id(name.lower())
        for m in members:
            net.nodes[m] = t.nodes.pop(m)
            moved[m] = inst_id
        inputs: dict[tuple, str] = {}
        outputs: dict[tuple, str] = {}
        namer = Namer(set(net.nodes))
        new_edges = []
        for e in t.edges:
            inside_src, inside_dst = e.src in member_set, e.dst in member_set
            if inside_src and inside_dst:
                net.edges.append(e)
            elif inside_dst:
                key = (e.src, e.src_port)
                if key not in inputs:
                    src_node = t.nodes[e.src]
                    label = e.src_port if src_node.block != INSTANCE else (src_node.title or e.src)
                    inputs[key] = namer.take(identifier(label))
                    net.add(INPUT, id=inputs[key])
                    new_edges.append(type(e)(e.src, e.src_port, inst_id, inputs[key]))
                net.edges.append(type(e)(inputs[key], "out", e.dst, e.dst_port))
            elif inside_src:
                key = (e.src, e.src_port)
                if key not in outputs:
                    node = net.nodes[e.src]
                    label = node.title or e.src
                    if len(get_block(node.block).output_ports(_values(node))) > 1:
                        label = f"{label}_{e.src_port}"
                    outputs[key] = namer.take(identifier(label))
                    net.add(OUTPUT, id=outputs[key])
                    net.edges.append(type(e)(e.src, e.src_port, outputs[key], "x"))
                new_edges.append(type(e)(inst_id, outputs[key], e.dst, e.dst_port))
            else:
                new_edges.append(e)
        t.edges = new_edges
        t.nodes[inst_id] = type(next(iter(net.nodes.values())))(
            inst_id, INSTANCE, {"network": name, "args": {}})
    return lowered, moved


def _values(node):
    return Values(dict(node.params))


# ---------------------------------------------------------------------------------------------
# Forward code with readable variable names
# ---------------------------------------------------------------------------------------------

def _output_names(net: Network, node_id: str) -> dict:
    """{port: name} for outputs of a node that go only to Output nodes of a network with several
    outputs: the value is named as it is returned (``mu``, ``logvar``)."""
    if len(net.outputs()) < 2:
        return {}
    names: dict = {}
    for e in net.edges:
        if e.src == node_id:
            dst = net.nodes.get(e.dst)
            if dst is None or dst.block != OUTPUT:
                names[e.src_port] = None
            elif names.get(e.src_port, "") is not None:
                names[e.src_port] = identifier(dst.id)
    return {k: v for k, v in names.items() if v}


# ---------------------------------------------------------------------------------------------
# Network classes
# ---------------------------------------------------------------------------------------------

@dataclass
class _ClassInfo:
    name: str
    dims: list  # (input id, dim index) passed to the constructor, in order
    args: list  # argument names passed as keywords


class _Generator:
    def __init__(self, project: Project, analysis: Analysis | None = None):
        """``analysis``: the caller's analysis of ``project`` when it has one (the editor's);
        the lowered project is analysed again only when lowering moved layers into a network of
        their own, so a call analyses at most once itself."""
        self.original = project
        first = analysis if analysis is not None else analyze(project)
        if first.problems:
            raise CodegenError(
                f"the project has {len(first.problems)} problem(s); fix them first: "
                + "; ".join(str(p) for p in first.problems[:5]), first.problems)
        self.project, self.moved = lower(project)
        self.analysis: Analysis = analyze(self.project) if self.moved else first
        if self.analysis.problems:  # lowering must not create problems; report them honestly
            raise CodegenError("internal: " + "; ".join(str(p) for p in self.analysis.problems[:5]),
                               self.analysis.problems)
        self.classes: dict[str, _ClassInfo] = {}
        self.ports: dict[str, tuple] = {}
        # one namer for every class in the file: "my net" and "My Net" must not collide
        class_names = Namer(RESERVED)
        self.class_of = {name: class_names.take(class_name(name)) for name in self.project.networks}
        self.helpers: list[str] = []
        self.model = SourceLines("model.py")
        self.train = SourceLines("train.py")

    def need(self, names) -> None:
        for n in names:
            if n not in self.helpers:
                self.helpers.append(n)

    # origin of a node of the lowered project in the user's project
    def origin(self, graph_key: str, node_id: str) -> tuple:
        return (graph_key, node_id)

    def network_order(self) -> list[str]:
        """Networks used by the training graph, nested ones before their users."""
        order: list[str] = []

        def visit(name, stack=()):
            if name in order or name in stack:
                return
            net = self.project.networks[name]
            for node in net.nodes.values():
                if node.block == INSTANCE:
                    visit(node.params["network"], stack + (name,))
            order.append(name)

        for node in self.project.training.nodes.values():
            if node.block == INSTANCE:
                visit(node.params["network"])
        return order

    def rows_for(self, net: Network) -> tuple[dict, _ClassInfo, list]:
        """Rows to write a network's class from, its class info and its constructor parameters."""
        sigs = self.analysis.instances.get(net.name, [])
        generic = bool(net.args) or len(sigs) > 1
        cname = self.class_of[net.name]
        if not generic:
            rows: dict[str, NodeResult] = {}
            for r in self.analysis.rows:
                if r.graph == net.name and r.node.id not in rows:
                    rows[r.node.id] = r
            return rows, _ClassInfo(cname, [], []), []
        first_inputs = dict(sigs[0][1])
        inputs = net.inputs()
        sym_inputs, dim_names = {}, {}
        for inp in inputs:
            t: TensorType = first_inputs[inp.id]
            prefix = "in_" if len(inputs) == 1 else f"{identifier(inp.id)}_"
            names = _dim_names(t.rank)
            dims = []
            for i, dn in enumerate(names):
                sym = prefix + dn
                dim_names[sym] = (inp.id, i)
                dims.append(Sym(sym))
            sym_inputs[inp.id] = TensorType(tuple(dims), t.dtype, t.kind)
        arg_syms = {a: Sym(identifier(a)) for a in net.args}
        result = analyze_symbolic(self.project, net, sym_inputs, arg_syms)
        if result.problems:
            raise CodegenError(f"network {net.name} cannot be written as one class for all its "
                               f"uses: {result.problems[0]}", result.problems)
        rows = {r.node.id: r for r in result.rows if r.depth == 0}
        return rows, _ClassInfo(cname, [], list(net.args)), [dim_names, arg_syms]

    @property
    def any_frozen(self) -> bool:
        """Whether a node is frozen: then each optimizer takes only the parameters that train."""
        graphs = [self.project.training, *self.project.networks.values()]
        return any(n.frozen for g in graphs for n in g.nodes.values())

    def emit_network(self, net: Network) -> None:
        rows, info, generic = self.rows_for(net)
        outputs = net.outputs()
        needed = ancestors(net, [o.id for o in outputs])
        order = [n for n in readable_order(net) if n in needed]
        attrs = Namer(RESERVED)
        attr_of: dict[str, str] = {}
        init: list[tuple[str, tuple]] = []
        used_symbols: set = set()
        for node_id in order:
            node = net.nodes[node_id]
            row = rows[node_id]
            if node.shares or node.block in (INPUT, OUTPUT):
                continue
            ctor = self.constructor(node, row)
            if ctor is None:
                continue
            attr = attrs.take(attribute_name(node))
            attr_of[node_id] = attr
            used_symbols |= symbols_in(_ctor_values(node, row, self))
            init.append((f"self.{attr} = {ctor}", (net.name, node_id)))
            after = role_of(node.block, "after_init")
            statement = after.code(row.values, f"self.{attr}") if after else None
            if statement:
                init.append((statement, (net.name, node_id)))
                self.need(after.helpers)
            if node.frozen:
                init.append((frozen_line(f"self.{attr}"), (net.name, node_id)))
        for node_id in order:
            node = net.nodes[node_id]
            if node.shares:
                attr_of[node_id] = attr_of[node.shares]
        params = []
        if generic:
            dim_names, arg_syms = generic
            dims = [s for s in dim_names if s in used_symbols]
            info.dims = [dim_names[s] for s in dims]
            params = dims + [f"{identifier(a)}={value(net.args[a].default)}" for a in net.args]
        self.classes[net.name] = info
        src = self.model
        src.add(f"class {info.name}(nn.Module):")
        doc = f'"""Network {net.name!r}'
        if params:
            doc += ": one class for every place it is used; sizes come in as arguments"
        src.add(doc + '."""', indent=1)
        src.add()
        src.add(f"def __init__({', '.join(['self'] + params)}):", indent=1)
        src.add("super().__init__()", indent=2)
        for line, origin in init:
            src.add(line, origin, indent=2)
        src.add()
        # forward ---------------------------------------------------------------------------
        inputs = net.inputs()
        vars_ = VariableNames(net, needed)
        in_names, out_names = [], []
        for inp in inputs:
            in_names.append(vars_.bind((inp.id, "out"), identifier(inp.id)))
        src.add(f"def forward({', '.join(['self'] + in_names)}):", indent=1)
        returns = []
        for node_id in order:
            node = net.nodes[node_id]
            row = rows[node_id]
            if node.block == INPUT:
                continue
            if node.block == OUTPUT:
                out_names.append(node_id)
                returns.append(vars_.read(next((e.src, e.src_port) for e in net.edges
                                               if e.dst == node_id)))
                continue
            line = self.forward_line(net, node, row, vars_, attr_of.get(node_id),
                                     _output_names(net, node_id))
            if line:
                src.add(line, (net.name, node_id), indent=2)
        src.add(f"return {', '.join(returns)}", indent=2)
        self.ports[net.name] = ([inp.id for inp in inputs], out_names)
        src.add()
        src.add()

    def constructor(self, node, row) -> str | None:
        if node.block == INSTANCE:
            info = self.classes[row.values.network]
            args = [value(row.inputs[inp].shape[i]) for inp, i in info.dims]
            net = self.project.networks[row.values.network]
            for a in info.args:
                v = row.args[a]
                if isinstance(v, Sym) or v != net.args[a].default:
                    args.append(f"{identifier(a)}={value(v)}")
            return f"{info.name}({', '.join(args)})"
        spec = get_block(node.block)
        if spec.module is None:
            return None
        c = spec.module(row.values, row.inputs)
        if c is None:
            return None
        self.need(spec.helpers)
        return call(c)

    def forward_line(self, graph, node, row, vars_: VariableNames, attr, returned=None) -> str | None:
        if node.block == INSTANCE:
            ports = instance_input_ports(self.project, row.values.network)
            out_ports = instance_ports(self.project, row.values.network, "output")
            args, keys = gather_args(graph, node.id, ports, vars_)
            expr = f"self.{attr}({', '.join(args[p.name] for p in ports)})"
        else:
            spec = get_block(node.block)
            ports = spec.input_ports(row.values)
            out_ports = [p.name for p in spec.output_ports(row.values)]
            args, keys = gather_args(graph, node.id, ports, vars_)
            self.need(spec.helpers)
            expr = spec.expression(row.values, args, f"self.{attr}" if attr else None)
        vars_.release(keys)
        if len(out_ports) == 1 and expr in [vars_.read(k) for k in keys]:
            vars_.alias((node.id, out_ports[0]), expr)  # identity: no line needed
            return None
        inherit = vars_.read(keys[0]) if keys else None
        targets = [vars_.bind((node.id, p), (returned or {}).get(p) or preferred_name(
            node, p, len(out_ports), vars_.uses.get((node.id, p), 0)), inherit)
            for p in out_ports]
        comment = shape_comment([row.outputs[p] for p in out_ports if p in row.outputs])
        return f"{', '.join(targets)} = {expr}{comment}"

    # -------------------------------------------------------------------------------------------
    def model_file(self) -> None:
        order = self.network_order()
        body = SourceLines("body")
        self.model = body
        for name in order:
            self.emit_network(self.project.networks[name])
        header = SourceLines("model.py")
        header.add(f'"""PyTorch networks of the Studio project {self.original.name!r}.')
        header.add("")
        header.add("Generated by Studio; runs with torch alone. One class per network.")
        header.add('"""')
        header.add("")
        text = "\n".join(body.lines)
        helper_src = library.source_of([h for h in self.helpers if library.is_model_helper(h)])
        used = text + helper_src
        if "math." in helper_src:
            header.add("import math")
            header.add("")
        for module, name in (("torch", "torch."), ("torch.nn as nn", "nn."),
                             ("torch.nn.functional as F", "F.")):
            if name in used:
                header.add(f"import {module}")
        header.add("")
        header.add("")
        if helper_src:
            header.add(helper_src.rstrip())
            header.add("")
            header.add("")
        offset = len(header.lines)
        header.lines += body.lines
        header.origin.update({k + offset: v for k, v in body.origin.items()})
        self.model = header


def _dim_names(rank: int) -> list[str]:
    if rank == 1:
        return ["features"]
    if rank == 2:
        return ["channels", "length"]
    if rank == 3:
        return ["channels", "height", "width"]
    if rank == 4:
        return ["channels", "depth", "height", "width"]
    return [f"dim{i}" for i in range(rank)]


def _ctor_values(node, row, gen: _Generator):
    """The values a node's constructor uses (to find which input sizes a class needs)."""
    if node.block == INSTANCE:
        info = gen.classes[row.values.network]
        return tuple(row.inputs[inp].shape[i] for inp, i in info.dims) + tuple(
            row.args[a] for a in info.args)
    spec = get_block(node.block)
    c = spec.module(row.values, row.inputs) if spec.module else None
    if c is None:
        return ()
    return tuple(c.args) + tuple(c.kwargs.values())


def generate(project: Project, analysis: Analysis | None = None) -> GeneratedCode:
    """Write the project's model.py and train.py. ``analysis``: the project's current analysis,
    when the caller has one (the editor's session), so it is not done again."""
    gen = _Generator(project, analysis)
    gen.model_file()
    metrics = write_training(gen)
    line_map = {("model.py", k): v for k, v in gen.model.origin.items()}
    line_map.update({("train.py", k): v for k, v in gen.train.origin.items()})
    # nodes moved into a generated network map back to the training graph
    for key, (g, n) in list(line_map.items()):
        if n in gen.moved and g in gen.project.networks and g not in project.networks:
            line_map[key] = ("training", n)
    data_files = set()
    for node in project.training.nodes.values():
        data = role_of(node.block, "data")
        if data is not None:
            data_files.update(data.files(Values(get_block(node.block).validate(node.params))))
    return GeneratedCode(gen.model.text(), gen.train.text(),
                         {k: v.name for k, v in gen.classes.items()}, sorted(data_files),
                         line_map, metrics, gen.ports)
