"""Data-parallel training on this machine as the window offers it: "All N GPUs (DDP)" when there
are several, and two processes on the CPU (gloo) for checking a network's distributed training
where there are none. Counted without importing torch (the window does not load it): from
``CUDA_VISIBLE_DEVICES`` when set, else the NVIDIA driver's list of GPUs, else ``nvidia-smi``.
A count torch disagrees with surfaces as the ranks' own error, naming the device."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from studio.engine.threads import usable_cores

CPU_RANKS = 2  # the CPU choice: enough to show data-parallel semantics, not a speed-up
DRIVER_GPUS = Path("/proc/driver/nvidia/gpus")


@dataclass(frozen=True)
class LocalRanks:
    """``nproc`` ranks on this machine training on ``device`` ("cuda": one GPU each)."""

    nproc: int
    device: str

    @property
    def label(self) -> str:
        if self.device == "cuda":
            return f"All {self.nproc} GPUs (DDP)"
        return f"{self.nproc} CPU processes (DDP)"

    @property
    def explanation(self) -> str:
        why = ("each GPU trains on its share of every batch" if self.device == "cuda" else
               "for checking that a network trains the same data-parallel; on a CPU's cores "
               "it is rarely faster than one process")
        return (f"DistributedDataParallel over {self.nproc} processes started by torchrun: "
                f"{why}. The batch size stays the whole batch's; rank 0 shows the progress, "
                f"the plots and the probes, and writes the checkpoint")


def visible_gpus() -> int:
    """How many CUDA GPUs a process started from here would see."""
    chosen = os.environ.get("CUDA_VISIBLE_DEVICES")
    if chosen is not None:  # CUDA ignores the list from its first entry that is not a GPU
        count = 0
        for entry in chosen.split(","):
            entry = entry.strip()
            if not entry or entry.startswith("-"):
                break
            count += 1
        return count
    if DRIVER_GPUS.is_dir():
        return sum(1 for _ in DRIVER_GPUS.iterdir())
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0
    try:
        listing = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=5.0)
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(line.startswith("GPU ") for line in listing.stdout.splitlines())


def local_rank_choices() -> list[LocalRanks]:
    """The data-parallel runs this machine can start: all its GPUs (two or more), and the CPU
    choice where there are two cores."""
    choices = []
    gpus = visible_gpus()
    if gpus >= 2:
        choices.append(LocalRanks(gpus, "cuda"))
    if usable_cores() >= CPU_RANKS:
        choices.append(LocalRanks(CPU_RANKS, "cpu"))
    return choices
