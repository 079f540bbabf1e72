"""Declarations of the worker's events that say when a probe comes: typed records, made in one
place, sent as plain data.

Probes (gradient statistics, histograms, feature maps, previews) are kept to a share of the
training time; a probe skipped for that is announced with the step at which the next is
expected, so a view can say when it will have something rather than wait in silence. The user
may ask for one now (the ``probe`` command); it runs at the next step boundary.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

# The probes a run takes, by the name the ``probe`` command and these events use.
PROBES = ("stats", "histograms", "activations", "previews")
PROBE_COMMAND = "probe"  # ("probe", name): run that probe at the next step boundary


@dataclass(frozen=True)
class ProbeSkipped:
    """A probe was due but skipped to keep probes within their share of the training time."""

    probe: str  # one of PROBES
    step: int  # the step at which it was skipped
    next_step: int  # about when the next one runs
    budget: float  # the share of the training time probes may take

    type: str = "probe_skipped"

    def event(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Progress:
    """Where training is, sent on the worker's own clock between log events (every
    ``PROGRESS_SECONDS``) and with each log event; only the newest matters."""

    step: int
    total: int
    epoch: int
    samples_per_second: float
    elapsed: float  # seconds trained, paused time left out
    eta: float
    probe_seconds: float

    type: str = "progress"

    def event(self) -> dict:
        return asdict(self)


PROGRESS_SECONDS = 0.5
