"""The graph diff: what changed between two projects, node by node and network by network, with
each change's effect on shapes, parameters and multiply-adds; a project against itself is no
change, and the listed changes, applied to the first project, give the second."""

import contextlib
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from studio.core.diff import (
    ABSENT,
    ADDED,
    CHANGED,
    NODE_FIELDS,
    REMOVED,
    as_json,
    diff_projects,
    edits_text,
    lines,
    short_phrase,
)
from studio.core.document import Document
from studio.core.fileformat import load
from studio.core.params import Int
from studio.core.project import ProjectError
from studio.core.registry import get_block
from tests.helpers import EXAMPLES, nested_blocks_project
from tests.test_incremental import random_edit, residual_project

SWAPS = {"ReLU": "GELU", "GELU": "ReLU", "Tanh": "Sigmoid", "AvgPool2d": "MaxPool2d",
         "MaxPool2d": "AvgPool2d", "Conv2d": "SeparableConv2d", "Adam": "SGD"}


def lenet():
    return load(EXAMPLES / "lenet.studio")


def test_a_project_against_itself_is_no_change():
    diff = diff_projects(lenet(), lenet())
    assert diff.empty and not diff.affected
    assert lines(diff) == ["no differences (node positions are not compared)"]
    assert short_phrase(diff) == "same graph and settings"


def test_a_wider_layer_names_its_parameter_delta_and_what_moved_downstream():
    a, b = lenet(), lenet()
    b.training.nodes["conv1"].params["out_channels"] = 8
    diff = diff_projects(a, b)
    (change,) = diff.nodes
    assert (change.node, change.status, change.block_swapped, change.rewired) == (
        "conv1", CHANGED, False, False)
    assert [(v.name, v.before, v.after) for v in change.values] == [("out_channels", 6, 8)]
    # 5x5 kernels over one channel: 25 weights + 1 bias per output channel, 28x28 outputs
    assert change.after.params - change.before.params == 2 * 26
    assert change.after.macs - change.before.macs == 2 * 25 * 28 * 28
    assert (change.before.shapes, change.after.shapes) == (("6 x 28 x 28",), ("8 x 28 x 28",))
    moved = {c.node: c for c in diff.affected}
    assert set(moved) == {"tanh1", "pool1", "conv2"}  # shapes or costs changed, nobody edited them
    assert moved["conv2"].after.params - moved["conv2"].before.params == 2 * 25 * 16
    before, after = diff.totals
    assert after.params - before.params == 2 * 26 + 2 * 25 * 16
    assert short_phrase(diff) == "conv1.out_channels 6->8"
    text = "\n".join(lines(diff))
    assert "conv1: out_channels 6 -> 8; params +52, multiply-adds +39,200" in text
    assert "total parameters 61,706 -> 62,558 (+852)" in text


def test_added_removed_rewired_swapped_and_settings():
    a, b = lenet(), lenet()
    t = b.training
    t.nodes["pool1"].block = "MaxPool2d"
    t.nodes["pool1"].params = {p.name: p.default for p in get_block("MaxPool2d").params}
    t.nodes["tanh1"].block = "GELU"
    t.nodes["tanh1"].params = {"approximate": "none"}
    t.remove("tanh4")
    t.connect("fc2", "fc3")  # fc3 was fed by tanh4
    t.add("Dropout", id="drop", p=0.5)
    t.configure(batch_size=32)
    diff = diff_projects(a, b)
    by_node = {c.node: c for c in diff.nodes}
    assert by_node["pool1"].block_swapped and by_node["pool1"].block == ("AvgPool2d", "MaxPool2d")
    assert by_node["tanh4"].status == REMOVED and by_node["tanh4"].after is None
    assert by_node["drop"].status == ADDED and by_node["drop"].before is None
    assert by_node["fc3"].rewired
    assert by_node["fc3"].inputs == ((("x", "tanh4", "out"),), (("x", "fc2", "out"),))
    assert [(v.name, v.before, v.after) for v in diff.settings] == [("batch_size", 64, 32)]
    before, after = diff.totals
    assert after.memory < before.memory  # half the batch: half the activations
    data = as_json(diff)
    assert {n["node"] for n in data["nodes"]} == {"pool1", "tanh1", "tanh4", "drop", "fc3"}
    swapped = next(n for n in data["nodes"] if n["node"] == "tanh1")
    assert swapped["values"] == [{"name": "approximate", "after": "none"}]  # Tanh had none
    assert "tanh1: Tanh -> GELU" in "\n".join(lines(diff))


def test_networks_are_diffed_inside():
    a, b = nested_blocks_project(), nested_blocks_project()
    block = b.networks["Block"]
    block.nodes["conv"].params["kernel_size"] = 5
    block.arg("groups", Int(1), default=1)
    b.network("Spare")
    diff = diff_projects(a, b)
    (change,) = diff.nodes
    assert (change.graph, change.node) == ("Block", "conv")
    # two instances (width 4, then width 8): their costs add up
    assert change.after.params - change.before.params == (1 * 4 + 4 * 8) * (25 - 9)
    assert {(n.name, n.status) for n in diff.networks} == {("Block", CHANGED), ("Spare", ADDED)}
    assert "Block/conv: kernel_size 3 -> 5" in "\n".join(lines(diff))


# ---------------------------------------------------------------------------------------------
# property: applying the listed changes to A gives B
# ---------------------------------------------------------------------------------------------

def state(project) -> dict:
    """What the diff compares: per graph, each node's block, parameters, title, shared original
    and incoming wires; the settings, the networks' arguments and the name."""
    graphs = {}
    for key, graph in project.graphs():
        wires: dict = {}
        for e in graph.edges:
            wires.setdefault(e.dst, []).append((e.dst_port, e.src, e.src_port))
        graphs[key] = {nid: (n.block, dict(n.params), n.title or None, n.shares or None,
                             tuple(wires.get(nid, ()))) for nid, n in graph.nodes.items()}
    args = {name: {k: (a.kind.describe(), a.default) for k, a in net.args.items()}
            for name, net in project.networks.items()}
    return {"graphs": graphs, "settings": dict(project.training.settings), "args": args,
            "name": project.name}


def apply(diff, start: dict) -> dict:
    """The changes a diff lists, applied to a project's state."""
    graphs = {k: dict(v) for k, v in start["graphs"].items()}
    for net in diff.networks:
        if net.status == ADDED:
            graphs[net.name] = {}
    for change in diff.nodes:
        nodes = graphs.setdefault(change.graph, {})
        if change.status == REMOVED:
            del nodes[change.node]
            continue
        block, params, title, shares, _ = nodes.get(change.node, (None, {}, None, None, ()))
        params = dict(params)
        own = {}
        for v in change.values:
            if v.name in NODE_FIELDS:
                own[v.name] = v.after
            elif v.after is ABSENT:
                del params[v.name]
            else:
                params[v.name] = v.after
        nodes[change.node] = (change.block[1], params, own.get("title", title),
                              own.get("shares", shares), change.inputs[1])
    for net in diff.networks:
        if net.status == REMOVED:
            assert not graphs.pop(net.name)  # its nodes were listed as removed
    settings = dict(start["settings"], **{v.name: v.after for v in diff.settings})
    return {"graphs": graphs, "settings": settings,
            "name": diff.name.after if diff.name else start["name"]}


def _network_edit(rng: random.Random, project) -> None:
    """A network added (with an input), or one removed with its nodes."""
    if project.networks and rng.random() < 0.5:
        del project.networks[rng.choice(list(project.networks))]
    elif "Extra" not in project.networks:
        project.network("Extra").add("Input", id="x")


def _swap_or_retitle(rng: random.Random, project) -> None:
    key = rng.choice([k for k, _ in project.graphs()])
    graph = dict(project.graphs())[key]
    if not graph.nodes:
        return
    node = graph.nodes[rng.choice(list(graph.nodes))]
    if rng.random() < 0.5 and node.block in SWAPS:
        node.block = SWAPS[node.block]
        node.params = {p.name: p.default for p in get_block(node.block).params}
    else:
        node.title = rng.choice(["", "renamed", node.id])


def edited(make, seed: int, steps: int):
    rng = random.Random(seed)
    doc = Document(make())
    for _ in range(steps):
        if rng.random() < 0.2:
            _swap_or_retitle(rng, doc.project)
            continue
        if rng.random() < 0.05:
            _network_edit(rng, doc.project)
            continue
        command = random_edit(rng, doc)
        if command is not None:
            with contextlib.suppress(ProjectError):  # an edit the document refuses
                doc.push(command)
    if rng.random() < 0.2:
        doc.project.name = "Other"
    return doc.project


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["residual", "lenet"]), st.integers(0, 2**31), st.integers(0, 12))
def test_the_listed_changes_turn_a_into_b(which, seed, steps):
    make = residual_project if which == "residual" else lenet
    a, b = make(), edited(make, seed, steps)
    assert diff_projects(a, make()).empty
    assert diff_projects(b, b).empty and not diff_projects(b, b).affected
    diff = diff_projects(a, b)
    want, got = state(b), apply(diff, state(a))
    assert got["graphs"] == want["graphs"]
    assert got["settings"] == want["settings"] and got["name"] == want["name"]
    # the listed nodes are exactly those whose own state differs
    sa, sb = state(a)["graphs"], want["graphs"]
    differ = {(g, n) for g in sa.keys() | sb.keys()
              for n in sa.get(g, {}).keys() | sb.get(g, {}).keys()
              if sa.get(g, {}).get(n) != sb.get(g, {}).get(n)}
    assert {(c.graph, c.node) for c in diff.nodes} == differ
    assert not differ & {(c.graph, c.node) for c in diff.affected}
    assert as_json(diff)["empty"] == (not differ and state(a)["settings"] == want["settings"]
                                      and state(a)["name"] == want["name"])


def test_freezing_a_node_reads_frozen_and_thawing_it_unfrozen():
    before = load(EXAMPLES / "lenet.studio")
    after = load(EXAMPLES / "lenet.studio")
    after.training.nodes["conv1"].frozen = True
    (change,) = diff_projects(before, after).nodes
    assert edits_text(change) == "frozen"
    (change,) = diff_projects(after, before).nodes
    assert edits_text(change) == "unfrozen"
