"""The learning-rate range test (Smith, "Cyclical Learning Rates for Training Neural Networks",
2017; fastai's ``lr_find``, ``torch-lr-finder``): a short run whose learning rate rises
exponentially from ``lr_min`` to ``lr_max``, one rate per step, with the loss recorded at each.
The loss falls while the rate is useful, then turns and shoots up once the rate is too high;
the curve in between says which rate to train with.

This module holds what needs no torch: the test's settings, the smoothed curve, the stopping
rule, the suggested rate and the refusal of a graph the test cannot answer for, so that the
editor and the CLI can check and draw without importing torch. The run itself is
``lr_finder_run.py``, in the training process.

What a run starts from: the initialization a Train would start from (the project's seed, fresh
weights, fresh optimizer state), not the trained state of an earlier run. The test answers
"which rate for the next Train", and Train starts from that initialization; it is also what a
PyTorch user gets from ``torch-lr-finder`` or fastai, which run the test on the freshly built
model and put its initial state back afterwards. The test keeps nothing: it runs in its own
process, writes no checkpoint, no weights and no run record.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from studio.core.registry import nodes_with

# Why a test ended (``RangeResult.stopped_because``).
REACHED_MAX = "end"  # every step ran: the rate reached lr_max
DIVERGED = "diverged"  # the smoothed loss passed DIVERGE_FACTOR times its best
NOT_FINITE = "nan"  # the loss became NaN or infinite
STOPPED = "stopped"  # the user stopped it
STOP_REASONS = {
    REACHED_MAX: "the rate reached the end of the range",
    DIVERGED: "the loss diverged (the smoothed loss passed {factor:g}x its lowest)",
    NOT_FINITE: "the loss became NaN or infinite",
    STOPPED: "stopped",
}

# How the rate was chosen (``RangeResult.rule``).
STEEPEST = "steepest"
MINIMUM_TENTH = "minimum/10"
RULES = {
    STEEPEST: "where the smoothed loss falls fastest",
    MINIMUM_TENTH: "a tenth of the rate at the lowest loss (the curve has no falling part)",
}

MIN_STEPS = 10  # fewer points cannot show a curve
RATE_PARAM = "lr"  # every optimizer block names its learning rate after torch's keyword


@dataclass(frozen=True)
class RangeTest:
    """The test's settings. The defaults are fastai's and torch-lr-finder's: 1e-7 to 10 in 100
    steps spans every rate a network is trained with, at 8 steps a factor of ten. The step count
    does not shrink with a small dataset: the test's cost is its step count, and a small
    dataset's batches simply come round again (the curve is about the rate, not the data)."""

    lr_min: float = 1e-7
    lr_max: float = 10.0
    steps: int = 100
    # Weight of the past in the loss's moving average: 0.9 averages about the last 10 steps,
    # enough to calm batch-to-batch noise. Any average lags the rate (here by about 10 steps);
    # fastai's 0.98 lags by about 50, and put the steepest point 1.2 to 3 times higher on
    # the LeNet, VAE and ResNet examples, where a higher rate is the riskier error.
    smoothing: float = 0.9
    diverge_factor: float = 4.0  # stop once the smoothed loss passes this times its best

    def problem(self) -> str | None:
        """Why these settings cannot run, in words, or None."""
        if not (self.lr_min > 0 and math.isfinite(self.lr_min)):
            return f"the lowest rate must be above 0 (got {self.lr_min:g})"
        if not (self.lr_max > self.lr_min and math.isfinite(self.lr_max)):
            return (f"the highest rate ({self.lr_max:g}) must be above the lowest "
                    f"({self.lr_min:g})")
        if self.steps < MIN_STEPS:
            return f"the test needs at least {MIN_STEPS} steps (got {self.steps})"
        if not 0 <= self.smoothing < 1:
            return f"smoothing must be in [0, 1) (got {self.smoothing:g})"
        return None

    def rate(self, index: int) -> float:
        """The learning rate of step ``index`` (0-based): lr_min at the first, lr_max at the
        last, a constant factor between one step and the next."""
        return self.lr_min * (self.lr_max / self.lr_min) ** (index / (self.steps - 1))


class SmoothedLoss:
    """The loss's exponential moving average with bias correction (Adam's): the first values
    are not pulled towards the average's start at zero."""

    def __init__(self, smoothing: float):
        self.beta = smoothing
        self.average = 0.0
        self.count = 0
        self.best = math.inf

    def add(self, loss: float) -> float:
        self.count += 1
        self.average = self.beta * self.average + (1 - self.beta) * loss
        smoothed = self.average / (1 - self.beta ** self.count)
        self.best = min(self.best, smoothed)
        return smoothed


def stop_reason(loss: float, smoothed: float, best: float, factor: float) -> str | None:
    """Why the test ends at this point (``NOT_FINITE``, ``DIVERGED``), or None to go on."""
    if not (math.isfinite(loss) and math.isfinite(smoothed)):
        return NOT_FINITE
    if best > 0 and smoothed > factor * best:
        return DIVERGED
    return None


def suggest(rates: list, smoothed: list, skip: int) -> tuple[float | None, str | None]:
    """The suggested rate and the rule that chose it ((None, None) with no points).

    The rate at the steepest fall of the smoothed loss against log10(rate), looked for between
    the first ``skip`` points (whose average rests on few steps) and the lowest point. There
    the loss drops fastest per step: the highest rate that still makes steady progress. The
    lowest point itself is not the choice: it sits at the edge of divergence, too high to train
    a whole run with. Without a falling part (the range starts too high, or the loss went
    flat or diverged at once) it falls back to a tenth of the rate at the lowest loss, the rule
    of thumb of Smith's paper and fastai's ``minimum`` suggestion.

    Rounded to two significant digits: 100 steps over 8 decades cannot tell rates apart more
    finely, and the optimizer's field reads better.
    """
    if not rates:
        return None, None
    lowest = min(range(len(smoothed)), key=smoothed.__getitem__)
    start = min(skip, lowest)
    logs = [math.log10(r) for r in rates]
    slopes = [(smoothed[i + 1] - smoothed[i - 1]) / (logs[i + 1] - logs[i - 1])
              for i in range(max(start, 1), min(lowest + 1, len(rates) - 1))]
    if slopes and min(slopes) < 0:
        steepest = max(start, 1) + min(range(len(slopes)), key=slopes.__getitem__)
        return _two_digits(rates[steepest]), STEEPEST
    return _two_digits(rates[lowest] / 10), MINIMUM_TENTH


def _two_digits(rate: float) -> float:
    return float(f"{rate:.2g}")


def skipped_points(test: RangeTest) -> int:
    """The first points the suggestion passes over: a tenth of the test, as torch-lr-finder
    skips 10 of 100."""
    return max(1, test.steps // 10)


def optimizer_nodes(project) -> list:
    """The training graph's optimizer nodes."""
    return nodes_with(project.training, "optimizer")


def refusal(project) -> str | None:
    """Why the range test cannot answer for this graph, naming the nodes, or None. It sweeps
    one optimizer's rate: with several, every loss would move with all the rates swept at once
    (a GAN's two losses pull on each other), and no one curve would answer for one of them."""
    found = optimizer_nodes(project)
    if not found:
        return "the training graph has no optimizer: add one (Adam, SGD) after the loss"
    if len(found) > 1:
        names = ", ".join(f"training/{n.id}" for n in found)
        return (f"the learning-rate range test sweeps one optimizer's rate, and this graph has "
                f"{len(found)} ({names}); swept together, each loss would move with every "
                "rate, so no single curve answers for one of them")
    return None


def describe_stop(reason: str, test: RangeTest) -> str:
    return STOP_REASONS.get(reason, reason).format(factor=test.diverge_factor)
