"""An optimizer whose every layer is frozen has nothing to train: the verdict says so naming the
optimizer, so Problems, Train's refusal, `studio check` and `studio train` agree."""

import json

from studio.cli import main
from studio.core.document import Document
from studio.core.edits import set_frozen
from studio.core.fileformat import dumps, load
from studio.core.inference import NOT_READY, analyze
from studio.core.verdict import judge
from tests.helpers import EXAMPLES

LENET_LAYERS = ("conv1", "conv2", "fc1", "fc2", "fc3")


def frozen(path, nodes, graph="training"):
    project = load(path)
    for node in nodes:
        (project.training if graph == "training" else project.networks[graph]).nodes[
            node].frozen = True
    return project


def verdict_of(project):
    return judge(project, analyze(project))


def test_every_layer_frozen_leaves_the_optimizer_nothing_to_train():
    verdict = verdict_of(frozen(EXAMPLES / "lenet.studio", LENET_LAYERS))
    (problem,) = [p for p in verdict.problems if p.node == "adam"]
    assert problem.severity == NOT_READY and "frozen" in problem.message
    assert verdict.can_generate and not verdict.can_train
    assert verdict.train_blocker.startswith("training/adam: every layer it would update is frozen")
    # one layer left to train is enough
    assert verdict_of(frozen(EXAMPLES / "lenet.studio", LENET_LAYERS[:-1])).can_train


def test_a_frozen_network_instance_freezes_what_is_inside_it():
    top = ("stem", "stem_bn", "fc")
    assert verdict_of(frozen(EXAMPLES / "resnet_digits.studio", top + ("block1",))).can_train
    blocked = verdict_of(frozen(EXAMPLES / "resnet_digits.studio", top + ("block1", "block2")))
    assert not blocked.can_train and "training/adam" in blocked.train_blocker
    # freezing every layer inside the network's definition freezes both instances
    project = frozen(EXAMPLES / "resnet_digits.studio", top)
    network = project.networks["BasicBlock"]
    for node in network.nodes.values():
        node.frozen = node.block in ("Conv2d", "BatchNorm2d")
    assert verdict_of(project).can_train  # block2's shortcut (a 1x1 convolution) still trains
    network.nodes["shortcut"].frozen = True
    assert not verdict_of(project).can_train
    network.nodes["conv1"].frozen = False
    assert verdict_of(project).can_train


def test_train_and_check_refuse_naming_the_optimizer(lenet, tmp_path, capsys):
    doc = lenet.session.doc
    for node in LENET_LAYERS:
        set_frozen(doc, "training", node, True)
    why = lenet.dashboard.controller.start()
    assert why and "training/adam" in why and "frozen" in why
    assert lenet.dashboard.controller.session is None
    path = tmp_path / "frozen.studio"
    path.write_text(dumps(Document(doc.project).project))
    assert main(["check", str(path), "--json"]) == 0  # can be written, cannot train
    report = json.loads(capsys.readouterr().out)
    assert not report["can_train"] and "training/adam" in report["train_blocker"]
    assert main(["train", str(path), "--steps", "1", "--quiet", "--no-record"]) == 2
    assert "training/adam: every layer it would update is frozen" in capsys.readouterr().err
