"""Training a project in this process (scripts and tests): the runner the worker drives, with
no probes, its metrics kept and logged, a progress bar on stderr. Failures become
``TrainingError`` (``errors.py``) with the node at fault where one can be named.

The CLI's ``studio train`` goes through the worker process instead, and shares the progress
bar.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from dataclasses import dataclass, field

from studio.core.project import Project
from studio.engine.errors import TrainingError
from studio.engine.events import Error, Finished, Metrics, Preview, Progress, Started
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig, Runner


@dataclass
class RunResult:
    steps: int
    seconds: float
    history: list = field(default_factory=list)  # logged metric records
    evaluation: dict = field(default_factory=dict)
    previews: dict = field(default_factory=dict)  # name -> last image batch (CPU tensor)
    device: str = "cpu"


class ProgressLine:
    """A progress bar on stderr from progress events: redrawn in place on a terminal, a line
    every few seconds otherwise."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.last = 0.0
        self.tty = sys.stderr.isatty()

    def update(self, event: Progress, metrics: dict, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        step, total = event.step, event.total
        frac = step / max(total, 1)
        bar = "#" * int(frac * 30)
        shown = " ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float))
        line = (f"[{bar:<30}] {step}/{total} epoch {event.epoch} {shown} "
                f"{event.samples_per_second:.0f} samples/s, ETA {event.eta:.0f}s")
        end = "\r" if self.tty and not force else "\n"
        print(line, end=end, file=sys.stderr, flush=True)


def train_project(project: Project, config: RunConfig | None = None, log_path=None,
                  progress: bool = True) -> RunResult:
    """Train in this process with the runner the worker drives, as ``config`` says (steps,
    epochs, seed, device, samples_dir, save_weights, data_dir...), with no probes and stopping
    at a NaN (nobody is there to choose); metrics are logged to ``log_path`` as JSON lines and
    a progress bar shows on stderr. Raises TrainingError naming the node at fault."""
    config = dataclasses.replace(config or RunConfig(), probes=ProbeRates.off(), previews=True,
                                 pause_on_nan=False)
    result = RunResult(0, 0.0)
    log = open(log_path, "w", encoding="utf-8") if log_path else None
    bar = ProgressLine(progress)
    errors: list = []
    latest: dict = {}

    def on_event(event) -> None:
        if isinstance(event, Metrics):
            for point in event.points:
                record = dict(point)
                if "lr" in record:
                    rates = record["lr"]
                    record["lr"] = next(iter(rates.values())) if len(rates) == 1 else rates
                result.history.append(record)
                latest.update({k: v for k, v in point.items() if k not in ("step", "epoch")})
                if log:
                    log.write(json.dumps(record) + "\n")
        elif isinstance(event, Progress):
            bar.update(event, latest, force=event.step == event.total)
        elif isinstance(event, Preview):
            import torch

            result.previews[event.name] = torch.from_numpy(event.images)
        elif isinstance(event, Started):
            result.device = event.device
        elif isinstance(event, Error):
            errors.append(event)
        elif isinstance(event, Finished):
            result.steps = event.steps
            result.evaluation = event.evaluation

    start = time.perf_counter()
    try:
        Runner(project, config, on_event).run()
        result.seconds = time.perf_counter() - start
        if log and not errors:
            log.write(json.dumps({"event": "final", "steps": result.steps, "seconds": round(
                result.seconds, 3), "device": result.device, **result.evaluation}) + "\n")
    finally:
        if log:
            log.close()
    if errors:
        node = errors[0].node
        raise TrainingError(errors[0].message, tuple(node) if node else None)
    return result
