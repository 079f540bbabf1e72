"""What changed between two projects, and what each change does to shapes and costs.

``diff_projects(a, b)`` compares two projects node by node, graph by graph (the training graph
and every network): nodes added, removed, and changed (block swapped, parameters, title, a
linked duplicate's original, or the wires into it), each with its output shapes, parameter
count and multiply-adds before and after, taken from ``core.inference``'s analysis. Nodes that
nobody edited but whose shapes or costs moved because of an edit upstream are listed apart
(``affected``), as are the training settings, the networks' arguments and the totals.

A node is the same node when it has the same id in the same graph. Positions are layout, not
the graph, and are not compared. A node's wires are its incoming ones (each wire belongs to the
node it feeds), in wiring order, since that order orders a multi-input's inputs.

Pure data: no Qt, no torch; the CLI prints it and the app can mark the canvas from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.inference import Analysis, analyze
from studio.core.params import Arg
from studio.core.project import TRAINING_SETTINGS, Graph, Network, Project
from studio.core.verdict import estimate_memory

ADDED, REMOVED, CHANGED = "added", "removed", "changed"


class _Absent:
    """The side of a Value where it does not exist (a parameter of a block swapped in), told
    apart from a parameter whose value is None."""

    def __repr__(self):
        return "ABSENT"


ABSENT = _Absent()
NODE_FIELDS = ("title", "shares", "frozen")  # a node's own values besides its parameters


@dataclass(frozen=True)
class Value:
    """One named value that differs: a parameter, the block, the title, a setting."""

    name: str
    before: object  # ABSENT: it did not exist
    after: object


@dataclass(frozen=True)
class Cost:
    """A node's share of the analysis, over every instance of its graph."""

    shapes: tuple  # its distinct output shapes as text ("6 x 28 x 28")
    params: int
    macs: int
    known: bool  # False: the analysis could not work it out (a problem on or before the node)


@dataclass(frozen=True)
class NodeDiff:
    graph: str  # "training" or a network's name
    node: str
    status: str  # added, removed, changed
    block: tuple  # (before, after); None on the side where the node is absent
    values: tuple = ()  # Value per changed parameter (and "title", "shares")
    inputs: tuple = ((), ())  # the wires into it, before and after: (port, source, source port)
    before: Cost | None = None
    after: Cost | None = None

    @property
    def block_swapped(self) -> bool:
        return self.status == CHANGED and self.block[0] != self.block[1]

    @property
    def rewired(self) -> bool:
        return self.status == CHANGED and self.inputs[0] != self.inputs[1]


@dataclass(frozen=True)
class NetworkDiff:
    name: str
    status: str  # added, removed, changed (its arguments)
    args: tuple = ()  # Value per argument whose declaration (kind and default) differs


@dataclass(frozen=True)
class Totals:
    params: int
    macs: int
    memory: int  # bytes one training step holds (core.verdict's estimate)


@dataclass(frozen=True)
class ProjectDiff:
    nodes: tuple  # NodeDiff: the edited nodes, graph by graph
    affected: tuple  # NodeDiff (status "changed", no values): shapes or costs moved by an edit
    settings: tuple  # Value per training setting
    networks: tuple  # NetworkDiff
    name: Value | None
    totals: tuple  # (Totals before, Totals after)

    @property
    def empty(self) -> bool:
        """Nothing a run would notice (positions aside)."""
        return not (self.nodes or self.settings or self.networks or self.name)


# ---------------------------------------------------------------------------------------------
# comparing
# ---------------------------------------------------------------------------------------------

def diff_projects(a: Project, b: Project, analyses: tuple | None = None) -> ProjectDiff:
    """Everything that differs from ``a`` to ``b``, with the analysis of each side
    (``analyses``: the two analyses, for a caller that keeps them up to date, as the app does
    for the graph being edited; either may be None, to be analysed here)."""
    analysis_a, analysis_b = analyses or (None, None)
    analysis_a = analysis_a if analysis_a is not None else analyze(a)
    analysis_b = analysis_b if analysis_b is not None else analyze(b)
    costs_a, costs_b = node_costs(analysis_a), node_costs(analysis_b)
    nodes, affected = [], []
    graphs_a, graphs_b = dict(a.graphs()), dict(b.graphs())
    for key in _union(graphs_a, graphs_b):
        edited, moved = _diff_graph(key, graphs_a.get(key), graphs_b.get(key), costs_a, costs_b)
        nodes += edited
        affected += moved
    settings = tuple(Value(p.name, a.training.settings.get(p.name), b.training.settings.get(p.name))
                     for p in TRAINING_SETTINGS
                     if a.training.settings.get(p.name) != b.training.settings.get(p.name))
    networks = tuple(n for n in (_diff_network(name, a.networks.get(name), b.networks.get(name))
                                 for name in _union(a.networks, b.networks)) if n)
    name = Value("name", a.name, b.name) if a.name != b.name else None
    return ProjectDiff(tuple(nodes), tuple(affected), settings, networks, name,
                       (_totals(a, analysis_a), _totals(b, analysis_b)))


def node_costs(analysis: Analysis) -> dict:
    """(graph, node id) -> Cost: a network's node counts once per instance that reaches it."""
    rows: dict = {}
    for row in analysis.rows:
        rows.setdefault((row.graph, row.node.id), []).append(row)
    costs = {}
    for key, group in rows.items():
        shapes = tuple(dict.fromkeys(r.output_shape for r in group if r.ok))
        costs[key] = Cost(shapes, sum(r.params for r in group), sum(r.macs for r in group),
                          all(r.ok for r in group))
    return costs


def _union(first, second) -> list:
    """Keys of both, in ``first``'s order then ``second``'s new ones."""
    return list(dict.fromkeys([*first, *second]))


def _diff_graph(key: str, before: Graph | None, after: Graph | None, costs_a: dict,
                costs_b: dict) -> tuple[list, list]:
    nodes_a = before.nodes if before is not None else {}
    nodes_b = after.nodes if after is not None else {}
    wires_a = _inputs(before) if before is not None else {}
    wires_b = _inputs(after) if after is not None else {}
    edited, moved = [], []
    for node_id in _union(nodes_a, nodes_b):
        old, new = nodes_a.get(node_id), nodes_b.get(node_id)
        cost_a, cost_b = costs_a.get((key, node_id)), costs_b.get((key, node_id))
        ins = (wires_a.get(node_id, ()), wires_b.get(node_id, ()))
        if old is None or new is None:
            status = ADDED if old is None else REMOVED
            edited.append(NodeDiff(key, node_id, status, (_block(old), _block(new)),
                                   _values(old, new), ins, cost_a, cost_b))
            continue
        values = _values(old, new)
        if old.block != new.block or values or ins[0] != ins[1]:
            edited.append(NodeDiff(key, node_id, CHANGED, (old.block, new.block), values, ins,
                                   cost_a, cost_b))
        elif cost_a != cost_b:
            moved.append(NodeDiff(key, node_id, CHANGED, (old.block, new.block), (), ins,
                                  cost_a, cost_b))
    return edited, moved


def _inputs(graph: Graph) -> dict:
    """node id -> the wires into it, in wiring order: (port, source, source port)."""
    wires: dict = {}
    for e in graph.edges:
        wires.setdefault(e.dst, []).append((e.dst_port, e.src, e.src_port))
    return {k: tuple(v) for k, v in wires.items()}


def _block(node) -> str | None:
    return node.block if node is not None else None


def _values(old, new) -> tuple:
    """The parameters, title and shared original that differ; a whole side may be absent (a
    node added or removed). An empty title and no shared original are None."""
    params_a = old.params if old is not None else {}
    params_b = new.params if new is not None else {}
    values = [Value(name, params_a.get(name, ABSENT), params_b.get(name, ABSENT))
              for name in _union(params_a, params_b)
              if params_a.get(name, ABSENT) != params_b.get(name, ABSENT)]
    for name in NODE_FIELDS:
        was = _field(old, name)
        now = _field(new, name)
        if was != now:
            values.append(Value(name, was, now))
    return tuple(values)


def _diff_network(name: str, before: Network | None, after: Network | None) -> NetworkDiff | None:
    if before is None or after is None:
        return NetworkDiff(name, ADDED if before is None else REMOVED)
    declared_a = {k: (a.kind.describe(), a.default) for k, a in before.args.items()}
    declared_b = {k: (a.kind.describe(), a.default) for k, a in after.args.items()}
    args = tuple(Value(k, _declared(declared_a.get(k)), _declared(declared_b.get(k)))
                 for k in _union(declared_a, declared_b) if declared_a.get(k) != declared_b.get(k))
    return NetworkDiff(name, CHANGED, args) if args else None


def _declared(declaration) -> str | None:
    return None if declaration is None else f"{declaration[0]}, default {declaration[1]!r}"


def _totals(project: Project, analysis: Analysis) -> Totals:
    return Totals(analysis.total_params, analysis.total_macs,
                  estimate_memory(project, analysis, available=0).total)


# ---------------------------------------------------------------------------------------------
# describing
# ---------------------------------------------------------------------------------------------

def _field(node, name: str):
    """A node's own value for the diff: absent with the node, frozen as a bool, an empty
    title or no shared original as None."""
    if node is None:
        return ABSENT
    value = getattr(node, name)
    return bool(value) if name == "frozen" else (value or None)


def value_text(value) -> str:
    """A parameter value as a user wrote it: 6, (3, 3), =width for a network argument."""
    if value is ABSENT:
        return "absent"
    if value is None:
        return "none"
    if isinstance(value, Arg):
        return f"={value.name}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _signed(n: int) -> str:
    return f"{n:+,}" if n else "0"


def _where(change) -> str:
    return change.node if change.graph == "training" else f"{change.graph}/{change.node}"


def node_summary(change: NodeDiff) -> str:
    """One line: 'conv1: out_channels 6 -> 16; params +104, multiply-adds +39,200,
    6 x 28 x 28 -> 16 x 28 x 28'; a node only moved by others: 'conv2: params +800'."""
    what = edits_text(change)
    effect = cost_summary(change.before, change.after)
    if not what:
        return f"{_where(change)}: {effect}" if effect else _where(change)
    return f"{_where(change)}: {what}" + (f"; {effect}" if effect else "")


def edits_text(change: NodeDiff) -> str:
    """What was done to the node, without its effect: 'out_channels 6 -> 16', 'added (ReLU)'."""
    if change.status == ADDED:
        return f"added ({change.block[1]})"
    if change.status == REMOVED:
        return f"removed ({change.block[0]})"
    parts = []
    if change.block_swapped:
        parts.append(f"{change.block[0]} -> {change.block[1]}")
    parts += [_value_edit(v) for v in change.values
              if not (change.block_swapped and v.name in _param_names(change))]
    if change.rewired:
        parts.append(f"rewired: {_wires_text(change.inputs[0])} -> "
                     f"{_wires_text(change.inputs[1])}")
    return "; ".join(parts)


def _value_edit(value: Value) -> str:
    """'out_channels 6 -> 16'; a node frozen or thawed says just that."""
    if value.name == "frozen" and isinstance(value.after, bool):
        return "frozen" if value.after else "unfrozen"
    return f"{value.name} {value_text(value.before)} -> {value_text(value.after)}"


def _param_names(change: NodeDiff) -> set:
    """With a swapped block, only the block is named, not each parameter that came or went."""
    return {v.name for v in change.values if v.name not in NODE_FIELDS}


def _wires_text(wires: tuple) -> str:
    return ", ".join(f"{src}.{src_port}>{port}" for port, src, src_port in wires) or "none"


def cost_summary(before: Cost | None, after: Cost | None) -> str:
    """'params +104, multiply-adds +39,200, 6 x 28 x 28 -> 16 x 28 x 28'; '' when nothing moved."""
    zero = Cost((), 0, 0, True)
    was, now = before or zero, after or zero
    parts = []
    if now.params != was.params:
        parts.append(f"params {_signed(now.params - was.params)}")
    if now.macs != was.macs:
        parts.append(f"multiply-adds {_signed(now.macs - was.macs)}")
    if was.shapes != now.shapes and before is not None and after is not None:
        parts.append(f"{' | '.join(was.shapes) or '?'} -> {' | '.join(now.shapes) or '?'}")
    return ", ".join(parts)


def lines(diff: ProjectDiff) -> list[str]:
    """The diff as text, one change a line, then what moved downstream and the totals."""
    if diff.empty:
        return ["no differences (node positions are not compared)"]
    out = []
    if diff.name:
        out.append(f"name: {diff.name.before} -> {diff.name.after}")
    for net in diff.networks:
        args = "; ".join(f"{v.name}: {v.before or 'none'} -> {v.after or 'none'}" for v in net.args)
        out.append(f"network {net.name}: {net.status}" + (f" (arguments: {args})" if args else ""))
    out += [node_summary(change) for change in diff.nodes]
    out += [f"setting {v.name}: {value_text(v.before)} -> {value_text(v.after)}"
            for v in diff.settings]
    if diff.affected:
        out.append("moved by the changes above:")
        out += [f"  {node_summary(change)}" for change in diff.affected]
    before, after = diff.totals
    out.append(f"total parameters {before.params:,} -> {after.params:,} "
               f"({_signed(after.params - before.params)}); multiply-adds per sample "
               f"{before.macs:,} -> {after.macs:,} ({_signed(after.macs - before.macs)})")
    return out


def short_phrase(diff: ProjectDiff, most: int = 2) -> str:
    """What changed in a few words, for a table cell: 'conv1.out_channels 6->16, +relu3'."""
    if diff.empty:
        return "same graph and settings"
    parts = []
    for change in diff.nodes:
        where = _where(change)
        if change.status == ADDED:
            parts.append(f"+{where}")
        elif change.status == REMOVED:
            parts.append(f"-{where}")
        elif change.block_swapped:
            parts.append(f"{where} {change.block[0]}->{change.block[1]}")
        elif change.values:
            parts += [f"{where}.{v.name} {value_text(v.before)}->{value_text(v.after)}"
                      for v in change.values]
        else:
            parts.append(f"{where} rewired")
    parts += [f"network {n.name} {n.status}" for n in diff.networks]
    parts += [f"{v.name} {value_text(v.before)}->{value_text(v.after)}" for v in diff.settings]
    if diff.name:
        parts.append(f"renamed {diff.name.after}")
    shown = parts[:most]
    if len(parts) > most:
        shown.append(f"{len(parts) - most} more")
    return ", ".join(shown)


# ---------------------------------------------------------------------------------------------
# as JSON
# ---------------------------------------------------------------------------------------------

def plain(value):
    """A parameter value as JSON: a network argument as {"arg": name}, tuples as lists."""
    if isinstance(value, Arg):
        return {"arg": value.name}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def _value_json(value: Value) -> dict:
    """{"name", "before", "after"}, leaving out the side where it is absent."""
    out = {"name": value.name}
    for side in ("before", "after"):
        if getattr(value, side) is not ABSENT:
            out[side] = plain(getattr(value, side))
    return out


def _cost_json(cost: Cost | None):
    if cost is None:
        return None
    return {"shapes": list(cost.shapes), "params": cost.params, "macs": cost.macs,
            "known": cost.known}


def _node_json(change: NodeDiff) -> dict:
    zero = Cost((), 0, 0, True)
    return {
        "graph": change.graph, "node": change.node, "status": change.status,
        "block_before": change.block[0], "block_after": change.block[1],
        "block_swapped": change.block_swapped, "rewired": change.rewired,
        "values": [_value_json(v) for v in change.values],
        "inputs_before": [list(w) for w in change.inputs[0]],
        "inputs_after": [list(w) for w in change.inputs[1]],
        "before": _cost_json(change.before), "after": _cost_json(change.after),
        "params_delta": (change.after or zero).params - (change.before or zero).params,
        "macs_delta": (change.after or zero).macs - (change.before or zero).macs,
        "summary": node_summary(change),
    }


def as_json(diff: ProjectDiff) -> dict:
    before, after = diff.totals
    return {
        "empty": diff.empty,
        "name": [diff.name.before, diff.name.after] if diff.name else None,
        "nodes": [_node_json(c) for c in diff.nodes],
        "affected": [_node_json(c) for c in diff.affected],
        "settings": [_value_json(v) for v in diff.settings],
        "networks": [{"name": n.name, "status": n.status,
                      "args": [{"name": v.name, "before": v.before, "after": v.after}
                               for v in n.args]} for n in diff.networks],
        "totals": {"before": vars(before), "after": vars(after),
                   "params_delta": after.params - before.params,
                   "macs_delta": after.macs - before.macs,
                   "memory_delta": after.memory - before.memory},
        "summary": short_phrase(diff),
    }
