"""LeNet training on a quiet machine and beside two busy processes, through Studio's session and
as a hand-written PyTorch loop in this process, with the CPU each got.

    python bench/bench_busy.py          # goal: busy slowdown no worse than the CPU share allows
    BENCH_ROUNDS=3 BENCH_EPOCHS=5 BENCH_BURNERS=2 python bench/bench_busy.py

"Busy" is BENCH_BURNERS processes spinning on the CPU (``while True: pass``), started before the
run and killed after it. Each round trains the six variants (session, hand-written, and hand-
written on one thread; quiet and busy) one after the other in a rotating order, so drift of the
machine's speed falls on all alike; figures are medians over the rounds. Epochs per second are
on the training clock (the session's own elapsed time, from its first step to its last; the
loop's steps after a warm-up). The CPU share is the trainer's CPU time over that wall time over
the cores it may use: what it got of the machine. The goal reads: the busy slowdown (quiet
epochs/s over busy epochs/s) is no worse than the CPU share allows (quiet share over busy
share): no CPU is wasted waiting for a core, so the work per CPU-second stays the same. The
hand-written loop uses torch's default threads, as a script would; Studio's worker picks its
thread count by timing its steps. The one-thread loop never waits for another thread: the CPU
per epoch it loses when busy is what the machine itself loses (caches; virtual cores sharing a
physical one), the floor for all.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import torch
from bench_lenet_step import lenet_steps
from common import ROOT

from studio.core.fileformat import load
from studio.engine.events import Error, Finished, Progress, Started
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig
from studio.engine.session import TrainingSession
from studio.engine.threads import usable_cores

ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
EPOCHS = int(os.environ.get("BENCH_EPOCHS", 5))
BURNERS = int(os.environ.get("BENCH_BURNERS", 2))
WARMUP = 10  # hand-written steps before timing


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Burners:
    """Processes that spin on the CPU for as long as the block lasts."""

    def __init__(self, count: int):
        self.count = count
        self.procs: list = []

    def __enter__(self):
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                      for _ in range(self.count)]
        time.sleep(0.2)  # running before training starts
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            proc.kill()
            proc.wait()


def session_run(epochs: int) -> dict:
    """LeNet through the session, probes off: training seconds, worker CPU seconds, steps."""
    config = RunConfig(epochs=epochs, probes=ProbeRates.off(), previews=False,
                       evaluate_every_epoch=False, checkpoint_epochs=False)
    session = TrainingSession(load(ROOT / "examples" / "lenet.studio"), config)
    session.start()
    events: list = []
    cpu_first = None
    try:
        while True:
            batch = session.events(timeout=0.05)
            events += batch
            for event in batch:
                if isinstance(event, Progress) and cpu_first is None:
                    cpu_first = (cpu_seconds(session.pid), event.elapsed, event.step)
                if isinstance(event, Error):
                    raise SystemExit(f"the session failed: {event.message}")
            if any(isinstance(e, Finished) for e in batch):
                cpu_last = cpu_seconds(session.pid)
                break
            if not session.alive and not session.events_pending:
                raise SystemExit(f"the session ended early: {events[-3:]}")
    finally:
        session.stop()
    last = [e for e in events if isinstance(e, Progress)][-1]
    per_epoch = next(e for e in events if isinstance(e, Started)).batches_per_epoch
    steps = last.step - cpu_first[2]  # from the first progress event: past the first step
    return {"seconds": last.elapsed - cpu_first[1], "cpu": cpu_last - cpu_first[0],
            "epochs": steps / per_epoch}


def hand_run(epochs: int, threads: int | None = None) -> dict:
    """The same training written by hand, in this process, with torch's default threads (or
    ``threads``: one thread cannot wait for another, so its CPU per epoch shows what the
    machine itself loses to the busy processes: caches, and cores that share a physical one)."""
    default = torch.get_num_threads()
    torch.set_num_threads(threads or default)
    try:
        return _hand_loop(epochs)
    finally:
        torch.set_num_threads(default)


def _hand_loop(epochs: int) -> dict:
    done, start, cpu = 0, None, 0.0
    for per_epoch in lenet_steps():
        done += 1
        if done == WARMUP:
            start, cpu = time.perf_counter(), time.process_time()
        if done == WARMUP + epochs * per_epoch:
            return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                    "epochs": epochs}
    raise AssertionError("the loop ended")


def main() -> None:
    cores = usable_cores()
    print(f"LeNet on digits, {EPOCHS} epochs a run, {ROUNDS} rounds, {cores} usable cores, "
          f"busy = {BURNERS} spinning processes; torch {torch.__version__}, default threads "
          f"{torch.get_num_threads()}; load average before: {os.getloadavg()[0]:.1f}")
    variants = {("session", False): lambda: session_run(EPOCHS),
                ("session", True): lambda: session_run(EPOCHS),
                ("hand", False): lambda: hand_run(EPOCHS),
                ("hand", True): lambda: hand_run(EPOCHS),
                ("hand 1 thread", False): lambda: hand_run(EPOCHS, threads=1),
                ("hand 1 thread", True): lambda: hand_run(EPOCHS, threads=1)}
    results: dict = {key: [] for key in variants}
    keys = list(variants)
    for round_ in range(ROUNDS):
        turn = round_ % len(keys)
        for key in keys[turn:] + keys[:turn]:
            if key[1]:
                with Burners(BURNERS):
                    results[key].append(variants[key]())
            else:
                results[key].append(variants[key]())
    for who in ("session", "hand", "hand 1 thread"):
        row = {}
        for busy in (False, True):
            runs = results[(who, busy)]
            row[busy] = {"rate": statistics.median(r["epochs"] / r["seconds"] for r in runs),
                         "share": statistics.median(r["cpu"] / r["seconds"] / cores for r in runs),
                         "cpu_per_epoch": statistics.median(r["cpu"] / r["epochs"] for r in runs)}
        slowdown = row[False]["rate"] / row[True]["rate"]
        allowed = row[False]["share"] / row[True]["share"]
        print(f"{who:13s} quiet {row[False]['rate']:6.2f} epochs/s (CPU share "
              f"{row[False]['share']:.0%}, {row[False]['cpu_per_epoch']:.2f} CPU s/epoch); busy "
              f"{row[True]['rate']:6.2f} epochs/s (CPU share {row[True]['share']:.0%}, "
              f"{row[True]['cpu_per_epoch']:.2f} CPU s/epoch); slowdown {slowdown:.2f}x, the CPU "
              f"share allows {allowed:.2f}x (goal: slowdown <= allowed)")
    print("load average after: " + f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
