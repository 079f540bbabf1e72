"""Training through Studio's session (worker process, events) against the same loop written by
hand in PyTorch, on the same machine: LeNet on digits and the DCGAN.

    python bench/bench_session.py          # goals: ratio <= 1.02 probes off, <= 1.05 probes on
    BENCH_ROUNDS=5 BENCH_SLICE=0.15 BENCH_MODELS=lenet python bench/bench_session.py
    BENCH_RECORD=0 python bench/bench_session.py   # the "on" run not recorded (its cost apart)
    BENCH_DEVICE=cuda BENCH_AMP=fp16 python bench/bench_session.py   # the GPU path, AMP on both
                                                    # sides (the hand loops as a user writes AMP)

The three variants (hand-written, session with probes off, session with the default probes)
train side by side in slices of 0.15 s: two sessions are started paused, then the
hand-written loop runs a slice, one session is resumed for a slice and paused again, then the
other, in a rotating order, until each has trained all its steps. So a change in the machine's
speed (a shared virtual machine drifts by 20 to 30% over minutes) falls on all three alike.
Steady state is compared: both sides are timed from step 50 to the last, the sessions on the
worker's own clock, which leaves paused time out. Each round pairs the three in the same
stretch of time, so a ratio quoted is the median of the rounds' ratios. "Probes off" also
turns off previews and per-epoch evaluation; "default probes" is what the dashboard runs:
default probe rates, previews and an evaluation each epoch, and the run recorded into a run
history as the app records every run (``engine.run_writer.RunWriter`` fed by the session's
observer, committing once a second), so the store's write cost is inside the "on" ratio. Start-up
and stop are timed separately.
The hand-written DCGAN follows the same recipe as Studio's (each optimizer its own forward pass,
the generator under no_grad while the discriminator steps).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from bench_lenet_step import lenet_steps
from common import ROOT, HandPrecision, bench_device, set_threads

from studio.core.fileformat import load
from studio.engine.allocator import keep_freed_memory
from studio.engine.events import Error, Finished, Metrics, Paused, Progress, Started
from studio.engine.library.data import TensorBatches, load_digits
from studio.engine.loader import RESOURCES_DATA
from studio.engine.probes import ProbeRates
from studio.engine.run_history import history_path
from studio.engine.run_writer import RunWriter
from studio.engine.runner import RunConfig
from studio.engine.session import TrainingSession

STEPS = {"lenet": 1440, "dcgan": 480}  # a few seconds of LeNet's quick steps
DEVICE, AMP = bench_device()  # BENCH_DEVICE=cuda BENCH_AMP=fp16: the GPU path, both sides
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
WARMUP = 50  # steps before timing starts, on both sides: steady-state throughput is compared
RECORD = os.environ.get("BENCH_RECORD", "1") != "0"  # 0: the "on" run is not recorded
RECORD_FOLDER = tempfile.TemporaryDirectory(prefix="bench-session-runs-")
SLICE_SECONDS = float(os.environ.get("BENCH_SLICE", 0.15))  # shorter: follows drift more closely


class G(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(64, 128, 4, 1, 0, bias=False), nn.BatchNorm2d(128), nn.ReLU(),
            nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
            nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())

    def forward(self, z):
        return self.net(z.reshape(-1, 64, 1, 1))


class D(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
            nn.Conv2d(128, 1, 4), nn.Flatten())

    def forward(self, x):
        return self.net(x)


def dcgan_steps(device="cpu", amp="off"):
    """The hand-written DCGAN loop, yielding after every step (forever); on ``device``, with
    ``amp`` as a user writes it (one GradScaler per optimizer for fp16)."""
    torch.manual_seed(0)
    precision_d, precision_g = HandPrecision(device, amp), HandPrecision(device, amp)
    data = load_digits(RESOURCES_DATA, size=16, value_range=(-1.0, 1.0), device=device)
    batches = TensorBatches(data.train, 64,
                            generator=torch.Generator(device=device).manual_seed(0))
    g, d = G().to(device), D().to(device)
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = F.binary_cross_entropy_with_logits
    done = 0
    while True:
        for image, _ in batches:
            n = image.shape[0]
            with precision_d.autocast():
                with torch.no_grad():
                    fake = g(torch.randn(n, 64, device=device))
                real_logit, fake_logit = d(image), d(fake)
                loss_d = bce(real_logit, torch.ones_like(real_logit)) + \
                    bce(fake_logit, torch.zeros_like(fake_logit))
            opt_d.zero_grad(set_to_none=True)
            precision_d.step(loss_d, opt_d)
            with precision_g.autocast():
                fake_logit = d(g(torch.randn(n, 64, device=device)))
                loss_g = bce(fake_logit, torch.ones_like(fake_logit))
            opt_g.zero_grad(set_to_none=True)
            precision_g.step(loss_g, opt_g)
            done += 1
            if done % 10 == 0:
                loss_d.item()
            yield


HAND = {"lenet": lenet_steps, "dcgan": dcgan_steps}


class HandRun:
    """The hand-written loop, trained a slice at a time; times the steps after the warm-up."""

    def __init__(self, name: str, steps: int):
        self.steps, self.done, self.seconds = steps, 0, 0.0
        self.loop = HAND[name](DEVICE, AMP)

    @property
    def finished(self) -> bool:
        return self.done >= self.steps

    def train_slice(self, seconds: float) -> None:
        begin = time.perf_counter()
        while not self.finished and time.perf_counter() - begin < seconds:
            start = time.perf_counter()
            next(self.loop)
            self.done += 1
            if self.done > WARMUP:
                self.seconds += time.perf_counter() - start

    def result(self) -> float:
        return self.seconds


class SessionRun:
    """A session started paused, then resumed a slice at a time."""

    def __init__(self, name: str, steps: int, probes: bool, watch: tuple = (),
                 record: bool = False):
        config = RunConfig(steps=steps, probes=ProbeRates() if probes else ProbeRates.off(),
                           previews=probes, evaluate_every_epoch=probes, watch=watch,
                           checkpoint_epochs=False, device=DEVICE, amp=AMP)
        self.steps = steps
        project = load(ROOT / "examples" / f"{name}.studio")
        self.session = TrainingSession(project, config)
        self.writer = None
        if record:  # as the app records: a writer thread fed on the session's reader thread
            store = history_path(Path(RECORD_FOLDER.name) / f"{name}.studio", RECORD_FOLDER.name)
            self.writer = RunWriter(store, project, config)
            self.session.observer = self.writer.put
        self.events: list = []
        self.session.start()
        self.session.pause()  # answered before the first step
        self._wait_for(Paused)

    def _wait_for(self, kind: type) -> None:
        while not any(isinstance(e, (kind, Finished, Error)) for e in self._collect(0.05)):
            if not self.session.alive and not self.session.events_pending:
                raise SystemExit(f"the session ended early: {self.events[-3:]}")

    def _collect(self, timeout: float) -> list:
        batch = self.session.events(timeout=timeout)
        self.events += batch
        return batch

    @property
    def finished(self) -> bool:
        return any(isinstance(e, Finished) for e in self.events)

    def train_slice(self, seconds: float) -> None:
        self.session.resume()
        end = time.perf_counter() + seconds
        while not self.finished and (left := end - time.perf_counter()) > 0:
            self._collect(left)  # reads events as they arrive, as the editor does
        if not self.finished:
            self.session.pause()
            self._wait_for(Paused)

    def result(self) -> tuple[float, float]:
        """Steady seconds for the steps after the warm-up, and the probes' share of them."""
        self.session.wait(collect=self.events)
        if self.writer is not None:
            self.writer.close()
            self.writer.join()
            if self.writer.status is None:
                raise SystemExit("the run was not recorded")
        errors = [e for e in self.events if isinstance(e, Error)]
        if errors:
            raise SystemExit(f"the session failed: {errors[0].message}")
        progress = [e for e in self.events if isinstance(e, Progress)]
        warm = next(e for e in progress if e.step >= WARMUP)
        last = progress[-1]
        scale = (self.steps - WARMUP) / (last.step - warm.step)
        seconds = (last.elapsed - warm.elapsed) * scale
        return seconds, (last.probe_seconds - warm.probe_seconds) * scale / seconds


def side_by_side(name: str) -> dict:
    """One round: the three variants trained in rotating slices; their steady seconds."""
    steps = STEPS[name]
    runs = {"hand": HandRun(name, steps), "off": SessionRun(name, steps, probes=False),
            "on": SessionRun(name, steps, probes=True, record=RECORD)}
    order = list(runs)
    turn = 0
    while not all(run.finished for run in runs.values()):
        for key in order[turn % 3:] + order[:turn % 3]:
            if not runs[key].finished:
                runs[key].train_slice(SLICE_SECONDS)
        turn += 1
    hand = runs["hand"].result()
    (off, _), (on, share) = runs["off"].result(), runs["on"].result()
    return {"hand": hand, "off": off, "on": on, "share": share}


def start_and_stop(name: str) -> dict:
    """Start -> ready to train -> first steps logged, and stop -> process gone."""
    session = TrainingSession(load(ROOT / "examples" / f"{name}.studio"),
                              RunConfig(epochs=1000, probes=ProbeRates.off(), device=DEVICE,
                                        amp=AMP))
    begin = time.perf_counter()
    session.start()
    events: list = []
    first_log = None
    while first_log is None:
        batch = session.events(timeout=0.01)
        events += batch
        if any(isinstance(e, Metrics) for e in batch):
            first_log = time.perf_counter() - begin
    ready = next(e for e in events if isinstance(e, Started)).startup_seconds
    time.sleep(0.5)
    stop_begin = time.perf_counter()
    session.stop()
    return {"ready": ready, "first_log": first_log, "stop": time.perf_counter() - stop_begin}


def main() -> None:
    threads = set_threads()
    # The worker keeps freed memory for reuse (engine/allocator.py); the hand-written loop gets
    # the same allocator settings, so that the ratio measures the session alone.
    tuned = keep_freed_memory()
    print(f"{DEVICE}, amp {AMP}, {threads} threads, torch {torch.__version__}, steps {STEPS}, "
          f"{ROUNDS} rounds "
          f"of side-by-side slices of {SLICE_SECONDS} s; allocator settings "
          f"{'applied' if tuned else 'not available'} on both sides")
    for name in os.environ.get("BENCH_MODELS", ",".join(STEPS)).split(","):
        hand_warmup = HandRun(name, WARMUP + 20)
        hand_warmup.train_slice(60.0)  # warm the process up
        rounds = [side_by_side(name) for _ in range(ROUNDS)]
        med = {k: statistics.median(r[k] for r in rounds) for k in ("hand", "off", "on", "share")}
        # Each round is a paired comparison (the three trained in the same stretch of time),
        # so the ratio quoted is the median of the rounds' ratios.
        ratio = {k: statistics.median(r[k] / r["hand"] for r in rounds) for k in ("off", "on")}
        print(f"{name}: hand-written {med['hand']:.2f} s; session, probes off {med['off']:.2f} s"
              f" (ratio {ratio['off']:.3f}, goal <= 1.02); default probes "
              f"{med['on']:.2f} s (ratio {ratio['on']:.3f}, goal <= 1.05); ratios are medians "
              f"of the rounds' ratios")
        print("  ratios by round, off / on: " + ", ".join(
            f"{r['off'] / r['hand']:.3f} / {r['on'] / r['hand']:.3f}" for r in rounds) +
            f"; probes, previews and evaluation took {med['share']:.1%} of the probes-on time")
        timing = [start_and_stop(name) for _ in range(3)]
        print(f"  start -> ready to train {statistics.median(t['ready'] for t in timing):.2f} s,"
              f" -> first steps logged {statistics.median(t['first_log'] for t in timing):.2f} s;"
              f" stop -> process gone {statistics.median(t['stop'] for t in timing):.3f} s")


if __name__ == "__main__":
    main()
