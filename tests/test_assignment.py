"""Assignments: goals judged with their reason, locks and palette guarded in the document, the
file's round trip (and a project without one saved exactly as before)."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.core import edits
from studio.core.assignment import Assignment, AssignmentError, Lock, assignment_from_json
from studio.core.document import Document, MoveNodes, SetParams
from studio.core.fileformat import FileFormatError, dumps, loads, loads_lenient
from studio.core.goals import (
    MET,
    NOT_MET,
    UNKNOWN,
    Accuracy,
    MaxMacs,
    MaxParams,
    OutputShape,
    SkipConnection,
    Trained,
)
from studio.core.inference import analyze
from studio.core.layout import layout_project
from studio.core.project import ProjectError
from tests.helpers import mlp_on_moons


def moons_assignment(project=None, **changes):
    if project is None:
        project = mlp_on_moons()
        layout_project(project)
    fields = dict(title="Moons", text="Fit the moons.",
                  locks=(Lock("training", "moons"), Lock("training", "loss"),
                         Lock("training", "adam"), Lock("training", "fc2", ("out_features",))),
                  palette=("Linear", "ReLU", "Tanh", "Add"),
                  goals=(MaxParams(100), MaxMacs(10_000), OutputShape("training", "fc2", (2,)),
                         Accuracy(80.0, 2), SkipConnection()))
    fields.update(changes)
    project.assignment = Assignment(**fields).bind(project)
    return project


def states(project, trained=None):
    return [(s.state, s.why) for s in project.assignment.evaluate(
        project, analyze(project), trained=trained)]


def test_each_goal_says_met_not_met_or_unknown_and_why():
    project = moons_assignment()
    got = states(project)
    # 2*16+16 + 16*2+2 = 82 parameters; fc2 gives 2 class scores
    assert got[0] == (MET, "82 parameters, within the 100 allowed")
    assert got[1][0] == MET and "multiply-adds" in got[1][1]
    assert got[2] == (MET, "fc2 gives 2")
    assert got[3] == (UNKNOWN, "not trained yet: train for 2 epochs to check")
    assert got[4][0] == NOT_MET and "no layer takes both" in got[4][1]
    wide = moons_assignment(mlp_on_moons(hidden=64))
    assert states(wide)[0] == (NOT_MET, "322 parameters, more than the 100 allowed")
    after = states(project, Trained(((1.0, 0.7), (2.0, 0.85), (3.0, 0.99))))
    assert after[3] == (MET, "85% held-out accuracy after 2 epochs, at least the 80% needed")
    low = states(project, Trained(((1.0, 0.5), (2.0, 0.625))))
    assert low[3] == (NOT_MET, "62.5% held-out accuracy after 2 epochs, less than the 80% "
                               "needed")
    late = states(project, Trained(((3.0, 0.99),)))
    assert late[3][0] == UNKNOWN and "within 2 epochs" in late[3][1]


def test_a_skip_connection_is_a_layer_taking_a_node_and_one_after_it():
    project = mlp_on_moons()
    t = project.training
    add = t.add("Add", id="skip")
    edges = [e for e in t.edges if e.src == "fc1"]
    t.connect("fc1", add)
    t.connect(edges[0].dst, add)  # relu1 comes after fc1
    project.assignment = Assignment(goals=(SkipConnection(),)).bind(project)
    assert states(project) == [(MET, "skip takes fc1 and relu1, which comes after fc1")]
    # the loss takes the dataset's labels and a score computed from the dataset: no skip
    assert "no layer" in states(moons_assignment())[4][1]


def test_output_shape_names_what_it_found():
    project = moons_assignment(goals=(OutputShape("training", "fc1", (8,)),
                                      OutputShape("training", "nowhere", (2,))))
    assert states(project) == [(NOT_MET, "fc1 gives 16, not 8"),
                               (NOT_MET, "the training graph has no node nowhere")]


def test_the_document_refuses_edits_to_locked_nodes_and_the_palette():
    doc = Document(moons_assignment())
    depth = doc.undo_depth
    with pytest.raises(ProjectError, match="locked by the assignment: fc2's out_features "
                                           "cannot change"):
        doc.push(SetParams("training", "fc2", {"out_features": 3}))
    with pytest.raises(ProjectError, match="locked by the assignment: moons cannot be moved"):
        doc.push(MoveNodes("training", {"moons": (50.0, 50.0)}))
    with pytest.raises(ProjectError, match="locked by the assignment: loss cannot be deleted"):
        edits.delete_nodes(doc, "training", ["loss"])
    with pytest.raises(ProjectError, match="allows only Linear, ReLU, Tanh, Add: conv1d1 is a Conv1d"):
        edits.add_node(doc, "training", "Conv1d")
    with pytest.raises(ProjectError, match="between locked nodes cannot be removed"):
        edits.disconnect(doc, "training", [e for e in doc.project.training.edges
                                          if e.dst == "adam"])
    assert doc.undo_depth == depth and not doc.modified
    assert doc.project.training.nodes["fc2"].params["out_features"] == 2
    # what is not locked stays editable, and undo takes it back
    doc.push(SetParams("training", "fc2", {"bias": False}))
    doc.push(SetParams("training", "fc1", {"out_features": 4}))
    edits.add_node(doc, "training", "Tanh")
    doc.undo()
    doc.undo()
    assert doc.project.training.nodes["fc1"].params["out_features"] == 16
    assert doc.project.assignment.violations(doc.project) == []


def test_a_project_without_an_assignment_is_written_as_before():
    project = mlp_on_moons()
    text = dumps(project)
    assert '"version": 1' in text and "assignment" not in text
    assert dumps(loads(text)) == text


def test_an_assignment_is_format_3_and_round_trips_exactly():
    text = dumps(moons_assignment())
    assert '"version": 3' in text
    again = loads(text)
    assert again.assignment == moons_assignment().assignment
    assert dumps(again) == text
    # what the student cannot change is checked against the file as opened
    assert again.assignment.locked_params("training", "moons") >= {"dataset", "count"}
    assert again.assignment.locked_params("training", "fc2") == {"out_features"}


@pytest.mark.parametrize("mutate, location", [
    (lambda a: a["locks"].append({"graph": "training", "node": "ghost"}), "assignment.locks[4]"
                                                                          ".node"),
    (lambda a: a["goals"].append({"goal": "max_params", "limit": -1}),
     "assignment.goals[5].limit"),
    (lambda a: a["goals"].append({"goal": "fly"}), "assignment.goals[5].goal"),
    (lambda a: a["palette"].append("NoSuchBlock"), "assignment.palette[4]"),
    (lambda a: a["goals"].append({"goal": "accuracy", "percent": 120, "epochs": 1}),
     "assignment.goals[5].percent"),
])
def test_a_bad_assignment_field_is_named_and_the_rest_kept(mutate, location):
    data = json.loads(dumps(moons_assignment()))
    mutate(data["assignment"])
    text = json.dumps(data)
    with pytest.raises(FileFormatError) as err:
        loads(text)
    assert err.value.location == location
    project, issues = loads_lenient(text)
    assert [i.location for i in issues] == [location]
    assert len(project.assignment.goals) == 5 and len(project.assignment.locks) == 4


def test_the_assignment_must_be_an_object():
    with pytest.raises(AssignmentError):
        assignment_from_json([], mlp_on_moons())


NODES = ("moons", "fc1", "relu1", "fc2", "loss", "adam")
goal_strategy = st.one_of(
    st.builds(MaxParams, st.integers(0, 10**12)),
    st.builds(MaxMacs, st.integers(0, 10**12)),
    st.builds(OutputShape, st.just("training"), st.sampled_from(NODES),
              st.lists(st.integers(1, 512), max_size=4).map(tuple),
              st.sampled_from(["", "output"])),
    st.builds(Accuracy, st.floats(0, 100, allow_nan=False), st.integers(1, 1000)),
    st.just(SkipConnection()))
lock_strategy = st.builds(Lock, st.just("training"), st.sampled_from(NODES),
                          st.sampled_from([(), ("out_features",)]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=st.text(max_size=40), text=st.text(max_size=200),
       locks=st.lists(lock_strategy, max_size=4, unique_by=lambda k: k.node),
       palette=st.none() | st.lists(st.sampled_from(["Linear", "ReLU", "Add", "Conv2d"]),
                                    unique=True).map(tuple),
       goals=st.lists(goal_strategy, max_size=6).map(tuple))
def test_any_assignment_round_trips_through_the_file(title, text, locks, palette, goals):
    project = mlp_on_moons()
    locks = tuple(k if not k.params or "out_features" in project.training.nodes[k.node].params
                  else Lock(k.graph, k.node) for k in locks)
    project.assignment = Assignment(title.replace("\n", " "), text, locks, palette,
                                    goals).bind(project)
    saved = dumps(project)
    again = loads(saved)
    assert again.assignment == project.assignment
    assert dumps(again) == saved


def test_the_shipped_assignment_starts_over_budget():
    from studio.core.fileformat import load
    from tests.helpers import EXAMPLES

    project = load(EXAMPLES / "course" / "lenet_assignment.studio")
    assert project.assignment.title == "LeNet on a budget"
    assert states(project) == [
        (NOT_MET, "61,706 parameters, more than the 20,000 allowed"),
        (NOT_MET, "416,520 multiply-adds, more than the 200,000 allowed"),
        (MET, "fc3 gives 10"),
        (UNKNOWN, "not trained yet: train for 3 epochs to check")]
