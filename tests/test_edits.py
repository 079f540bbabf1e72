"""Editing operations: every one is one undo step, refusals name what is wrong and change
nothing, make-network and explode keep what the project computes."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core import edits, fileformat
from studio.core.document import Document
from studio.core.inference import analyze, node_ports
from studio.core.layout import NODE_HEIGHT, NODE_WIDTH
from studio.core.params import Arg, Bool, Choice, Float, Int
from studio.core.project import INSTANCE, ArgDecl, Edge, ProjectError
from studio.core.registry import all_blocks, get_block
from studio.engine.codegen import generate
from tests.helpers import EXAMPLES, nested_blocks_project

EXAMPLE_NAMES = ("lenet", "resnet18", "resnet_digits", "conv_costs", "dcgan", "vae", "cvae",
                 "siren")
_TEXT = {name: (EXAMPLES / f"{name}.studio").read_text(encoding="utf-8") for name in EXAMPLE_NAMES}


def example(name: str) -> Document:
    return Document(fileformat.loads(_TEXT[name]))


def text(doc: Document) -> str:
    return fileformat.dumps(doc.project)


def refused(doc: Document, action, *words) -> str:
    """``action()`` raises ProjectError whose message names ``words``; nothing changed."""
    before, depth, redo = text(doc), doc.undo_depth, doc.redo_depth
    with pytest.raises(ProjectError) as err:
        action()
    message = str(err.value)
    for w in words:
        assert w in message, message
    assert text(doc) == before
    assert (doc.undo_depth, doc.redo_depth) == (depth, redo)
    return message


def one_step(doc: Document, action):
    """Run ``action``: it must add exactly one undo step that undoes exactly."""
    before, depth = text(doc), doc.undo_depth
    result = action()
    after = text(doc)
    assert doc.undo_depth == depth + 1
    doc.undo()
    assert text(doc) == before
    doc.redo()
    assert text(doc) == after
    return result


def shapes(doc: Document, graph="training") -> dict:
    """Output shape of every node of a graph, as analysis reports it."""
    a = analyze(doc.project)
    out: dict = {}
    for r in a.rows:  # a network's nodes as its first instance sees them
        if r.graph == graph:
            out.setdefault(r.node.id, r.output_shape)
    return out


def totals(doc: Document):
    a = analyze(doc.project)
    assert a.ok, [str(p) for p in a.problems]
    return a.total_params, a.total_macs


def compiles(doc: Document):
    code = generate(doc.project)
    compile(code.model_source, "model.py", "exec")
    compile(code.train_source, "train.py", "exec")
    return code


# ------------------------------------------------------------------------------------------------
# wires
# ------------------------------------------------------------------------------------------------

def test_check_connection_says_why_not():
    doc = example("lenet")
    ok = edits.check_connection(doc, "training", "fc3", "out", "fc1", "x")
    assert "fc1.x" in ok and "conv1" not in ok and "tanh3" not in ok  # already wired from pool2
    cases = [
        (("conv1", "nope", "tanh1", "x"), ["conv1", "'nope'", "out"]),
        (("conv1", "out", "tanh1", "y"), ["tanh1", "'y'", "x"]),
        (("conv1", "out", "conv1", "x"), ["conv1", "itself"]),
        (("ghost", "out", "conv1", "x"), ["'ghost'"]),
        (("fc3", "out", "adam", "loss"), ["adam.loss", "takes a loss", "fc3.out", "tensor"]),
        (("loss", "loss", "tanh1", "x"), ["tanh1.x", "takes a tensor", "loss.loss"]),
        (("digits", "image", "conv2", "x"), ["conv2.x", "already has one", "pool1.out"]),
        (("adam", "out", "conv1", "x"), ["adam", "no outputs"]),
        (("conv1", "out", "digits", "x"), ["digits", "takes no inputs"]),
    ]
    for args, words in cases:
        message = edits.check_connection(doc, "training", *args)
        assert message, args
        for w in words:
            assert w in message, (args, message)
    edits.disconnect(doc, "training", Edge("pool2", "out", "flatten1", "x"))
    message = edits.check_connection(doc, "training", "fc1", "out", "conv1", "x")
    assert "already" in message
    edits.disconnect(doc, "training", Edge("digits", "image", "conv1", "x"))
    message = edits.check_connection(doc, "training", "pool2", "out", "conv1", "x")
    assert message and "cycle" in message and "conv1 -> tanh1 -> pool1 -> conv2" in message
    assert edits.check_connection(doc, "training", "digits", "image", "conv1", "x") is None


def test_connect_and_replace():
    doc = example("lenet")
    refused(doc, lambda: edits.connect(doc, "training", "fc3", "out", "adam", "loss"), "adam.loss")
    refused(doc, lambda: edits.connect(doc, "training", "fc2", "out", "fc3", "x"), "fc3.x",
            "tanh4.out")
    one_step(doc, lambda: edits.replace_connection(doc, "training", "fc2", "out", "fc3", "x"))
    assert Edge("fc2", "out", "fc3", "x") in doc.project.training.edges
    assert Edge("tanh4", "out", "fc3", "x") not in doc.project.training.edges
    refused(doc, lambda: edits.replace_connection(doc, "training", "fc3", "out", "conv1", "x"),
            "cycle")
    # a multi port takes another wire: connect appends it
    doc = example("conv_costs")
    one_step(doc, lambda: edits.connect(doc, "training", "loss_5_5", "loss", "total", "losses"))


# ------------------------------------------------------------------------------------------------
# delete, insert
# ------------------------------------------------------------------------------------------------

def test_delete_with_and_without_reconnect():
    doc = example("lenet")
    assert edits.can_reconnect(doc, "training", ["tanh1"])
    assert edits.can_reconnect(doc, "training", ["tanh1", "pool1", "conv2"])
    assert not edits.can_reconnect(doc, "training", ["digits"])
    assert not edits.can_reconnect(doc, "training", ["loss"])  # two wires in
    one_step(doc, lambda: edits.delete_nodes(doc, "training", ["tanh1"], reconnect=True))
    assert Edge("conv1", "out", "pool1", "x") in doc.project.training.edges
    one_step(doc, lambda: edits.delete_nodes(doc, "training", ["pool1", "conv2", "tanh2"],
                                             reconnect=True))
    assert Edge("conv1", "out", "pool2", "x") in doc.project.training.edges
    assert analyze(doc.project).ok
    one_step(doc, lambda: edits.delete_nodes(doc, "training", ["fc1"], reconnect=False))
    assert not any("fc1" in (e.src, e.dst) for e in doc.project.training.edges)
    refused(doc, lambda: edits.delete_nodes(doc, "training", ["ghost"]), "'ghost'")
    assert edits.delete_nodes(doc, "training", []) is None


def test_delete_keeps_the_wire_order_of_a_multi_port():
    doc = example("conv_costs")
    t = doc.project.training
    before = [e.src for e in t.edges if e.dst == "total"]
    edits.insert_on_wire(doc, "training", Edge("loss_3_3", "loss", "total", "losses"),
                         "WeightedSum", (0, 0))
    edits.delete_nodes(doc, "training", ["weighted_sum1"], reconnect=True)
    assert [e.src for e in t.edges if e.dst == "total"] == before


def test_deleting_an_original_keeps_its_linked_duplicates_sharing():
    doc = example("dcgan")
    params = totals(doc)[0]
    one_step(doc, lambda: edits.delete_nodes(doc, "training", ["discriminator"]))
    real = doc.project.training.nodes["discriminator_real"]
    assert real.shares is None
    edits.linked_duplicate(doc, "training", ["discriminator_real"])
    edits.linked_duplicate(doc, "training", ["discriminator_real"])
    edits.delete_nodes(doc, "training", ["discriminator_real"])
    links = [n for n in doc.project.training.nodes.values() if n.block == INSTANCE
             and n.params["network"] == "Discriminator"]
    assert [n.shares for n in links] == [None, links[0].id]
    edits.connect(doc, "training", "digits", "image", links[0].id, "image")
    edits.connect(doc, "training", "generator", "image", links[1].id, "image")
    assert analyze(doc.project).total_params == params  # the generator and one discriminator


def test_insert_on_wire():
    doc = example("lenet")
    t = doc.project.training
    wire = Edge("fc1", "out", "tanh3", "x")
    new = one_step(doc, lambda: edits.insert_on_wire(doc, "training", wire, "Dropout", (5, 5),
                                                     {"p": 0.25}))
    assert new == "dropout1"
    assert Edge("fc1", "out", new, "x") in t.edges and Edge(new, "out", "tanh3", "x") in t.edges
    assert wire not in t.edges and t.nodes[new].params["p"] == 0.25
    assert analyze(doc.project).ok
    refused(doc, lambda: edits.insert_on_wire(doc, "training", Edge("loss", "loss", "adam", "loss"),
                                              "Linear"), "Linear", "loss")
    refused(doc, lambda: edits.insert_on_wire(doc, "training", Edge("fc2", "out", "tanh4", "x"),
                                              "Preview"), "Preview", "output")
    refused(doc, lambda: edits.insert_on_wire(doc, "training", wire, "ReLU"), "no wire", "fc1")
    refused(doc, lambda: edits.insert_on_wire(doc, "training", Edge("fc2", "out", "tanh4", "x"),
                                              "Dropout", params={"p": 7}), "p")
    refused(doc, lambda: edits.insert_on_wire(doc, "training", Edge("fc2", "out", "tanh4", "x"),
                                              "Input"), "Input")
    refused(doc, lambda: edits.insert_on_wire(doc, "training", Edge("fc2", "out", "tanh4", "x"),
                                              "Teleporter"), "'Teleporter'")


# ------------------------------------------------------------------------------------------------
# clipboard
# ------------------------------------------------------------------------------------------------

def test_copy_paste_keeps_internal_wires_with_new_ids():
    doc = example("lenet")
    payload = edits.copy_nodes(doc, "training", ["fc2", "tanh4", "fc1"])
    data = json.loads(payload)
    assert data["format"] == edits.CLIPBOARD_FORMAT
    assert [n["id"] for n in data["nodes"]] == ["fc1", "fc2", "tanh4"]
    assert len(data["edges"]) == 1  # fc2 -> tanh4 only: fc1's wires leave the selection
    new = one_step(doc, lambda: edits.paste(doc, "training", payload, (10, 20)))
    assert new == ["fc4", "fc5", "tanh5"]
    t = doc.project.training
    assert Edge("fc5", "out", "tanh5", "x") in t.edges
    assert t.nodes["fc4"].pos == (t.nodes["fc1"].pos[0] + 10, t.nodes["fc1"].pos[1] + 20)
    assert t.nodes["fc5"].params == t.nodes["fc2"].params
    # into another graph, ids are kept where free
    assert edits.paste(Document(), "training", payload) == ["fc1", "fc2", "tanh4"]
    assert edits.paste(example("vae"), "Decoder", payload) == ["fc3", "fc4", "tanh4"]


def test_paste_remaps_or_drops_links():
    doc = example("dcgan")
    both = edits.copy_nodes(doc, "training", ["discriminator", "discriminator_real"])
    new = edits.paste(doc, "training", both)
    t = doc.project.training
    assert t.nodes[new[1]].shares == new[0]
    only_link = edits.copy_nodes(doc, "training", ["discriminator_real"])
    (alone,) = edits.paste(doc, "training", only_link)
    assert t.nodes[alone].shares is None


def test_paste_refuses_what_is_not_a_clipboard():
    doc = example("lenet")
    good = json.loads(edits.copy_nodes(doc, "training", ["conv1", "tanh1"]))

    def bad(**change):
        return json.dumps(dict(good, **change))

    node = dict(good["nodes"][0])
    cases = [
        ("not json at all", ["clipboard", "JSON"]),
        (json.dumps([1, 2]), ["clipboard", "format"]),
        (fileformat.dumps(doc.project), ["clipboard", "studio-project"]),
        (bad(version=99), ["newer"]),
        (bad(nodes="x"), ["clipboard.nodes"]),
        (bad(nodes=[dict(node, params={"out_channels": -4})]),
         ["clipboard.nodes[0].params.out_channels"]),
        (bad(nodes=[dict(node, block="os.system")]), ["clipboard.nodes[0].block", "os.system"]),
        (bad(nodes=[dict(node, id="__import__('os')")]), ["clipboard.nodes[0].id"]),
        (bad(edges=[{"from": ["ghost", "out"], "to": ["conv1", "x"]}]), ["ghost"]),
        (12, ["not text"]),
    ]
    for payload, words in cases:
        refused(doc, lambda p=payload: edits.paste(doc, "training", p), *words)
    net_doc = example("vae")
    data = edits.copy_nodes(doc, "training", ["digits"])
    refused(net_doc, lambda: edits.paste(net_doc, "Encoder", data), "Dataset", "network")


def test_duplicate_and_linked_duplicate():
    doc = example("lenet")
    params = totals(doc)[0]
    fc1 = doc.project.training.nodes["fc1"]
    new = one_step(doc, lambda: edits.duplicate(doc, "training", ["fc1", "tanh3"]))
    t = doc.project.training
    assert Edge(new[0], "out", new[1], "x") in t.edges
    assert t.nodes[new[0]].params == fc1.params and t.nodes[new[0]].shares is None
    doc.undo()
    # a linked duplicate: no new parameters, once wired
    (link,) = one_step(doc, lambda: edits.linked_duplicate(doc, "training", ["fc3"]))
    assert link == "fc3_link" and t.nodes[link].shares == "fc3"
    edits.connect(doc, "training", "tanh4", "out", link, "x")
    assert totals(doc)[0] == params
    (link2,) = edits.linked_duplicate(doc, "training", [link])
    assert t.nodes[link2].shares == "fc3" and link2 == "fc3_link1"
    refused(doc, lambda: edits.linked_duplicate(doc, "training", ["adam"]), "adam", "Adam")
    refused(doc, lambda: edits.linked_duplicate(doc, "training", ["digits"]), "digits")


# ------------------------------------------------------------------------------------------------
# make network, explode
# ------------------------------------------------------------------------------------------------

def _roundtrip(doc: Document, graph: str, ids, name: str):
    """make_network then explode: totals, outside shapes and code unchanged at each step."""
    before_totals, before_shapes = totals(doc), shapes(doc, graph)
    before_text = text(doc)
    inst = one_step(doc, lambda: edits.make_network(doc, graph, ids, name))
    assert totals(doc) == before_totals
    after_shapes = shapes(doc, graph)
    for node, shape in before_shapes.items():
        if node not in ids:
            assert after_shapes[node] == shape, node
    assert after_shapes[inst]
    compiles(doc)
    inlined = one_step(doc, lambda: edits.explode(doc, graph, inst))
    assert sorted(inlined) == sorted(ids)
    assert totals(doc) == before_totals
    assert name not in doc.project.networks
    compiles(doc)
    doc.undo()
    doc.undo()
    assert text(doc) == before_text
    return inst


def test_make_network_on_lenet_is_the_lenet_class():
    doc = example("lenet")
    layers = [n for n in doc.project.training.nodes if n not in ("digits", "loss", "adam")]
    start = text(doc)
    inst = edits.make_network(doc, "training", layers, "LeNet")
    net = doc.project.networks["LeNet"]
    assert [n.id for n in net.inputs()] == ["image"] and [n.id for n in net.outputs()] == ["out"]
    t = doc.project.training
    assert [e for e in t.edges if inst in (e.src, e.dst)] == [
        Edge("digits", "image", inst, "image"), Edge(inst, "out", "loss", "input")]
    assert net.nodes["conv1"].pos == fileformat.loads(start).training.nodes["conv1"].pos
    code = compiles(doc)
    assert "class LeNet(nn.Module)" in code.model_source
    assert "self.conv1 = nn.Conv2d(1, 6, kernel_size=5)" in code.model_source
    edits.explode(doc, "training", inst)
    assert text(doc) == start  # make then explode gives back the very same file
    doc.undo()
    doc.undo()
    assert text(doc) == start
    _roundtrip(doc, "training", layers, "LeNet")
    _roundtrip(doc, "training", ["conv2", "tanh2", "pool2"], "Stage")


def test_make_network_on_resnet18():
    doc = example("resnet18")
    assert totals(doc)[0] == 11_689_512
    # the stem, and two residual blocks, of the ResNet18 network
    _roundtrip(doc, "ResNet18", ["conv1", "bn1", "relu", "maxpool"], "Stem")
    _roundtrip(doc, "ResNet18", ["layer2_0", "layer2_1"], "Stage2")
    # inside the reusable BasicBlock: its arguments pass through to the new network
    inst = _roundtrip(doc, "BasicBlock", ["conv1", "bn1", "relu1", "conv2", "bn2"], "Body")
    edits.make_network(doc, "BasicBlock", ["conv1", "bn1", "relu1", "conv2", "bn2"], "Body")
    body = doc.project.networks["Body"]
    assert set(body.args) == {"width", "stride"}
    node = doc.project.networks["BasicBlock"].nodes[inst]
    assert node.params["args"] == {"width": Arg("width"), "stride": Arg("stride")}
    # both inputs of the Add (body and shortcut) still come from the one Input x
    assert totals(doc)[0] == 11_689_512


def test_explode_resnet18_into_the_training_graph():
    doc = example("resnet18")
    before = totals(doc)
    inlined = one_step(doc, lambda: edits.explode(doc, "training", "resnet18"))
    assert "ResNet18" not in doc.project.networks
    assert "layer1_0" in inlined
    assert totals(doc) == before
    for block in [n for n in inlined if doc.project.training.nodes[n].block == INSTANCE]:
        edits.explode(doc, "training", block)
    assert "BasicBlock" not in doc.project.networks
    t = doc.project.training
    assert "layer4_1_conv2" in t.nodes and t.nodes["layer4_1_conv2"].params["out_channels"] == 512
    assert t.nodes["layer2_0_conv1"].params["stride"] == 2
    assert totals(doc) == before
    compiles(doc)


def test_make_network_in_a_gan_keeps_the_optimizers_targets():
    doc = example("dcgan")
    before = totals(doc)
    inst = edits.make_network(doc, "training", ["generator"], "Maker")
    t = doc.project.training
    assert t.nodes["adam_g"].params["updates"] == (inst,)
    assert totals(doc) == before
    compiles(doc)
    edits.explode(doc, "training", inst)
    assert t.nodes["adam_g"].params["updates"] == ("generator",)
    # the discriminator and its linked duplicate go together
    _roundtrip(doc, "training", ["discriminator", "discriminator_real"], "Judge")
    refused(doc, lambda: edits.make_network(doc, "training", ["discriminator"], "Judge"),
            "discriminator_real", "linked duplicate")
    refused(doc, lambda: edits.explode(doc, "training", "discriminator"), "discriminator_real")
    refused(doc, lambda: edits.explode(doc, "training", "discriminator_real"), "linked duplicate")


def test_make_network_on_the_vae_and_more_examples():
    doc = example("vae")
    _roundtrip(doc, "training", ["encoder", "reparameterize"], "Sampler")
    refused(doc, lambda: edits.make_network(doc, "training", ["decoder"], "D"), "decoder_prior")
    _roundtrip(doc, "training", ["decoder", "decoder_prior"], "Decoders")
    _roundtrip(doc, "Encoder", ["fc", "relu", "fc_mu", "fc_logvar"], "Head")
    doc = example("cvae")
    _roundtrip(doc, "training", ["onehot", "encoder"], "Coder")
    doc = example("conv_costs")
    _roundtrip(doc, "training", ["stem", "stem_relu", "conv5x5"], "Branch")
    doc = example("resnet_digits")
    _roundtrip(doc, "training", ["stem", "stem_bn", "stem_relu", "block1", "block2"], "Body")


def test_make_network_refusals():
    doc = example("lenet")
    refused(doc, lambda: edits.make_network(doc, "training", [], "Net"), "select")
    refused(doc, lambda: edits.make_network(doc, "training", ["conv1"], "bad/name"), "name")
    refused(doc, lambda: edits.make_network(doc, "training", ["digits", "conv1"], "Net"),
            "digits", "Dataset", "training graph")
    refused(doc, lambda: edits.make_network(doc, "training", ["ghost"], "Net"), "'ghost'")
    edits.make_network(doc, "training", ["conv1"], "Net")
    refused(doc, lambda: edits.make_network(doc, "training", ["fc1"], "Net"), "Net", "exists")
    doc = example("vae")
    refused(doc, lambda: edits.make_network(doc, "Encoder", ["image", "flatten"], "N"),
            "image", "Input")
    refused(doc, lambda: edits.explode(doc, "training", "bce"), "bce", "BCE", "not a network")


def test_make_network_of_an_unused_tail_gets_an_output():
    doc = example("lenet")
    edits.delete_nodes(doc, "training", ["loss", "adam"])
    inst = edits.make_network(doc, "training", ["fc3"], "Head")
    assert [n.id for n in doc.project.networks["Head"].outputs()] == ["out"]
    assert shapes(doc)[inst] == "10"


# ------------------------------------------------------------------------------------------------
# layout, alignment, networks, settings
# ------------------------------------------------------------------------------------------------

def _overlaps(graph) -> list:
    boxes = [(n.id, n.pos) for n in graph.nodes.values()]
    out = []
    for i, (a, (ax, ay)) in enumerate(boxes):
        for b, (bx, by) in boxes[i + 1:]:
            if abs(ax - bx) < NODE_WIDTH and abs(ay - by) < NODE_HEIGHT:
                out.append((a, b))
    return out


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_auto_layout_leaves_no_overlap(name):
    doc = example(name)
    for key, graph in doc.project.graphs():
        for node in graph.nodes.values():  # scramble: everything on one spot
            node.pos = (0.0, 0.0)
        one_step(doc, lambda k=key: edits.auto_layout(doc, k))
        assert _overlaps(graph) == [], key
        assert edits.auto_layout(doc, key) is None  # already laid out: nothing to do


def _overlaps_sized(graph, size) -> list:
    boxes = [(n.id, n.pos, size(n.id)) for n in graph.nodes.values()]
    out = []
    for i, (a, (ax, ay), (aw, ah)) in enumerate(boxes):
        for b, (bx, by), (bw, bh) in boxes[i + 1:]:
            if ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah:
                out.append((a, b))
    return out


@pytest.mark.parametrize("width", [150.0, 320.0])
def test_auto_layout_with_the_canvas_node_sizes(width):
    """Nodes as tall as their port rows (a 6-way Split, several 3-input losses side by side)."""
    doc = example("lenet")
    g = doc.project.training
    split = edits.add_node(doc, "training", "Split", params={"chunks": 6, "dim": 1})
    edits.connect(doc, "training", "fc3", "out", split, "x")
    for i in range(1, 7):
        loss = edits.add_node(doc, "training", "CosineEmbedding")
        edits.connect(doc, "training", split, f"out{i}", loss, "input1")
        edits.connect(doc, "training", "fc2", "out", loss, "input2")

    def size(node_id):
        ports = [len(node_ports(g, node_id, side)) for side in ("input", "output")]
        return width, 48.0 + 16.0 * max(1, *ports)

    one_step(doc, lambda: edits.auto_layout(doc, "training", node_size=size))
    assert _overlaps_sized(g, size) == []
    edits.move_nodes(doc, "training", {"fc1": (0, 0), "fc2": (10, 400)})
    edits.align(doc, "training", ["fc1", split, "fc2"], "bottom", node_size=size)
    assert g.nodes["fc1"].pos[1] + 48 + 16 == g.nodes[split].pos[1] + size(split)[1]


def test_align_and_distribute():
    doc = example("lenet")
    t = doc.project.training
    ids = ["conv1", "fc1", "adam"]
    edits.move_nodes(doc, "training", {"conv1": (0, 0), "fc1": (100, 50), "adam": (400, -30)})
    expect = {
        "left": {"conv1": (0, 0), "fc1": (0, 50), "adam": (0, -30)},
        "right": {"conv1": (400, 0), "fc1": (400, 50), "adam": (400, -30)},
        "hcenter": {"conv1": (200, 0), "fc1": (200, 50), "adam": (200, -30)},
        "top": {"conv1": (0, -30), "fc1": (100, -30), "adam": (400, -30)},
        "bottom": {"conv1": (0, 50), "fc1": (100, 50), "adam": (400, 50)},
        "vcenter": {"conv1": (0, 10), "fc1": (100, 10), "adam": (400, 10)},
        "distribute-h": {"conv1": (0, 0), "fc1": (200, 50), "adam": (400, -30)},
        "distribute-v": {"conv1": (0, 10), "fc1": (100, 50), "adam": (400, -30)},
    }
    for how, want in expect.items():
        one_step(doc, lambda h=how: edits.align(doc, "training", ids, h))
        assert {n: t.nodes[n].pos for n in ids} == want, how
        doc.undo()
    assert edits.align(doc, "training", ["conv1"], "left") is None
    refused(doc, lambda: edits.align(doc, "training", ids, "diagonal"), "diagonal")


def test_network_definitions():
    doc = example("resnet_digits")
    one_step(doc, lambda: edits.add_network(doc, "Cell"))
    assert [n.id for n in doc.project.networks["Cell"].inputs()] == ["x"]
    refused(doc, lambda: edits.add_network(doc, "Cell"), "Cell", "exists")
    refused(doc, lambda: edits.add_network(doc, "9 lives/"), "name")
    before = totals(doc)
    one_step(doc, lambda: edits.rename_network(doc, "BasicBlock", "ResBlock"))
    assert list(doc.project.networks) == ["ResBlock", "Cell"]
    assert {n.params["network"] for n in doc.project.training.nodes.values()
            if n.block == INSTANCE} == {"ResBlock"}
    assert totals(doc) == before
    refused(doc, lambda: edits.rename_network(doc, "ResBlock", "Cell"), "Cell", "exists")
    refused(doc, lambda: edits.rename_network(doc, "Ghost", "X"), "Ghost")
    message = refused(doc, lambda: edits.remove_network(doc, "ResBlock"), "ResBlock",
                      "training/block1", "training/block2")
    assert "2 instances" in message
    one_step(doc, lambda: edits.remove_network(doc, "Cell"))
    doc = example("dcgan")
    edits.rename_network(doc, "Discriminator", "Critic")
    assert doc.project.training.nodes["adam_d"].params["updates"] == ("Critic",)
    compiles(doc)


def test_settings():
    doc = example("lenet")
    one_step(doc, lambda: edits.set_settings(doc, batch_size=8, seed=3))
    assert doc.project.training.settings["batch_size"] == 8
    refused(doc, lambda: edits.set_settings(doc, batch_size="many"), "batch_size")
    refused(doc, lambda: edits.set_settings(doc, colour=1), "colour")


def test_simple_node_edits():
    doc = example("lenet")
    new = one_step(doc, lambda: edits.add_node(doc, "training", "ReLU", (3, 4)))
    assert new == "relu1"
    one_step(doc, lambda: edits.set_params(doc, "training", "conv1", {"out_channels": 4}))
    one_step(doc, lambda: edits.set_title(doc, "training", "conv1", "first"))
    one_step(doc, lambda: edits.move_nodes(doc, "training", {"conv1": (1, 1)}))
    refused(doc, lambda: edits.set_params(doc, "training", "conv1", {"out_channels": 0}),
            "out_channels")
    refused(doc, lambda: edits.add_node(doc, "BadGraph", "ReLU"), "BadGraph")


# ------------------------------------------------------------------------------------------------
# random edit sequences
# ------------------------------------------------------------------------------------------------

_BLOCKS = {kind: [b.id for b in all_blocks() if kind in b.where] for kind in ("network", "training")}
_START = {"lenet": fileformat.dumps(fileformat.loads(_TEXT["lenet"])),
          "dcgan": fileformat.dumps(fileformat.loads(_TEXT["dcgan"])),
          "nested": fileformat.dumps(nested_blocks_project()), "blank": fileformat.dumps(
              Document().project)}


def _value(draw, prm, valid: bool):
    kind = prm.kind
    if not valid:
        return draw(st.sampled_from(["not a value", -10**9, None if not hasattr(kind, "inner")
                                     else "x"]))
    if isinstance(kind, Int):
        lo = kind.min if kind.min is not None else -3
        hi = min(kind.max if kind.max is not None else lo + 8, lo + 8)
        return draw(st.integers(lo, hi))
    if isinstance(kind, Float):
        lo = kind.min if kind.min is not None else -1.0
        hi = kind.max if kind.max is not None else lo + 2.0
        return draw(st.sampled_from([lo, hi, (lo + hi) / 2]))
    if isinstance(kind, Choice):
        return draw(st.sampled_from(list(kind.options)))
    if isinstance(kind, Bool):
        return draw(st.booleans())
    return prm.default


def _ports(g, node_id, side):
    try:
        return node_ports(g, node_id, side)
    except Exception:  # parameters its port rule cannot read: the wire attempt names no port
        return ()


class Session:
    """Draws random edits on a document and checks history invariants after each."""

    def __init__(self, doc: Document, draw):
        self.doc, self.draw = doc, draw
        self.states = [text(doc)]  # states[i]: the document at undo depth i
        self.names = 0

    def graph_key(self):
        return self.draw(st.sampled_from(["training"] + list(self.doc.project.networks)))

    def some(self, key, at_least=0):
        ids = list(self.doc.graph(key).nodes)
        if len(ids) < max(1, at_least):
            return []
        return self.draw(st.lists(st.sampled_from(ids), min_size=max(at_least, 1),
                                  max_size=min(len(ids), 6), unique=True))

    def node(self, key):
        ids = list(self.doc.graph(key).nodes)
        return self.draw(st.sampled_from(ids)) if ids else None

    # operations -----------------------------------------------------------------------------
    def add(self):
        key = self.graph_key()
        g = self.doc.graph(key)
        blocks = [b for b in _BLOCKS[g.kind] if b != INSTANCE or self.doc.project.networks]
        block = self.draw(st.sampled_from(blocks))
        params = {}
        if block == INSTANCE:
            params = {"network": self.draw(st.sampled_from(list(self.doc.project.networks)))}
        pos = (self.draw(st.integers(-2000, 2000)), self.draw(st.integers(-2000, 2000)))
        edits.add_node(self.doc, key, block, pos, params)

    def wire(self):
        key = self.graph_key()
        g = self.doc.graph(key)
        src, dst = self.node(key), self.node(key)
        if src is None:
            return
        outs = [p.name for p in _ports(g, src, "output")] or ["out"]
        ins = [p.name for p in _ports(g, dst, "input")] or ["x"]
        args = (src, self.draw(st.sampled_from(outs)), dst, self.draw(st.sampled_from(ins)))
        reason = edits.check_connection(self.doc, key, *args)
        if self.draw(st.booleans()):
            edits.replace_connection(self.doc, key, *args)
        else:
            try:
                edits.connect(self.doc, key, *args)
            except ProjectError as err:
                assert str(err) == reason
                raise
            assert reason is None

    def move(self):
        key = self.graph_key()
        ids = self.some(key)
        positions = {n: (self.draw(st.integers(-500, 500)), self.draw(st.integers(-500, 500)))
                     for n in ids}
        if positions:
            edits.move_nodes(self.doc, key, positions, merge=self.draw(st.booleans()))

    def params(self):
        key = self.graph_key()
        nid = self.node(key)
        if nid is None:
            return
        node = self.doc.graph(key).nodes[nid]
        spec = get_block(node.block)
        if not spec.params or node.block == INSTANCE:
            return
        prm = self.draw(st.sampled_from(spec.params))
        valid = self.draw(st.integers(0, 4)) > 0
        value = _value(self.draw, prm, valid)
        edits.set_params(self.doc, key, nid, {prm.name: value}, merge=self.draw(st.booleans()))

    def delete(self):
        key = self.graph_key()
        edits.delete_nodes(self.doc, key, self.some(key), reconnect=self.draw(st.booleans()))

    def paste(self):
        key = self.graph_key()
        ids = self.some(key)
        if ids:
            payload = edits.copy_nodes(self.doc, key, ids)
            action = self.draw(st.sampled_from(["paste", "duplicate", "linked"]))
            if action == "paste":
                edits.paste(self.doc, self.graph_key(), payload)
            elif action == "duplicate":
                edits.duplicate(self.doc, key, ids)
            else:
                edits.linked_duplicate(self.doc, key, ids)

    def make_network(self):
        key = self.graph_key()
        ids = self.some(key)
        self.names += 1
        edits.make_network(self.doc, key, ids, f"Net{self.names}")

    def explode(self):
        key = self.graph_key()
        instances = [n for n, node in self.doc.graph(key).nodes.items() if node.block == INSTANCE]
        if instances:
            edits.explode(self.doc, key, self.draw(st.sampled_from(instances)))

    def arrange(self):
        key = self.graph_key()
        if self.draw(st.booleans()):
            edits.auto_layout(self.doc, key)
        else:
            edits.align(self.doc, key, self.some(key), self.draw(st.sampled_from(edits.ALIGN_MODES)))

    def insert(self):
        key = self.graph_key()
        g = self.doc.graph(key)
        if g.edges:
            edge = self.draw(st.sampled_from(g.edges))
            edits.insert_on_wire(self.doc, key, edge, self.draw(st.sampled_from(_BLOCKS[g.kind])))

    def networks(self):
        nets = list(self.doc.project.networks)
        choice = self.draw(st.sampled_from(["add", "rename", "remove"] if nets else ["add"]))
        self.names += 1
        if choice == "add":
            edits.add_network(self.doc, f"Net{self.names}")
        elif choice == "rename":
            edits.rename_network(self.doc, self.draw(st.sampled_from(nets)), f"Net{self.names}")
        else:
            edits.remove_network(self.doc, self.draw(st.sampled_from(nets)))

    def settings(self):
        if self.draw(st.booleans()):
            edits.set_settings(self.doc, batch_size=self.draw(st.integers(1, 512)))
        else:
            edits.set_settings(self.doc, epochs=-1)

    def undo(self):
        for _ in range(self.draw(st.integers(1, 3))):
            self.doc.undo()
            assert text(self.doc) == self.states[self.doc.undo_depth]

    def redo(self):
        for _ in range(self.draw(st.integers(1, 3))):
            self.doc.redo()
            assert text(self.doc) == self.states[self.doc.undo_depth]

    OPS = ("add", "add", "wire", "wire", "move", "params", "delete", "paste", "make_network",
           "explode", "arrange", "insert", "networks", "settings", "undo", "redo")

    def step(self):
        op = self.draw(st.sampled_from(self.OPS))
        before, depth, redo = text(self.doc), self.doc.undo_depth, self.doc.redo_depth
        try:
            getattr(self, op)()
        except ProjectError as err:
            assert str(err)  # a refusal says why, and changes nothing
            assert text(self.doc) == before, op
            assert (self.doc.undo_depth, self.doc.redo_depth) == (depth, redo), op
            return
        now = text(self.doc)
        if op not in ("undo", "redo") and (now != before or self.doc.undo_depth != depth):
            assert self.doc.redo_depth == 0
            self.states = self.states[:self.doc.undo_depth] + [now]
        assert self.doc.modified == (self.doc.undo_depth != 0)
        fileformat.loads(now)  # every state is a file Studio reads back


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_edit_sequences_undo_and_redo_exactly(data):
    start = data.draw(st.sampled_from(sorted(_START)))
    doc = Document(fileformat.loads(_START[start]))
    session = Session(doc, data.draw)
    for _ in range(data.draw(st.integers(1, 14))):
        session.step()
    top = len(session.states) - 1
    while doc.can_undo:
        doc.undo()
        assert text(doc) == session.states[doc.undo_depth]
    assert text(doc) == _START[start] == session.states[0]
    while doc.can_redo:
        doc.redo()
        assert text(doc) == session.states[doc.undo_depth]
    assert doc.undo_depth == top


def test_network_arguments():
    doc = Document(nested_blocks_project())
    block = doc.project.networks["Block"]
    width, stride = block.args["width"], block.args["stride"]
    groups = ArgDecl("groups", Int(1, 8), 1, "channel groups")
    one_step(doc, lambda: edits.set_network_args(doc, "Block", [width, stride, groups]))
    assert list(block.args) == ["width", "stride", "groups"]
    before = totals(doc)
    edits.set_params(doc, "Block", "conv", {"groups": Arg("groups")})
    assert totals(doc) == before
    refused(doc, lambda: edits.set_network_args(doc, "Block", [width, width]), "width", "twice")
    refused(doc, lambda: edits.set_network_args(doc, "Block", [ArgDecl("w", Int(1), 0)]), "'w'",
            "minimum")
    refused(doc, lambda: edits.set_network_args(doc, "Block", [ArgDecl("bad name!", Int(), 1)]),
            "bad name!")
    refused(doc, lambda: edits.set_network_args(doc, "training", []), "training graph")
