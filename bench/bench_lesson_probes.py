"""What the lessons' live diagnostics cost: each course project trained in-process
(``engine/runner.py``) with only the activations probe on (it carries the feature maps, the
selected node's pre-activation histogram or a convolution's kernels, the dead-unit shares, the
Boundary and Function Fit grids), every ``BENCH_EVERY`` steps and no time budget, so every probe
runs; once without a selected node and once with the lesson's node selected.

    python bench/bench_lesson_probes.py
    BENCH_STEPS=200 BENCH_EVERY=10 python bench/bench_lesson_probes.py

Per case: the mean milliseconds of one training step (probes left out) and of one probe, and the
share of training time the probe takes at its default rate (``ProbeRates.activations_every``,
the probe schedule's budget being 1% shared between the kinds of probe).
"""

from __future__ import annotations

import os

from common import ROOT

from studio.core import fileformat
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig, Runner

COURSE = ROOT / "examples" / "course"
# (lesson project, node the lesson asks to select: the diagnostic it shows)
CASES = (
    ("activations.studio", "training/relu_fc1", "pre-activation histogram"),
    ("locality.studio", "training/conv_layer", "kernels"),
    ("approximation.studio", None, "function fit curves"),
    ("boundary.studio", None, "decision boundary"),
)


def measure(name: str, watched: str | None, what: str, steps: int, every: int) -> None:
    rates = ProbeRates(stats_every=0, activations_every=every, histograms_every=0,
                       generative_every=0, shift_every=0, budget=None)
    runner = Runner(fileformat.load(COURSE / name),
                    RunConfig(steps=steps, probes=rates, checkpoint_epochs=False,
                              previews=False, evaluate_every_epoch=False, pause_on_nan=False,
                              watch=(watched,) if watched else ()),
                    lambda event: None)
    runner.run()
    probes = max(steps // every, 1)
    probe = runner.schedule.spent.get("activations", 0.0) / probes
    step = (runner.clock.active() - runner.schedule.probe_seconds) / steps
    default = ProbeRates().activations_every
    print(f"{name:<22} {watched or '(none)':<22} {what:<26} step {1000 * step:6.2f} ms  "
          f"probe {1000 * probe:6.2f} ms  at every {default}: {100 * probe / (default * step):5.2f}%")


def main() -> None:
    steps = int(os.environ.get("BENCH_STEPS", "300"))
    every = int(os.environ.get("BENCH_EVERY", "20"))
    for name, watched, what in CASES:
        measure(name, None, "(nothing selected)", steps, every)
        if watched:
            measure(name, watched, what, steps, every)


if __name__ == "__main__":
    main()
