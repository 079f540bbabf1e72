"""Per-node training health for the canvas: is a node's gradient vanishing or exploding, are its
units dead, did the run fail there.

Plain Python (no Qt), built from a ``Run`` of the dashboard's store alone. The probes report by
node *path* (``training/generator/relu1``); the canvas has one tab per graph, so
``health_by_graph`` maps each path to the node it names in its own graph, and also lets every
network instance on the way carry the worst health found inside it: a sick generator shows on the
training tab without opening the Generator tab.

Thresholds (rules of thumb, not laws):

* The update-to-weight ratio (norm of one optimizer step's change / norm of the weights) is the
  gradient's effect on the weights whatever the optimizer; about 1e-3 is healthy. Below
  ``VANISHING_RATIO`` (1e-6) the layer has stopped learning; above ``EXPLODING_RATIO`` (0.1) one
  step rewrites a tenth of the weights, the usual sign of a learning rate that is too high.
* Adam-like optimizers rescale tiny gradients back up, so the ratio alone can hide a vanished
  gradient: a gradient norm below ``VANISHING_GRAD`` (1e-8, Adam's epsilon) also counts.
* A non-finite gradient or weight norm (inf, nan) is exploding.
* ``DEAD_FRACTION`` (0.5): at least half of a ReLU's units output zero for the whole probe batch;
  they pass no gradient back and will not recover by themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from studio.core.project import INSTANCE
from studio.engine.events import Error
from studio.engine.node_keys import ROOT, NodeKey

VANISHING_RATIO = 1e-6
EXPLODING_RATIO = 1e-1
VANISHING_GRAD = 1e-8
DEAD_FRACTION = 0.5

LEVELS = ("ok", "vanishing", "dead", "exploding", "error")  # from healthy to worst
_RANK = {level: i for i, level in enumerate(LEVELS)}


@dataclass(frozen=True)
class Health:
    """What the canvas shows for one node: a level (its colour) and a line for the tooltip."""

    level: str  # one of LEVELS
    text: str
    grad_norm: float | None = None
    update_ratio: float | None = None
    dead_fraction: float | None = None

    @property
    def rank(self) -> int:
        return _RANK.get(self.level, 0)

    @property
    def note(self) -> str:
        """A word or two for the node's footer where there is room; empty when healthy."""
        if self.level == "dead" and self.dead_fraction is not None:
            return f"{self.dead_fraction:.0%} dead"
        return "" if self.level == "ok" else self.level


def _num(value) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _sci(value: float) -> str:
    return f"{value:.1e}" if math.isfinite(value) else str(value)


def classify(stats: dict | None, dead_fraction: float | None = None) -> Health | None:
    """The health of one node from its newest parameter statistics (``grad_norm``,
    ``weight_norm``, ``update_ratio``) and/or dead-unit fraction; None when there is neither."""
    dead = _num(dead_fraction)
    if not stats and dead is None:
        return None
    stats = stats or {}
    grad, weight, ratio = (_num(stats.get(k)) for k in ("grad_norm", "weight_norm", "update_ratio"))
    level, parts = "ok", []
    if grad is not None or ratio is not None:
        figures = []
        if grad is not None:
            figures.append(f"grad {_sci(grad)}")
        if ratio is not None:
            figures.append(f"update/weight {_sci(ratio)}")
        figures = " \u00b7 ".join(figures)
        if any(v is not None and not math.isfinite(v) for v in (grad, weight, ratio)):
            level, figures = "exploding", f"exploding (not finite): {figures}"
        elif ratio is not None and ratio > EXPLODING_RATIO:
            level, figures = "exploding", f"exploding: {figures} (each step changes the " \
                                          f"weights by {ratio:.0%})"
        elif grad is not None and grad < VANISHING_GRAD and (weight or 0) > 0:
            level, figures = "vanishing", f"vanishing gradient: {figures}"
        elif ratio is not None and ratio < VANISHING_RATIO:
            if ratio == 0 and (grad or 0) >= VANISHING_GRAD:
                figures = f"{figures} (not updated: no optimizer steps it)"
            else:
                level, figures = "vanishing", f"vanishing gradient: {figures}"
        parts.append(figures)
    if dead is not None:
        dead_text = f"{dead:.0%} dead units"
        if dead >= DEAD_FRACTION and _RANK["dead"] > _RANK[level]:
            level = "dead"
            parts.insert(0, dead_text + " (zero for the whole probe batch)")
        else:
            parts.append(dead_text)
    return Health(level, " \u00b7 ".join(parts), grad, ratio, dead)


def error_health(error: Error) -> Health:
    """A node where the run failed (or the loss became nan)."""
    kind = str(error.kind or "error")
    message = str(error.message or "").strip().splitlines()
    message = message[0] if message else ""
    node = error.node
    if node and message.startswith(f"{node[0]}/{node[1]}: "):
        message = message[len(f"{node[0]}/{node[1]}: "):]
    if kind == "nan":
        text = message.split(";")[0].strip() or "the loss became nan here"
    else:
        text = f"{kind} error here: {message}" if message else f"{kind} error here"
    if len(text) > 140:
        text = text[:139] + "\u2026"
    return Health("error", text)


def worst(healths) -> Health | None:
    """The most alarming of ``healths`` (None entries skipped); the first wins ties."""
    best = None
    for h in healths:
        if h is not None and (best is None or h.rank > best.rank):
            best = h
    return best


def _graph(project, key: str):
    return project.training if key == "training" else project.networks.get(key)


def resolve_node(project, key: str):
    """A node path -> ((graph key, node id) of the node it names, [(graph key, instance id,
    path inside that instance)] for the instances on the way); None if the project has no such
    node (an edit since the run started)."""
    parts = [ROOT, *NodeKey.parse(key).path]  # the port, if any, is one output of the node
    if len(parts) < 2 or not all(parts):
        return None
    graph_key = parts[0]
    graph = _graph(project, graph_key)
    containers = []
    for i, node_id in enumerate(parts[1:-1], 1):
        node = graph.nodes.get(node_id) if graph is not None else None
        if node is None or node.block != INSTANCE:
            return None
        containers.append((graph_key, node_id, "/".join(parts[i + 1:])))
        graph_key = str(node.params.get("network"))
        graph = _graph(project, graph_key)
    if graph is None or parts[-1] not in graph.nodes:
        return None
    return (graph_key, parts[-1]), containers, "/".join(parts[1:-1])


def _combine_uses(entries: list) -> Health:
    """One node of a network used by several instances: the worst use, saying which."""
    if len(entries) == 1:
        return entries[0][1]
    where, h = max(entries, key=lambda e: e[1].rank)
    if h.level == "ok":
        text = "; ".join(f"{w}: {e.text}" for w, e in entries[:3])
        text += f"; {len(entries) - 3} more uses healthy" if len(entries) > 3 else ""
    else:
        text = f"{where}: {h.text} (worst of {len(entries)} uses)"
    return Health(h.level, text, h.grad_norm, h.update_ratio, h.dead_fraction)


def _combine_inside(entries: list) -> Health:
    """An instance: the worst health of the nodes inside it, naming the node."""
    where, h = entries[0]
    for e in entries[1:]:
        if e[1].rank > h.rank:
            where, h = e
    if h.level == "ok":
        return Health("ok", f"all {len(entries)} measured layers inside are healthy")
    sick = sum(1 for _, e in entries if e.level != "ok")
    more = f" \u00b7 {sick - 1} more inside need a look" if sick > 1 else ""
    return Health(h.level, f"{where}: {h.text}{more}", h.grad_norm, h.update_ratio,
                  h.dead_fraction)


def health_by_graph(project, run) -> dict:
    """graph key -> {node id: Health} for every node the run says something about.

    A path's own node gets its health (the worst over the instances that use it, for a node of
    a network); each instance on the path gets the worst of everything inside it; a linked
    duplicate shares its original's weights, so it also shows the original's health; the node
    the run's error names is "error", and so is every instance that leads to it."""
    if run is None:
        return {}
    keys = set(run.latest_stats) | set(run.dead_units)
    uses: dict = {}  # (graph, node) -> [(instance path, Health)]
    inside: dict = {}  # (graph, instance) -> [(path inside, Health)]
    for key in sorted(keys):
        health = classify(run.latest_stats.get(key), run.dead_units.get(key))
        found = resolve_node(project, key) if health is not None else None
        if found is None:
            continue
        target, containers, path = found
        uses.setdefault(target, []).append((path, health))
        for graph_key, node_id, rest in containers:
            inside.setdefault((graph_key, node_id), []).append((rest, health))
    table: dict = {t: _combine_uses(e) for t, e in uses.items()}
    for target, entries in inside.items():
        table[target] = worst((table.get(target), _combine_inside(entries)))
    for graph_key, graph in project.graphs():  # linked duplicates: the same weights
        for node in graph.nodes.values():
            original = table.get((graph_key, node.shares)) if node.shares else None
            if original is not None:
                own = table.get((graph_key, node.id))
                shared = Health(original.level, f"shares weights with {node.shares}: "
                                f"{original.text}", original.grad_norm, original.update_ratio,
                                original.dead_fraction)
                table[(graph_key, node.id)] = shared if own is None or \
                    original.rank > own.rank else own
    error = run.error
    node = error.node if error is not None else None
    if node and len(node) == 2 and _graph(project, node[0]) is not None \
            and node[1] in _graph(project, node[0]).nodes:
        bad = error_health(error)
        table[tuple(node)] = bad
        for graph_key, instance in _instances_of(project, node[0]):
            table[(graph_key, instance)] = Health(
                "error", f"{node[0]}/{node[1]}: {bad.text}")
    out: dict = {}
    for (graph_key, node_id), health in table.items():
        out.setdefault(graph_key, {})[node_id] = health
    return out


def _instances_of(project, network: str) -> list:
    """(graph key, node id) of every instance that runs ``network``, directly or through other
    networks."""
    found, todo, seen = [], [network], set()
    while todo:
        name = todo.pop()
        if name in seen or name == "training":
            continue
        seen.add(name)
        for graph_key, graph in project.graphs():
            for n in graph.nodes.values():
                if n.block == INSTANCE and n.params.get("network") == name:
                    found.append((graph_key, n.id))
                    todo.append(graph_key)
    return found
