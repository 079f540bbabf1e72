"""File > New templates: each is valid, laid out, and a fresh copy every time."""

import pytest

from studio.core import fileformat
from studio.core.inference import analyze
from studio.core.layout import NODE_HEIGHT, NODE_WIDTH
from studio.core.project import ProjectError
from studio.core.templates import TEMPLATES, describe, new_from_template
from studio.engine.codegen import generate


def test_the_four_templates():
    assert list(TEMPLATES) == ["classifier", "gan", "vae", "blank"]


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_template_analyzes_without_problems(name):
    doc = new_from_template(name)
    analysis = analyze(doc.project)
    assert analysis.ok, [str(p) for p in analysis.problems]
    assert not doc.modified and doc.path is None and not doc.can_undo
    assert describe(name)
    # what it holds survives a save and a load
    text = fileformat.dumps(doc.project)
    assert fileformat.dumps(fileformat.loads(text)) == text
    for _, graph in doc.project.graphs():
        nodes = list(graph.nodes.values())
        for i, a in enumerate(nodes):
            for b in nodes[i + 1:]:
                assert abs(a.pos[0] - b.pos[0]) >= NODE_WIDTH or \
                    abs(a.pos[1] - b.pos[1]) >= NODE_HEIGHT, (a.id, b.id)
    if name != "blank":
        assert analysis.total_params > 0
        code = generate(doc.project)
        compile(code.model_source, "model.py", "exec")
        compile(code.train_source, "train.py", "exec")


def test_templates_are_fresh_copies():
    a, b = new_from_template("classifier"), new_from_template("classifier")
    a.project.training.nodes["conv1"].params["out_channels"] = 99
    assert b.project.training.nodes["conv1"].params["out_channels"] == 8


def test_gan_and_vae_share_weights_through_linked_duplicates():
    gan = new_from_template("gan").project.training
    assert gan.nodes["discriminator_real"].shares == "discriminator"
    vae = new_from_template("vae").project.training
    assert vae.nodes["decoder_prior"].shares == "decoder"


def test_unknown_template():
    with pytest.raises(ProjectError, match="'mystery'.*classifier"):
        new_from_template("mystery")
