"""Writing a file atomically, with the permissions any other file of the user gets.

A temporary file in the same folder is written, flushed and renamed over the target, so a crash
never leaves half a file. ``tempfile.mkstemp`` creates it with mode 0600; left that way a saved
project would be private while the checkpoint beside it is not. The finished file gets the mode a
plain ``open()`` would give (0666 less the umask), or keeps the mode of the file it replaces.
Every atomic write in Studio (project files, recovery files, checkpoints, weights) goes through
here. Pure Python: no Qt, no torch.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _mode_for(path: Path) -> int:
    """The mode ``path`` keeps when it exists, else what a new file gets under the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_current_umask()


@contextmanager
def atomic_path(path, folder_mode: int = 0o777) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write; on success it replaces ``path`` with
    the right mode, on any error it is removed and ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=folder_mode)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path, data: str | bytes, folder_mode: int = 0o777) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically, flushed to disk; returns the path."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path, folder_mode) as tmp:
        with open(tmp, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
    return Path(path)


def write_with(path, writer: Callable[[Path], object], folder_mode: int = 0o777) -> Path:
    """Atomically write ``path`` with ``writer(tmp_path)`` (``torch.save`` and the like)."""
    with atomic_path(path, folder_mode) as tmp:
        writer(tmp)
    return Path(path)
