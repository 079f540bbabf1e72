"""A guard against a reference-counting bug of some PySide6 builds on Python < 3.12.

PySide6 6.12 returns ``None`` from void C++ methods (``setToolTip``, ``update``, ``setPos``, ...)
without taking a reference, as if ``None`` were immortal, which it is only from Python 3.12 on.
On 3.10 and 3.11 every such call drops one reference to ``None``; after a few thousand calls (a
few seconds of painting) the interpreter aborts with "deallocating None". Where the bug is
detected, this gives ``None`` the effectively infinite reference count Python 3.12 gives it.
``None`` is never freed in a running interpreter, so its count has no other meaning.

The same builds drop references to ``True`` and ``False`` on some bool-returning paths (a long
training session with every plot open ended in "deallocating True or False" at exit), so the
two bools, equally immortal from 3.12 on, get the same treatment.
"""

from __future__ import annotations

import ctypes
import sys

IMMORTAL = 1 << 60


def _leaks() -> bool:
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(8):
        probe.setObjectName("probe")
    return sys.getrefcount(None) < before


def make_none_immortal() -> bool:
    """Apply the guard if this interpreter and PySide need it; True if applied."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if not _leaks():
        return False
    for singleton in (None, True, False):
        cell = ctypes.c_ssize_t.from_address(id(singleton))  # ob_refcnt: first field
        if cell.value != sys.getrefcount(singleton) - 1:  # not the layout we expect
            return False
    for singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value = IMMORTAL
    return True


APPLIED = make_none_immortal()
