"""Where Studio's shipped files are: bundled data, icons, the guide, and the example projects.

The repository keeps them at its top level (``resources/``, ``examples/``); the build installs them
as the packages ``studio.resources`` and ``studio.examples`` (setup.py). Reading them as package
data works the same from a wheel and from an editable checkout, whatever the current folder; a path
built from the source tree (``parents[2]``) works only in the checkout.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

RESOURCES_PACKAGE = "studio.resources"
EXAMPLES_PACKAGE = "studio.examples"
EXAMPLE_SUFFIX = ".studio"


@cache
def _folder(package: str) -> Path:
    root = resources.files(package)
    if not isinstance(root, Path):  # e.g. imported from a zip: the engine needs real files
        raise RuntimeError(f"Studio's files ({package}) are not on disk but in {root}; "
                           "install Studio as a wheel or from the checkout")
    return root


def resources_folder() -> Path:
    """The folder of ``resources/`` as installed."""
    return _folder(RESOURCES_PACKAGE)


def resource(*parts: str) -> Path:
    """A file or folder under ``resources/``: ``resource("icons", "studio.svg")``."""
    return resources_folder().joinpath(*parts)


def data_folder() -> Path:
    """The bundled datasets (``digits.npz``, ``siren.npz``) that built-in Dataset blocks read."""
    return resource("data")


def examples_folder() -> Path:
    """The folder of the installed example projects (read them; save copies elsewhere)."""
    return _folder(EXAMPLES_PACKAGE)


def example_paths() -> list[Path]:
    """Every example project, sorted by name."""
    return sorted(examples_folder().glob(f"*{EXAMPLE_SUFFIX}"))


def example_path(name: str) -> Path | None:
    """The example called ``name`` (``"lenet"`` or ``"lenet.studio"``), or None."""
    stem = name[:-len(EXAMPLE_SUFFIX)] if name.endswith(EXAMPLE_SUFFIX) else name
    return next((p for p in example_paths() if p.stem == stem), None)
