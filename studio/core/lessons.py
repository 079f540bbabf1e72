"""The course's lessons: one idea of the notes each, a project to open and a text to read.

A lesson is a Markdown file in the examples' ``course/`` folder. It starts with a few
``key: value`` lines, then a blank line, then the text the Lesson panel shows::

    title: LeNet, the first convolutional classifier
    project: ../lenet.studio
    views: curves, features

    # LeNet
    ...

``project`` is the example the lesson opens (a path from the lesson's folder); ``views`` the
dashboard views it brings to the front (the panel's names: ``curves``, ``features``,
``gradients``, ``samples``, ...). Lessons are sorted by file name (``01-lenet.md`` first).
A lesson is data: reading one never runs anything from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.core import package_files

LESSON_SUFFIX = ".md"
COURSE_FOLDER = "course"
KEYS = ("title", "project", "views")


class LessonError(ValueError):
    """A lesson file that cannot be read: the message names the file and the line."""


@dataclass(frozen=True)
class Lesson:
    id: str  # the file's stem without its order prefix: "lenet" for 01-lenet.md
    title: str
    project: Path  # the project the lesson opens
    views: tuple[str, ...]  # the dashboard views to bring to the front, in order
    text: str  # Markdown, shown in the Lesson panel


def course_folder() -> Path:
    """Where the lessons are, in the checkout or installed."""
    return package_files.examples_folder() / COURSE_FOLDER


def read_lesson(path) -> Lesson:
    """One lesson file; ``LessonError`` names the file and line of what is wrong."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise LessonError(f"{path.name}: cannot be read ({err})") from err
    fields: dict[str, str] = {}
    body_start = len(lines)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            body_start = number
            break
        key, colon, value = line.partition(":")
        key = key.strip().lower()
        if not colon or key not in KEYS:
            raise LessonError(f"{path.name}, line {number}: expected one of "
                              f"{', '.join(KEYS)} as 'key: value', got {line.strip()!r}")
        if key in fields:
            raise LessonError(f"{path.name}, line {number}: {key} is given twice")
        fields[key] = value.strip()
    for key in ("title", "project"):
        if not fields.get(key):
            raise LessonError(f"{path.name}: no {key} (a 'key: value' line before the text)")
    project = (path.parent / fields["project"]).resolve()
    if not project.is_file():
        raise LessonError(f"{path.name}: its project {fields['project']} is not there")
    views = tuple(v.strip() for v in fields.get("views", "").split(",") if v.strip())
    text = "\n".join(lines[body_start:]).strip()
    if not text:
        raise LessonError(f"{path.name}: the lesson has no text after its header")
    stem = path.stem
    order, dash, rest = stem.partition("-")
    return Lesson(rest if dash and order.isdigit() else stem, fields["title"], project, views,
                  text)


def lessons(folder=None) -> list[Lesson]:
    """Every lesson of the course, in order."""
    folder = Path(folder) if folder is not None else course_folder()
    return [read_lesson(p) for p in sorted(folder.glob(f"*{LESSON_SUFFIX}"))]


def lesson(lesson_id: str, folder=None) -> Lesson | None:
    """The lesson called ``lesson_id`` (``"lenet"``), or None."""
    return next((item for item in lessons(folder) if item.id == lesson_id), None)
