"""What the GAN and VAE diagnostics cost, and what the GAN's Jensen-Shannon estimate does over
a run: the course's examples trained in-process (``engine/runner.py``) with only the
generative probe on, every ``BENCH_EVERY`` steps and no time budget, so every probe runs.

    python bench/bench_generative_probes.py                 # dcgan 1000 steps, vae and cvae 2000
    BENCH_STEPS=400 BENCH_EVERY=20 BENCH_MODELS=dcgan python bench/bench_generative_probes.py

Per model: the mean seconds of one training step (training time, probes left out) and of one
probe, and the share of training time the probe would take at its default rate
(``ProbeRates.generative_every``, where the probe schedule's budget is 1% shared fairly between
the kinds of probe). For the GAN it prints each probe's step, mean D(real) and D(fake), the JS
estimate and the generator's gradient norm under the minimax and the non-saturating loss.
"""

from __future__ import annotations

import os
import statistics

from common import ROOT

from studio.core import fileformat
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig, Runner

EXAMPLES = ROOT / "examples"

STEPS = {"dcgan": 1000, "vae": 2000, "cvae": 2000}


def measure(name: str, steps: int, every: int) -> None:
    events: list = []
    rates = ProbeRates(stats_every=0, activations_every=0, histograms_every=0,
                       generative_every=every, budget=None)
    runner = Runner(fileformat.load(EXAMPLES / f"{name}.studio"),
                    RunConfig(steps=steps, probes=rates, checkpoint_epochs=False,
                              previews=False, evaluate_every_epoch=False, pause_on_nan=False),
                    events.append)
    runner.run()
    probes = [e for e in events if e.type in ("adversarial", "latent")]
    probe_seconds = runner.schedule.spent.get("generative", 0.0)
    train_seconds = runner.clock.active() - runner.schedule.probe_seconds
    step, probe = train_seconds / steps, probe_seconds / max(len(probes), 1)
    default = ProbeRates().generative_every
    print(f"{name}: {steps} steps, {len(probes)} probes; step {1000 * step:.2f} ms, probe "
          f"{1000 * probe:.2f} ms = {probe / step:.2f} steps; at every {default} steps: "
          f"{100 * probe / (default * step):.2f}% of training time")
    gan = [e for e in probes if e.type == "adversarial"]
    if gan:
        print("  step  D(real)  D(fake)  JS est.  grad minimax  grad non-saturating")
        for e in gan:
            print(f"  {e.step:5d}  {e.mean_real:7.3f}  {e.mean_fake:7.3f}  {e.js:7.3f}  "
                  f"{e.grad_minimax:12.4g}  {e.grad_non_saturating:19.4g}")
        late = [e.js for e in gan[len(gan) // 2:]]
        print(f"  JS estimate over the second half: median {statistics.median(late):.3f}, "
              f"range {min(late):.3f} .. {max(late):.3f} nats (log 2 = 0.693)")
    latent = [e for e in probes if e.type == "latent"]
    if latent:
        kl = latent[-1].kl_per_dim
        print(f"  last KL per dimension: {' '.join(f'{v:.2f}' for v in kl)} "
              f"({int((kl < 0.05).sum())} of {len(kl)} under 0.05 nats)")


def main() -> None:
    every = int(os.environ.get("BENCH_EVERY", "50"))
    for name in os.environ.get("BENCH_MODELS", "dcgan,vae,cvae").split(","):
        steps = int(os.environ.get("BENCH_STEPS", STEPS[name]))
        measure(name, steps, every)


if __name__ == "__main__":
    main()
