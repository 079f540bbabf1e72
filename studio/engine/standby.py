"""A training process started before Train is pressed, so that pressing it does not wait for a
new interpreter to import torch (about two seconds of the three a user waited for the first
plotted step).

The editor calls ``prepare()`` when it has time to spare (its window is up, a run has ended);
``TrainingSession.start`` then takes the waiting process, if there is one, and hands it its job
through a pipe. The process has imported torch and the engine and waits, using no CPU, until
it gets the job or its editor goes. At most one waits; it is ended when the program exits.
The CLI never prepares one: a command-line run starts its process when it needs it.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import threading
from dataclasses import dataclass


@dataclass
class Spare:
    """A started process and its ends of the pipes: the job goes on ``job``, commands on
    ``commands``, and events come back on ``events``."""

    process: multiprocessing.Process
    job: object
    commands: object
    events: object
    finalizer: multiprocessing.util.Finalize | None = None


def end_worker(process, wait: float = 2.0) -> None:
    """Terminate a worker still running (nobody stopped it, or it did not stop when asked);
    kill it if it has not ended ``wait`` seconds later."""
    if process.is_alive():
        process.terminate()
        process.join(wait)
    if process.is_alive():
        process.kill()
        process.join(wait)


def open_worker() -> Spare:
    """Start a training process (spawned, never forked; not a daemon, since its data loaders
    start processes of their own) that waits for its job; it is ended at exit, before
    multiprocessing would wait for it."""
    from studio.engine.worker import standby_main

    ctx = multiprocessing.get_context("spawn")
    job_recv, job_send = ctx.Pipe(duplex=False)
    commands_recv, commands_send = ctx.Pipe(duplex=False)
    events_recv, events_send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=standby_main, name="studio-training", daemon=False,
                          args=(job_recv, commands_recv, events_send))
    process.start()
    for end in (job_recv, commands_recv, events_send):
        end.close()
    spare = Spare(process, job_send, commands_send, events_recv)
    # Ends the process when its owner drops it (a session, or the standby), and at exit before
    # multiprocessing joins its non-daemon children, which would otherwise wait for a whole
    # run, or forever for a spare that never got a job.
    spare.finalizer = multiprocessing.util.Finalize(spare, end_worker, (process,),
                                                    exitpriority=10)
    return spare


class Standby:
    """Keeps at most one training process waiting for a job."""

    def __init__(self):
        self._lock = threading.Lock()
        self._spare: Spare | None = None

    def prepare(self) -> None:
        """Start a waiting process unless one is already waiting (cheap to call often)."""
        with self._lock:
            if self._spare is not None and self._spare.process.is_alive():
                return
            self._spare = open_worker()

    def take(self) -> Spare | None:
        """The waiting process (it may still be importing), or None when none waits."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and not spare.process.is_alive():
            spare.finalizer()
            return None
        return spare

    @property
    def pid(self) -> int | None:
        """The waiting process's id, or None when none waits."""
        with self._lock:
            alive = self._spare is not None and self._spare.process.is_alive()
            return self._spare.process.pid if alive else None

STANDBY = Standby()
