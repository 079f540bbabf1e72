"""Incremental analysis: after any sequence of edits (parameters, wires, nodes, links, networks,
undo and redo) the analysis brought up to date edit by edit equals a fresh one, and names every
node whose rows or problems changed; the verdict a kept ``Judge`` gives on it equals a fresh
``judge``."""

import random

import pytest

from studio.core.document import (
    AddNode,
    Change,
    Connect,
    Disconnect,
    Document,
    RemoveNodes,
    SetParams,
    SetSettings,
)
from studio.core.fileformat import load
from studio.core.incremental import Analyzer
from studio.core.inference import analyze, node_ports
from studio.core.package_files import examples_folder
from studio.core.project import PortRef, ProjectError
from studio.core.verdict import Judge, judge
from tests.helpers import nested_blocks_project

# values that keep a graph sound and values that break it (a kernel larger than the image,
# a zero width, an argument no network declares, a dataset whose outputs the wires do not
# start from)
VALUES = {"out_channels": [1, 4, 8, 0], "kernel_size": [1, 3, 5, 31], "padding": [0, 1, 2],
          "stride": [1, 2, 3], "out_features": [3, 10, 0], "p": [0.1, 0.5], "size": [8, 16],
          "dataset": ["digits", "digits", "csv"]}
NEW_BLOCKS = ["ReLU", "Conv2d", "BatchNorm2d", "Flatten", "Linear", "Add", "MaxPool2d"]


def residual_project():
    """The nested-blocks project with a residual branch, a linked duplicate and a second loss."""
    p = nested_blocks_project()
    t = p.training
    conv = t.add("Conv2d", id="rconv", out_channels=1, kernel_size=3, padding=1)
    t.connect(PortRef(t, "data", "image"), conv)
    relu = t.add("ReLU", id="rrelu")
    t.connect(conv, relu)
    add = t.add("Add", id="radd")
    t.connect(relu, add)
    t.connect(conv, add)
    twin = t.link("rconv", id="rtwin")
    t.connect(add, twin)
    head = t.stack(twin, ("Flatten", "rflat", {}), ("Linear", "rfc", dict(out_features=10)))
    loss = t.add("CrossEntropy", id="rloss")
    t.connect(head, loss["input"])
    t.connect(PortRef(t, "data", "label"), loss["target"])
    return p


def signature(analysis):
    rows = [(r.graph, r.path, r.node.id, r.depth, r.values.as_dict() if r.values else None,
             r.inputs, r.outputs, r.params, r.macs, r.rf, r.ok, r.args) for r in analysis.rows]
    problems = [(p.graph, p.node, p.field, p.message, p.path, p.severity)
                for p in analysis.problems]
    return (rows, problems, analysis.instances, analysis.total_params, analysis.total_macs,
            analysis.broken_wires)


def shown(analysis) -> dict:
    """What a view shows per node: its first row and its problems."""
    out: dict = {}
    for r in analysis.rows:
        key = (r.graph, r.node.id)
        if key not in out:
            out[key] = [(r.values.as_dict() if r.values else None, r.inputs, r.outputs,
                         r.params, r.macs, r.ok)]
    for p in analysis.problems:
        out.setdefault((p.graph, p.node), [None]).append(str(p))
    return out


def random_edit(rng: random.Random, doc: Document):
    """A random command on the training graph (sometimes on a network), often one that breaks
    the graph: a cycle, a second wire into a single input, a kernel larger than the image."""
    project = doc.project
    key = "training" if rng.random() < 0.85 or not project.networks else \
        rng.choice(list(project.networks))
    g = doc.graph(key)
    ids = list(g.nodes)
    kind = rng.choice(["params", "params", "params", "connect", "disconnect", "remove", "add",
                       "link", "settings"])
    if kind == "settings":
        return SetSettings({"batch_size": rng.choice([8, 32])})
    if not ids:
        kind = "add"
    if kind == "params":
        node = g.nodes[rng.choice(ids)]
        names = [n for n in node.params if n in VALUES]
        if not names:
            return None
        name = rng.choice(names)
        return SetParams(key, node.id, {name: rng.choice(VALUES[name])})
    if kind == "connect":
        src, dst = rng.choice(ids), rng.choice(ids)
        outs, ins = node_ports(g, src, "output"), node_ports(g, dst, "input")
        if not outs or not ins:
            return None
        return Connect(key, src, rng.choice(outs).name, dst, rng.choice(ins).name)
    if kind == "disconnect":
        return Disconnect(key, [rng.choice(g.edges)]) if g.edges else None
    if kind == "remove":
        return RemoveNodes(key, rng.sample(ids, min(len(ids), rng.choice([1, 1, 2]))))
    if kind == "link":
        node = g.nodes[rng.choice(ids)]
        if node.block in ("Input", "Output", "Network", "Dataset", "Adam"):
            return None
        return AddNode(key, node.block, params=dict(node.params), shares=node.id)
    block = rng.choice(NEW_BLOCKS)
    return AddNode(key, block, pos=(rng.uniform(0, 500), rng.uniform(0, 500)))


def run_edits(project, seed: int, steps: int):
    rng = random.Random(seed)
    doc = Document(project)
    analyzer = Analyzer(doc.project)
    kept_judge = Judge()
    kept_judge(doc.project, analyzer.analysis)
    previous = [analyzer.analysis]
    doc.subscribe(lambda change: previous.append(analyzer.update(change)))
    incremental = 0
    for step in range(steps):
        action = rng.random()
        before = analyzer.analysis
        if action < 0.12 and doc.can_undo:
            doc.undo()
        elif action < 0.18 and doc.can_redo:
            doc.redo()
        else:
            command = random_edit(rng, doc)
            if command is None:
                continue
            try:
                doc.push(command)
            except ProjectError:
                continue
        after = analyzer.analysis
        fresh = analyze(doc.project)
        assert signature(after) == signature(fresh), (seed, type(command))
        available = None if step % 2 else 50_000  # small: the memory warning comes and goes
        assert kept_judge(doc.project, after, available) == judge(doc.project, fresh, available)
        if after.changed is not None:
            incremental += 1
            assert after.follows == before.serial
            a, b = shown(before), shown(after)
            differ = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k) and k[1]}
            assert differ <= after.changed, (seed, differ - after.changed)
    return incremental


@pytest.mark.parametrize("seed", range(12))
def test_random_edits_equal_a_fresh_analysis(seed):
    incremental = run_edits(residual_project(), seed, 40)
    assert incremental > 10  # most edits were brought up to date, not analysed anew


@pytest.mark.parametrize("name", ["resnet_digits", "lenet"])
def test_random_edits_of_examples_equal_a_fresh_analysis(name):
    for seed in range(3):
        run_edits(load(examples_folder() / f"{name}.studio"), 100 + seed, 30)


def test_a_parameter_edit_reanalyses_only_what_lies_downstream():
    doc = Document(residual_project())
    analyzer = Analyzer(doc.project)
    doc.subscribe(analyzer.update)
    untouched = analyzer.analysis.result("training", "b1")
    doc.push(SetParams("training", "rconv", {"out_channels": 2}))
    after = analyzer.analysis
    assert after.result("training", "b1") is untouched  # upstream of nothing edited: reused
    assert {n for g, n in after.changed if g == "training"} == {
        "rconv", "rrelu", "radd", "rtwin", "rflat", "rfc", "rloss"}
    assert after.result("training", "rconv").outputs["out"].shape[0] == 2
    assert after.result("training", "rtwin").values.out_channels == 2  # the link follows


def test_an_edit_of_a_network_is_analysed_whole():
    doc = Document(residual_project())
    analyzer = Analyzer(doc.project)
    doc.subscribe(analyzer.update)
    doc.push(SetParams("Block", "conv", {"kernel_size": 5}))
    assert analyzer.analysis.changed is None
    assert signature(analyzer.analysis) == signature(analyze(doc.project))


def test_a_value_equal_to_the_last_but_of_another_type_is_validated_again():
    project = residual_project()
    analyzer = Analyzer(project)
    project.training.nodes["rconv"].params["out_channels"] = 1.0  # a whole float: taken as 1
    after = analyzer.update(Change({"training"}, {("training", "rconv")}))
    assert signature(after) == signature(analyze(project))
    project.training.nodes["rconv"].params["out_channels"] = True  # equal to 1, not a number
    after = analyzer.update(Change({"training"}, {("training", "rconv")}))
    assert signature(after) == signature(analyze(project))
    assert any(p.node == "rconv" and p.field == "out_channels" for p in after.problems)
