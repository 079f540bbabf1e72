"""The exported train.py holds only what the project uses and prints what a person can read."""

import re
import subprocess
import sys

from studio.core.fileformat import load
from studio.core.project import Project
from studio.engine.codegen import generate
from studio.engine.export import write_export
from studio.engine.loader import load as load_code
from tests.test_data_files import write_image_folder

STREAMED = ("StreamSplit", "StreamableBatches", "StreamableSplitData", '"loader"')


def test_a_classifier_export_has_no_preview_writer_and_no_probe_pass():
    code = generate(load("examples/lenet.studio"))
    exported = code.exported_train_source
    for unused in ("def save_image_grid", "def _write_png", "PREVIEWS", "def inspect",
                   "self.preview_count"):
        assert unused not in exported, unused
    assert "def inspect" in code.train_source  # Studio's probes still watch this pass
    assert code.train_source.startswith(exported.rstrip())


def test_a_generator_export_keeps_its_preview_writer():
    exported = generate(load("examples/dcgan.studio")).exported_train_source
    assert "def save_image_grid" in exported and "PREVIEWS = {" in exported
    assert "def inspect" not in exported and "confusion" not in exported


def test_the_confusion_matrix_prints_as_aligned_rows(tmp_path):
    write_export(load("examples/lenet.studio"), tmp_path)
    out = subprocess.run([sys.executable, "train.py", "--steps", "2", "--device", "cpu"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300, check=True)
    lines = out.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("confusion"))
    rows = lines[start + 1:start + 11]
    assert all(len(row.split()) == 10 for row in rows), rows
    assert len({len(row) for row in rows}) == 1  # right-aligned columns
    assert sum(int(v) for row in rows for v in row.split()) == 300


def test_resident_data_exports_no_streamed_branches():
    code = generate(load("examples/lenet.studio"))
    for streamed in STREAMED:
        assert streamed not in code.train_source, streamed  # Studio runs the same text


def streaming_image_folder_project() -> Project:
    """A folder of class folders, streamed from disk in batches (memory="stream")."""
    p = Project("Streamed shapes")
    t = p.training
    t.configure(batch_size=8, log_every=1, steps=3)
    d = t.add("Dataset", id="images", dataset="folder", path="imgs", size=8, channels=3, classes=3,
              memory="stream")
    logits = t.stack(d["image"], "Flatten", ("Linear", dict(out_features=3)))
    loss = t.add("CrossEntropy", id="loss")
    t.connect(logits, loss["input"])
    t.connect(d["label"], loss["target"])
    t.chain(loss, t.add("Adam", id="adam", lr=1e-2))
    return p


def test_streaming_data_export_trains_without_studio_as_studio_does(tmp_path, monkeypatch):
    write_image_folder(tmp_path / "imgs")
    monkeypatch.setenv("STUDIO_DATA_ROOT", str(tmp_path))  # where "imgs" resolves, for both runs
    project = streaming_image_folder_project()
    code = generate(project)
    assert all(streamed in code.exported_train_source for streamed in STREAMED)
    studio = load_code(code).Training("cpu", 0, steps=3)
    assert studio.data.streamed and len(studio.batches) == 3  # 19 training images, 8 a batch
    studio_losses = [studio.train_step(batch)["loss"].item() for batch in studio.batches]
    write_export(project, tmp_path)
    runner = ("import sys; sys.modules['studio'] = None; import runpy; "
              "runpy.run_path('train.py', run_name='__main__')")
    out = subprocess.run([sys.executable, "-c", runner, "--steps", "3", "--device", "cpu"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    exported_losses = [float(v) for v in re.findall(r"^step \d+/3 loss (\S+)", out.stdout, re.M)]
    assert len(exported_losses) == 3 and "test_accuracy" in out.stdout
    assert all(abs(a - b) < 1e-3 for a, b in zip(exported_losses, studio_losses)), (
        exported_losses, studio_losses)
