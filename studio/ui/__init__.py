"""The desktop editor (Qt). Nothing here imports torch at import time: the window opens first."""

from studio.ui import _pyside_fix  # noqa: F401 - guards every Qt call made from Python
