"""Checking a graph: shapes, costs, receptive fields, and problems that name the node at fault."""

import time

from studio.core.inference import analyze
from studio.core.project import Project
from tests.helpers import mlp_on_moons, nested_blocks_project


def _classifier(*layers, dataset="digits", size=32):
    p = Project("Check")
    t = p.training
    data = t.add("Dataset", id="data", dataset=dataset, size=size)
    out = t.stack(data["image"] if dataset == "digits" else data["x"], *layers)
    loss = t.add("CrossEntropy", id="loss")
    t.connect(out, loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add("Adam", id="adam"))
    return p


def test_lenet_counts_match_the_course():
    p = _classifier(("Conv2d", "conv1", dict(out_channels=6, kernel_size=5)), "Tanh",
                    ("AvgPool2d", "pool1", {}), ("Conv2d", "conv2", dict(out_channels=16,
                                                                           kernel_size=5)),
                    "Tanh", ("AvgPool2d", "pool2", {}), "Flatten",
                    ("Linear", "fc1", dict(out_features=120)), "Tanh",
                    ("Linear", "fc2", dict(out_features=84)), "Tanh",
                    ("Linear", "fc3", dict(out_features=10)))
    a = analyze(p)
    assert a.ok, a.problems
    assert a.total_params == 61_706
    shapes = {r.node.id: r.outputs.get("out") for r in a.rows}
    assert shapes["conv1"].shape == (6, 28, 28)
    assert shapes["pool2"].shape == (16, 5, 5)
    assert a.result("training", "conv2").rf_text == "14x14"
    assert a.result("training", "conv1").macs == 6 * 28 * 28 * 25


def test_shape_mismatch_names_the_node_and_the_fix():
    p = _classifier(("Conv2d", "conv1", dict(out_channels=6, kernel_size=5)),
                    ("Linear", "fc", dict(out_features=10)))
    a = analyze(p)
    [problem] = a.problems
    assert problem.node == "fc" and problem.field == "x"
    assert "Flatten" in problem.message


def test_kernel_larger_than_input():
    p = _classifier(("Conv2d", "big", dict(out_channels=4, kernel_size=9)), size=8)
    problem = a_problem(p, "big")
    assert problem.field == "kernel_size" and "larger" in problem.message


def a_problem(p, node):
    found = [x for x in analyze(p).problems if x.node == node]
    assert found, analyze(p).problems
    return found[0]


def test_missing_input_and_bad_parameter():
    p = mlp_on_moons()
    t = p.training
    t.edges = [e for e in t.edges if e.dst != "fc2"]
    t.nodes["fc1"].params["out_features"] = 0
    a = analyze(p)
    by_node = {x.node: x for x in a.problems}
    assert by_node["fc1"].field == "out_features"
    assert "not connected" in by_node["fc2"].message
    # no cascade: nodes downstream of a broken node do not add their own noise
    assert "loss" not in by_node


def test_cycle_is_reported_on_its_nodes():
    p = mlp_on_moons()
    t = p.training
    t.connect(t.nodes["fc2"].id, t.nodes["fc1"].id)
    a = analyze(p)
    assert {x.node for x in a.problems if "cycle" in x.message} >= {"fc1", "fc2"}


def test_loss_into_a_tensor_port_is_refused():
    p = mlp_on_moons()
    t = p.training
    extra = t.add("ReLU", id="relu_loss")
    t.connect("loss", extra)
    problem = a_problem(p, "relu_loss")
    assert "loss" in problem.message


def test_optimizer_takes_only_losses():
    p = mlp_on_moons()
    t = p.training
    opt = t.add("Adam", id="adam2")
    t.connect("fc2", opt)
    problem = a_problem(p, "adam2")
    assert "expects a loss" in problem.message


def test_network_arguments_and_nested_instances():
    p = nested_blocks_project()
    t = p.training
    a = analyze(p)
    assert a.ok, a.problems
    assert a.result("training", "b1").outputs["y"].shape == (4, 16, 16)
    assert a.result("training", "b2").outputs["y"].shape == (8, 8, 8)
    assert a.result("training", "b2").params == 4 * 8 * 9 + 8
    inner = [r for r in a.rows if r.graph == "Block"]
    assert len(inner) == 8  # four nodes per instance
    # an unknown argument is refused on the instance
    t.nodes["b1"].params["args"] = {"depth": 3}
    assert a_problem(p, "b1").field == "args"


def test_network_cannot_contain_itself():
    p = Project("Loop")
    net = p.network("Selfish")
    x = net.add("Input", id="x")
    inner = p.instance(net, "Selfish", id="again")
    net.chain(x, inner, net.add("Output", id="y"))
    t = p.training
    data = t.add("Dataset", id="data", dataset="moons")
    t.connect(data["x"], p.instance(t, "Selfish", id="use"))
    assert any("contains itself" in x.message for x in analyze(p).problems)


def test_linked_duplicate_counts_parameters_once():
    p = Project("Linked")
    t = p.training
    data = t.add("Dataset", id="data", dataset="moons")
    fc = t.add("Linear", id="fc", out_features=2)
    again = t.link("fc", id="fc_again")
    t.connect(data["x"], fc)
    t.connect(fc, again)
    loss = t.add("CrossEntropy", id="loss")
    t.connect(again, loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add("Adam", id="adam"))
    a = analyze(p)
    assert a.ok, a.problems
    assert a.total_params == 2 * 2 + 2


def test_a_linked_duplicate_whose_input_does_not_fit_the_shared_weights_is_a_problem():
    """fc's weights are 2x2 (moons' two features); its duplicate fed fc's 8-wide hidden layer
    would need 2x8: the code would fail at the first step, so the check says it first."""
    p = Project("Linked")
    t = p.training
    data = t.add("Dataset", id="data", dataset="moons")
    wide = t.add("Linear", id="wide", out_features=8)
    fc = t.add("Linear", id="fc", out_features=2)
    again = t.link("fc", id="fc_again")
    t.connect(data["x"], fc)
    t.connect(data["x"], wide)
    t.connect(wide, again)
    total = t.add("Add", id="total")
    t.connect(fc, total)
    t.connect(again, total)
    loss = t.add("CrossEntropy", id="loss")
    t.connect(total, loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add("Adam", id="adam"))
    problem = a_problem(p, "fc_again")
    assert problem.field == "shares"
    assert "shares the weights of fc, whose input is 2, but receives 8" in problem.message
    assert "18 parameters, not 6" in problem.message
    t.edges.remove(next(e for e in t.edges if e.dst == "fc_again"))
    t.connect(data["x"], again)  # an input like fc's: the same weights fit
    assert analyze(p).ok


def test_inference_is_fast_enough_for_editing():
    p = Project("Big")
    t = p.training
    prev = t.add("Dataset", id="data", dataset="moons")
    prev = prev["x"]
    for _ in range(250):
        node = t.add("Linear", out_features=16)
        t.connect(prev, node)
        prev = t.add("ReLU")
        t.connect(node, prev)
    start = time.perf_counter()
    a = analyze(p)
    elapsed = time.perf_counter() - start
    assert a.result("training", prev).outputs["out"].shape == (16,)
    assert elapsed < 1.0  # the benchmark holds the real goal (100 ms); this only catches blow-ups
