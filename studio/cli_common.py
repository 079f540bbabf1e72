"""What every command-line module shares: the one-line error and opening a project by path or
example name (kept apart so that the command modules need not import each other)."""

from __future__ import annotations

import argparse
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


def positive(text: str) -> int:
    """An argument that must be a whole number of at least 1."""
    value = positive_or_zero(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def positive_or_zero(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def table_lines(headers, rows, right=()) -> list[str]:
    """A text table: columns as wide as their widest cell, those in ``right`` right-aligned,
    a rule under the headers."""
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(headers)]

    def line(cells) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(row) for row in rows)]
