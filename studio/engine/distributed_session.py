"""A data-parallel run as ``studio train --nproc N`` sees it: ``torchrun`` (torch.distributed.run,
in a process of its own) starts N ranks of ``distributed_run.py``; rank 0 connects back to an
address this session listens on and sends the same events a ``TrainingSession``'s worker sends,
and takes the same commands (pause, watch, probes, a checkpoint; the ranks agree on a pause or a
stop at their next log step). It is a session like a worker's (``session.SessionBase``): the
CLI's ``run_driver.drive_run`` and the window's training controller drive it alike.

When a rank fails, torchrun ends the others; the session then tells which rank failed first and
why (from the ``rank-<r>.error`` files the ranks write, else from torchrun's own summary), ahead
of the errors rank 0 sent (often only that a peer went away). Stopping sends rank 0 a stop (the
ranks agree on it at their next log step, rank 0 writes the checkpoint), then ends torchrun's
process group if it has not ended within the grace time: no rank is left behind.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Client, Listener
from pathlib import Path

from studio.core.fileformat import dumps
from studio.engine.distributed_run import JOB_FILE, KEY_VARIABLE
from studio.engine.events import Error, Finished
from studio.engine.session import SessionBase

STOP_GRACE_SECONDS = 60.0  # the ranks stop at their next log step, then rank 0 writes its files
LOG_FILE = "torchrun.log"


@dataclass(frozen=True)
class Launch:
    """How torchrun starts the ranks: per node, the nodes, this node's rank, the rendezvous."""

    nproc: int
    nnodes: int = 1
    node_rank: int = 0
    rdzv_endpoint: str | None = None

    def arguments(self) -> list[str]:
        args = ["--nproc_per_node", str(self.nproc), "--nnodes", str(self.nnodes)]
        if self.rdzv_endpoint:
            return args + ["--node_rank", str(self.node_rank), "--rdzv_backend", "c10d",
                           "--rdzv_endpoint", self.rdzv_endpoint, "--rdzv_id", "studio"]
        if self.nnodes > 1:
            raise ValueError("several nodes need a rendezvous endpoint (--rdzv-endpoint "
                             "HOST:PORT, the same on every node)")
        return args + ["--standalone"]


class DistributedSession(SessionBase):
    """One data-parallel run: torchrun's process, rank 0's events, and the commands to it."""

    stop_grace = STOP_GRACE_SECONDS  # the ranks agree on a stop at a log step, not every step

    def __init__(self, project, config, launch: Launch, sync_batchnorm: bool = False):
        super().__init__()
        self.project_text = dumps(project)
        self.config = config
        self.launch = launch
        self.sync_batchnorm = sync_batchnorm  # BatchNorm over the global batch (GPUs only)
        # rank 0's errors (and its end after one), told after the rank that failed first
        self._held: list = []
        self._connection = None
        self._process = None
        self._reader = None
        self._stopping = False
        self.folder = Path(tempfile.mkdtemp(prefix="studio-ranks-"))

    def start(self, spare=None) -> None:
        """Start torchrun (``spare`` is a worker process's; ranks are started afresh)."""
        self._key = key = secrets.token_bytes(16)
        self._listener = Listener(("127.0.0.1", 0), authkey=key)
        (self.folder / JOB_FILE).write_text(json.dumps({
            "project": self.project_text, "config": dataclasses.asdict(self.config),
            "address": list(self._listener.address), "sync_batchnorm": self.sync_batchnorm}),
            encoding="utf-8")
        env = dict(os.environ, **{KEY_VARIABLE: key.hex()})  # the ranks import this Studio
        command = [sys.executable, "-m", "torch.distributed.run", *self.launch.arguments(),
                   "-m", "studio.engine.distributed_run", str(self.folder)]
        with open(self.folder / LOG_FILE, "wb") as log:
            # a session of its own: Ctrl+C reaches the CLI, which stops the ranks in order
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                             env=env, start_new_session=True)
        self.started_at = time.perf_counter()
        self.state = "starting"
        self._reader = threading.Thread(target=self._read, name="studio-ranks", daemon=True)
        self._reader.start()
        threading.Thread(target=self._watch, name="studio-torchrun", daemon=True).start()

    def _read(self) -> None:
        """Accept rank 0's connection (or the session's own, once torchrun has ended without
        one) and read its batches of events."""
        connection = self._connection = self._listener.accept()
        self._listener.close()
        try:
            while True:
                for event in connection.recv():
                    self._add(event)
                self._announce()
        except (EOFError, OSError):
            pass

    def _watch(self) -> None:
        """When torchrun ends: unblock the reader if rank 0 never connected, wait for it, then
        say which rank failed first (if one did)."""
        code = self._process.wait()
        if self._connection is None:
            try:
                Client(self._listener.address, authkey=self._key).close()
            except (OSError, EOFError, ValueError):
                pass
        self._reader.join(10.0)
        held = self._held
        if code != 0 and not (self._stopping and self.final is not None):
            held = [e for e in self._held if not isinstance(e, Error)]
            self._add(self.crash(code, [e for e in self._held if isinstance(e, Error)]),
                      held=False)
        for event in held:
            self._add(event, held=False)
        shutil.rmtree(self.folder, ignore_errors=True)
        with self._lock:
            self._over = True
            self._lock.notify_all()
        self._announce()

    def crash(self, code: int, said: list) -> Error:
        """One error for a failed run: the rank that failed first and why (what rank 0 said
        meanwhile, often only that a peer went away, kept as its details), naming the node at
        fault when rank 0 named one."""
        node = next((e.node for e in said if e.node), None)
        details = "\n\n".join(e.traceback or e.message for e in said) or None
        return Error("crash", self.failure(code), node, traceback=details)

    def failure(self, code: int) -> str:
        """Which rank failed first and why: torchrun's root cause (the first failure it saw)
        with that rank's own error file, else the earliest error file, else torchrun's end."""
        errors = {}
        for path in self.folder.glob("rank-*.error"):
            try:
                errors[int(path.stem.split("-")[1])] = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                continue
        log = self.log_text()
        cause = log.partition("Root Cause")[2]
        rank = re.search(r"rank\s*:\s*(\d+)", cause)
        exit_code = re.search(r"exitcode\s*:\s*(-?\d+)", cause)
        first = int(rank.group(1)) if rank else min(
            errors, key=lambda r: errors[r].get("time", 0), default=None)
        tail = "; torchrun stopped the other ranks"
        if first in errors:
            return f"rank {first} failed: {errors[first].get('message')}{tail}"
        if first is not None and exit_code:
            how = int(exit_code.group(1))
            signal_name = f" (killed by {signal.Signals(-how).name})" if how < 0 else ""
            return f"rank {first} ended with exit code {how}{signal_name}{tail}"
        last = " ".join(log.strip().splitlines()[-3:]) if log.strip() else "no output"
        return f"torchrun ended with exit code {code}: {last}"

    def log_text(self) -> str:
        try:
            return (self.folder / LOG_FILE).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def _add(self, event, held: bool = True) -> None:
        if held and (isinstance(event, Error) or self._held and isinstance(event, Finished)):
            self._held.append(event)
            return
        super()._add(event)

    @property
    def alive(self) -> bool:
        return self._process is not None and not self._over

    @property
    def events_pending(self) -> bool:
        """Events may still come: some are queued, or torchrun has not ended."""
        with self._lock:
            return bool(self._events) or self.alive

    def wait(self, timeout: float | None = None) -> bool:
        with self._lock:
            if not self._over:
                self._lock.wait_for(lambda: self._over, timeout)
            return self._over

    def _send(self, *command) -> None:
        """A command to rank 0 (dropped before it has connected: nothing runs yet)."""
        if self._connection is not None and not self._over:
            try:
                self._connection.send(command)
            except (OSError, ValueError):
                pass

    def request_stop(self) -> None:
        self._stopping = True
        self._send("stop")

    def stop(self, timeout: float = STOP_GRACE_SECONDS) -> None:
        """Ask the ranks to stop; after ``timeout`` end torchrun's process group (torchrun
        ends its ranks on SIGTERM), and kill it if that is not enough."""
        if self._process is None:
            return
        self.request_stop()
        for sig, grace in ((None, timeout), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            if sig is not None:
                try:
                    os.killpg(self._process.pid, sig)
                except (ProcessLookupError, PermissionError):
                    break
            if self.wait(grace):
                break
        if self.state not in ("finished", "failed"):
            self.state = "stopped"
