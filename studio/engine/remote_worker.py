"""The remote end of a run over SSH (``studio worker``): a front end speaking over stdin and
stdout, and the training process it starts detached, so that a lost connection stops nothing.

``studio worker --stdio`` reads the job from stdin, makes the run's folder (``runs_folder()``,
named by a new run id), writes the job there and starts ``studio worker --run FOLDER`` in a
session of its own: the same ``worker.standby_main`` as a local run, its events appended to
``events.bin`` and its commands read from ``commands.bin`` (frames of ``stream_codec``), its
output in ``worker.log``. The front end sends ``RemoteRun`` first, then follows the event file
to stdout and appends what arrives on stdin to the command file. When the connection goes, the
front end ends and the worker trains on; ``studio worker --attach RUNID`` follows the same file
again from its start (so a new session sees the whole run) and ``--stop RUNID`` asks it to
stop. A checkpoint the worker writes comes back as ``CheckpointData`` with its bytes.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from studio.engine.events import Checkpoint, CheckpointData, Error, RemoteRun
from studio.engine.stream_codec import HEADER, FrameReader, decode, encode, frame_length

FOLLOW_SECONDS = 0.02  # how often a follower looks for new events, and the worker for commands
JOB, EVENTS, COMMANDS, LOG, PID = "job.bin", "events.bin", "commands.bin", "worker.log", "pid"
END = encode(None)  # the last frame of a finished event file
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def runs_folder() -> Path:
    """Where remote runs keep their folders on this machine: ``$STUDIO_REMOTE_RUNS``, else the
    user's cache folder."""
    if os.environ.get("STUDIO_REMOTE_RUNS"):
        return Path(os.environ["STUDIO_REMOTE_RUNS"])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "studio" / "remote-runs"


def run_folder(run_id: str) -> Path:
    """The folder of an existing run; ValueError naming the id when there is none."""
    folder = runs_folder() / run_id
    if not RUN_ID.match(run_id) or not (folder / JOB).is_file():
        raise ValueError(f"no remote run {run_id!r} on {socket.gethostname()} "
                         f"(looked in {runs_folder()})")
    return folder


def append_frame(path: Path, message) -> None:
    """Append one frame in one write (O_APPEND: frames from several writers never interleave)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, encode(message))
    finally:
        os.close(fd)


class FileTail:
    """Frames appended to a file by another process, read as they come (partial frames wait)."""

    def __init__(self, path: Path):
        self.path = path
        self.file = None
        self.buffer = b""

    def frames(self) -> list[bytes]:
        """The whole frames (header and body) appended since the last call."""
        if self.file is None:
            try:
                self.file = open(self.path, "rb")  # noqa: SIM115 - kept open while following
            except FileNotFoundError:
                return []
        self.buffer += self.file.read()
        out = []
        while len(self.buffer) >= HEADER.size:
            size = HEADER.size + frame_length(self.buffer[:HEADER.size])
            if len(self.buffer) < size:
                break
            out.append(self.buffer[:size])
            self.buffer = self.buffer[size:]
        return out


# ---------------------------------------------------------------------------------------------
# the detached worker: the connections standby_main and run_job use, on files
# ---------------------------------------------------------------------------------------------

class JobFile:
    def __init__(self, folder: Path):
        self.folder = folder

    def recv(self):
        return decode((self.folder / JOB).read_bytes()[HEADER.size:])


class CommandFile:
    """The commands connection: ``poll`` and ``recv`` on the frames appended to commands.bin."""

    def __init__(self, folder: Path):
        self.tail = FileTail(folder / COMMANDS)
        self.waiting: list = []

    def poll(self, timeout: float = 0.0) -> bool:
        deadline = time.perf_counter() + (timeout or 0.0)
        while True:
            self.waiting += [decode(frame[HEADER.size:]) for frame in self.tail.frames()]
            if self.waiting or time.perf_counter() >= deadline:
                return bool(self.waiting)
            time.sleep(min(FOLLOW_SECONDS, max(deadline - time.perf_counter(), 0.0)))

    def recv(self):
        if not self.waiting and not self.poll(None):
            raise EOFError("no command")
        return self.waiting.pop(0)


class EventFile:
    """The events connection: each batch appended to events.bin, a checkpoint's bytes with it;
    ``close`` ends the file with the end frame."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.fd = os.open(folder / EVENTS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def send(self, batch: list) -> None:
        os.write(self.fd, encode([self._with_bytes(event) for event in batch]))

    def _with_bytes(self, event):
        if not isinstance(event, Checkpoint):
            return event
        try:
            data = (self.folder / event.path).read_bytes()
        except OSError:
            return event  # the session says where it was written, on this machine
        return CheckpointData(event.path, event.step, data)

    def close(self) -> None:
        os.write(self.fd, END)
        os.close(self.fd)


def run_detached(folder: str) -> None:
    """``studio worker --run FOLDER``: train the job in FOLDER, as a local run's process does."""
    from studio.engine.worker import standby_main

    path = Path(folder)
    os.chdir(path)  # checkpoints and files the job names are relative to its folder
    standby_main(JobFile(path), CommandFile(path), EventFile(path))


# ---------------------------------------------------------------------------------------------
# the front end: one SSH connection's stdin and stdout
# ---------------------------------------------------------------------------------------------

def _private_stdout() -> int:
    """A descriptor for the framed stream, with fd 1 pointed at stderr: a stray print from any
    library cannot corrupt the stream."""
    out = os.dup(1)
    os.dup2(2, 1)
    return out


def _alive(folder: Path) -> bool:
    """The worker of ``folder`` still runs (its command line names the folder: a reused pid of
    another program does not count; a zombie does not count)."""
    try:
        pid = int((folder / PID).read_text())
    except (OSError, ValueError):
        return True  # its front end is starting it: the pid is written next
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel whether the pid exists
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z" and str(folder).encode() in cmdline


def _log_tail(folder: Path, lines: int = 30) -> str:
    try:
        return "".join((folder / LOG).read_text(errors="replace").splitlines(True)[-lines:])
    except OSError:
        return ""


def _forward_commands(folder: Path, gone: threading.Event) -> None:
    """stdin's frames appended to the run's command file, until stdin ends (the connection
    went, or the session detached): then ``gone`` is set and the run goes on."""
    reader = FrameReader(0)
    try:
        while True:
            append_frame(folder / COMMANDS, reader.read())
    except (EOFError, OSError, ValueError):
        pass
    finally:
        gone.set()


def follow(folder: Path, out: int, child: subprocess.Popen | None = None) -> int:
    """Send the run's events to ``out`` from the file's start, then as they come, until the
    end frame (0), the worker dying without one (an ``Error`` says so, 1), or the connection
    going (stdin ended or ``out`` broke: 0, the worker trains on)."""
    gone = threading.Event()
    threading.Thread(target=_forward_commands, args=(folder, gone), daemon=True).start()
    tail = FileTail(folder / EVENTS)
    try:
        while not gone.is_set():
            frames = tail.frames()
            for frame in frames:
                if frame == END:
                    return 0
                os.write(out, frame)
            if frames:
                continue
            dead = child.poll() is not None if child is not None else not _alive(folder)
            if dead and not tail.frames():  # one last look: it may have written, then ended
                crash = Error("crash", f"the training process on {socket.gethostname()} ended "
                              "unexpectedly; the project and the plots so far are kept",
                              traceback=_log_tail(folder) or None)
                os.write(out, encode([crash]))
                return 1
            gone.wait(FOLLOW_SECONDS)
    except BrokenPipeError:
        pass
    return 0


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def serve_stdio() -> int:
    """``studio worker --stdio``: take the job from stdin, start its worker detached, follow."""
    out = _private_stdout()
    job, files = FrameReader(0).read()  # the job as a local worker gets it, and its files
    run_id = new_run_id()
    folder = runs_folder() / run_id
    folder.mkdir(parents=True, mode=0o700)
    for name, data in files.items():  # the checkpoint or weights the job starts from
        (folder / Path(name).name).write_bytes(data)
    (folder / JOB).write_bytes(encode(job))
    with open(folder / LOG, "ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "studio", "worker", "--run", str(folder)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=folder,
            start_new_session=True)  # not ended with the connection, nor by its hang-up
    (folder / PID).write_text(str(child.pid))
    os.write(out, encode([RemoteRun(run_id, str(folder), socket.gethostname())]))
    return follow(folder, out, child)


def attach(run_id: str) -> int:
    """``studio worker --attach RUNID``: the run's events again from its start, then as they
    come; commands from stdin reach it as before."""
    out = _private_stdout()
    try:
        folder = run_folder(run_id)
    except ValueError as err:
        os.write(out, encode([Error("remote", str(err))]))
        return 2
    os.write(out, encode([RemoteRun(run_id, str(folder), socket.gethostname())]))
    return follow(folder, out)


def stop(run_id: str) -> int:
    """``studio worker --stop RUNID``: ask the run to stop after its current step."""
    append_frame(run_folder(run_id) / COMMANDS, ("stop",))
    print(f"asked run {run_id} to stop")
    return 0
