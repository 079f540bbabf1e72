"""The exported train.py holds only what the project uses and prints what a person can read."""

import subprocess
import sys

from studio.core.fileformat import load
from studio.engine.codegen import generate
from studio.engine.export import write_export


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
