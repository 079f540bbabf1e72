"""One rank of a data-parallel run (``studio train --nproc N``), started by ``torchrun``.

Every rank runs the same ``Runner`` on the same generated ``Training``, whose ``DataParallel``
(``library/distributed.py``) wraps the networks in DistributedDataParallel and shards each
global batch. Rank 0 alone sends events (to the CLI that launched the ranks, through the
address in its job), evaluates, draws previews, runs probes and writes checkpoints, calling the
networks without DDP while it does; the others only train. What every rank must decide alike is
decided from all-reduced values at each log step: the logged losses are the global batch's
(each rank's weighted by its share), so a NaN stops all ranks, and a stop or a pause asked of
rank 0 (Ctrl+C, the window's buttons) stops or pauses every rank there. Paused ranks meet every
``PAUSED_MEETING_SECONDS`` to hear whether rank 0 resumed (no collective waits long enough to
time out). Rank 0 alone answers the other commands (watch, probes, a checkpoint), with the
networks out of DDP while it does. A rank that fails writes ``rank-<r>.error`` in the job's folder
and exits 1, so that torchrun ends the others and the CLI can name it.

Run as ``python -m studio.engine.distributed_run JOB_FOLDER`` (what torchrun runs per rank).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import time
import traceback
from pathlib import Path

import torch

from studio.engine.errors import resolve_device
from studio.engine.events import FIELD_COMMAND, Error, Paused, Progress, Resumed, Started
from studio.engine.probes import ProbeRates
from studio.engine.runner import Runner, Stop

JOB_FILE = "job.json"
KEY_VARIABLE = "STUDIO_RANKS_KEY"  # the authentication key of the events' address, in hex
PAUSED_MEETING_SECONDS = 0.25  # how often paused ranks hear from rank 0


def error_path(folder, rank: int) -> Path:
    return Path(folder) / f"rank-{rank}.error"


def rank_config(config, rank: int):
    """Rank 0 runs ``config``; the others train only: no probes, previews, files or clock.
    Nobody waits at a NaN (rank 0 alone hears the commands that would end the wait)."""
    config = dataclasses.replace(config, max_seconds=None, pause_on_nan=False)
    if rank == 0:
        return config
    return dataclasses.replace(config, probes=ProbeRates.off(), watch=(), previews=False,
                               samples_dir=None, checkpoint_path=None, save_weights=None)


class DistributedRunner(Runner):
    """The runner of one rank; ``emit`` is rank 0's way to the CLI (the others' is dropped)."""

    def __init__(self, project, config, emit, control=None, *, rank: int, size: int,
                 sync_batchnorm: bool = False):
        super().__init__(project, rank_config(config, rank), self._emit_scaled, control)
        self.rank, self.size = rank, size
        self.sync_batchnorm = sync_batchnorm
        self.send = emit
        # rank 0: asked to stop or pause, told to the others at the next log step
        self.stop_asked = self.pause_asked = False
        self.stop_agreed = self.pause_agreed = False

    def _emit_scaled(self, event) -> None:
        """Rank 0's events; its throughput is its share's, so the run's is ``size`` times it,
        and its device is one of ``size`` ranks'."""
        if isinstance(event, Progress):
            event = dataclasses.replace(event, samples_per_second=event.samples_per_second
                                        * self.size)
        elif isinstance(event, Started):
            event = dataclasses.replace(event, device=f"{event.device} ({self.size} ranks)")
        self.send(event)

    def build(self):
        from studio.engine.library.distributed import rank_device

        device = self.config.device
        rank_device(resolve_device(device if device != "auto"
                                   else self.project.training.settings["device"]))
        super().build()  # fetch_data needs the process group, Training joins it later
        self.parallel = self.training.parallel
        step, flush, timed = self.training.train_step, self.log.flush, self.schedule.timed

        def weighted_step(batch):
            share = self.parallel.share
            return {k: v * share for k, v in step(batch).items()}

        def global_flush(pending, position, optimizers):
            return flush(self.all_reduced(pending), position, optimizers)

        def alone(fn, *args, probe=None):
            with self.networks_alone():
                return timed(fn, *args, probe=probe)

        self.training.train_step = weighted_step
        self.log.flush = global_flush
        self.schedule.timed = alone

    @contextlib.contextmanager
    def networks_alone(self):
        """Rank 0 works alone meanwhile (a probe, an evaluation): its networks without DDP,
        whose forward waits for every rank."""
        self.parallel.alone(self.training)
        try:
            yield
        finally:
            self.parallel.alone(self.training, False)

    def new_training(self):
        """The script's ``Training``, its BatchNorm layers synchronized when asked."""
        return self.module.Training(self.device, self.seed, self.config.data_dir,
                                    self.config.steps, self.config.epochs, self.sync_batchnorm)

    def start_from(self):
        """Where the run starts. A continued run's checkpoint holds rank 0's random state; the
        other ranks draw from their own again (seeded by seed, rank and step), not rank 0's."""
        position = super().start_from()
        if self.rank and position.step:
            torch.manual_seed(hash((self.seed, self.rank, position.step)) % (1 << 63))
        return position

    def fetch_data(self) -> None:
        """Rank 0 downloads what the project needs while the others wait, then they look."""
        if self.rank == 0:
            super().fetch_data()
        torch.distributed.barrier()
        if self.rank:
            super().fetch_data()

    def all_reduced(self, pending: list) -> list:
        """The window's losses summed over the ranks (each already weighted by its share), and
        whether rank 0 was asked to stop or pause, in one all-reduce."""
        names = list(pending[0])
        values = torch.stack([m[k].float() for m in pending for k in names])
        values = torch.cat([values, self._asked(values.device)])
        torch.distributed.all_reduce(values)
        self._agree(values[-2:])
        rows = values[:-2].reshape(len(pending), len(names))
        return [dict(zip(names, row)) for row in rows]

    def _asked(self, device) -> torch.Tensor:
        return torch.tensor([float(self.stop_asked), float(self.pause_asked)], device=device)

    def _agree(self, asked: torch.Tensor) -> None:
        stop, pause = asked.tolist()
        self.stop_agreed = self.stop_agreed or stop > 0
        self.pause_agreed = pause > 0

    def apply(self, command: tuple, position) -> None:
        """Rank 0's commands: a stop or a pause waits for the ranks to agree on it; a receptive
        field is measured with the networks out of DDP; the rest as in one process."""
        kind = command[0]
        if kind == "stop":
            self.stop_asked = True
        elif kind in ("pause", "resume"):
            self.pause_asked = kind == "pause"
        elif kind == FIELD_COMMAND:
            with self.networks_alone():
                super().apply(command, position)
        else:
            super().apply(command, position)

    def handle_commands(self, position) -> None:
        for command in self.control.poll():
            self.apply(command, position)
        if self.pause_agreed and not self.stop_agreed:
            self.wait_paused(position)
        if self.stop_agreed:
            raise Stop

    def wait_paused(self, position) -> None:
        """Every rank waits here until rank 0 is told to resume or stop: they meet every
        ``PAUSED_MEETING_SECONDS`` (rank 0 reading its commands meanwhile)."""
        start = time.perf_counter()
        if self.rank == 0:
            self.emit(Paused(position.step))
        while self.pause_agreed and not self.stop_agreed:
            if self.rank == 0:
                for command in self.control.poll(PAUSED_MEETING_SECONDS):
                    self.apply(command, position)
            asked = self._asked(self.training.device)
            torch.distributed.all_reduce(asked)
            self._agree(asked)
        self.clock.paused_seconds += time.perf_counter() - start
        if self.rank == 0 and not self.stop_agreed:
            self.emit(Resumed(position.step))

    def send_evaluation(self, position) -> dict:
        if self.rank:
            return {}
        with self.networks_alone():
            return super().send_evaluation(position)

    def finish(self, status: str, position) -> dict:
        self.parallel.finish(self.training)  # no more collectives: rank 0 goes on alone
        return super().finish(status, position)


def run_rank(folder: Path) -> int:
    """This rank's part of the job in ``folder``; 0, or 1 after writing its error there."""
    from studio.core.fileformat import loads
    from studio.engine.runner import Control, RunConfig

    rank, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    errors: list = []
    outbox = connection = None
    try:
        job = json.loads((folder / JOB_FILE).read_text(encoding="utf-8"))
        config = dict(job["config"])
        config["probes"] = ProbeRates(**config.get("probes", {}))
        config["watch"] = tuple(config.get("watch", ()))
        control = None
        if rank == 0:
            from multiprocessing.connection import Client

            from studio.engine.worker import Outbox, _commands

            connection = Client(tuple(job["address"]),
                                authkey=bytes.fromhex(os.environ[KEY_VARIABLE]))
            outbox = Outbox(connection)
            control = Control(_commands(connection))

        def emit(event):
            if isinstance(event, Error):
                errors.append(event)
            if outbox is not None:
                outbox.put(event)

        DistributedRunner(loads(job["project"]), RunConfig(**config), emit, control,
                          rank=rank, size=size,
                          sync_batchnorm=job.get("sync_batchnorm", False)).run()
    except BaseException as err:  # noqa: BLE001 - the CLI must hear about anything
        errors.append(Error("internal", f"{type(err).__name__}: {err}",
                            traceback=traceback.format_exc()))
        if outbox is not None:
            outbox.put(errors[-1])
    finally:
        if outbox is not None:
            outbox.close()
            connection.close()
    if errors:
        error_path(folder, rank).write_text(json.dumps(
            {"time": time.time(), "kind": errors[0].kind, "message": errors[0].message}),
            encoding="utf-8")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run_rank(Path(sys.argv[1])))
