"""Which networks of a project fit a function of one number: a loss that does not measure
accuracy, whose target is a dataset's output of one number, read from a dataset whose first
output (its x) is one number too, and whose prediction is one number. Each such prediction is
one curve of the Function Fit view, labelled with its hidden widths and parameter count.

No torch here: the dashboard asks it whether a project has the view, the probe which nodes to
evaluate over the grid of x.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.inference import topological_order
from studio.core.project import node_ports, predecessors, upstream_of
from studio.core.registry import is_data_source, measures_accuracy, spec_of
from studio.engine.node_keys import node_key

ONE_NUMBER = (1,)


@dataclass(frozen=True)
class FittedCurve:
    key: str  # the prediction's node key, as the probes name it
    node: str  # the id of the node giving the prediction
    label: str  # "w8_out: width 8, 25 parameters"


def _shapes(analysis, node_id: str) -> dict:
    row = analysis.result("training", node_id)
    return {port: tuple(t.shape) for port, t in row.outputs.items()} if row is not None else {}


def fitted_curves(project, analysis) -> list[FittedCurve]:
    """One curve per prediction of one number that a regression loss compares with a dataset's
    one-number target, in the graph's order (a lesson trains several side by side)."""
    graph = project.training
    preds = predecessors(graph)
    order = topological_order(graph)[0]
    found: list[FittedCurve] = []
    for loss in graph.nodes.values():
        spec = spec_of(loss.block)
        if spec is None or spec.category != "loss" or measures_accuracy(loss.block):
            continue
        wires = {e.dst_port: e for e in graph.edges if e.dst == loss.id}
        guess, target = wires.get("input"), wires.get("target")
        if guess is None or target is None or not is_data_source(graph.nodes[target.src].block):
            continue
        data = _shapes(analysis, target.src)
        if data.get(target.src_port) != ONE_NUMBER or list(data.values())[0] != ONE_NUMBER:
            continue
        if _shapes(analysis, guess.src).get(guess.src_port) != ONE_NUMBER:
            continue
        ports = len(node_ports(graph, guess.src, "output"))
        key = node_key(guess.src, port=guess.src_port if ports > 1 else None)
        if key not in (c.key for c in found):
            found.append(FittedCurve(key, guess.src, _label(graph, analysis, guess.src, preds,
                                                             order)))
    return found


def _label(graph, analysis, node_id: str, preds: dict, order: list) -> str:
    """"<node>: width 8, 25 parameters" (widths 8-8 for two hidden layers): the widths are
    the outputs of the layers with parameters before the last one."""
    nodes = upstream_of(graph, node_id, preds) | {node_id}
    rows = [analysis.result("training", n) for n in order if n in nodes
            and not is_data_source(graph.nodes[n].block)]
    rows = [r for r in rows if r is not None and r.params]
    params = sum(r.params for r in rows)
    widths = [list(r.outputs.values())[0].shape[-1] for r in rows[:-1] if r.outputs]
    shape = (f"width {widths[0]}" if len(widths) == 1 else
             f"widths {'-'.join(str(w) for w in widths)}" if widths else "no hidden layer")
    title = graph.nodes[node_id].title or node_id
    return f"{title}: {shape}, {params:,} parameter{'s' if params != 1 else ''}"


def fits_functions(project, analysis) -> bool:
    """Whether the project has a network fitting a function of one number (the view's test)."""
    return bool(fitted_curves(project, analysis))
