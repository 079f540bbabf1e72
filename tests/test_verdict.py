"""One verdict per analysis: wires to ports that are gone, cycles blamed on their own nodes,
totals that say what they leave out, what stops training, and the memory a run needs."""

import json

from studio.cli import main
from studio.core.document import Document, SetParams
from studio.core.fileformat import save
from studio.core.inference import ERROR, NOT_READY, WARNING, analyze
from studio.core.project import RUN_SETTINGS, TRAINING_SETTINGS, Project
from studio.core.registry import Values, get_block
from studio.core.verdict import estimate_memory, judge
from tests.helpers import EXAMPLES, mlp_on_moons

LENET = EXAMPLES / "lenet.studio"
BIG = 8 * 10**9  # bytes of memory the tests pretend the device has


def verdict_of(project, available=BIG):
    return judge(project, analyze(project), available)


def lenet_doc() -> Document:
    from studio.core.fileformat import load

    return Document(load(LENET))


# symptom 3: a wire from a port that no longer exists ----------------------------------------
def test_switching_digits_to_csv_keeps_the_image_wire_as_a_problem_naming_both_ends():
    doc = lenet_doc()
    t = doc.project.training
    before = list(t.edges)
    doc.push(SetParams("training", "digits", {"dataset": "csv", "path": "table.csv",
                                              "features": 4}))
    assert t.edges == before  # the wire is kept: switching back mends it
    v = verdict_of(doc.project)
    dangling = [p for p in v.errors if "'image'" in p.message]
    assert len(dangling) == 1
    problem = dangling[0]
    assert (problem.node, problem.field) == ("conv1", "x")
    assert "digits.image" in problem.message and "x, label" in problem.message
    assert not v.can_train and "conv1" in v.train_blocker and "image" in v.train_blocker
    doc.undo()
    assert verdict_of(doc.project).problems == ()


def test_a_dangling_wire_is_reported_even_when_its_source_has_its_own_problem():
    doc = lenet_doc()
    doc.push(SetParams("training", "digits", {"dataset": "csv"}))  # no path: its own error
    v = verdict_of(doc.project)
    nodes = {(p.node, p.field) for p in v.errors}
    assert ("digits", "path") in nodes and ("conv1", "x") in nodes


def test_check_names_the_dangling_wire_and_exits_2(tmp_path, capsys):
    doc = lenet_doc()
    doc.push(SetParams("training", "digits", {"dataset": "csv", "path": "t.csv", "features": 3}))
    path = tmp_path / "switched.studio"
    save(doc.project, path)
    assert main(["check", str(path)]) == 2
    out = capsys.readouterr().out
    assert "training/conv1: x: is wired from digits.image" in out
    assert main(["check", str(path), "--json"]) == 2
    data = json.loads(capsys.readouterr().out)
    assert data["can_train"] is False and "digits.image" in data["train_blocker"]


# symptom 21: cycles are blamed on the loop, not on what follows it ------------------------------
def test_a_cycle_is_blamed_on_its_own_nodes_not_on_the_loss_and_optimizer_after_it():
    p = mlp_on_moons()
    t = p.training
    relu = next(n for n in t.nodes if t.nodes[n].block == "ReLU")
    t.connect("fc2", "fc1")  # fc1 -> relu -> fc2 -> fc1; the loss and adam come after it
    a = analyze(p)
    blamed = [x.node for x in a.problems]
    assert set(blamed) == {"fc1", relu, "fc2"}
    assert f"(fc1 -> {relu} -> fc2 -> fc1)" in a.problems[0].message


def test_a_self_loop_is_a_cycle():
    p = mlp_on_moons()
    p.training.connect("fc2", "fc2")
    a = analyze(p)
    assert any(x.node == "fc2" and "cycle" in x.message for x in a.problems)


# symptom 4: one verdict --------------------------------------------------------------------------
def test_an_empty_project_can_be_written_but_not_trained_and_says_why():
    v = verdict_of(Project("Empty"))
    assert v.can_generate and not v.can_train
    assert [p.severity for p in v.problems] == [NOT_READY]
    assert v.summary == "1 problem"
    assert v.training_status.startswith("Cannot train yet: the training graph has no "
                                        "loss")
    assert v.code_status is None


def test_a_network_used_nowhere_is_a_warning_as_export_refuses_it(tmp_path, capsys):
    project = mlp_on_moons()
    head = project.network("Head")
    head.chain(head.add("Input", id="x"), head.add("Linear", id="fc", out_features=4),
               head.add("Output", id="y"))
    v = verdict_of(project)
    assert [(p.graph, p.severity) for p in v.problems] == [("Head", WARNING)]
    assert "network Head is used nowhere" in str(v.problems[0]) and v.can_train
    path = tmp_path / "unused.studio"
    save(project, path)
    assert main(["check", str(path)]) == 0
    assert "network Head is used nowhere" in capsys.readouterr().out
    project.instance(project.training, "Head", id="head")  # placed, even unwired: it is used
    assert "used nowhere" not in " ".join(str(p) for p in verdict_of(project).problems)


def test_a_working_project_is_ready():
    v = verdict_of(mlp_on_moons())
    assert v.problems == () and v.can_train and v.summary == "no problems"
    assert v.training_status == "Ready to train" and v.params_text == "82 parameters"


def test_totals_say_how_many_nodes_are_left_out_instead_of_reading_zero():
    p = mlp_on_moons()
    p.training.nodes["fc2"].params["out_features"] = 0  # fc2 fails, loss and adam after it
    v = verdict_of(p)
    assert v.total_params == 16 * 2 + 16  # fc1 only
    assert v.params_text == "48 parameters (3 nodes unknown)"
    assert v.memory_text.endswith("; 3 nodes of unknown shape not counted")
    assert not v.can_generate and v.code_status.startswith("The code below is from the last "
                                                           "version without problems. Fix this")


def test_a_code_generator_refusal_joins_the_verdict_on_its_node():
    v = verdict_of(mlp_on_moons()).with_code_refusal(
        "training/adam: updates: no network instance or layer named 'gen'")
    assert not v.can_generate and not v.can_train
    assert (v.errors[0].node, v.errors[0].severity) == ("adam", ERROR)
    assert v.train_blocker.startswith("training/adam: updates: no network")


# symptom 21: memory ------------------------------------------------------------------------------
def test_memory_estimate_is_weights_gradients_adam_state_and_one_batch_of_activations():
    p = mlp_on_moons()  # x 2 -> fc1 16 -> relu 16 -> fc2 2, label 1 value; batch 64
    m = estimate_memory(p, analyze(p), BIG)
    params = 2 * 16 + 16 + 16 * 2 + 2
    assert (m.weights, m.gradients) == (params * 4, params * 4)
    assert m.optimizer_state == 2 * params * 4  # Adam: two running averages
    assert m.activations == (2 + 1 + 16 + 16 + 2) * 64 * 4
    assert not m.exceeds


def test_a_linear_of_13_terabytes_is_a_warning_naming_it(tmp_path, capsys):
    p = Project("Huge")
    t = p.training
    data = t.add("Dataset", id="data", dataset="shapes", size=1024, channels=3)
    wide = t.add("Linear", id="wide", out_features=1 << 20)  # 3 x 1024 x 1024 inputs each
    fc = t.add("Linear", id="fc", out_features=4)
    t.chain(data["image"], t.add("Flatten"), wide, fc)
    loss = t.add("CrossEntropy", id="loss")
    t.connect(fc, loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add("SGD", id="sgd"))
    t.configure(device="cpu")
    v = verdict_of(p)
    assert v.can_train  # a warning does not stop it
    warning = v.warnings[0]
    assert warning.severity == WARNING and warning.node == "wide"
    assert "TB" in warning.message and "wide alone has" in warning.message
    path = tmp_path / "huge.studio"
    save(p, path)
    assert main(["check", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    memory = data["memory"]
    assert data["total_params"] > 3.29e12 and memory["weights_bytes"] > 13 * 10**12
    assert memory["exceeds"] is True
    assert any(x["severity"] == "warning" and x["node"] == "wide" for x in data["problems"])
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "memory to train: about" in out and "warning: training/wide: training needs" in out


def test_on_cuda_the_estimate_is_given_without_a_comparison():
    p = mlp_on_moons()
    p.training.configure(device="cuda")
    m = estimate_memory(p, analyze(p))
    assert m.available is None and not m.exceeds
    assert "cannot be read without torch" in m.describe()


# symptom 6: declarations say labels and when a parameter applies ------------------------------
def test_adam_schedule_fields_apply_only_with_their_schedule():
    adam = get_block("Adam")
    shown = {s: [p.name for p in adam.params if p.applies_to(Values(dict(adam.defaults(),
                                                                            schedule=s)))]
             for s in ("none", "step", "onecycle")}
    assert not {"step_size", "gamma", "pct_start"} & set(shown["none"])
    assert {"step_size", "gamma"} <= set(shown["step"]) and "pct_start" not in shown["step"]
    assert "pct_start" in shown["onecycle"]
    assert adam.param("step_size").title == "Decay every (steps)"
    assert adam.param("weight_decay").title == "Weight decay"


def test_a_digits_dataset_shows_no_csv_fields_and_a_csv_one_no_image_fields():
    spec = get_block("Dataset")

    def shown(**values):
        return {p.name for p in spec.params if p.applies_to(Values(dict(spec.defaults(),
                                                                         **values)))}
    digits = shown(dataset="digits")
    assert not {"path", "features", "label_column", "val_fraction", "memory"} & digits
    csv = shown(dataset="csv")
    assert {"path", "features", "label_column"} <= csv and not {"flip", "size", "range"} & csv


def test_every_training_setting_has_a_label_and_one_owner():
    labels = {p.name: p.title for p in TRAINING_SETTINGS}
    assert labels["batch_size"] == "Batch size" and labels["log_every"] == "Log every (steps)"
    assert set(RUN_SETTINGS) < set(labels)


def test_block_docs_show_labels_and_when_fields_apply(capsys):
    assert main(["blocks", "Adam"]) == 0
    out = capsys.readouterr().out
    assert "Decay every (steps)" in out and "only when schedule is step" in out


def _whens(condition):
    from studio.core.registry import AllOf, AnyOf, When

    if isinstance(condition, When):
        return [condition]
    if isinstance(condition, (AllOf, AnyOf)):
        return [w for part in condition.parts for w in _whens(part)]
    raise AssertionError(f"unknown condition {condition!r}")


def test_every_condition_names_a_parameter_of_its_block_and_values_it_can_take():
    """A typo in a condition would hide a field for good; the catalogue is checked whole."""
    from studio.core.registry import all_blocks

    checked = 0
    for spec in all_blocks():
        names = {p.name: p for p in spec.params}
        for prm in spec.params:
            if prm.applies is None:
                continue
            assert prm.applies(Values(spec.defaults())) in (True, False)
            for when in _whens(prm.applies):
                assert when.name in names and when.name != prm.name, (spec.id, prm.name)
                for value in when.values:
                    names[when.name].validate(value)  # raises if the value cannot occur
                checked += 1
    assert checked >= 20


def test_every_label_reads_as_words():
    from studio.core.registry import all_blocks

    for spec in all_blocks():
        for prm in spec.params:
            assert "_" not in prm.title and len(prm.title) >= 3, (spec.id, prm.name, prm.title)


def test_a_linear_shows_omega_only_with_a_siren_init():
    linear = get_block("Linear")
    omega = linear.param("omega_0")
    assert not omega.applies_to(Values(linear.defaults()))
    assert omega.applies_to(Values(dict(linear.defaults(), init="siren")))
    assert omega.title == "Omega\u2080"
