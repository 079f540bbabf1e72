"""Autosave and recovery after a crash."""

import gc
import json
import os
import subprocess
import sys

import pytest

from studio.core import edits, fileformat, recovery
from studio.core.document import Document
from studio.core.project import ProjectError
from tests.helpers import EXAMPLES, ROOT


def edited_lenet(tmp_path) -> Document:
    path = tmp_path / "lenet.studio"
    path.write_text((EXAMPLES / "lenet.studio").read_text(encoding="utf-8"), encoding="utf-8")
    doc = Document(fileformat.load(path), path=str(path))
    edits.set_params(doc, "training", "conv1", {"out_channels": 9})
    edits.add_node(doc, "training", "ReLU", (5, 5))
    return doc


def test_a_crashed_session_is_recovered(tmp_path):
    folder = tmp_path / "recovery"
    doc = edited_lenet(tmp_path)
    expected = fileformat.dumps(doc.project)
    written = recovery.autosave(doc, folder)
    assert written == folder / f"{doc.uid}{recovery.SUFFIX}"
    assert recovery.pending(folder) == []  # the document is still open here
    del doc  # the "crash": the objects go away without the clean-exit call
    gc.collect()
    (entry,) = recovery.pending(folder)
    assert entry.error is None and entry.original_path == str(tmp_path / "lenet.studio")
    assert entry.name == "LeNet" and "lenet.studio" in entry.title
    back = recovery.recover(entry)
    assert fileformat.dumps(back.project) == expected
    assert back.modified and back.path == str(tmp_path / "lenet.studio")
    assert not back.can_undo
    assert recovery.pending(folder) == []  # it is open again
    edits.move_nodes(back, "training", {"conv1": (1, 2)})
    assert recovery.autosave(back, folder) == entry.file  # it keeps its recovery file
    back.mark_saved()
    recovery.forget(back, folder)
    assert not any(folder.iterdir())


def test_a_clean_exit_leaves_no_file(tmp_path):
    folder = tmp_path / "recovery"
    doc = edited_lenet(tmp_path)
    recovery.autosave(doc, folder)
    recovery.forget(doc, folder)
    assert list(folder.iterdir()) == []
    del doc
    gc.collect()
    assert recovery.pending(folder) == []


def test_an_unmodified_document_needs_no_recovery_file(tmp_path):
    folder = tmp_path / "recovery"
    doc = edited_lenet(tmp_path)
    recovery.autosave(doc, folder)
    doc.mark_saved()
    assert recovery.autosave(doc, folder) is None
    assert list(folder.iterdir()) == []
    assert recovery.autosave(Document(), folder) is None


def test_discard_and_unsaved_documents(tmp_path, monkeypatch):
    monkeypatch.setenv(recovery.ENV, str(tmp_path / "env"))
    doc = Document()
    edits.add_node(doc, "training", "Noise")
    path = recovery.autosave(doc)
    assert path.parent == tmp_path / "env" and recovery.recovery_dir() == tmp_path / "env"
    del doc
    gc.collect()
    (entry,) = recovery.pending()
    assert entry.original_path is None and "unsaved" in entry.title
    assert recovery.recover(entry).path is None
    recovery.discard(entry)
    assert recovery.pending() == []


def test_default_folder_is_in_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(recovery.ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert recovery.recovery_dir() == tmp_path / "studio" / "recovery"


def test_damaged_recovery_files_are_listed_but_not_opened(tmp_path):
    folder = tmp_path / "recovery"
    folder.mkdir()
    (folder / f"junk{recovery.SUFFIX}").write_text("{not json", encoding="utf-8")
    (folder / f"other{recovery.SUFFIX}").write_text(json.dumps({"format": "x"}), encoding="utf-8")
    (folder / "unrelated.txt").write_text("hello", encoding="utf-8")
    entries = recovery.pending(folder)
    assert sorted(e.uid for e in entries) == ["junk", "other"]
    for entry in entries:
        assert entry.error and entry.uid in entry.error
        with pytest.raises(ProjectError):
            recovery.recover(entry)
        recovery.discard(entry)
    assert [p.name for p in folder.iterdir()] == ["unrelated.txt"]


def test_a_file_of_a_running_studio_is_not_offered(tmp_path):
    """A document open in another live process is not 'left by a crash'; once that process is
    gone (killed, no clean exit), its file is offered."""
    folder = tmp_path / "recovery"
    script = (
        "import sys, time\n"
        "from studio.core import edits, recovery\n"
        "from studio.core.document import Document\n"
        "doc = Document()\n"
        "edits.add_node(doc, 'training', 'Noise')\n"
        "recovery.autosave(doc, sys.argv[1])\n"
        "print('saved', flush=True)\n"
        "time.sleep(60)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", script, str(folder)], stdout=subprocess.PIPE,
                            env=env, text=True)
    try:
        assert proc.stdout.readline().strip() == "saved"
        assert recovery.pending(folder) == []
    finally:
        proc.kill()
        proc.wait()
    (entry,) = recovery.pending(folder)
    assert recovery.recover(entry).project.training.nodes["noise1"].block == "Noise"
