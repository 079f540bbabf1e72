"""What every command-line module shares: the one-line error and opening a project by path or
example name (kept apart so that the command modules need not import each other)."""

from __future__ import annotations

from pathlib import Path

from studio.core.fileformat import FileFormatError, load
from studio.core.project import Project

EXIT_BAD_INPUT = 2


class CliError(Exception):
    """A problem to report in one line, exiting with status 2."""


def open_project(path: str) -> Project:
    """Load a project file; a bare example name (``lenet``) that is no file here opens that
    example (``studio examples`` lists them)."""
    if "/" not in path and not path.endswith(".studio") and not Path(path).exists():
        from studio.core import package_files

        path = str(package_files.example_path(path) or path)
    try:
        return load(path)
    except FileFormatError as err:
        raise CliError(f"{path}: {err}") from None
