"""Layer times (``studio lab timing``, ``engine/layer_timing_run.py``) against the forward they
make up: per example, the layers timed, the whole networks' forward, the sum of the layers'
medians, their ratio (below 1: the rest is nodes without a module and Python between the calls;
far above 1: the layers timed alone are slower than in the forward, which a fair measurement
should not be), and the seconds the measurement itself took.

With BENCH_BACKWARD=1 the backward too: the sum of the layers' backward against the whole
networks' backward (the rest there is the functional nodes' gradients).

    python bench/bench_layer_timing.py [EXAMPLE ...]   # conv_costs lenet resnet_digits by default
    BENCH_BATCH=16 BENCH_REPEATS=7 BENCH_BACKWARD=1 python bench/bench_layer_timing.py conv_costs
"""

from __future__ import annotations

import os
import sys
import time

from common import ROOT

from studio.core.fileformat import load
from studio.engine.layer_timing import TimingOptions
from studio.engine.layer_timing_run import measure

EXAMPLES = ("conv_costs", "lenet", "resnet_digits")


def main() -> None:
    names = sys.argv[1:] or EXAMPLES
    batch = int(os.environ["BENCH_BATCH"]) if "BENCH_BATCH" in os.environ else None
    backward = os.environ.get("BENCH_BACKWARD") == "1"
    options = TimingOptions(batch=batch, repeats=int(os.environ.get("BENCH_REPEATS", 15)),
                            backward=backward)
    print(f"{'example':<15} {'layers':>6} {'batch':>5} {'threads':>7} {'forward ms':>10} "
          f"{'sum ms':>9} {'sum/fwd':>7}"
          + (f" {'backward ms':>11} {'sum ms':>9} {'sum/bwd':>7}" if backward else "")
          + f" {'took s':>6}")
    for name in names:
        started = time.perf_counter()
        report = measure(load(ROOT / "examples" / f"{name}.studio"), options)
        took = time.perf_counter() - started
        print(f"{name:<15} {len(report.layers):>6} {report.batch:>5} {report.threads:>7} "
              f"{report.forward_ms:>10.3f} {report.layers_ms:>9.3f} "
              f"{report.layers_ms / report.forward_ms:>7.2f}"
              + (_backward_columns(report) if backward else "") + f" {took:>6.1f}")


def _backward_columns(report) -> str:
    summed = sum((layer.backward_ms or 0.0) * layer.calls for layer in report.layers)
    return f" {report.backward_ms:>11.3f} {summed:>9.3f} {summed / report.backward_ms:>7.2f}"


if __name__ == "__main__":
    main()
