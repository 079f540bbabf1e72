"""The run history: every training run of a project, kept in an SQLite database beside it.

Where: ``<folder>/<stem>.runs/history.sqlite`` for ``<folder>/<stem>.studio`` (``history_path``).
A folder rather than one file because SQLite's write-ahead log keeps two companion files
(``-wal``, ``-shm``) beside the database while it is open: moving or copying the folder moves
all three together, where a lone ``.sqlite`` moved without its log would lose the last writes.
``STUDIO_RUNS_DIR`` puts every project's folder there instead (a project in a read-only place,
the test suite).

Safe against a crash or a kill: write-ahead logging with ``synchronous=FULL`` (each commit is
on disk before it returns, so a power cut loses nothing committed), and every write is one
transaction, so the file is never half-written. The recorder commits metrics at most a second
apart (``run_recorder.FLUSH_SECONDS``), so a killed run loses at most its last second. Readers
(the window, ``studio runs``) read while a run writes: WAL lets them see the last commit
without waiting.

Graphs are stored once by the SHA-256 of their project text: a hundred runs of one graph hold
one copy. A run keeps its graph, settings, seed, device, versions, times, status, metric series,
final evaluation and checkpoint; a run made by a sweep (``engine/sweep.py``) also names its
sweep, its trial number and the values the trial set (the ``sweeps`` table keeps what each
sweep varied and how it searched).

The schema is versioned by ``PRAGMA user_version``: an older file is migrated in one
transaction (``MIGRATIONS``), a newer one is refused before anything is written to it.

API for the app's training controller (the CLI's ``studio train`` uses the same):
``RunHistory.beside(project_path)`` opens or creates the store; ``run_recorder.RunRecorder``
records one run from its events. To read: ``runs()``, ``run(number)``, ``series(number)``,
``latest(number)`` (a running run's newest values), ``graph_text(number)``, ``sweeps()``; to
edit: ``rename``, ``annotate``, ``delete``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 2
APPLICATION_ID = 0x53545244  # "STRD": a Studio run database, so another app's file is refused
FOLDER_SUFFIX = ".runs"
FILE_NAME = "history.sqlite"
RUNS_DIR_VARIABLE = "STUDIO_RUNS_DIR"
BUSY_SECONDS = 10.0  # a second writer (the window and a CLI run at once) waits this long
INTERRUPTED_AFTER = 30.0  # a "running" run silent this long was killed (its writer beats every 5 s)
RUNNING, FINISHED, STOPPED, FAILED, PRUNED, INTERRUPTED = (
    "running", "finished", "stopped", "failed", "pruned", "interrupted")

_SCHEMA = """
CREATE TABLE sweeps (
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    spec TEXT NOT NULL                  -- JSON: what varied, the method, the metric
);
CREATE TABLE graphs (
    hash TEXT PRIMARY KEY,              -- SHA-256 of the text
    text TEXT NOT NULL                  -- the project file's text, as trained
) WITHOUT ROWID;
CREATE TABLE runs (
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT,
    note TEXT,
    project TEXT NOT NULL,              -- the project's name
    graph TEXT NOT NULL REFERENCES graphs(hash),
    settings TEXT NOT NULL,             -- JSON: the training settings the run used
    seed INTEGER,
    device TEXT,                        -- the device it trained on (known once started)
    versions TEXT NOT NULL,             -- JSON: studio, torch, python
    started REAL NOT NULL,              -- seconds since the epoch
    ended REAL,
    heartbeat REAL NOT NULL,            -- the writer's last commit
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'stopped', 'failed',
                                           'pruned')),  -- pruned: a sweep stopped it early
    message TEXT,                       -- why it failed, or why it was pruned
    steps INTEGER NOT NULL DEFAULT 0,
    evaluation TEXT,                    -- JSON: the final held-out metrics
    checkpoint TEXT,                    -- the last checkpoint written
    weights TEXT,                       -- the weights file saved at the end
    params INTEGER,
    macs INTEGER,
    sweep INTEGER REFERENCES sweeps(number),  -- the sweep that ran it, if one did
    trial INTEGER,                      -- its trial number within that sweep (0 first)
    trial_values TEXT                   -- JSON: what the trial set ("conv1.out_channels": 8)
);
CREATE TABLE metrics (
    run INTEGER NOT NULL REFERENCES runs(number) ON DELETE CASCADE,
    kind TEXT NOT NULL,                 -- train (every step), eval (epoch ends), lr (per optimizer)
    name TEXT NOT NULL,
    step INTEGER NOT NULL,
    epoch INTEGER,
    value REAL,                         -- NULL: not a number
    PRIMARY KEY (run, kind, name, step)
) WITHOUT ROWID;
"""



def _add_sweeps(db: sqlite3.Connection) -> None:
    """Version 1 -> 2: the sweeps table, and a run's sweep, trial and trial values; 'pruned'
    joins the statuses. SQLite cannot change a CHECK in place, so the runs table is rebuilt
    as SQLite's documentation says: the new table made, filled, the old one dropped (foreign keys
    are off while migrating, so the metrics stay) and the new one renamed."""
    columns = ", ".join(row[1] for row in db.execute("PRAGMA table_info(runs)"))
    for statement in _statements():
        if statement.startswith("CREATE TABLE sweeps"):
            db.execute(statement)
        elif statement.startswith("CREATE TABLE runs "):
            db.execute(statement.replace("CREATE TABLE runs ", "CREATE TABLE runs_new ", 1))
    db.execute(f"INSERT INTO runs_new ({columns}) SELECT {columns} FROM runs")
    db.execute("DROP TABLE runs")
    db.execute("ALTER TABLE runs_new RENAME TO runs")


# schema version -> function upgrading a connection's tables from that version to the next
MIGRATIONS: dict = {1: _add_sweeps}


class RunHistoryError(Exception):
    """A run history Studio cannot use; the message says which file and why."""


@dataclass(frozen=True)
class Sweep:
    """One sweep, as read: when it started and its specification (``engine/sweep.py`` writes
    what varied, the method, the metric and its direction)."""

    number: int
    started: float
    spec: dict


@dataclass(frozen=True)
class Run:
    """One row of the history, as read."""

    number: int
    name: str | None
    note: str | None
    project: str
    graph: str  # the hash of its project text
    settings: dict
    seed: int | None
    device: str | None
    versions: dict
    started: float
    ended: float | None
    heartbeat: float
    status: str  # running, finished, stopped, failed, or interrupted (running, but silent)
    message: str | None
    steps: int
    evaluation: dict
    checkpoint: str | None
    weights: str | None
    params: int | None
    macs: int | None
    sweep: int | None = None  # the sweep that ran it (``sweeps()``), if one did
    trial: int | None = None  # its trial number in that sweep, 0 first
    trial_values: dict | None = None  # what the trial set: {"conv1.out_channels": 8, ...}

    @property
    def seconds(self) -> float:
        """How long it ran (until its last sign of life when it never ended)."""
        return (self.ended or self.heartbeat) - self.started


def history_path(project_path, runs_dir=None) -> Path:
    """Where the runs of the project at ``project_path`` are kept."""
    project_path = Path(project_path)
    folder = runs_dir or os.environ.get(RUNS_DIR_VARIABLE) or project_path.resolve().parent
    return Path(folder) / (project_path.stem + FOLDER_SUFFIX) / FILE_NAME


def graph_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RunHistory:
    """One project's run history; one connection, used from one thread."""

    def __init__(self, path, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise RunHistoryError(f"{self.path}: no run history (no run was recorded)")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
            self._open()
        except sqlite3.DatabaseError as err:
            self.close()
            raise RunHistoryError(f"{self.path}: not a run history Studio can read ({err})") \
                from None

    @classmethod
    def beside(cls, project_path, create: bool = True) -> RunHistory:
        return cls(history_path(project_path), create=create)

    def _open(self) -> None:
        """Check the version before writing anything: a newer file is left as it is."""
        db = self._db
        db.execute("BEGIN")  # the three looked at in one snapshot
        try:
            version, tables = self._check()
        finally:
            db.execute("COMMIT")
        self._use_write_ahead_log()
        db.execute("PRAGMA synchronous=FULL")
        if not tables or version < SCHEMA_VERSION:
            # looked at again holding the write lock: another process (a run starting while
            # the app opens the history) may have made or migrated the tables meanwhile
            with self.transaction():  # foreign keys still off: a table may be rebuilt
                version, tables = self._check()
                if not tables:
                    for statement in _statements():
                        db.execute(statement)
                    db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                elif version < SCHEMA_VERSION:
                    for step in range(version, SCHEMA_VERSION):
                        MIGRATIONS[step](db)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute("PRAGMA foreign_keys=ON")

    def _use_write_ahead_log(self) -> None:
        """Switch to WAL, trying again while another connection switches it: SQLite answers
        'database is locked' there at once, without waiting for the busy timeout (two
        connections that both hold a read lock cannot both wait for the write lock)."""
        deadline = time.monotonic() + BUSY_SECONDS
        pause = 0.005
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.2)

    def _check(self) -> tuple[int, int]:
        """(schema version, number of tables), refusing another program's database and a
        newer Studio's history before anything is written."""
        db = self._db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        app = db.execute("PRAGMA application_id").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if tables and app != APPLICATION_ID:
            raise RunHistoryError(f"{self.path}: not a Studio run history (another program's "
                                  "database)")
        if version > SCHEMA_VERSION:
            raise RunHistoryError(f"{self.path}: written by a newer Studio (run history version "
                                  f"{version}; this one reads up to {SCHEMA_VERSION}); update "
                                  "Studio to read it. The file was not changed")
        return version, tables

    def transaction(self):
        return _Transaction(self._db)

    def close(self) -> None:
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()
            self._db = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # writing ------------------------------------------------------------------------------------
    def begin(self, *, project: str, text: str, settings: dict, seed: int | None,
              versions: dict, params: int | None, macs: int | None, name: str | None = None,
              weights: str | None = None, started: float | None = None,
              sweep: int | None = None, trial: int | None = None,
              trial_values: dict | None = None) -> int:
        """A new run, status running; its graph stored unless an identical one already is.
        A sweep's trial names its sweep (``begin_sweep``), trial number and values.
        Returns the run's number."""
        now = started if started is not None else time.time()
        digest = graph_hash(text)
        with self.transaction():
            self._db.execute("INSERT OR IGNORE INTO graphs (hash, text) VALUES (?, ?)",
                             (digest, text))
            cursor = self._db.execute(
                "INSERT INTO runs (name, project, graph, settings, seed, versions, started, "
                "heartbeat, status, params, macs, weights, sweep, trial, trial_values) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, project, digest, json.dumps(settings), seed, json.dumps(versions), now,
                 now, RUNNING, params, macs, weights, sweep, trial,
                 None if trial_values is None else json.dumps(trial_values)))
        return cursor.lastrowid

    def begin_sweep(self, spec: dict) -> int:
        """A new sweep (its runs name it by the number returned); ``spec`` is JSON data."""
        with self.transaction():
            cursor = self._db.execute("INSERT INTO sweeps (started, spec) VALUES (?, ?)",
                                      (time.time(), json.dumps(spec)))
        return cursor.lastrowid

    def write(self, number: int, metrics=(), **fields) -> None:
        """One commit: metric rows (kind, name, step, epoch, value) and the run's changed fields
        (device, steps, checkpoint, status, message, evaluation, ended); the heartbeat too."""
        fields["heartbeat"] = time.time()
        if "evaluation" in fields:
            fields["evaluation"] = json.dumps(fields["evaluation"])
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self.transaction():
            if metrics:
                self._db.executemany(
                    "INSERT OR REPLACE INTO metrics (run, kind, name, step, epoch, value) "
                    "VALUES (?, ?, ?, ?, ?, ?)", [(number, *row) for row in metrics])
            self._db.execute(f"UPDATE runs SET {assignments} WHERE number = ?",
                             (*fields.values(), number))

    def rename(self, number: int, name: str | None) -> None:
        self._update(number, name=name)

    def annotate(self, number: int, note: str | None) -> None:
        self._update(number, note=note)

    def delete(self, number: int) -> None:
        """The run, its metrics, and its graph when no other run trained it."""
        with self.transaction():
            self._db.execute("DELETE FROM runs WHERE number = ?", (number,))
            self._db.execute("DELETE FROM graphs WHERE hash NOT IN (SELECT graph FROM runs)")

    def _update(self, number: int, **fields) -> None:
        self.run(number)  # a missing run is an error, not a silent no-op
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self.transaction():
            self._db.execute(f"UPDATE runs SET {assignments} WHERE number = ?",
                             (*fields.values(), number))

    # reading ------------------------------------------------------------------------------------
    def runs(self, now: float | None = None) -> list[Run]:
        """Every run, oldest first."""
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM runs ORDER BY number").fetchall()
        return [_run(row, now) for row in rows]

    def run(self, number: int, now: float | None = None) -> Run:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM runs WHERE number = ?",
                               (number,)).fetchone()
        if row is None:
            raise RunHistoryError(f"{self.path}: no run {number}")
        return _run(row, now)

    def sweeps(self) -> list[Sweep]:
        """Every sweep, oldest first (``runs()`` says which runs were its trials)."""
        rows = self._db.execute("SELECT number, started, spec FROM sweeps ORDER BY number")
        return [Sweep(number, started, json.loads(spec)) for number, started, spec in rows]

    def graph_text(self, number: int) -> str:
        """The project text the run trained."""
        return self._db.execute("SELECT text FROM graphs JOIN runs ON graphs.hash = runs.graph "
                                "WHERE runs.number = ?", (self.run(number).number,)).fetchone()[0]

    def graph_count(self) -> int:
        return self._db.execute("SELECT count(*) FROM graphs").fetchone()[0]

    def series(self, number: int) -> dict:
        """(kind, name) -> [(step, epoch, value)] in step order; value None where not a number."""
        out: dict = {}
        for kind, name, step, epoch, value in self._db.execute(
                "SELECT kind, name, step, epoch, value FROM metrics WHERE run = ? "
                "ORDER BY kind, name, step", (number,)):
            out.setdefault((kind, name), []).append((step, epoch, value))
        return out

    def latest(self, number: int) -> dict:
        """(kind, name) -> (step, value) of each series' newest committed point: what a run
        still training has logged so far. The window asks this every refresh, so it never
        reads the run's rows one by one (a GROUP BY took 40 ms for 100,000 steps): it hops
        from series to series and to each one's last step through the primary key, a few
        lookups per series (0.2 ms)."""
        db, out = self._db, {}
        key = db.execute("SELECT kind, name FROM metrics WHERE run = ? ORDER BY kind, name "
                         "LIMIT 1", (number,)).fetchone()
        while key is not None:
            kind, name = key
            out[key] = db.execute("SELECT step, value FROM metrics WHERE run = ? AND kind = ? "
                                  "AND name = ? ORDER BY step DESC LIMIT 1",
                                  (number, kind, name)).fetchone()
            key = db.execute("SELECT kind, name FROM metrics WHERE run = ? AND kind = ? AND "
                             "name > ? ORDER BY name LIMIT 1", (number, kind, name)).fetchone() \
                or db.execute("SELECT kind, name FROM metrics WHERE run = ? AND kind > ? "
                              "ORDER BY kind, name LIMIT 1", (number, kind)).fetchone()
        return out

    def integrity(self) -> str:
        """SQLite's own check of the file: "ok" when sound."""
        return self._db.execute("PRAGMA integrity_check").fetchone()[0]


_COLUMNS = ("number, name, note, project, graph, settings, seed, device, versions, started, "
            "ended, heartbeat, status, message, steps, evaluation, checkpoint, weights, params, "
            "macs, sweep, trial, trial_values")


def _run(row, now: float | None) -> Run:
    values = dict(zip([c.strip() for c in _COLUMNS.split(",")], row))
    for name in ("settings", "versions"):
        values[name] = json.loads(values[name])
    values["evaluation"] = json.loads(values["evaluation"]) if values["evaluation"] else {}
    if values["trial_values"] is not None:
        values["trial_values"] = json.loads(values["trial_values"])
    now = time.time() if now is None else now
    if values["status"] == RUNNING and now - values["heartbeat"] > INTERRUPTED_AFTER:
        values["status"] = INTERRUPTED
    return Run(**values)


def _statements() -> list[str]:
    """The schema's statements, comments dropped (executescript would commit on its own)."""
    text = "\n".join(line.split("--")[0] for line in _SCHEMA.splitlines())
    return [s.strip() for s in text.split(";") if s.strip()]


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an exception: all of a write or none of it."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self):
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, kind, value, traceback):
        self._db.execute("ROLLBACK" if kind else "COMMIT")
        return False
