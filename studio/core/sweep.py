"""What a sweep varies, checked against the project, and a trial's project made from it.

A dimension is written ``WHAT=VALUES``:

- ``NODE.PARAM`` a parameter of a node of the training graph (``conv1.out_channels``), or of a
  network's node as ``NETWORK/NODE.PARAM`` (``training/NODE.PARAM`` names the training graph
  explicitly, for a node called ``training``);
- ``training.SETTING`` a training setting (``training.batch_size``);
- ``NODE.block`` the node's block, swapped for each alternative (``pool1.block=MaxPool2d,
  BlurPool2d``): the node keeps its id, its wires on same-named ports and the parameters the new
  block has (``edits.swap_block``).

VALUES is a list ``V1,V2,...`` (numbers, true/false, none, names, ``[3,5]``), a range
``lo..hi`` (whole numbers when both ends are and the parameter is not a float; a float range
otherwise) or a log range ``log:lo..hi``. Every value is checked now with the parameter's own
kind, so a value out of range is refused naming the node and field before anything trains;
what only the analysis or a run can find (a shape that no longer fits) fails that trial alone.

Also how a sweep searches (``SweepSpace.plan``) and the Pareto front of its results
(``pareto_front``). No torch, no Qt, no optuna.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, replace

from studio.core import edits
from studio.core.document import Command, Document, Macro, SetGraphContents, SetSettings
from studio.core.fileformat import dumps, loads
from studio.core.params import Arg, Float, Int, Optional, ParamError
from studio.core.project import INSTANCE, TRAINING_SETTINGS, Project, ProjectError
from studio.core.registry import all_blocks, get_block

SETTINGS = "training"  # the prefix of a training setting, and the training graph's key
BLOCK = "block"  # the field that swaps a node's block
LOG_PREFIX = "log:"
RANGE_MARK = ".."
GRID_RANGE_LIMIT = 64  # whole numbers a grid expands a range into, at most
GRID, RANDOM, BAYESIAN = "grid", "random", "bayesian"  # how trials are chosen (engine/sweep.py)
METHODS = (GRID, RANDOM, BAYESIAN)
DEFAULT_TRIALS = 10  # for random and Bayesian search, when no number is given


class SweepError(ValueError):
    """A dimension that cannot be swept; the message names it and says why."""


@dataclass(frozen=True)
class Dimension:
    """One thing that varies: a list of values (``choices``, with ``texts`` as written) or a
    range from ``low`` to ``high`` (``integer``, ``log``)."""

    name: str  # as written before '=': "conv1.out_channels", "training.batch_size"
    graph: str | None  # "training" or a network's name; None for a training setting
    node: str | None
    field: str  # the parameter, the setting, or "block"
    choices: tuple = ()
    texts: tuple = ()
    low: float | None = None
    high: float | None = None
    integer: bool = False
    log: bool = False

    @property
    def is_range(self) -> bool:
        return self.low is not None

    @property
    def is_setting(self) -> bool:
        return self.graph is None

    @property
    def is_block(self) -> bool:
        return self.graph is not None and self.field == BLOCK

    def value_of(self, text: str):
        """The value a choice's text stands for."""
        return self.choices[self.texts.index(text)]

    def grid_values(self) -> tuple:
        """Every value a grid tries: the list, or each whole number of a short range."""
        if not self.is_range:
            return self.choices
        count = int(self.high - self.low) + 1 if self.integer else 0
        if not self.integer or count > GRID_RANGE_LIMIT:
            what = (f"a range of {count} whole numbers" if self.integer else
                    "a log range" if self.log else "a range of real numbers")
            raise SweepError(f"{self.name}: a grid tries every value, and this is {what}; list "
                             f"the values, or search with --method random or bayesian")
        return tuple(range(int(self.low), int(self.high) + 1))

    def as_json(self) -> dict:
        out = {"name": self.name}
        if self.is_range:
            out.update(low=self.low, high=self.high, integer=self.integer, log=self.log)
        else:
            out["values"] = list(self.texts)
        return out


class SweepSpace:
    """The dimensions of a sweep, checked against its project."""

    def __init__(self, project: Project, specs):
        self.project = project
        parsed = [parse(text) for text in specs]
        if not parsed:
            raise SweepError("nothing varies: give at least one NODE.PARAM=VALUES")
        names = [d.name for d in parsed]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise SweepError(f"{twice[0]} is varied twice; give all its values in one list")
        swaps = {(d.graph, d.node): d for d in parsed if d.is_block}
        self.dimensions = tuple(_check(project, d, swaps.get((d.graph, d.node)))
                                for d in parsed)

    @property
    def is_discrete(self) -> bool:
        """Every dimension is a list or a short whole-number range: a grid can try them all."""
        try:
            self.grid()
        except SweepError:
            return False
        return True

    def grid(self) -> list[dict]:
        """Every combination of values, the first dimension varying slowest."""
        names = [d.name for d in self.dimensions]
        return [dict(zip(names, combo)) for combo in
                itertools.product(*(d.grid_values() for d in self.dimensions))]

    def plan(self, method: str | None = None, trials: int | None = None) -> tuple[str, int]:
        """The search method and the number of trials. ``method`` None: grid when every
        dimension is a list (or a short range of whole numbers), Bayesian otherwise;
        ``trials`` None: the whole grid, or DEFAULT_TRIALS. SweepError when the method cannot
        search the space (a grid over a range of real numbers)."""
        method = method or (GRID if self.is_discrete else BAYESIAN)
        if method not in METHODS:
            raise SweepError(f"no search method {method!r} (methods: {', '.join(METHODS)})")
        if method == GRID:
            size = len(self.grid())
            return method, size if trials is None else min(trials, size)
        return method, DEFAULT_TRIALS if trials is None else trials

    def apply(self, values: dict) -> Project:
        """A copy of the project with a trial's values (name -> value) set, through the same
        edits the editor makes; ProjectError when they do not fit (a block that cannot take
        the node's wires)."""
        trial = loads(dumps(self.project))
        doc = Document(trial)
        by_name = {d.name: d for d in self.dimensions}
        ordered = sorted(values, key=lambda n: not by_name[n].is_block)  # swaps first
        settings = {}
        for name in ordered:
            dim, value = by_name[name], values[name]
            if dim.is_setting:
                settings[dim.field] = value
            elif dim.is_block:
                edits.swap_block(doc, dim.graph, dim.node, value)
            else:
                edits.set_params(doc, dim.graph, dim.node, {dim.field: value})
        if settings:
            edits.set_settings(doc, **settings)
        return trial

    def edit(self, values: dict, text: str) -> Command | None:
        """A trial's values as ONE command on the project the space was checked against (the
        app's Apply Best: one undo step): each graph the values change, keeping the very node
        objects they leave alone, and the settings they set; None when nothing would change.
        ProjectError as ``apply``."""
        trial = self.apply(values)
        commands: list[Command] = []
        for key in dict.fromkeys(d.graph for d in self.dimensions if not d.is_setting):
            now, after = _graph(self.project, key), _graph(trial, key)
            nodes = {n: now.nodes[n] if now.nodes.get(n) == node else node
                     for n, node in after.nodes.items()}
            if list(nodes) != list(now.nodes) or after.edges != now.edges or \
                    any(node is not now.nodes[n] for n, node in nodes.items()):
                commands.append(SetGraphContents(key, nodes, after.edges, text))
        settings = {d.field: trial.training.settings[d.field] for d in self.dimensions
                    if d.is_setting and trial.training.settings[d.field] !=
                    self.project.training.settings[d.field]}
        if settings:
            commands.append(SetSettings(settings))
        return Macro(text, commands) if commands else None

    def as_json(self) -> list[dict]:
        return [d.as_json() for d in self.dimensions]


def _graph(project: Project, key: str):
    return project.training if key == SETTINGS else project.networks[key]


def block_alternatives(project: Project, graph: str, node: str) -> list[str]:
    """The blocks a node's block could be swapped for in a sweep: those of its category that
    take its wires (``edits.swap_block`` accepts them), in catalogue order."""
    doc = Document(loads(dumps(project)))
    current = _graph(doc.project, graph).nodes[node].block
    if current == INSTANCE:
        return []
    category = get_block(current).category
    fits = []
    for spec in all_blocks():
        if spec.category != category or spec.id == current:
            continue
        try:
            edits.swap_block(doc, graph, node, spec.id)
        except ProjectError:
            continue
        doc.undo()
        fits.append(spec.id)
    return fits


def describe(values: dict) -> str:
    """A trial's values in one line: ``conv1.out_channels=8 pool1.block=MaxPool2d``."""
    return " ".join(f"{name}={_text(value)}" for name, value in values.items())


def pareto_front(points, maximize: bool) -> list[int]:
    """The indices of the (metric, cost) points that no other point beats: none costs at most
    as much with a metric at least as good and is strictly better in one. Points missing
    either number are left out. In order of cost."""
    known = [(i, m, c) for i, (m, c) in enumerate(points) if m is not None and c is not None
             and not (isinstance(m, float) and math.isnan(m))]

    def better(a, b) -> bool:
        return a > b if maximize else a < b

    front = [i for i, m, c in known
             if not any(c2 <= c and (better(m2, m) or m2 == m) and (c2 < c or better(m2, m))
                        for j, m2, c2 in known if j != i)]
    return sorted(front, key=lambda i: (points[i][1], i))


# parsing ----------------------------------------------------------------------------------------

def parse(text: str) -> Dimension:
    """The syntax of ``WHAT=VALUES`` (nothing is checked against a project yet)."""
    what, mark, values = text.partition("=")
    what, values = what.strip(), values.strip()
    if not mark or not what or not values:
        raise SweepError(f"{text!r}: expected NODE.PARAM=VALUES, such as conv1.out_channels=4,8 "
                         "or training.batch_size=32,64")
    where, dot, field = what.rpartition(".")
    if not dot or not where or not field:
        raise SweepError(f"{what}: expected NODE.PARAM, NETWORK/NODE.PARAM, training.SETTING "
                         "or NODE.block")
    if where == SETTINGS:
        graph, node = None, None
    else:
        graph, slash, node = where.rpartition("/")
        graph = graph if slash else SETTINGS
        if not graph or not node:
            raise SweepError(f"{what}: expected NETWORK/NODE.PARAM")
    dim = Dimension(what, graph, node, field)
    body = values[len(LOG_PREFIX):] if values.startswith(LOG_PREFIX) else values
    if RANGE_MARK in body:
        lo_text, _, hi_text = body.partition(RANGE_MARK)
        lo, hi = _token(lo_text.strip()), _token(hi_text.strip())
        if not all(_is_number(v) for v in (lo, hi)):
            raise SweepError(f"{what}: a range is lo..hi with numbers, got {values!r}")
        if not lo < hi:
            raise SweepError(f"{what}: a range's low end must be below its high end, got "
                             f"{values!r}")
        log = body is not values
        if log and lo <= 0:
            raise SweepError(f"{what}: a log range must start above 0, got {values!r}")
        integer = isinstance(lo, int) and isinstance(hi, int)
        return replace(dim, low=lo, high=hi, integer=integer, log=log)
    texts = tuple(t.strip() for t in _split(values))
    if any(not t for t in texts):
        raise SweepError(f"{what}: an empty value in {values!r}")
    if len(set(texts)) != len(texts):
        raise SweepError(f"{what}: a value is listed twice in {values!r}")
    return replace(dim, choices=tuple(_token(t) for t in texts), texts=texts)


def _split(text: str) -> list[str]:
    """Split at the commas outside brackets: ``[3,5],7`` -> ``[3,5]``, ``7``."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "["
        depth -= char == "]"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return parts + [current]


_WORDS = {"true": True, "false": False, "none": None, "null": None}


def _token(text: str):
    """A value as written: a number, true/false, none, a [list], or else a name."""
    if text.lower() in _WORDS:
        return _WORDS[text.lower()]
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return tuple(value) if isinstance(value, list) else value


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, tuple):
        return "[" + ",".join(map(_text, value)) + "]"
    return str(value)


# checking against the project -------------------------------------------------------------------

def _check(project: Project, dim: Dimension, swap: Dimension | None) -> Dimension:
    """The dimension with its values checked; ``swap``, the dimension swapping the same node's
    block, if one does."""
    if dim.is_setting:
        prm = next((p for p in TRAINING_SETTINGS if p.name == dim.field), None)
        if prm is None:
            raise SweepError(f"{dim.name}: no training setting {dim.field!r} (settings: "
                             f"{', '.join(p.name for p in TRAINING_SETTINGS)})")
        return _checked_values(dim, prm)
    graph = project.training if dim.graph == SETTINGS else project.networks.get(dim.graph)
    if graph is None:
        raise SweepError(f"{dim.name}: no network named {dim.graph!r}")
    node = graph.nodes.get(dim.node)
    where = "the training graph" if dim.graph == SETTINGS else f"network {dim.graph}"
    if node is None:
        raise SweepError(f"{dim.name}: there is no node {dim.node!r} in {where}")
    if dim.is_block:
        if dim.is_range:
            raise SweepError(f"{dim.name}: a block is swapped for a list of blocks, not a range")
        for block in dim.choices:
            _check_swap(project, dim, block)
        return dim
    if node.block == INSTANCE:
        raise SweepError(f"{dim.name}: {dim.node} is a network instance; vary the network's own "
                         "nodes (NETWORK/NODE.PARAM)")
    if swap is not None:
        return _check_with_swap(dim, swap)
    try:
        prm = get_block(node.block).param(dim.field)
    except KeyError:
        names = ", ".join(p.name for p in get_block(node.block).params) or "none"
        raise SweepError(f"{dim.name}: {dim.node} ({node.block}) has no parameter "
                         f"{dim.field!r} (its parameters: {names})") from None
    return _checked_values(dim, prm)


def _checked_values(dim: Dimension, prm) -> Dimension:
    """The values validated by the parameter's kind (and normalized: 4 -> 4.0 for a float)."""
    kind = prm.kind.inner if isinstance(prm.kind, Optional) else prm.kind
    if dim.is_range:
        if not isinstance(kind, (Int, Float)):
            raise SweepError(f"{dim.name}: a range needs a numeric parameter; "
                             f"{prm.name} is {prm.kind.describe()}: list its values")
        integer = dim.integer and isinstance(kind, Int)
        if isinstance(kind, Int) and not dim.integer:
            raise SweepError(f"{dim.name}: {prm.name} is a whole number; give a range of whole "
                             f"numbers, got {_text(dim.low)}..{_text(dim.high)}")
        for end in (dim.low, dim.high):
            _validate(dim, prm, end)
        lo, hi = (dim.low, dim.high) if integer else (float(dim.low), float(dim.high))
        return replace(dim, low=lo, high=hi, integer=integer)
    return replace(dim, choices=tuple(_validate(dim, prm, v) for v in dim.choices))


def _validate(dim: Dimension, prm, value):
    try:
        return prm.validate(value)
    except ParamError as err:
        raise SweepError(f"{dim.name}={_text(value)}: {err}") from None


def _check_swap(project: Project, dim: Dimension, block) -> None:
    """The swap is tried on a copy, so a block unknown or whose ports do not take the node's
    wires is refused now, naming both."""
    if not isinstance(block, str):
        raise SweepError(f"{dim.name}: expected block names, got {block!r}")
    try:
        get_block(block)
    except KeyError:
        raise SweepError(f"{dim.name}: unknown block {block!r} (`studio blocks` lists them)") \
            from None
    try:
        edits.swap_block(Document(loads(dumps(project))), dim.graph, dim.node, block)
    except ProjectError as err:
        raise SweepError(f"{dim.name}={block}: {err}") from None


def _check_with_swap(dim: Dimension, swap: Dimension) -> Dimension:
    """A parameter varied on a node whose block is swapped must be a parameter of every block
    it may be swapped for, and accept every value there."""
    checked = []
    for block in swap.choices:
        try:
            prm = get_block(block).param(dim.field)
        except KeyError:
            raise SweepError(f"{dim.name}: {block} has no parameter {dim.field!r}, and "
                             f"{swap.name} may swap {dim.node} for it") from None
        checked.append(_checked_values(dim, prm))
    return checked[0]


def values_json(values: dict) -> dict:
    """A trial's values as JSON data (tuples as lists; network argument references by name)."""
    def plain(value):
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        return {"arg": value.name} if isinstance(value, Arg) else value
    return {name: plain(value) for name, value in values.items()}
