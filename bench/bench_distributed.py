"""Data-parallel LeNet on the CPU: one process (Studio's worker) against torchrun's ranks
(DistributedDataParallel, gloo), the same global batch of 64, every step's loss logged.

    python bench/bench_distributed.py            # 200 steps, 1 process against 1 and 2 ranks
    BENCH_STEPS=500 BENCH_RANKS=1,2,4 python bench/bench_distributed.py
    BENCH_DEVICE=cuda BENCH_RANKS=1,8 python bench/bench_distributed.py   # one GPU per rank

Prints, per run, samples per second on the training clock (the run's own elapsed time, from
its first step to its last: start-up left out) and the largest difference of its per-step
losses from the one-process run's. Caveat: torchrun gives each rank one thread
(OMP_NUM_THREADS=1) while the one-process worker uses every core, and on a machine of 2 cores
2 ranks share the same cores the one process had: the figure measures DDP's overhead and its
use of the cores, not a speed-up from more hardware. One rank under torchrun keeps torch's
default threads unless OMP_NUM_THREADS says otherwise; on a machine busy with other work that
ran 10 times slower here than with one thread (threads waiting for cores), so this script runs
every rank with one thread (OMP_NUM_THREADS=1 unless already set).
"""

from __future__ import annotations

import os
import time

from common import ROOT

from studio.core.fileformat import load
from studio.engine.distributed_session import DistributedSession, Launch
from studio.engine.events import Error, Metrics, Progress
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig
from studio.engine.session import TrainingSession

STEPS = int(os.environ.get("BENCH_STEPS", 200))
DEVICE = os.environ.get("BENCH_DEVICE", "cpu")
RANKS = [int(n) for n in os.environ.get("BENCH_RANKS", "1,2").split(",")]


def run(session) -> tuple[list, float, float]:
    """(losses per step, samples per second on the training clock, wall seconds)."""
    start = time.perf_counter()
    session.start()
    events: list = []
    while True:
        events += session.events(0.5)
        if not session.alive and session.wait(0):
            events += session.events()
            break
    errors = [e for e in events if isinstance(e, Error)]
    if errors:
        raise SystemExit(errors[0].message)
    losses = [p["loss"] for e in events if isinstance(e, Metrics) for p in e.points]
    last = [e for e in events if isinstance(e, Progress)][-1]
    return losses, STEPS * 64 / last.elapsed, time.perf_counter() - start


def main() -> None:
    project = load(ROOT / "examples" / "lenet.studio")
    project.training.configure(log_every=1)
    config = RunConfig(steps=STEPS, device=DEVICE, probes=ProbeRates.off(), previews=False,
                       evaluate_every_epoch=False, pause_on_nan=False)
    one, rate, wall = run(TrainingSession(project, config))
    print(f"LeNet, {STEPS} steps of 64 on {DEVICE} ({os.cpu_count()} cores)")
    print(f"1 process (worker):  {rate:7.0f} samples/s  ({wall:.1f} s with start-up)")
    # torchrun gives each of several ranks one thread; one rank gets it too, so that 1 and N
    # ranks compare alike (torch's default threads beside other load: far slower, see above)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    for n in RANKS:
        losses, rate, wall = run(DistributedSession(project, config, Launch(n)))
        diff = max(abs(a - b) for a, b in zip(one, losses))
        print(f"{n} rank(s) (torchrun): {rate:7.0f} samples/s  ({wall:.1f} s with start-up); "
              f"largest loss difference from 1 process {diff:.2e} over {len(losses)} steps")


if __name__ == "__main__":
    main()
