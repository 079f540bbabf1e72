"""How many threads the training process computes with, chosen by how fast its steps run.

torch splits each operation across its intra-op threads, and every thread must finish its part
before the next operation starts. On a machine busy with other work, one of those threads is
often waiting for a core while the others wait for it (OpenMP threads spin meanwhile, burning
the core they hold): beside two busy processes on 2 cores, a LeNet step took 16x longer with 2
threads than with 1. On a quiet machine more threads are faster, by a lot for bigger models. So
the worker starts with the cores other work left free while it built the run (``IdleCores``),
times its steps and now and then
trains a short window with half (or twice) the threads, keeping the other count only when it
was clearly faster. Trials grow rarer while they lose, come at once when the steps suddenly
slow down (the machine got busy), and more threads are tried only when some core looks idle.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable


def usable_cores() -> int:
    """The cores this process may run on (a container or ``taskset`` may allow fewer than the
    machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class IdleCores:
    """Cores other work leaves free, measured between two looks at the machine's CPU counters
    (``/proc/stat``) less this process's own use, so it says what the machine does now; the
    1-minute load average lags by up to a minute (a quiet machine just after a busy minute
    looks busy). Falls back to the load average where there are no counters or no time has
    passed since the last look."""

    SHORTEST = 0.05  # seconds between looks for a measurement worth trusting

    def __init__(self, cores: int, look=None):
        self.cores = cores
        self._look = look or self.counters
        self._last = self._look()

    @staticmethod
    def counters():
        """(all cores' seconds, their idle seconds, this process's CPU seconds, a clock); None
        where the machine has no /proc/stat."""
        try:
            with open("/proc/stat") as stat:
                fields = [int(v) for v in stat.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + waiting for I/O
        ticks = os.sysconf("SC_CLK_TCK")
        own = os.times()
        return sum(fields) / ticks, idle / ticks, own.user + own.system, time.monotonic()

    def __call__(self, own_threads: int) -> float | None:
        """Free cores since the last call (or since this was made)."""
        now, last = self._look(), self._last
        if now is None or last is None or now[3] - last[3] < self.SHORTEST:
            return idle_cores_by_load(self.cores, own_threads)
        self._last = now
        total, idle, own = now[0] - last[0], now[1] - last[1], now[2] - last[2]
        if total <= 0:
            return idle_cores_by_load(self.cores, own_threads)
        machine_cores = total / (now[3] - last[3])  # all the machine's cores, busy or not
        others = (total - idle - own) / total * machine_cores
        return max(0.0, min(self.cores, machine_cores - others))


def idle_cores_by_load(cores: int, own_threads: int) -> float | None:
    """Cores left free by other work, from the 1-minute load average (None where unknown)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return None
    return cores - max(0.0, load - own_threads)


class ThreadTuner:
    """Fed the seconds of each training step; calls ``apply(n)`` to change the thread count.
    ``idle(threads)`` says how many cores other work leaves free (None: unknown); by default
    an ``IdleCores`` made now, so the first count reflects the machine since the tuner's
    owner was made (pass one made earlier to measure over a longer, recent span)."""

    WARMUP_STEPS = 1  # the first step pays for allocation and first calls
    WINDOW_SECONDS = 0.2  # of step time per measurement (and at least WINDOW_STEPS steps)
    WINDOW_STEPS = 3
    # Another count is kept when its steps take at most this share of the time: fewer threads
    # must be clearly faster, more threads a little (a quiet machine keeps all its cores).
    FEWER_MARGIN = 0.9
    MORE_MARGIN = 0.98
    FIRST_INTERVAL = 2.0  # training seconds from a losing trial to the next, at first
    LONGEST_INTERVAL = 60.0  # trials that lose double the interval, up to this
    SUDDENLY_SLOWER = 1.5  # a window this much slower than the one before: try again at once
    HOPELESS = 3.0  # a trial step this much slower than the reference ends the trial
    DECISIVE = 1.5  # a trial window this much faster wins without measuring the old count again

    def __init__(self, most: int, apply: Callable[[int], None],
                 idle: Callable[[int], float | None] | None = None):
        self.most = max(1, int(most))
        self.apply = apply
        self.idle = idle or IdleCores(self.most)
        free = self.idle(0)
        self.threads = self.most if free is None else max(1, min(self.most, round(free)))
        self.trials = 0
        self._warm = 0
        self._phase = "settled"  # settled -> trial -> recheck -> settled
        self._window: list[float] = []
        self._reference: float | None = None  # median step seconds at self.threads
        self._candidate = self.threads
        self._trial_median = 0.0
        self._interval = 0.0  # the first trial comes right after the first window
        self._since_trial = 0.0
        self._fewer_next = True
        apply(self.threads)

    def observe(self, seconds: float) -> None:
        """One training step took ``seconds``."""
        if self.most == 1:
            return
        if self._warm < self.WARMUP_STEPS:
            self._warm += 1
            return
        if self._phase == "trial" and seconds > self.HOPELESS * self._reference:
            self._end_trial(won=False)  # one step tells: no need to train a window this slowly
            return
        self._window.append(seconds)
        self._since_trial += seconds
        if len(self._window) < self.WINDOW_STEPS or sum(self._window) < self.WINDOW_SECONDS:
            return
        median = statistics.median(self._window)
        self._window = []
        if self._phase == "settled":
            slower = self._reference is not None and median > self.SUDDENLY_SLOWER * self._reference
            self._reference = median
            if slower or self._since_trial >= self._interval:
                self._start_trial(at_once=slower)
        elif self._phase == "trial":
            self._trial_median = median
            if median * self.DECISIVE < self._reference:
                self._end_trial(won=True)  # no need to train a window at the slow count again
            else:
                self._phase = "recheck"  # the current count once more: drift falls on both sides
                self.apply(self.threads)
        else:
            baseline = (self._reference + median) / 2
            self._reference = median
            margin = self.FEWER_MARGIN if self._candidate < self.threads else self.MORE_MARGIN
            self._end_trial(won=self._trial_median <= margin * baseline)

    def _start_trial(self, at_once: bool) -> None:
        fewer = self.threads > 1 and (self._fewer_next or at_once or self.threads == self.most)
        if not fewer:
            free = self.idle(self.threads)
            if free is not None and free < 1 and not self._interval >= self.LONGEST_INTERVAL:
                self._end_trial(won=False)  # no core looks idle: more threads would wait for one
                return
        self._candidate = max(1, self.threads // 2) if fewer else min(self.most, self.threads * 2)
        self._fewer_next = not fewer
        self._phase = "trial"
        self.trials += 1
        self.apply(self._candidate)

    def _end_trial(self, won: bool) -> None:
        self._phase = "settled"
        self._window = []
        self._since_trial = 0.0
        if won:
            fewer = self._candidate < self.threads
            self.threads = self._candidate
            self._reference = self._trial_median
            self._fewer_next = fewer  # on in the direction that won, at once if there is room
            further = self.threads > 1 if fewer else self.threads < self.most
            self._interval = 0.0 if further else self.FIRST_INTERVAL
        else:
            self._interval = min(max(2 * self._interval, self.FIRST_INTERVAL), self.LONGEST_INTERVAL)
        self.apply(self.threads)
