"""Where the app records its runs, and the writers recording them.

A saved project's runs go beside it (``<stem>.runs/history.sqlite``, ``engine/run_history.py``).
A project never saved has no folder of its own, yet a user who opens an example and trains it
expects to find that run in the Runs panel: its runs go to a per-user data folder, under the
project's name (``$STUDIO_RUNS_DIR`` moves both, as for ``studio train``).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QStandardPaths

from studio.core.fileformat import SUFFIX
from studio.engine.run_history import RUNS_DIR_VARIABLE, STOPPED, history_path
from studio.engine.run_writer import RunWriter

UNSAVED_FOLDER = "unsaved-runs"
CLOSE_WAIT_SECONDS = 3.0  # the window closing waits this long for a run's last commit


def unsaved_runs_folder() -> Path:
    """The per-user folder keeping the runs of projects never saved."""
    data = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(data or Path.home() / ".studio") / UNSAVED_FOLDER


def history_location(doc_path, project_name: str) -> Path:
    """The run history of a document: beside its file, or for an unsaved one under its
    project's name in the per-user folder."""
    if doc_path:
        return history_path(doc_path)
    folder = os.environ.get(RUNS_DIR_VARIABLE) or unsaved_runs_folder()
    return history_path(Path(f"{project_name}{SUFFIX}"), runs_dir=folder)


class Recordings:
    """The controller's run writers: the current run's, and those still finishing (an earlier
    run's last commit and checkpoint copy, or a run of a closed project, which records to its
    end unless the window closes first)."""

    def __init__(self, failed, news, board_failed=lambda err: None):
        self.failed = failed  # (error) -> None, called on a writer's thread
        self.news = news  # () -> None, called on a writer's thread: a run began or ended
        self.board_failed = board_failed  # (error) -> None: the TensorBoard copy failed
        self.current: RunWriter | None = None
        self._writers: list[RunWriter] = []  # every writer not known to be done
        self._open = True

    def start(self, location, project, config) -> RunWriter:
        self._writers = [w for w in self._writers if not w.done]
        self._open = True
        self.current = RunWriter(location, project, config, failed=self._failed,
                                 news=self._news, board_failed=self._board_failed)
        self._writers.append(self.current)
        return self.current

    def _failed(self, err) -> None:
        if self._open:
            self.failed(err)

    def _board_failed(self, err) -> None:
        if self._open:
            self.board_failed(err)

    def _news(self) -> None:
        if self._open:
            self.news()

    def close_current(self, status: str | None) -> None:
        """The current run's session is over (see ``RunWriter.close``)."""
        if self.current is not None:
            self.current.close(status)

    def retire_current(self) -> None:
        """The project was closed while its run goes on: it keeps recording to its end."""
        self.current = None

    def shutdown(self) -> None:
        """The window closes: every run still recording ends as stopped, committed first, and
        no writer speaks to the window again."""
        self._open = False
        for writer in self._writers:
            writer.close(STOPPED)
        for writer in self._writers:
            writer.join(CLOSE_WAIT_SECONDS)
        self._writers.clear()
