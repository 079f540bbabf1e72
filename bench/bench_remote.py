"""The time to start a remote run over loopback SSH, against a local run started the same way
(the CLI's way: a new training process, no standby), on LeNet.

    python bench/bench_remote.py            # BENCH_ROUNDS=3 by default

A real sshd on 127.0.0.1 (``tests/ssh_server.py``, throwaway keys). Each round starts a local
``TrainingSession`` and a ``RemoteSession`` in turn and times, from ``start()``: the remote's
first word (``RemoteRun``: ssh connected, the front end started and the worker launched), the
``Started`` event (torch imported, code generated, data loaded, networks built) and the end of a
10-step run. Medians of the rounds; the remote's extra start time is what SSH and the second
interpreter (the front end) cost.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.core.fileformat import load  # noqa: E402
from studio.core.package_files import example_path  # noqa: E402
from studio.engine.events import Finished, RemoteRun, Started  # noqa: E402
from studio.engine.probes import ProbeRates  # noqa: E402
from studio.engine.remote import RemoteSession  # noqa: E402
from studio.engine.runner import RunConfig  # noqa: E402
from studio.engine.session import TrainingSession  # noqa: E402
from tests.ssh_server import LoopbackSsh, why_not  # noqa: E402


def timed(session) -> dict:
    start = time.perf_counter()
    marks = {}
    session.start()
    while "finished" not in marks:
        for event in session.events(timeout=0.05):
            now = time.perf_counter() - start
            if isinstance(event, RemoteRun):
                marks["first word"] = now
            elif isinstance(event, Started):
                marks["started"] = now
            elif isinstance(event, Finished):
                marks["finished"] = now
        if not session.alive and not session.events_pending and "finished" not in marks:
            raise RuntimeError(f"the run ended without finishing: {session.state}")
    session.wait(60)
    return marks


def main() -> None:
    reason = why_not()
    if reason:
        sys.exit(f"bench_remote: {reason}")
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    project = load(example_path("lenet"))
    config = RunConfig(steps=10, probes=ProbeRates.off(), previews=False)
    with tempfile.TemporaryDirectory() as folder:
        server = LoopbackSsh(Path(folder))
        try:
            results = {"local": [], "remote": []}
            for _ in range(rounds):
                results["local"].append(timed(TrainingSession(project, config)))
                results["remote"].append(timed(RemoteSession(project, config,
                                                             host=server.host())))
        finally:
            server.close()
    print(f"LeNet, 10 steps, {rounds} rounds, {os.cpu_count()} cores "
          f"(load {os.getloadavg()[0]:.1f}); seconds from start(), medians:")
    for kind, marks in results.items():
        line = ", ".join(f"{name} {statistics.median(m[name] for m in marks):.2f}"
                         for name in ("first word", "started", "finished") if name in marks[0])
        print(f"  {kind:<7} {line}")
    extra = (statistics.median(m["started"] for m in results["remote"])
             - statistics.median(m["started"] for m in results["local"]))
    print(f"  a remote run over loopback SSH starts {extra:.2f} s later than a local one")


if __name__ == "__main__":
    main()
