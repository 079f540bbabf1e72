"""Shape, cost and receptive-field inference, and validation, as plain integer arithmetic.

``analyze(project)`` walks the training graph in topological order, descends into every network
instance with the shapes flowing into it, and returns one row per node (output shapes, parameter
count, multiply-adds, receptive field) and every problem found, each naming its node and field.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from studio.core.params import Arg, ParamError
from studio.core.project import INPUT, INSTANCE, Graph, Network, Node, Project, node_ports
from studio.core.registry import LOSS, RF, ShapeError, TensorType, Values, get_block, spec_of
from studio.core.symbolic import Sym

ERROR = "error"  # the graph cannot become code nor train
NOT_READY = "not ready"  # the code can be written, but there is nothing to train yet
WARNING = "warning"  # it can train, but probably not as hoped (memory)


@dataclass
class Problem:
    graph: str  # "training" or a network's name
    node: str | None
    field: str | None
    message: str
    path: str = ""  # where it was found, through network instances ("resnet/layer1")
    severity: str = ERROR

    def __str__(self):
        where = self.graph if not self.node else f"{self.graph}/{self.node}"
        if self.path and self.path.rstrip("/") != where:
            where = f"{where} (in {self.path.rstrip('/')})"
        text = f"{self.field + ': ' if self.field else ''}{self.message}"
        if where == "training":
            return text  # of the training graph as a whole: "the training graph has no loss"
        return f"{where}: {text}"


@dataclass
class Flow:
    type: TensorType
    rf: object = None  # (sizes, jumps, starts) per spatial dim, "global", or None


@dataclass
class NodeResult:
    graph: str
    path: str
    node: Node
    depth: int
    values: Values | None = None
    inputs: dict = field(default_factory=dict)  # port -> TensorType (list for multi ports)
    outputs: dict = field(default_factory=dict)  # port -> TensorType
    params: int = 0
    weights: int = 0  # the parameters its inputs call for (a linked duplicate's are not its own)
    macs: int = 0
    rf: object = None
    ok: bool = False
    args: dict | None = None  # a network instance's resolved argument values

    @property
    def output_shape(self) -> str:
        return ", ".join(t.describe() for t in self.outputs.values())

    @property
    def rf_text(self) -> str:
        if self.rf == "global":
            return "all"
        if not self.rf:
            return ""
        return "x".join(str(s) for s in self.rf[0])


_serials = itertools.count(1)


@dataclass
class Analysis:
    rows: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    total_params: int = 0
    total_macs: int = 0
    # network name -> list of (argument values, input types) it was instantiated with
    instances: dict = field(default_factory=dict)
    # (graph key, wire) -> why, for each wire from a node or output that no longer exists
    broken_wires: dict = field(default_factory=dict)
    serial: int = field(default_factory=lambda: next(_serials))
    # an analysis brought up to date after an edit (``core.incremental``) names the one it
    # follows and the (graph key, node id) whose rows or problems may differ from it, so views
    # redraw only those; None: a fresh analysis, anything may differ
    follows: int | None = None
    changed: frozenset | None = None

    def result(self, graph: str, node_id: str) -> NodeResult | None:
        """The first row for a node (for a network's node: as its first instance sees it)."""
        for row in self.rows:
            if row.graph == graph and row.node.id == node_id:
                return row
        return None

    def problems_for(self, graph: str, node_id: str) -> list:
        return [p for p in self.problems if p.graph == graph and p.node == node_id]

    @property
    def ok(self) -> bool:
        return not self.problems


def topological_order(graph: Graph) -> tuple[list[str], list[str]]:
    """Nodes in dependency order, and the nodes left over: those on cycles and downstream of one.

    The order finishes a chain before it starts a parallel branch (of the nodes ready to run,
    the one made ready last goes first; ties in insertion order), so tables and generated code
    read one path at a time.
    """
    index = {n: i for i, n in enumerate(graph.nodes)}
    indeg = {n: 0 for n in graph.nodes}
    succ: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for e in graph.edges:
        if e.src in indeg and e.dst in indeg:
            indeg[e.dst] += 1
            succ[e.src].append(e.dst)  # once per wire, as indeg counts them
    stack = sorted((n for n in graph.nodes if indeg[n] == 0), key=index.get, reverse=True)
    order = []
    while stack:
        n = stack.pop()
        order.append(n)
        ready = []
        for m in succ[n]:
            indeg[m] -= 1
            if indeg[m] == 0:
                ready.append(m)
        stack += sorted(ready, key=index.get, reverse=True)
    return order, [n for n in graph.nodes if indeg[n] > 0]


def broken_wires(graph: Graph) -> list[tuple]:
    """(wire, why) for each wire whose source node or output port no longer exists.

    A Dataset switched from digits to csv has outputs x and label, no 'image'. Its wire into
    conv1 stays in the document, as node editors keep an orphaned pin: switching back (or
    undo) mends it, and nothing the user wired is lost without being seen. It is an error
    until it is rewired or deleted.
    """
    out = []
    for e in graph.edges:
        why = _wire_break(graph, e, _output_names(graph, e.src) if e.src in graph.nodes else None)
        if why is not None:
            out.append((e, why))
    return out


def _output_names(graph: Graph, node_id: str) -> list | None:
    """The names of a node's outputs; None when they cannot be known (an unknown block: its own
    problem says so)."""
    try:
        return [p.name for p in node_ports(graph, node_id, "output")]
    except (KeyError, AttributeError, TypeError, ValueError):
        return None


def _wire_break(graph: Graph, e, names: list | None) -> str | None:
    """Why the wire ``e`` is broken (``names``: its source's outputs), or None."""
    if e.dst not in graph.nodes:
        return None
    if e.src not in graph.nodes:
        return f"is wired from {e.src!r}, which does not exist"
    if names is None:
        return None
    if e.src_port not in names:
        return (f"is wired from {e.src}.{e.src_port}, but {e.src} has no output "
                f"'{e.src_port}' now (its outputs: {', '.join(names) or 'none'}); "
                f"rewire {e.dst}.{e.dst_port} or delete the wire")
    return None


def cycles(graph: Graph, candidates) -> list[list[str]]:
    """The loops among ``candidates`` (nodes a topological sort left over), each in wiring
    order: the nodes downstream of a loop are left over too, but are not part of it."""
    if not candidates:
        return []
    succ = {n: [] for n in candidates}
    for e in graph.edges:
        if e.src in succ and e.dst in succ and e.dst not in succ[e.src]:
            succ[e.src].append(e.dst)
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def strong(v):  # Tarjan's strongly connected components (graphs here are small)
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in succ[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1 or v in succ[v]:
                found.append(_loop_order(part, succ))

    for n in candidates:
        if n not in index:
            strong(n)
    order = {n: i for i, n in enumerate(graph.nodes)}
    return sorted(found, key=lambda loop: min(order[n] for n in loop))


def _loop_order(part: list, succ: dict) -> list:
    """The members of one loop, starting at the earliest added and following the wires."""
    members = set(part)
    start = min(part, key=list(succ).index)
    out, seen, node = [start], {start}, start
    while True:
        nxt = next((w for w in succ[node] if w in members and w not in seen), None)
        if nxt is None:
            break
        out.append(nxt)
        seen.add(nxt)
        node = nxt
    out += [n for n in part if n not in seen]
    return out


def initial_rf(t: TensorType):
    """A data source's receptive field: one pixel per spatial dim (dims after channels), the
    first unit's at pixel 0. A receptive field is (sizes, jumps, starts): the window's size in
    input pixels, the input pixels between neighbouring units, and where the first unit's
    window starts (negative where padding puts it partly outside the input)."""
    if t.kind == "tensor" and t.dtype == "float" and t.rank >= 2:
        n = t.rank - 1
        return ((1,) * n, (1,) * n, (0,) * n)
    return None


def _step_rf(rf, step: RF):
    if rf is None or rf == "global":
        return rf
    sizes, jumps, starts = rf
    n = len(sizes)

    def per_dim(values, default):
        values = values or (default,) * n
        return values if len(values) == n else (values[0],) * n

    k, s = per_dim(step.kernel, 1), per_dim(step.stride, 1)
    d, pad = per_dim(step.dilation, 1), per_dim(step.padding, 0)
    return (tuple(sz + (kk - 1) * dd * j for sz, kk, dd, j in zip(sizes, k, d, jumps)),
            tuple(j * ss for j, ss in zip(jumps, s)),
            tuple(st - pp * j for st, pp, j in zip(starts, pad, jumps)))


def _merge_rf(rfs: list):
    """Inputs summed or stacked: the window that covers every input's (the same grid)."""
    rfs = [r for r in rfs if r is not None]
    if not rfs:
        return None
    if any(r == "global" for r in rfs):
        return "global"
    if len({len(r[0]) for r in rfs}) > 1:
        return "global"
    starts = tuple(min(st) for st in zip(*(r[2] for r in rfs)))
    ends = tuple(max(e) for e in zip(*((st + sz for st, sz in zip(r[2], r[0])) for r in rfs)))
    return (tuple(e - st for e, st in zip(ends, starts)), rfs[0][1], starts)


@dataclass
class Segment:
    """What analysing one training-graph node added: its row, the rows of the network it
    instantiates, their problems (before duplicates are dropped), the instances it made, and the
    flows leaving it. A later analysis reuses it when nothing upstream of the node changed."""

    rows: list
    problems: list
    instances: list
    flows: dict  # output port -> Flow


@dataclass
class Record:
    """What a later analysis of the same project may reuse (``core.incremental`` decides what
    is still valid and passes only that)."""

    segments: dict = field(default_factory=dict)  # training node id -> Segment
    outputs: dict = field(default_factory=dict)  # training node id -> its output names (or None)
    used: frozenset = frozenset()  # the networks the training graph instantiates
    tail: tuple = ((), (), ())  # rows, problems and instances of the networks not used
    order: tuple | None = None  # the training graph's topological order (nodes, left over)
    resolved: dict = field(default_factory=dict)  # see _Walker.resolved
    # given with ``order`` (the wiring is as before): training node id -> the wires into it,
    # and -> the wires out of it
    incoming: dict | None = None
    outgoing: dict | None = None
    broken: list | None = None  # the training graph's broken wires: (wire, why)


class _Flows(dict):
    """The flows leaving each node, by (node id, port); those of a reused node are read from
    its Segment when asked, rather than copied for every node on each analysis."""

    def __init__(self, reused: dict):
        super().__init__()
        self.reused = reused

    def get(self, key, default=None):
        if key in self:
            return self[key]
        kept = self.reused.get(key[0])
        return kept.flows.get(key[1], default) if kept is not None else default


class _Walker:
    """Problems and instances are collected as found, duplicates included, and made unique by
    ``finish``: so a node's share of them can be kept and replayed (``Segment``)."""

    def __init__(self, project: Project, symbolic: bool = False):
        self.project = project
        self.symbolic = symbolic
        self.out = Analysis()
        self.made: list = []  # (network name, signature) of each instance, in order
        self._broken: dict = {}  # id(graph) -> broken_wires(graph), worked out once per graph
        # training node id -> (its block and raw parameter values, the Values they resolved to)
        self.resolved: dict = {}

    def problem(self, graph_key, node_id, fieldname, message, path=""):
        self.out.problems.append(Problem(graph_key, node_id, fieldname, message, path))

    def broken(self, graph: Graph) -> list:
        if id(graph) not in self._broken:
            self._broken[id(graph)] = broken_wires(graph)
        return self._broken[id(graph)]

    def finish(self) -> Analysis:
        """Drop repeated problems (the first of each is kept) and gather the instances."""
        seen, problems = set(), []
        for p in self.out.problems:
            key = (p.graph, p.node, p.field, p.message)
            if key not in seen:
                seen.add(key)
                problems.append(p)
        self.out.problems = problems
        for name, sig in self.made:
            sigs = self.out.instances.setdefault(name, [])
            if sig not in sigs:
                sigs.append(sig)
        top = [r for r in self.out.rows if r.depth == 0]
        self.out.total_params = sum(r.params for r in top)
        self.out.total_macs = sum(r.macs for r in top)
        return self.out

    # parameters -------------------------------------------------------------------------------
    def resolve(self, key, graph: Graph, node: Node, spec, arg_values, path) -> Values | None:
        src = node
        if node.shares:
            src = graph.nodes.get(node.shares)
            if src is None:
                self.problem(key, node.id, "shares", f"links to {node.shares!r}, which is not in "
                             "this graph; link to a node of the same graph", path)
                return None
            if src.block != node.block:
                self.problem(key, node.id, "shares", f"links to {src.id}, a {src.block}, but this "
                             f"node is a {node.block}; a linked duplicate has the same block", path)
                return None
        memo = self.resolved if key == "training" and not self.symbolic else None
        if memo is not None:  # the same block and raw values as last time: the same Values
            raw = (spec.id, tuple((type(v), v) for v in
                                  (src.params.get(prm.name, prm.default) for prm in spec.params)))
            kept = memo.get(node.id)
            if kept is not None and kept[0] == raw:
                return kept[1]
        values = {}
        for prm in spec.params:
            value = src.params.get(prm.name, prm.default)
            if isinstance(value, Arg):
                if arg_values is None or value.name not in arg_values:
                    where = "a network" if isinstance(graph, Network) else "the training graph"
                    self.problem(key, node.id, prm.name, f"refers to argument {value.name!r}, which "
                                 f"{where} does not declare; declare it or type a value", path)
                    return None
                value = arg_values[value.name]
            try:
                values[prm.name] = prm.validate(value)
            except ParamError as err:
                self.problem(key, node.id, prm.name, str(err), path)
                return None
        vals = Values(values)
        if spec.validate_params and not self.symbolic:
            try:
                spec.validate_params(vals)
            except ParamError as err:
                msg = str(err)
                fieldname, _, rest = msg.partition(": ")
                if rest and fieldname in values:
                    self.problem(key, node.id, fieldname, rest, path)
                else:
                    self.problem(key, node.id, None, msg, path)
                return None
        if memo is not None:
            memo[node.id] = (raw, vals)
        return vals

    def instance_args(self, key, node: Node, net: Network, arg_values, path):
        given = node.params.get("args") or {}
        if not isinstance(given, dict):
            self.problem(key, node.id, "args", "must map argument names to values", path)
            return None
        out = {}
        for name in given:
            if name not in net.args:
                self.problem(key, node.id, "args", f"{net.name} has no argument {name!r} "
                             f"(it declares {', '.join(net.args) or 'none'})", path)
                return None
        for name, decl in net.args.items():
            value = given.get(name, decl.default)
            if isinstance(value, Arg):
                if arg_values is None or value.name not in arg_values:
                    self.problem(key, node.id, "args", f"{name} refers to unknown argument "
                                 f"{value.name!r}", path)
                    return None
                value = arg_values[value.name]
            if not isinstance(value, Sym):
                try:
                    value = decl.kind.validate(value)
                except ParamError as err:
                    self.problem(key, node.id, "args", f"{name}: {err}", path)
                    return None
            out[name] = value
        return out

    # walking ------------------------------------------------------------------------------------
    def walk(self, graph: Graph, key: str, path: str, depth: int, input_flows=None,
             arg_values=None, stack=(), reuse=None, record=None, order=None,
             incoming=None) -> dict:
        """Analyze one graph; returns the flows reaching its Output nodes (by node id).
        ``reuse``: node id -> Segment to take instead of visiting the node; ``record``: a dict
        that receives each node's Segment; ``order``: the graph's topological order, if known;
        ``incoming``: node id -> the wires into it, if known."""
        order, left = order or topological_order(graph)
        for loop in cycles(graph, left):
            names = " -> ".join(loop + [loop[0]])
            for n in loop:
                self.problem(key, n, None, f"is part of a cycle ({names}); a network must flow "
                             "one way, remove one of the wires that loop back", path)
        flows = _Flows(reuse or {})
        if incoming is None:
            incoming = {n: [] for n in graph.nodes}
            for e in graph.edges:
                if e.dst in incoming:
                    incoming[e.dst].append(e)
        if reuse:
            record.update(reuse)
        results = {}
        out = self.out
        rows, problems, made = out.rows, out.problems, self.made
        first_row = len(out.rows)
        for node_id in order:
            kept = reuse.get(node_id) if reuse else None
            if kept is not None:  # the same rows, problems and instances as last time
                rows += kept.rows
                problems += kept.problems
                made += kept.instances
                continue
            marks = (len(out.rows), len(out.problems), len(self.made))
            node = graph.nodes[node_id]
            row = NodeResult(key, path + node_id, node, depth)
            out.rows.append(row)
            results[node_id] = row
            self.visit(graph, key, path, depth, node, row, incoming.get(node_id, ()), flows,
                       input_flows, arg_values, stack)
            if record is not None:
                record[node_id] = Segment(out.rows[marks[0]:], out.problems[marks[1]:],
                                          self.made[marks[2]:],
                                          {port: flows[(node_id, port)] for port in row.outputs})
        self.check_wire_ends(graph, key, path)  # after the nodes' own problems, in graph order
        self.check_links(graph, key, path, out.rows[first_row:])
        outputs = {}
        if isinstance(graph, Network):
            for out in graph.outputs():
                row = results.get(out.id)
                outputs[out.id] = flows.get((out.id, "out")) if row is not None else None
        return outputs

    def check_links(self, graph: Graph, key: str, path: str, rows: list) -> None:
        """A linked duplicate calls its original's module, so its inputs must fit the original's
        weights: one whose inputs would call for other parameters (a Linear fed a wider vector,
        a network whose flattened features differ) is a problem on the duplicate, naming both."""
        mine = {r.node.id: r for r in rows if r.path == path + r.node.id}
        for row in mine.values():
            original = mine.get(row.node.shares) if row.node.shares else None
            if original is None or not (row.ok and original.ok) or \
                    row.weights == original.weights:
                continue
            theirs = ", ".join(_described(t) for t in original.inputs.values()) or "none"
            ours = ", ".join(_described(t) for t in row.inputs.values()) or "none"
            self.problem(key, row.node.id, "shares", f"shares the weights of {original.node.id}, "
                         f"whose input is {theirs}, but receives {ours}: its input would need "
                         f"{row.weights:,} parameters, not {original.weights:,}; wire it an input "
                         f"shaped like {original.node.id}'s, or unlink it", path)

    def check_wire_ends(self, graph: Graph, key: str, path: str) -> None:
        """Wires from a node or an output port that no longer exists: a problem on the node the
        wire feeds, naming both ends."""
        for e, message in self.broken(graph):
            self.problem(key, e.dst, e.dst_port, message, path)

    def visit(self, graph, key, path, depth, node, row, edges, flows, input_flows, arg_values, stack):
        try:
            spec = get_block(node.block)
        except KeyError:
            self.problem(key, node.id, "block", f"unknown block type {node.block!r}", path)
            return
        values = self.resolve(key, graph, node, spec, arg_values, path)
        if values is None:
            return
        row.values = values
        # gather inputs ------------------------------------------------------------------------
        ports = node_ports(graph, node.id, "input") if node.block == INSTANCE else \
            spec.input_ports(values)
        port_names = {p.name for p in ports}
        for e in edges:
            if e.dst_port not in port_names:
                self.problem(key, node.id, e.dst_port, f"a wire from {e.src}.{e.src_port} ends at "
                             f"input '{e.dst_port}', which {node.id} does not have (its inputs: "
                             f"{', '.join(sorted(port_names)) or 'none'}); delete the wire or "
                             "rewire it", path)
                return
        ins: dict = {}
        in_flows: list = []
        port_flows: dict = {}
        for port in ports:
            wires = [e for e in edges if e.dst_port == port.name]
            if not wires:
                if not port.optional:
                    self.problem(key, node.id, port.name, f"input '{port.name}' is not connected; "
                                 "wire an output into it", path)
                    return
                continue
            if len(wires) > 1 and not port.multi:
                self.problem(key, node.id, port.name, f"input '{port.name}' takes one wire but has "
                             f"{len(wires)}; use Add or Concat to combine them", path)
                return
            got = []
            for e in wires:
                flow = flows.get((e.src, e.src_port))
                if flow is None:
                    return  # the upstream node has its own problem; do not cascade
                if port.kind == "loss" and flow.type.kind != "loss":
                    self.problem(key, node.id, port.name, f"expects a loss but {e.src} gives a "
                                 f"tensor ({flow.type.describe()}); wire a loss block here", path)
                    return
                if port.kind == "tensor" and flow.type.kind == "loss":
                    self.problem(key, node.id, port.name, f"expects a tensor but {e.src} gives a "
                                 "loss; only optimizers and loss sums take losses", path)
                    return
                got.append(flow.type)
                in_flows.append(flow)
                port_flows.setdefault(port.name, flow)
            ins[port.name] = got if port.multi else got[0]
        row.inputs = ins
        # compute outputs ------------------------------------------------------------------------
        try:
            if node.block == INSTANCE:
                outs, cost = self.instance(key, path, depth, node, row, values, ins, port_flows,
                                           arg_values, stack)
                if outs is None:
                    return
            elif node.block == INPUT:
                outs = {"out": self.input_flow(key, node, values, input_flows, path)}
                if outs["out"] is None:
                    return
                cost = (0, 0)
            else:
                outs, cost = self.block(spec, values, ins, in_flows)
        except ShapeError as err:
            self.problem(key, node.id, err.field, str(err), path)
            return
        except (ArithmeticError, ValueError, TypeError) as err:
            self.problem(key, node.id, None, f"cannot compute its output shape: {err}", path)
            return
        for port, flow in outs.items():
            flows[(node.id, port)] = flow
        row.outputs = {k: f.type for k, f in outs.items()}
        first = next(iter(outs.values()), None)
        row.rf = first.rf if first else None
        row.weights = cost[0]
        row.params = 0 if node.shares else cost[0]
        row.macs = cost[1]
        row.ok = True

    def block(self, spec, values, ins, in_flows):
        if spec.check and not self.symbolic:
            spec.check(values, ins)
        out_types = spec.shape(values, ins) if spec.shape else {}
        cost = (0, 0)
        if spec.cost and not self.symbolic:
            c = spec.cost(values, ins, out_types)
            cost = (c.params, c.macs)
        merged = _merge_rf([f.rf for f in in_flows])
        if spec.rf:
            step = spec.rf(values, ins)
            rf = "global" if step == "global" else (_step_rf(merged, step) if step else merged)
        else:
            rf = merged
        outs = {}
        first_rank = in_flows[0].type.rank if in_flows else None
        for port, t in out_types.items():
            if not in_flows:
                r = initial_rf(t)
            elif rf is None or rf == "global" or t.kind == "loss":
                r = rf if t.kind != "loss" else None
            elif t.rank == first_rank:
                r = rf
            else:
                r = "global"
            outs[port] = Flow(t, r)
        return outs, cost

    def input_flow(self, key, node, values, input_flows, path):
        declared = None
        if values.shape is not None:
            declared = TensorType(tuple(values.shape), values.dtype)
        if input_flows is not None:
            flow = input_flows.get(node.id)
            if flow is None:
                return None
            if declared is not None and not self.symbolic and flow.type.shape != declared.shape:
                self.problem(key, node.id, "shape", f"declares {declared.describe()} but receives "
                             f"{flow.type.describe()}; clear the declared shape or fix the wiring",
                             path)
                return None
            return flow
        if declared is None:
            return None  # an unused network without declared input shapes: nothing to check
        return Flow(declared, initial_rf(declared))

    def instance(self, key, path, depth, node, row, values, ins, port_flows, arg_values, stack):
        net = self.project.networks.get(values.network)
        if net is None:
            self.problem(key, node.id, "network", f"no network named {values.network!r}", path)
            return None, None
        if net.name in stack:
            self.problem(key, node.id, "network", f"{net.name} contains itself "
                         f"({' -> '.join(stack + (net.name,))}); a network cannot nest in itself",
                         path)
            return None, None
        args = self.instance_args(key, node, net, arg_values, path)
        if args is None:
            return None, None
        row.args = args
        flows_in = {inp.id: port_flows.get(inp.id) for inp in net.inputs()}
        if not self.symbolic:
            sig = (tuple(sorted(args.items())), tuple((k, v) for k, v in sorted(ins.items())))
            self.made.append((net.name, sig))
        start = len(self.out.rows)
        outs = self.walk(net, net.name, f"{path}{node.id}/", depth + 1, flows_in, args,
                         stack + (net.name,))
        inner = self.out.rows[start:]
        params = sum(r.params for r in inner if r.depth == depth + 1)
        macs = sum(r.macs for r in inner if r.depth == depth + 1)
        if any(f is None for f in outs.values()) or not outs:
            if not outs:
                self.problem(key, node.id, "network", f"{net.name} has no Output node", path)
            return None, None
        return {k: v for k, v in outs.items()}, (params, macs)


def _described(t) -> str:
    return "[" + ", ".join(x.describe() for x in t) + "]" if isinstance(t, list) else t.describe()


def analyze(project: Project) -> Analysis:
    """Check the whole project: every node's shapes and costs, and every problem."""
    return analyze_reusing(project)[0]


def analyze_reusing(project: Project, reuse: Record | None = None) -> tuple[Analysis, Record]:
    """``analyze``, taking from ``reuse`` what it holds: the Segments of training nodes (the
    caller has checked that nothing upstream of them changed), the verdicts on wires from those
    nodes, and the unused networks' part when the same networks are used (the caller has
    checked that no network changed). Returns the analysis and what a next one may reuse."""
    walker = _Walker(project)
    graph = project.training
    if reuse is not None:
        walker.resolved = reuse.resolved
    rewired = reuse is None or not reuse.order
    record = Record(order=topological_order(graph) if rewired else reuse.order,
                    incoming=None if rewired else reuse.incoming,
                    outgoing=None if rewired else reuse.outgoing)
    record.broken = walker._broken[id(graph)] = _training_broken(graph, reuse, record)
    record.resolved = walker.resolved
    walker.walk(graph, "training", "", 0, reuse=reuse.segments if reuse else None,
                record=record.segments, order=record.order, incoming=record.incoming)
    record.used = frozenset(row.values.network for row in walker.out.rows
                            if row.node.block == INSTANCE and row.values is not None)
    out = walker.out
    if reuse is not None and reuse.used == record.used:
        rows, problems, made = reuse.tail
        out.rows += rows
        out.problems += problems
        walker.made += made
    else:
        marks = (len(out.rows), len(out.problems), len(walker.made))
        for name, net in project.networks.items():
            if name not in record.used:
                walker.walk(net, name, f"{name}/", 0, None,
                            {k: a.default for k, a in net.args.items()}, (name,))
        rows, problems, made = out.rows[marks[0]:], out.problems[marks[1]:], walker.made[marks[2]:]
    record.tail = (rows, problems, made)
    _check_training_roles(project, walker)
    out.broken_wires = {(key, e): why for key, g in project.graphs() for e, why in walker.broken(g)}
    return walker.finish(), record


def _training_broken(graph: Graph, reuse: Record | None, record: Record) -> list:
    """``broken_wires`` of the training graph, taking a source node's output names from
    ``reuse`` when the node's analysis is reused (its ports are the same). With the wiring as
    before and no wire broken, only the wires from the nodes analysed again are checked."""
    known, nodes = record.outputs, graph.nodes
    wires = graph.edges
    if reuse is not None and reuse.order and reuse.outgoing is not None and \
            reuse.broken == []:
        redone = nodes.keys() - reuse.segments.keys()
        known.update(reuse.outputs)
        for node_id in redone:
            known.pop(node_id, None)
        wires = [e for node_id in redone for e in reuse.outgoing.get(node_id, ())]
    out = []
    for e in wires:
        src = e.src
        if src in nodes:
            if src not in known:
                if reuse is not None and src in reuse.segments and src in reuse.outputs:
                    known[src] = reuse.outputs[src]
                else:
                    known[src] = _output_names(graph, src)
            names = known[src]
            if names is None or e.src_port in names:
                continue  # sound (the common case, checked without a call)
        why = _wire_break(graph, e, known.get(src))
        if why is not None:
            out.append((e, why))
    if len(out) > 1 and wires is not graph.edges:
        position = {id(e): i for i, e in enumerate(graph.edges)}
        out.sort(key=lambda broken: position[id(broken[0])])  # in the wires' order
    return out


def _check_training_roles(project: Project, walker: _Walker) -> None:
    """Problems that only the training graph as a whole shows: losses nobody optimizes."""
    graph = project.training
    losses = {b for b in {n.block for n in graph.nodes.values()}
              if getattr(spec_of(b), "category", None) == "loss"}
    if not losses:
        return
    consumers = {e.src for e in graph.edges}
    for node in graph.nodes.values():
        if node.block in losses and node.id not in consumers:
            walker.problem("training", node.id, None, "this loss feeds no optimizer, so nothing "
                           "learns from it; wire it into an optimizer (or a loss sum)")


def analyze_symbolic(project: Project, network: Network, input_types: dict, arg_values: dict):
    """Rows of one network with symbolic sizes: used to write a reusable network's class."""
    walker = _Walker(project, symbolic=True)
    flows = {k: Flow(t, None) for k, t in input_types.items()}
    walker.walk(network, network.name, "", 0, flows, arg_values, (network.name,))
    return walker.finish()


__all__ = ["ERROR", "LOSS", "NOT_READY", "WARNING", "Analysis", "NodeResult", "Problem", "Record",
           "Segment", "analyze", "analyze_reusing", "analyze_symbolic", "broken_wires", "cycles",
           "node_ports", "topological_order"]
