"""Whether a wire can work, asked before it is made: while the user drags it, and when a dragged
wire is dropped on empty canvas (which blocks could take it).

The answer comes from the same places the analysis uses: ``edits.check_connection`` for the
structure (port kinds, cycles, a taken single input) and the receiving block's own declared
``check`` and ``shape`` rules, called with the tensor types the latest analysis found on its
other inputs plus the wire's type. A network instance is tried by analysing a copy of the
project with the wire added. Nothing here knows any block by name. Pure Python: no Qt, no torch.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from studio.core import edits
from studio.core.document import Document
from studio.core.inference import Analysis, analyze, node_ports
from studio.core.params import ParamError
from studio.core.project import INSTANCE, Edge, ProjectError
from studio.core.registry import ShapeError, TensorType, Values, get_block

# errors a rule raises when it cannot judge yet (an input it reads is not wired): not a refusal
_UNKNOWN = (KeyError, IndexError, TypeError, AttributeError)


@dataclass(frozen=True)
class Verdict:
    """``ok``: the wire can be made. ``reason``: why not, in one sentence. ``replaces``: the wire
    the (single) input has now, which this one would take the place of."""

    ok: bool
    reason: str = ""
    replaces: Edge | None = None


def wire_type(analysis: Analysis, graph_key: str, node_id: str, port: str) -> TensorType | None:
    """What an output carries according to the analysis (None when it could not say)."""
    row = analysis.result(graph_key, node_id)
    if row is None or not row.ok:
        return None
    return row.outputs.get(port)


def _taken(g, dst: str, dst_port: str) -> Edge | None:
    port = next((p for p in node_ports(g, dst, "input") if p.name == dst_port), None)
    if port is None or port.multi:
        return None
    return next((e for e in g.edges if e.dst == dst and e.dst_port == dst_port), None)


def try_block(spec, values: Values, ins: dict) -> str | None:
    """Run a block's declared rules on ``ins`` (port -> type, a list for multi ports): None when
    they accept it or cannot judge yet (an input they need is missing), else why not."""
    try:
        if spec.check:
            spec.check(values, ins)
        if spec.shape:
            spec.shape(values, ins)
    except ShapeError as err:
        return str(err)
    except _UNKNOWN:
        return None
    except (ArithmeticError, ValueError) as err:
        return f"its output shape cannot be computed: {err}"
    return None


def check_wire(doc: Document, analysis: Analysis, graph_key: str, src: str, src_port: str,
               dst: str, dst_port: str) -> Verdict:
    """Whether a wire from ``src.src_port`` into ``dst.dst_port`` can work. A single input that
    already has a wire is not a refusal here: ``replaces`` names that wire, so the editor can
    refuse the drop or replace it visibly."""
    try:
        reason = edits.check_connection(doc, graph_key, src, src_port, dst, dst_port,
                                        replacing=True)
    except (ProjectError, KeyError, ValueError) as err:
        reason = str(err)
    if reason:
        return Verdict(False, reason)
    g = doc.graph(graph_key)
    old = _taken(g, dst, dst_port)
    t = wire_type(analysis, graph_key, src, src_port)
    if t is not None:
        node = g.nodes[dst]
        why = (_try_instance(doc, analysis, graph_key, Edge(src, src_port, dst, dst_port), old)
               if node.block == INSTANCE else
               _try_node(g, analysis, graph_key, dst, dst_port, t, old))
        if why:
            return Verdict(False, f"{dst}.{dst_port} cannot take {src}.{src_port} "
                                  f"({t.describe()}): {why}", old)
    return Verdict(True, "", old)


def _try_node(g, analysis, key, dst, dst_port, t, old) -> str | None:
    row = analysis.result(key, dst)
    if row is None or row.values is None:
        return None  # its parameters have their own problem: nothing to judge against
    spec = get_block(g.nodes[dst].block)
    ins: dict = {}
    for port in spec.input_ports(row.values):
        got = []
        for e in g.edges:
            if e.dst != dst or e.dst_port != port.name or e == old:
                continue
            other = wire_type(analysis, key, e.src, e.src_port)
            if other is None:
                return None  # an input of unknown type: the rules cannot judge
            got.append(other)
        if port.name == dst_port:
            got.append(t)
        if got:
            ins[port.name] = got if port.multi else got[-1]
    return try_block(spec, row.values, ins)


def _try_instance(doc, analysis, key, edge: Edge, old) -> str | None:
    """A network instance: analyse a copy of the project with the wire in place; the first new
    problem on the instance (or inside it) is the reason."""
    trial = copy.deepcopy(doc.project)
    g = trial.training if key == "training" else trial.networks[key]
    if old is not None:
        g.edges.remove(old)
    g.edges.append(edge)
    before = {str(p) for p in analysis.problems}
    for p in analyze(trial).problems:
        inside = p.path.startswith(f"{edge.dst}/") or f"/{edge.dst}/" in p.path
        if str(p) not in before and ((p.graph == key and p.node == edge.dst) or inside):
            return p.message
    return None


@dataclass(frozen=True)
class Candidate:
    """A block (or an instance of ``network``) that can take a wire on its input ``port``."""

    block: str
    network: str | None
    port: str


def accepting(doc: Document, analysis: Analysis, graph_key: str, src: str, src_port: str,
              blocks=(), networks=()) -> list[Candidate]:
    """Of ``blocks`` (block ids) and ``networks`` (names), those with an input that would take
    the wire from ``src.src_port``, with default parameters, each with the first such input."""
    g = doc.graph(graph_key)
    t = wire_type(analysis, graph_key, src, src_port)
    kind = t.kind if t is not None else edits._output_kind(g, src)
    out = []
    for block in blocks:
        try:
            spec = get_block(block)
            values = Values(spec.validate({}))
            ports = spec.input_ports(values)
        except (KeyError, ParamError, ShapeError, ValueError, TypeError):
            continue
        for port in ports:
            if (port.kind == "loss") != (kind == "loss"):
                continue
            if t is None or try_block(spec, values, {port.name: [t] if port.multi else t}) is None:
                out.append(Candidate(block, None, port.name))
                break
    for name in networks:
        port = _network_port(doc, analysis, graph_key, src, src_port, name, kind, t)
        if port is not None:
            out.append(Candidate(INSTANCE, name, port))
    return out


def _network_port(doc, analysis, key, src, src_port, name, kind, t) -> str | None:
    net = doc.project.networks.get(name)
    if net is None or key == name or kind == "loss":
        return None
    inputs = net.inputs()
    if not inputs:
        return None
    if t is None or len(inputs) > 1:
        return inputs[0].id  # the other inputs are not wired yet: nothing to judge against
    trial = copy.deepcopy(doc.project)
    g = trial.training if key == "training" else trial.networks[key]
    node_id = g.new_id(name, numbered=True)
    g.add(INSTANCE, id=node_id, network=name)
    g.edges.append(Edge(src, src_port, node_id, inputs[0].id))
    problems = [p for p in analyze(trial).problems
                if p.graph == key and p.node == node_id or p.path.startswith(f"{node_id}/")]
    return None if problems else inputs[0].id
