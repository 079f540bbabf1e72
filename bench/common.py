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
