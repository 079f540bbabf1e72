"""A loss-type block (MultiMargin) and a bundled dataset (waves), each added as one declaration:
they check, train through the generated code, export, and the export runs."""

import subprocess
import sys

import pytest

from studio.core.inference import analyze
from studio.core.project import Project
from studio.core.registry import ShapeError, TensorType, Values, get_block, measures_accuracy
from studio.engine.codegen import generate
from studio.engine.export import write_export
from studio.engine.library import download
from studio.engine.loader import RESOURCES_DATA, load


def waves_classifier(loss: str) -> Project:
    project = Project("Waves")
    t = project.training
    data = t.add("Dataset", id="waves", dataset="waves")
    scores = t.stack(data["x"], ("Linear", "fc1", {"out_features": 64}), "ReLU",
                     ("Linear", "fc2", {"out_features": 3}))
    criterion = t.add(loss, id="loss")
    t.connect(scores, criterion["input"])
    t.connect(data["label"], criterion["target"])
    t.chain(criterion, t.add("Adam", id="adam", lr=1e-2))
    return project


def test_the_waves_set_is_declared_once_and_loads():
    split = download.load_dataset({"dataset": "waves"})
    assert split.train[0].shape == (800, 32) and split.test[0].shape == (200, 32)
    assert split.classes == 3 and set(split.train[1].tolist()) == {0, 1, 2}
    code = generate(waves_classifier("CrossEntropy"))
    assert code.data_files == ["waves.npz"]
    assert "load_bundled(data_dir, 'waves.npz', classes=3, device=device)" in code.train_source


def test_the_multi_margin_loss_checks_its_inputs():
    assert measures_accuracy("MultiMargin")
    project = waves_classifier("MultiMargin")
    assert analyze(project).ok
    wrong = waves_classifier("MultiMargin")
    wrong.training.edges = [e for e in wrong.training.edges if e.dst != "loss"
                            or e.dst_port != "target"]
    assert not analyze(wrong).ok  # the target is not optional
    spec = get_block("MultiMargin")
    with pytest.raises(ShapeError, match="class weights"):
        spec.check(Values(spec.validate({"weight": (1.0, 2.0)})),
                   {"input": TensorType((3,)), "target": TensorType((), "long")})


@pytest.mark.slow
def test_multi_margin_on_waves_trains_in_the_engine_and_from_the_export(tmp_path):
    project = waves_classifier("MultiMargin")
    code = generate(project)
    assert "nn.MultiMarginLoss()" in code.train_source
    training = load(code).Training("cpu", 0, RESOURCES_DATA, epochs=40)
    step = 0
    while step < training.total_steps:
        for batch in training.batches:
            training.train_step(batch)
            step += 1
    result = training.evaluate()
    assert result["test_accuracy"] > 0.7, result  # chance: 0.33
    assert len(result["confusion"]) == 3
    write_export(project, tmp_path)
    assert (tmp_path / "data" / "waves.npz").exists()
    out = subprocess.run([sys.executable, "train.py", "--epochs", "40", "--device", "cpu"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600, check=True)
    accuracy = float(out.stdout.split("test_accuracy:")[1].split()[0])
    assert accuracy > 0.7, out.stdout
