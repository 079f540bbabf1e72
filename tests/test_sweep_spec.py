"""What a sweep varies (core/sweep.py, no torch): the --vary syntax, its check against the project
with messages naming the node and field, a trial's project made by the editor's own edits
(block swaps among them), and the Pareto front."""

import pytest

from studio.core import edits
from studio.core.document import Document
from studio.core.fileformat import dumps, load
from studio.core.project import Edge, ProjectError
from studio.core.sweep import SweepError, SweepSpace, describe, pareto_front, parse
from tests.helpers import EXAMPLES, nested_blocks_project

LENET = EXAMPLES / "lenet.studio"


@pytest.fixture
def lenet():
    return load(LENET)


def test_values_lists_ranges_and_log_ranges_are_read():
    dim = parse("conv1.out_channels=4,8")
    assert (dim.graph, dim.node, dim.field, dim.choices, dim.texts) == (
        "training", "conv1", "out_channels", (4, 8), ("4", "8"))
    assert parse("pool1.block=MaxPool2d, BlurPool2d").choices == ("MaxPool2d", "BlurPool2d")
    assert parse("conv1.kernel_size=[3,5],7").choices == ((3, 5), 7)
    assert parse("conv1.bias=true,false").choices == (True, False)
    assert parse("pool1.stride=none,1").choices == (None, 1)
    ints = parse("training.batch_size=16..64")
    assert (ints.graph, ints.field, ints.low, ints.high, ints.integer, ints.log) == (
        None, "batch_size", 16, 64, True, False)
    logs = parse("adam.lr=log:1e-4..1e-1")
    assert (logs.low, logs.high, logs.integer, logs.log) == (1e-4, 1e-1, False, True)
    net = parse("Block/conv.kernel_size=3,5")
    assert (net.graph, net.node, net.field) == ("Block", "conv", "kernel_size")


@pytest.mark.parametrize("text, message", [
    ("conv1.out_channels", "expected NODE.PARAM=VALUES"),
    ("out_channels=4", "expected NODE.PARAM"),
    ("conv1.out_channels=4,,8", "an empty value"),
    ("conv1.out_channels=4,4", "listed twice"),
    ("conv1.out_channels=8..4", "low end must be below its high end"),
    ("adam.lr=log:0..1", "log range must start above 0"),
    ("adam.lr=a..b", "a range is lo..hi with numbers"),
])
def test_malformed_specs_are_refused_saying_what_is_expected(text, message):
    with pytest.raises(SweepError, match=message):
        parse(text)


@pytest.mark.parametrize("specs, message", [
    (["conv9.out_channels=4"], "conv9.out_channels: there is no node 'conv9' in the training"),
    (["conv1.width=4"], r"conv1.width: conv1 \(Conv2d\) has no parameter 'width' \(its "
                        "parameters: out_channels, kernel_size"),
    (["conv1.out_channels=4,0"], "conv1.out_channels=0: value 0 is below the minimum 1"),
    (["adam.lr=0.01..20"], "adam.lr=20: value 20.0 is above the maximum 10.0"),
    (["conv1.out_channels=2.5..8"], "out_channels is a whole number"),
    (["conv1.padding_mode=0..3"], "a range needs a numeric parameter"),
    (["training.batchsize=32"], "no training setting 'batchsize' .settings: batch_size"),
    (["training.batch_size=0,32"], "training.batch_size=0: value 0 is below the minimum 1"),
    (["pool1.block=Pool"], "pool1.block: unknown block 'Pool'"),
    (["pool1.block=Dataset"], "pool1.block=Dataset: pool1: Dataset has no input 'x' for the "
                              "wire on AvgPool2d's 'x'"),
    (["pool1.block=1..3"], "not a range"),
    (["Net/conv.out_channels=4"], "no network named 'Net'"),
    (["pool1.kernel_size=2,3", "pool1.block=AvgPool2d,BlurPool2d"],
     "pool1.kernel_size: BlurPool2d has no parameter 'kernel_size', and pool1.block may swap"),
    (["conv1.out_channels=4", "conv1.out_channels=8"], "varied twice"),
    ([], "nothing varies"),
])
def test_specs_are_checked_against_the_project_naming_node_and_field(lenet, specs, message):
    with pytest.raises(SweepError, match=message):
        SweepSpace(lenet, specs)


def test_values_take_their_parameters_kind(lenet):
    space = SweepSpace(lenet, ["adam.lr=1,0.5", "training.batch_size=32..34",
                               "adam.weight_decay=0..1"])
    lr, batch, decay = space.dimensions
    assert lr.choices == (1.0, 0.5) and all(isinstance(v, float) for v in lr.choices)
    assert (batch.low, batch.high, batch.integer) == (32, 34, True)
    assert (decay.low, decay.high, decay.integer) == (0.0, 1.0, False)  # a float parameter


def test_a_grid_is_every_combination_and_refuses_what_it_cannot_list(lenet):
    space = SweepSpace(lenet, ["conv1.out_channels=4,8", "pool1.block=MaxPool2d,BlurPool2d",
                               "training.batch_size=32..33"])
    grid = space.grid()
    assert len(grid) == 8 and space.is_discrete
    assert grid[0] == {"conv1.out_channels": 4, "pool1.block": "MaxPool2d",
                       "training.batch_size": 32}
    assert grid[-1] == {"conv1.out_channels": 8, "pool1.block": "BlurPool2d",
                        "training.batch_size": 33}
    continuous = SweepSpace(lenet, ["adam.lr=log:1e-4..1e-2"])
    assert not continuous.is_discrete
    with pytest.raises(SweepError, match="adam.lr: a grid tries every value, and this is a log "
                                         "range; list the values, or search with --method"):
        continuous.grid()
    with pytest.raises(SweepError, match="a range of 1000 whole numbers"):
        SweepSpace(lenet, ["conv1.out_channels=1..1000"]).grid()


def test_the_plan_is_a_grid_when_every_value_is_listed_else_bayesian(lenet):
    listed = SweepSpace(lenet, ["conv1.out_channels=4,8", "training.batch_size=32..34"])
    assert listed.plan() == ("grid", 6)
    assert listed.plan(trials=4) == ("grid", 4)
    assert listed.plan(trials=40) == ("grid", 6)  # a grid has no more
    assert listed.plan("random") == ("random", 10)
    continuous = SweepSpace(lenet, ["adam.lr=log:1e-4..1e-2"])
    assert continuous.plan(trials=5) == ("bayesian", 5)
    with pytest.raises(SweepError, match="a grid tries every value"):
        continuous.plan("grid")
    with pytest.raises(SweepError, match="no search method 'anneal'"):
        continuous.plan("anneal")


def test_a_trial_is_a_copy_with_its_values_set_by_the_editors_edits(lenet):
    before = dumps(lenet)
    space = SweepSpace(lenet, ["conv1.out_channels=4,8", "pool1.block=MaxPool2d,BlurPool2d",
                               "training.batch_size=32,64"])
    values = {"conv1.out_channels": 8, "pool1.block": "BlurPool2d", "training.batch_size": 32}
    trial = space.apply(values)
    assert dumps(lenet) == before  # the project itself is left as it was
    assert trial.training.nodes["conv1"].params["out_channels"] == 8
    assert trial.training.settings["batch_size"] == 32
    pool = trial.training.nodes["pool1"]
    assert (pool.id, pool.block, pool.title, pool.pos, pool.params) == (
        "pool1", "BlurPool2d", "pool1", (720.0, 0.0), {"filt_size": 3, "stride": 2})
    assert trial.training.edges == lenet.training.edges  # wires on the same ports
    assert describe(values) == "conv1.out_channels=8 pool1.block=BlurPool2d training.batch_size=32"


def test_a_network_node_varies_as_network_slash_node():
    project = nested_blocks_project()
    space = SweepSpace(project, ["Block/conv.kernel_size=3,5"])
    trial = space.apply({"Block/conv.kernel_size": 5})
    assert trial.networks["Block"].nodes["conv"].params["kernel_size"] == 5
    with pytest.raises(SweepError, match="b1 is a network instance"):
        SweepSpace(project, ["b1.width=4"])


def test_swap_block_keeps_id_wires_and_the_parameters_the_new_block_has(lenet):
    doc = Document(lenet)
    edits.swap_block(doc, "training", "pool1", "MaxPool2d")
    pool = lenet.training.nodes["pool1"]
    assert (pool.block, pool.params["kernel_size"]) == ("MaxPool2d", 2)
    assert Edge("tanh1", "out", "pool1", "x") in lenet.training.edges
    edits.swap_block(doc, "training", "tanh1", "ReLU")
    assert lenet.training.nodes["tanh1"].block == "ReLU"
    doc.undo()
    doc.undo()
    assert dumps(lenet) == dumps(load(LENET))  # one undo step each
    with pytest.raises(ProjectError, match=r"loss: Linear has no input 'input' for the wire on "
                                           r"CrossEntropy's 'input' \(Linear's inputs: x\)"):
        edits.swap_block(doc, "training", "loss", "Linear")
    with pytest.raises(ProjectError, match="unknown block type 'Nope'"):
        edits.swap_block(doc, "training", "pool1", "Nope")


def test_the_pareto_front_keeps_what_no_other_point_beats():
    # (metric, cost): the cheapest, the best, and one between them that buys something
    points = [(0.80, 100), (0.85, 300), (0.84, 400), (0.90, 900), (0.90, 1000), (None, 10)]
    assert pareto_front(points, maximize=True) == [0, 1, 3]
    losses = [(0.5, 100), (0.4, 200), (0.6, 50), (0.4, 200), (0.45, 300)]
    assert pareto_front(losses, maximize=False) == [2, 0, 1, 3]  # equal points both stay
    assert pareto_front([], maximize=True) == []
    assert pareto_front([(float("nan"), 1), (0.3, 2)], maximize=False) == [1]
