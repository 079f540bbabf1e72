"""Autosave and crash recovery: nothing you made is lost.

The editor's timer calls ``autosave(doc)`` every minute while a document is modified; each open
document has its own recovery file (named by ``doc.uid``), written atomically. Closing a document
normally (saved, or changes discarded by the user) calls ``forget(doc)``, which deletes it. Files
still there at the next start were left by a session that crashed: ``pending()`` lists them,
``recover(entry)`` opens one as a modified document pointing at the original path, and
``discard(entry)`` deletes it.

A recovery file is JSON: ``{"format": "studio-recovery", "version": 1, "document": {uid, path,
saved_at, pid, host, name}, "project": <the project file's content>}``. It is read as data, like a
project file. Pure Python: no Qt, no torch.
"""

from __future__ import annotations

import json
import os
import socket
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

from studio.core import fileformat
from studio.core.atomic import write_atomic
from studio.core.document import Document
from studio.core.project import ProjectError

FORMAT = "studio-recovery"
VERSION = 1
SUFFIX = ".studio-recovery"
ENV = "STUDIO_RECOVERY_DIR"

# documents of this process with a recovery file: their files are not "left by a crash"
_live: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def recovery_dir(folder=None) -> Path:
    """Where recovery files live: ``folder`` if given, else ``$STUDIO_RECOVERY_DIR``, else
    ``$XDG_CACHE_HOME/studio/recovery`` (``~/.cache/studio/recovery``)."""
    if folder is not None:
        return Path(folder)
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "studio" / "recovery"


def recovery_path(doc: Document, folder=None) -> Path:
    """The recovery file of ``doc`` (whether or not it exists)."""
    return recovery_dir(folder) / f"{doc.uid}{SUFFIX}"


@dataclass
class RecoveryEntry:
    """A recovery file found by ``pending``: what the UI shows when offering recovery."""

    file: Path
    uid: str
    original_path: str | None  # the file the document was opened from or saved to
    saved_at: float  # seconds since the epoch of the autosave
    name: str  # the project's name
    error: str | None = None  # set when the file cannot be read; it can only be discarded

    @property
    def title(self) -> str:
        """One line for a list: the file's name (or the project's) and the autosave time."""
        what = Path(self.original_path).name if self.original_path else f"{self.name} (unsaved)"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at))
        return f"{what}, autosaved {when}"


def autosave(doc: Document, folder=None) -> Path | None:
    """Write ``doc`` to its recovery file (atomically) and return the path. An unmodified
    document needs none: its file is deleted and None returned."""
    if not doc.modified:
        forget(doc, folder)
        return None
    meta = {"uid": doc.uid, "path": None if doc.path is None else str(doc.path),
            "saved_at": time.time(), "pid": os.getpid(), "host": socket.gethostname(),
            "name": doc.project.name}
    data = {"format": FORMAT, "version": VERSION, "document": meta,
            "project": fileformat.to_dict(doc.project)}
    path = recovery_path(doc, folder)
    write_atomic(path, json.dumps(data, indent=1, allow_nan=False) + "\n", folder_mode=0o700)
    _live[doc.uid] = doc
    return path


def forget(doc: Document, folder=None) -> None:
    """A clean close of ``doc``: delete its recovery file, if any."""
    _live.pop(doc.uid, None)
    try:
        recovery_path(doc, folder).unlink()
    except FileNotFoundError:
        pass


def _alive(pid) -> bool:
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _read(path: Path) -> dict:
    try:
        if path.stat().st_size > fileformat.MAX_BYTES:
            raise ProjectError(f"{path.name} is too large to be a recovery file")
        data = json.loads(path.read_text(encoding="utf-8"),
                          parse_constant=fileformat._reject_constant)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ProjectError(f"{path.name} cannot be read ({err})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ProjectError(f"{path.name} is not a Studio recovery file")
    if data.get("version") != VERSION:
        raise ProjectError(f"{path.name}: unknown recovery file version {data.get('version')!r}")
    if not isinstance(data.get("document"), dict) or not isinstance(data.get("project"), dict):
        raise ProjectError(f"{path.name}: missing its document or project")
    return data


def _entry(path: Path) -> RecoveryEntry:
    uid = path.name[: -len(SUFFIX)]
    try:
        data = _read(path)
    except ProjectError as err:
        return RecoveryEntry(path, uid, None, path.stat().st_mtime, uid, error=str(err))
    meta = data["document"]
    original = meta.get("path") if isinstance(meta.get("path"), str) else None
    saved = meta.get("saved_at")
    saved = float(saved) if isinstance(saved, (int, float)) and not isinstance(saved, bool) \
        else path.stat().st_mtime
    name = meta.get("name") if isinstance(meta.get("name"), str) else "Untitled"
    return RecoveryEntry(path, uid, original, saved, name)


def pending(folder=None) -> list[RecoveryEntry]:
    """Recovery files left by sessions that ended without closing their documents (a crash),
    newest first. Files of documents still open in this process, or in another running Studio on
    this machine, are not listed. Unreadable files are listed with ``error`` set."""
    where = recovery_dir(folder)
    if not where.is_dir():
        return []
    out = []
    host = socket.gethostname()
    for path in where.glob(f"*{SUFFIX}"):
        uid = path.name[: -len(SUFFIX)]
        if uid in _live:
            continue
        try:
            entry = _entry(path)
        except OSError:  # vanished meanwhile
            continue
        if entry.error is None:
            meta = _read(path)["document"]
            pid = meta.get("pid")
            if pid != os.getpid() and meta.get("host") == host and _alive(pid):
                continue  # another Studio that is running has this document open
        out.append(entry)
    out.sort(key=lambda e: e.saved_at, reverse=True)
    return out


def recover(entry: RecoveryEntry) -> Document:
    """Open a recovery file as a document: modified (until saved), pointing at the original path
    (None for a document never saved), keeping the same recovery file for its next autosave.
    Parts of the project that do not load are left out (as when opening a damaged file);
    ProjectError when the file cannot be read at all."""
    data = _read(Path(entry.file))
    try:
        project, _issues = fileformat.loads_lenient(json.dumps(data["project"]))
    except fileformat.FileFormatError as err:
        raise ProjectError(f"{Path(entry.file).name}: {err}") from None
    doc = Document(project, path=entry.original_path)
    doc.uid = entry.uid
    doc.mark_modified()
    _live[doc.uid] = doc
    return doc


def discard(entry: RecoveryEntry) -> None:
    """Delete a recovery file the user does not want."""
    _live.pop(entry.uid, None)
    try:
        Path(entry.file).unlink()
    except FileNotFoundError:
        pass


__all__ = ["RecoveryEntry", "autosave", "discard", "forget", "pending", "recover",
           "recovery_dir", "recovery_path"]
