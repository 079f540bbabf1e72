"""Files Studio writes get the permissions any file of the user gets: a saved project is as
readable as the checkpoint beside it, and an existing file keeps the mode its owner gave it."""

from __future__ import annotations

import os
import stat

import pytest
import torch

from studio.core import atomic, fileformat
from studio.engine import checkpoint
from tests.helpers import mlp_on_moons


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_saved_project_and_its_checkpoint_have_the_same_normal_mode(tmp_path, umask_022):
    project_file = tmp_path / "tiny.studio"
    fileformat.save(mlp_on_moons(), project_file)
    ckpt = checkpoint.save({"format": checkpoint.FORMAT, "networks": {}}, tmp_path / "tiny.ckpt")
    assert mode(project_file) == 0o644
    assert mode(ckpt) == 0o644
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_saving_over_a_file_keeps_its_mode(tmp_path, umask_022):
    project_file = tmp_path / "private.studio"
    fileformat.save(mlp_on_moons(), project_file)
    os.chmod(project_file, 0o640)
    fileformat.save(mlp_on_moons(hidden=8), project_file)
    assert mode(project_file) == 0o640
    assert "Moons" in project_file.read_text()


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "weights.pt"
    atomic.write_atomic(target, b"old")

    def broken(tmp):
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic.write_with(target, broken)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["weights.pt"]


def test_exported_weights_are_written_atomically_with_a_normal_mode(tmp_path, umask_022):
    state = {"format": checkpoint.FORMAT, "networks": {"Net": {"w": torch.ones(2)}}}
    ckpt = checkpoint.save(state, tmp_path / "run.ckpt")
    out = checkpoint.export_weights(ckpt, tmp_path / "export" / "weights.pt")
    assert mode(out) == 0o644
    assert torch.equal(torch.load(out, weights_only=True)["Net.w"], torch.ones(2))
