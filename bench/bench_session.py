"""Training through Studio's session (worker process, events) against the same loop written by
hand in PyTorch, on the same machine: LeNet on digits and the DCGAN.

    python bench/bench_session.py      # goals: ratio <= 1.02 probes off, <= 1.05 default probes

Both sides are timed from step 50 to the last (steady state; the session's on the worker's
own clock, its start-up reported separately). "Probes off" also turns off previews and
per-epoch evaluation; "default probes" is what the dashboard runs: default probe rates,
previews and an evaluation each epoch.
The hand-written DCGAN follows the same recipe as Studio's (each optimizer its own forward pass,
the generator under no_grad while the discriminator steps).
"""

from __future__ import annotations

import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from bench_lenet_step import HandLeNet
from common import ROOT, set_threads

from studio.core.fileformat import load
from studio.engine.library.data import TensorBatches, load_digits
from studio.engine.loader import RESOURCES_DATA
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig
from studio.engine.session import TrainingSession

STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 480
REPEATS = 3


WARMUP = 50  # steps before timing starts, on both sides: steady-state throughput is compared


def hand_lenet(steps: int) -> float:
    torch.manual_seed(0)
    data = load_digits(RESOURCES_DATA, size=32)
    batches = TensorBatches(data.train, 64, generator=torch.Generator().manual_seed(0))
    model, criterion = HandLeNet(), nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    done, start = 0, None
    while done < steps:
        for image, label in batches:
            if done == WARMUP:
                start = time.perf_counter()
            loss = criterion(model(image), label)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            done += 1
            if done % 10 == 0:
                loss.item()  # the session reads losses every log interval too
            if done >= steps:
                break
    return time.perf_counter() - start


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


def hand_dcgan(steps: int) -> float:
    torch.manual_seed(0)
    data = load_digits(RESOURCES_DATA, size=16, value_range=(-1.0, 1.0))
    batches = TensorBatches(data.train, 64, generator=torch.Generator().manual_seed(0))
    g, d = G(), D()
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = F.binary_cross_entropy_with_logits
    done, start = 0, None
    while done < steps:
        for image, _ in batches:
            if done == WARMUP:
                start = time.perf_counter()
            n = image.shape[0]
            with torch.no_grad():
                fake = g(torch.randn(n, 64))
            real_logit, fake_logit = d(image), d(fake)
            loss_d = bce(real_logit, torch.ones_like(real_logit)) + \
                bce(fake_logit, torch.zeros_like(fake_logit))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            fake_logit = d(g(torch.randn(n, 64)))
            loss_g = bce(fake_logit, torch.ones_like(fake_logit))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            done += 1
            if done % 10 == 0:
                loss_d.item()
            if done >= steps:
                break
    return time.perf_counter() - start


def session_run(name: str, steps: int, probes: bool) -> dict:
    config = RunConfig(steps=steps, probes=ProbeRates() if probes else ProbeRates.off(),
                       previews=probes, evaluate_every_epoch=probes)
    session = TrainingSession(load(ROOT / "examples" / f"{name}.studio"), config)
    begin = time.perf_counter()
    session.start()
    events: list = []
    first_metrics = None
    while session.alive or not any(e["type"] == "finished" for e in events):
        batch = session.events(timeout=0.05)
        if first_metrics is None and any(e["type"] == "metrics" for e in batch):
            first_metrics = time.perf_counter() - begin
        events += batch
        if not session.alive and not batch:
            break
    started = next(e for e in events if e["type"] == "started")
    progress = [e for e in events if e["type"] == "progress"]
    warm = next(e for e in progress if e["step"] >= WARMUP)
    last = progress[-1]
    train = (last["elapsed"] - warm["elapsed"]) * (steps - WARMUP) / (last["step"] - warm["step"])
    session2 = TrainingSession(load(ROOT / "examples" / f"{name}.studio"),
                               RunConfig(epochs=1000, probes=ProbeRates.off()))
    session2.start()
    while session2.state != "running":
        session2.events(timeout=0.05)
    time.sleep(0.5)
    stop_begin = time.perf_counter()
    session2.stop()
    return {"train": train, "probe": (last["probe_seconds"] - warm["probe_seconds"]),
            "ready": started["startup_seconds"], "first_log": first_metrics,
            "stop": time.perf_counter() - stop_begin}


def main() -> None:
    threads = set_threads()
    print(f"CPU, {threads} threads, torch {torch.__version__}, {STEPS} steps, median of "
          f"{REPEATS} runs")
    for name, hand in (("lenet", hand_lenet), ("dcgan", hand_dcgan)):
        hand(WARMUP + 20)  # warm the process up
        hand_times, off, on = [], [], []
        for _ in range(REPEATS):
            hand_times.append(hand(STEPS))
            off.append(session_run(name, STEPS, probes=False))
            on.append(session_run(name, STEPS, probes=True))
        h = statistics.median(hand_times)
        t_off = statistics.median(r["train"] for r in off)
        t_on = statistics.median(r["train"] for r in on)
        share = statistics.median(r["probe"] / r["train"] for r in on)  # of the timed part
        print(f"{name}: hand-written {h:.2f} s; session, probes off {t_off:.2f} s "
              f"(ratio {t_off / h:.3f}, goal <= 1.02); default probes {t_on:.2f} s "
              f"(ratio {t_on / h:.3f}, goal <= 1.05; probes, previews and evaluation took "
              f"{share:.1%} of it)")
        print(f"  start -> ready to train {statistics.median(r['ready'] for r in off):.2f} s, "
              f"-> first 10 steps logged {statistics.median(r['first_log'] for r in off):.2f} s;"
              f" stop -> process gone {statistics.median(r['stop'] for r in off):.3f} s")


if __name__ == "__main__":
    main()
