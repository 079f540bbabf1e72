"""Training on another machine over SSH: a ``TrainingSession`` whose worker is
``studio worker --stdio`` on the far end of the user's own ``ssh`` (their keys, agent and
config; ``BatchMode`` so that nothing ever asks for or keeps a password).

The job and the commands go down ssh's stdin, the same typed events come back on its stdout
(frames of ``stream_codec``: only Studio's events and numpy arrays are read back). Data is read
on the remote side (built-in sets from the remote's own Studio, files relative to the run's
folder there). Checkpoints come back: a ``CheckpointData`` is written where this side asked
(the run's checkpoint path, ``save_checkpoint``) and handed on as a ``Checkpoint`` naming the
local file. The remote run is detached (``remote_worker.py``): when the connection goes, the
session says so (an ``Error`` of kind ``connection`` naming the host and run id, state
``disconnected``) and the run goes on there, to be followed again with ``attach=RUN_ID`` or
stopped (``studio worker --stop RUN_ID``).
"""

from __future__ import annotations

import dataclasses
import multiprocessing.util
import shlex
import subprocess
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from studio.core.atomic import write_atomic
from studio.engine.events import Checkpoint, CheckpointData, Error, RemoteRun
from studio.engine.remote_host import RemoteHost
from studio.engine.runner import RunConfig
from studio.engine.session import TrainingSession, exit_reason
from studio.engine.standby import end_worker
from studio.engine.stream_codec import FrameReader, StreamError, UnknownEvent, write_frame

REMOTE_STOP_SECONDS = 15.0  # a stop crosses the network and the remote worker's last step
RUN_CHECKPOINT = "run.ckpt"  # the run's own checkpoint, in its folder on the remote machine


class SshProcess:
    """The ssh client process, seen as a worker process (``is_alive``, ``join``, ``exitcode``,
    ``terminate``, ``kill``), keeping the last lines it wrote on stderr for the messages."""

    def __init__(self, command: list[str]):
        # A session of its own: Ctrl+C in a terminal reaches Studio, which stops the run in
        # order, rather than killing the connection under it.
        self.popen = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, bufsize=0,
                                      start_new_session=True)
        self.pid = self.popen.pid
        self.stderr: deque[str] = deque(maxlen=20)
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True,
                                               name="studio-ssh-stderr")
        self._stderr_reader.start()

    def _read_stderr(self) -> None:
        for line in self.popen.stderr:
            self.stderr.append(line.decode(errors="replace").rstrip())
        self.popen.stderr.close()

    def said(self) -> str:
        """What ssh and the remote command last wrote on stderr, once it has ended."""
        self._stderr_reader.join(2.0)
        return "; ".join(line for line in self.stderr if line.strip())[-600:]

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    def join(self, timeout: float | None = None) -> None:
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    @property
    def exitcode(self) -> int | None:
        return self.popen.poll()

    def terminate(self) -> None:
        self.popen.terminate()

    def kill(self) -> None:
        self.popen.kill()


class _Frames:
    """ssh's stdin as the job and commands connection: one frame per message, one writer at a
    time; ``close`` is the session's to call (the job shares the stream with the commands)."""

    def __init__(self, pipe):
        self.pipe = pipe
        self.lock = threading.Lock()

    def send(self, message) -> None:
        with self.lock:
            write_frame(self.pipe.fileno(), message)

    def end(self) -> None:
        with self.lock:
            self.pipe.close()


class _JobChannel:
    def __init__(self, frames: _Frames | None):
        self.frames = frames

    def send(self, job) -> None:
        self.frames.send(job)

    def close(self) -> None:
        """The commands go on on the same stream: nothing to close."""


class _EventStream:
    """ssh's stdout as the events connection; a frame that is not Studio's ends the stream,
    and ``problem`` says why."""

    def __init__(self, pipe):
        self.pipe = pipe
        self.reader = FrameReader(pipe.fileno())
        self.problem: str | None = None

    def recv(self):
        try:
            return self.reader.read()
        except StreamError as err:
            self.problem = str(err)
        except (EOFError, OSError):
            pass
        self.pipe.close()
        raise EOFError("the connection ended")


@dataclass
class RemoteWorker:
    """A ``standby.Spare``'s shape for an ssh connection."""

    process: SshProcess
    job: _JobChannel
    commands: _Frames
    events: _EventStream
    finalizer: multiprocessing.util.Finalize | None = None


def _close(process: SshProcess, commands: _Frames) -> None:
    """End the connection (the remote run, detached, goes on unless it was stopped)."""
    try:
        commands.end()
    except OSError:
        pass
    end_worker(process, wait=2.0)


def open_remote(host: RemoteHost, *worker_args: str) -> RemoteWorker:
    process = SshProcess(host.command(*worker_args))
    commands = _Frames(process.popen.stdin)
    worker = RemoteWorker(process, _JobChannel(commands), commands,
                          _EventStream(process.popen.stdout))
    worker.finalizer = multiprocessing.util.Finalize(worker, _close, (process, commands),
                                                     exitpriority=10)
    return worker


class RemoteSession(TrainingSession):
    """A run on ``host``, driven like a local one; ``attach=RUN_ID`` follows a run already
    there (its events again from the start) instead of starting one."""

    def __init__(self, project, config: RunConfig | None = None, *, host: RemoteHost,
                 threads: int | None = None, range_test=None, attach: str | None = None):
        config = config or RunConfig()
        for name in ("save_weights", "samples_dir"):
            if getattr(config, name):
                raise ValueError(f"{name} writes on the machine that trains: not with a remote "
                                 f"run on {host.host} (its checkpoint comes back instead)")
        super().__init__(project, config, threads, range_test)
        self.threads = threads  # None: the remote machine's own count
        self.host = host
        self.attaching = attach
        self.run: RemoteRun | None = None
        self._destinations: dict[str, str] = {}  # checkpoint path there -> file here
        if config.checkpoint_path:
            self._destinations[RUN_CHECKPOINT] = str(config.checkpoint_path)
        self._requests = 0

    def _open_worker(self):
        if self.attaching:
            return open_remote(self.host, "--attach", self.attaching)
        return open_remote(self.host, "--stdio")

    def _job(self) -> tuple:
        """The local job with this machine's paths taken out, and the files it starts from
        (name there -> bytes): the checkpoint is written in the run's folder there, data is
        read there."""
        job = super()._job()
        defaults = dataclasses.asdict(RunConfig())
        config = {**job["config"], "data_root": None, "samples_dir": None, "save_weights": None}
        if config["data_dir"] == defaults["data_dir"]:
            del config["data_dir"]  # the remote Studio's own built-in data
        if config.get("checkpoint_path"):
            config["checkpoint_path"] = RUN_CHECKPOINT
        files = {}
        for name, stored in (("resume_from", "resume"), ("init_from", "init")):
            if config.get(name):
                local = Path(config[name])
                stored += local.suffix
                files[stored] = local.read_bytes()
                config[name] = stored
        return {**job, "config": config}, files

    def _hand_job(self, worker) -> None:
        if not self.attaching:
            try:
                worker.job.send(self._job())
            except OSError:  # ssh ended before reading it (a host it cannot reach): the
                pass  # reader finds the stream ended and says why (``_ended_early``)

    def stop(self, timeout: float = REMOTE_STOP_SECONDS) -> None:
        super().stop(timeout)

    def save_checkpoint(self, path) -> None:
        """Write a checkpoint there now and bring it back to ``path``."""
        self._requests += 1
        there = f"requested-{self._requests}.ckpt"
        self._destinations[there] = str(path)
        self._send("checkpoint", there)

    def _add(self, event) -> None:
        if isinstance(event, UnknownEvent):
            return  # a kind of event only a newer Studio knows
        if isinstance(event, RemoteRun):
            self.run = event
        elif isinstance(event, CheckpointData):
            event = self._keep(event)
        super()._add(event)

    def _keep(self, event: CheckpointData):
        """The checkpoint's bytes written where this side asked; a ``Checkpoint`` naming the
        file, or its place on the remote machine when nobody asked for it here."""
        local = self._destinations.get(event.path)
        if local is None:
            folder = self.run.folder if self.run else "the run's folder"
            return Checkpoint(f"{self.host.host}:{folder}/{event.path}", event.step)
        try:
            write_atomic(local, event.data)
        except OSError as err:
            return Error("checkpoint", f"the checkpoint from {self.host.host} could not be "
                                       f"written to {local}: {err}")
        return Checkpoint(local, event.step)

    def _ended_early(self, code: int | None) -> Error:
        host, said = self.host.host, self._process.said()
        detail = f"ssh {exit_reason(code)}" + (f": {said}" if said else "")
        problem = self._connection.problem
        if problem:
            return Error("remote", f"{host} sent something that is not a Studio event "
                                   f"({problem}); the connection was closed")
        if self.run is None:
            return Error("remote", f"could not start a run on {host} over SSH ({detail})")
        run = self.run.run_id
        stop = shlex.join(self.host.command("--stop", run))
        return Error("connection", f"the connection to {host} was lost ({detail}); run {run} "
                                   f"goes on there: `--remote {host} --attach {run}` follows "
                                   f"it again, `{stop}` stops it")

