"""Shared benchmark helpers: timing by interleaved rounds and medians."""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def set_threads() -> int:
    import torch

    n = os.cpu_count() or 1
    torch.set_num_threads(n)
    return n


def interleaved(fns: dict, rounds: int, per_round) -> dict:
    """Run each function ``rounds`` times in alternation (so drift hits both alike); returns the
    median seconds per call of ``per_round`` units for each."""
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) / per_round)
    return {k: statistics.median(v) for k, v in times.items()}


class HandPrecision:
    """A hand-written loop's mixed precision, as a PyTorch user writes it: the forward under
    ``torch.autocast`` (fp16 or bf16), and for fp16 a GradScaler around backward and step.
    With amp "off" both are no-ops, so one loop serves the plain and the AMP comparison."""

    def __init__(self, device, amp: str = "off"):
        import torch

        self.device = torch.device(device)
        self.dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(amp)
        self.scaler = torch.amp.GradScaler(self.device.type) if amp == "fp16" else None

    def autocast(self):
        import contextlib

        import torch

        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def step(self, loss, optimizer) -> None:
        """backward and the optimizer's step, scaled when fp16 needs it."""
        if self.scaler is None:
            loss.backward()
            optimizer.step()
            return
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()


def bench_device() -> tuple:
    """(device, amp) from BENCH_DEVICE (default cpu) and BENCH_AMP (default off): the
    hand-written loops and Studio's runs use both."""
    return os.environ.get("BENCH_DEVICE", "cpu"), os.environ.get("BENCH_AMP", "off")
