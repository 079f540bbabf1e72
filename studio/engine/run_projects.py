"""The projects recorded runs trained, and what changed from one run to the next, for
``studio runs`` and the app's Runs panel alike."""

from __future__ import annotations

import json

from studio.core.diff import diff_projects, short_phrase
from studio.core.fileformat import FileFormatError, loads
from studio.core.project import TRAINING_SETTINGS, Project, ProjectError
from studio.engine.run_history import Run, RunHistory, RunHistoryError

FIRST = "first run"
UNKNOWN = "?"


def run_project(history: RunHistory, record: Run) -> Project:
    """The project a run trained, with the settings it trained with."""
    try:
        project = loads(history.graph_text(record.number))
        known = {p.name for p in TRAINING_SETTINGS}
        project.training.configure(**{k: v for k, v in record.settings.items() if k in known})
    except (FileFormatError, ProjectError) as err:
        raise RunHistoryError(f"{history.path}: run {record.number}: {err}") from None
    return project


def _key(record: Run) -> tuple:
    return record.graph, json.dumps(record.settings, sort_keys=True)


def changes(history: RunHistory, records: list, known: dict | None = None) -> list[str]:
    """Per run, what changed since the run before it, in a few words. ``known`` keeps the
    phrases between calls (keyed by the two runs' graphs and settings), so a panel that lists
    the runs again diffs only the pairs it has not seen."""
    known = {} if known is None else known
    projects: dict = {}

    def project(record):
        key = _key(record)
        if key not in projects:
            projects[key] = run_project(history, record)
        return projects[key]

    out = []
    for before, record in zip([None, *records], records):
        if before is None:
            out.append(FIRST)
            continue
        pair = (_key(before), _key(record))
        if pair not in known:
            try:
                known[pair] = short_phrase(diff_projects(project(before), project(record)))
            except RunHistoryError:
                known[pair] = UNKNOWN
        out.append(known[pair])
    return out
