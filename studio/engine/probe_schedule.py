"""When a run's occasional work happens: its training clock (paused time left out) and the
schedule that keeps probes, evaluations and the kept good state within their share of it.

The runner asks ``ProbeSchedule.due`` after every step, so it does little: a set lookup, a
modulo and, only on a step where a probe is due by its rate, a look at the clock.
"""

from __future__ import annotations

import math
import time

from studio.engine.events import ProbeSkipped


class RunClock:
    """A run's training seconds: from its first step, paused time left out (elapsed time,
    ETA, samples per second and every time budget count these, so a paused run does not
    report itself slow nor earn its probes time)."""

    def __init__(self):
        self.started = time.perf_counter()
        self.paused_seconds = 0.0

    def start(self) -> None:
        self.started = time.perf_counter()

    def active(self) -> float:
        return time.perf_counter() - self.started - self.paused_seconds

    def spaced(self, last: tuple | None, budget: float, longest: float = math.inf) -> bool:
        """Whether occasional work done last at ``last`` (training seconds at its end, its
        cost) may run again and still take no more than ``budget`` of the training time; it
        always may after ``longest`` seconds, and the first time."""
        if last is None:
            return True
        ended, cost = last
        return self.active() - ended >= min(cost / budget, longest)


class ProbeSchedule:
    """Which probe runs after which step, and what probes have cost so far.

    The budget is shared fairly between the kinds of probe: a probe may run when, were every
    other kind held to what this one has spent, all of them together would keep within the
    budget. A cheap or rare probe (the feature maps, a decision boundary) then still runs
    while a frequent one (the gradient statistics) would use the whole share on its own; the
    frequent one takes what the others leave. Over a run the probes keep to the budget."""

    def __init__(self, rates, clock: RunClock, emit):
        self.rates = rates
        self.clock = clock
        self.emit = emit
        self.probe_seconds = 0.0  # probes, previews and evaluations, all told
        self.evaluation_seconds = 0.0
        self.spent: dict = {}  # probe kind -> its seconds (None: asked for, or at the end)
        self.requested: set = set()  # probes the user asked for, run at the next step
        self.skip_announced: dict = {}  # probe -> the next step last announced for it
        self.first_step = 1  # the first step of this run (a continued run starts later)
        self.total = 0

    def request(self, probe: str) -> None:
        self.requested.add(probe)

    def due(self, probe: str, every: int, step: int) -> bool:
        """Whether ``probe`` runs after this step: when the user asked for it; once at the
        run's first step, whatever the budget (the views have something at once); then at
        its rate in steps, skipped while probes have taken more than their share of the
        training time (tiny steps: probes run less often), a skip being announced with the
        step the next one is expected at."""
        if self.requested and probe in self.requested:
            self.requested.discard(probe)
            return True
        if not every:
            return False
        if step == self.first_step:
            return True
        if step % every:
            return False
        budget = self.rates.budget
        if budget is None:
            return True
        active = self.clock.active()
        level = self.fair_level(probe)
        if level <= budget * active:
            return True
        self._announce_skip(probe, every, step, level / budget - active, active)
        return False

    def fair_level(self, probe: str) -> float:
        """What the probes would have spent had every other kind spent no more than
        ``probe`` has: within the budget, ``probe`` has not had more than its fair share."""
        own = self.spent.get(probe, 0.0)
        return own + sum(min(seconds, own) for kind, seconds in self.spent.items()
                         if kind != probe)

    def _announce_skip(self, probe: str, every: int, step: int, wait: float,
                       active: float) -> None:
        """Say when the next ``probe`` is expected: after the training time that brings the
        probes back within their share, at this run's pace, on the probe's rate."""
        steps_per_second = (step - self.first_step + 1) / max(active, 1e-9)
        later = max(every, math.ceil(wait * steps_per_second / every) * every)
        next_step = min(step + later, max(self.total, step))
        if self.skip_announced.get(probe) != next_step:
            self.skip_announced[probe] = next_step
            self.emit(ProbeSkipped(probe, step, next_step, float(self.rates.budget)))

    def timed(self, fn, *args, probe: str | None = None):
        """``fn(*args)``, its time counted as the probes' (and as ``probe``'s, its kind)."""
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            cost = time.perf_counter() - start
            self.probe_seconds += cost
            self.spent[probe] = self.spent.get(probe, 0.0) + cost

    def evaluated(self, cost: float) -> None:
        """An evaluation took ``cost`` seconds: probe time, but kept to a budget of its own."""
        self.probe_seconds += cost
        self.evaluation_seconds += cost
