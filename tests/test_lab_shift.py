"""`studio lab shift`: how often a trained classifier keeps its answer when the image moves,
from a checkpoint; a project without a classifier and weights that do not fit are refused
with a sentence, and the figure is reproducible (seeded directions)."""

from __future__ import annotations

import json

import pytest

from studio.cli import main
from studio.core.fileformat import load
from studio.engine.runner import RunConfig
from studio.engine.shift_consistency import ShiftTestError, shift_consistency
from studio.engine.trainer import train_project
from tests.helpers import EXAMPLES


@pytest.fixture(scope="module")
def trained_lenet(tmp_path_factory):
    path = tmp_path_factory.mktemp("lenet") / "lenet.ckpt"
    train_project(load(EXAMPLES / "lenet.studio"), RunConfig(steps=150, checkpoint_path=str(path)),
                  progress=False)
    assert path.exists()
    return path


def test_a_trained_lenet_keeps_most_answers_under_small_shifts(trained_lenet, capsys):
    assert main(["lab", "shift", str(EXAMPLES / "lenet.studio"), "--weights",
                 str(trained_lenet), "--shifts", "1-4", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    kept = [report["consistency"][str(d)] for d in (1, 2, 3, 4)]
    assert report["images"] == 300 and report["accuracy"] > 0.8
    assert kept[0] > 0.8  # a trained LeNet is mostly stable under a one-pixel move ...
    assert kept[0] > kept[-1]  # ... and less so as the move grows
    assert report["mean_consistency"] == pytest.approx(sum(kept) / 4)
    again = shift_consistency(load(EXAMPLES / "lenet.studio"), trained_lenet, shifts=(1, 2, 3, 4))
    assert [again.consistency[d] for d in (1, 2, 3, 4)] == kept  # seeded: the same figure


def test_the_table_names_each_shift(trained_lenet, capsys):
    assert main(["lab", "shift", str(EXAMPLES / "lenet.studio"), "--weights",
                 str(trained_lenet), "--shifts", "1,3", "--limit", "64"]) == 0
    out = capsys.readouterr().out
    assert "64 held-out images" in out and "  1 px" in out and "  3 px" in out
    assert "2 px" not in out and "mean consistency" in out


def test_refusals_say_why(trained_lenet, tmp_path, capsys):
    with pytest.raises(ShiftTestError, match="needs a classifier"):
        shift_consistency(load(EXAMPLES / "vae.studio"), trained_lenet)
    wider = load(EXAMPLES / "lenet.studio")
    wider.training.nodes["conv1"].params["out_channels"] = 8
    with pytest.raises(ShiftTestError, match="do not fit the project"):
        shift_consistency(wider, trained_lenet)
    assert main(["lab", "shift", str(EXAMPLES / "lenet.studio"), "--weights",
                 str(tmp_path / "missing.ckpt")]) == 2
    assert "no checkpoint at" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["lab", "shift", str(EXAMPLES / "lenet.studio"), "--weights",
              str(trained_lenet), "--shifts", "0-2"])
