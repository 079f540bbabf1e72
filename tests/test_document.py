"""The document's basic commands: exact undo and redo, refusals that change nothing, merging,
the modified flag and change notifications."""

import pytest

from studio.core import fileformat
from studio.core.document import (
    AddNetwork,
    AddNode,
    Change,
    Connect,
    Disconnect,
    Document,
    Macro,
    MoveNodes,
    RemoveNetwork,
    RemoveNodes,
    RenameNetwork,
    SetGraphContents,
    SetParams,
    SetSettings,
    SetTitle,
)
from studio.core.project import Edge, ProjectError
from tests.helpers import EXAMPLES, nested_blocks_project


def lenet_doc() -> Document:
    return Document(fileformat.load(EXAMPLES / "lenet.studio"))


def text(doc: Document) -> str:
    return fileformat.dumps(doc.project)


def assert_refused(doc: Document, command, *words):
    """Pushing ``command`` raises ProjectError naming ``words``; nothing changes."""
    before, depth, redo = text(doc), doc.undo_depth, doc.redo_depth
    with pytest.raises(ProjectError) as err:
        doc.push(command)
    for w in words:
        assert w in str(err.value)
    assert text(doc) == before
    assert (doc.undo_depth, doc.redo_depth) == (depth, redo)
    return str(err.value)


def test_each_basic_command_undoes_and_redoes_exactly():
    doc = lenet_doc()
    t = doc.project.training
    start = text(doc)
    commands = [
        AddNode("training", "ReLU", (10, 20), title="extra"),
        Connect("training", "fc3", "out", "extra", "x"),
        Disconnect("training", [Edge("conv1", "out", "tanh1", "x")]),
        MoveNodes("training", {"conv1": (1.5, 2.5), "fc1": (3, 4)}),
        SetParams("training", "conv1", {"out_channels": 7, "kernel_size": (3, 3)}),
        SetTitle("training", "fc2", "hidden"),
        RemoveNodes("training", ["pool1", "fc1", "pool1"]),
        SetSettings({"batch_size": 32, "device": "cpu"}),
        AddNetwork("Block"),
        RenameNetwork("Block", "Block2"),
        RemoveNetwork("Block2"),
        SetGraphContents("training", dict(reversed(list(t.nodes.items()))), [], "reorder"),
    ]
    states = [start]
    for c in commands:
        doc.push(c)
        states.append(text(doc))
        assert doc.modified
    for i in range(len(commands) - 1, -1, -1):
        doc.undo()
        assert text(doc) == states[i], commands[i].text
    assert not doc.modified
    for i, _ in enumerate(commands):
        doc.redo()
        assert text(doc) == states[i + 1]


def test_refused_commands_change_nothing():
    doc = lenet_doc()
    doc.push(MoveNodes("training", {"conv1": (5, 5)}))
    assert_refused(doc, SetParams("training", "conv1", {"out_channels": 0}), "conv1", "out_channels")
    assert_refused(doc, SetParams("training", "conv1", {"colour": 1}), "colour")
    assert_refused(doc, SetParams("training", "nope", {"out_channels": 3}), "nope")
    assert_refused(doc, MoveNodes("training", {"conv1": (1, 1), "ghost": (0, 0)}), "ghost")
    assert_refused(doc, MoveNodes("training", {"conv1": (float("nan"), 0)}), "position")
    assert_refused(doc, Disconnect("training", [Edge("conv1", "out", "tanh1", "x"),
                                                Edge("conv1", "out", "fc1", "x")]), "fc1")
    assert_refused(doc, RemoveNodes("training", ["conv1", "ghost"]), "ghost")
    assert_refused(doc, AddNode("training", "Input"), "Input", "training graph")
    assert_refused(doc, AddNode("training", "Conv2d", params={"kernel_size": -1}), "kernel_size")
    assert_refused(doc, AddNode("training", "Conv2d", node_id="conv1"), "conv1")
    assert_refused(doc, AddNode("training", "Linear", shares="conv1"), "conv1", "Conv2d")
    assert_refused(doc, AddNode("training", "Linear", shares="ghost"), "ghost")
    assert_refused(doc, Connect("training", "ghost", "out", "conv1", "x"), "ghost")
    assert_refused(doc, SetTitle("training", "conv1", "two\nlines"), "one line")
    assert_refused(doc, SetSettings({"batch_size": 0}), "batch_size")
    assert_refused(doc, SetSettings({"speed": 3}), "speed")
    assert_refused(doc, AddNetwork("bad/name"), "network name")
    doc.push(AddNetwork("Block"))
    assert_refused(doc, AddNetwork("Block"), "Block", "already exists")
    assert_refused(doc, RenameNetwork("Ghost", "X"), "Ghost")
    assert_refused(doc, RemoveNetwork("Ghost"), "Ghost")
    assert_refused(doc, SetGraphContents("training", {}, [Edge("a", "out", "b", "x")]), "'a'")
    macro = Macro("two", [MoveNodes("training", {"fc1": (9, 9)}),
                          SetParams("training", "fc1", {"out_features": -3})])
    assert_refused(doc, macro, "out_features")


def test_merge_folds_a_drag_and_a_typing_burst_into_one_step():
    doc = lenet_doc()
    start = text(doc)
    for x in range(5):
        doc.push(MoveNodes("training", {"conv1": (x, x)}), merge=True)
    doc.end_merge()
    for v in (7, 8, 9):
        doc.push(SetParams("training", "fc1", {"out_features": v}), merge=True)
    doc.end_merge()
    for v in (8, 16):
        doc.push(SetSettings({"batch_size": v}), merge=True)
    assert doc.undo_depth == 3
    assert doc.project.training.nodes["conv1"].pos == (4.0, 4.0)
    doc.undo()
    assert doc.project.training.settings["batch_size"] == 64
    doc.undo()
    assert doc.project.training.nodes["fc1"].params["out_features"] == 120
    doc.undo()
    assert text(doc) == start


def test_no_merge_across_a_save():
    doc = lenet_doc()
    doc.push(MoveNodes("training", {"conv1": (1, 1)}), merge=True)
    doc.mark_saved()
    doc.push(MoveNodes("training", {"conv1": (2, 2)}), merge=True)
    assert doc.undo_depth == 2
    doc.undo()
    assert not doc.modified


def test_modified_follows_the_history():
    doc = lenet_doc()
    assert not doc.modified
    doc.push(MoveNodes("training", {"conv1": (1, 1)}))
    assert doc.modified
    doc.mark_saved("somewhere.studio")
    assert not doc.modified and doc.path == "somewhere.studio"
    doc.undo()
    assert doc.modified
    doc.redo()
    assert not doc.modified
    doc.undo()
    doc.push(MoveNodes("training", {"conv1": (3, 3)}))  # the saved state is gone for good
    assert doc.modified
    doc.undo()
    assert doc.modified
    doc.mark_modified()
    assert doc.modified


def test_change_notifications():
    doc = lenet_doc()
    seen: list[Change] = []
    unsubscribe = doc.subscribe(seen.append)
    doc.push(Connect("training", "fc3", "out", "loss", "input"))
    assert seen[-1].wires and ("training", "fc3") in seen[-1].nodes
    doc.push(AddNetwork("Block"))
    assert seen[-1].structure and "Block" in seen[-1].graphs
    doc.push(SetSettings({"epochs": 2}))
    assert seen[-1].graphs == {"training"}
    doc.undo()
    doc.redo()
    assert len(seen) == 5
    unsubscribe()
    doc.undo()
    assert len(seen) == 5


def test_graph_lookup_and_keys():
    doc = Document(nested_blocks_project())
    assert doc.key_of("Block") == "Block"
    assert doc.key_of(doc.project.networks["Block"]) == "Block"
    assert doc.key_of(doc.project.training) == "training"
    with pytest.raises(ProjectError, match="Ghost"):
        doc.graph("Ghost")
    assert doc.undo_text == "" and not doc.can_undo
    doc.push(SetParams("Block", "conv", {"kernel_size": 5}))
    assert doc.undo_text == "set kernel_size" and doc.can_undo


def test_rename_network_keeps_its_place():
    doc = Document(nested_blocks_project())
    doc.push(AddNetwork("Other"))
    doc.push(RenameNetwork("Block", "Cell"))
    assert list(doc.project.networks) == ["Cell", "Other"]
    assert doc.project.networks["Cell"].name == "Cell"
    doc.push(RemoveNetwork("Cell"))
    doc.undo()
    assert list(doc.project.networks) == ["Cell", "Other"]
