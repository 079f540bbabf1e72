"""Driving one recorded run from start to end: ``studio train`` and each trial of a sweep.

The session is started (in a spare process when one is given, see ``standby.py``), its events
are read until its worker has gone, each is recorded (``run_recorder.RunRecorder`` or a wrapper
with the same ``record`` / ``flush_if_due`` / ``close``) and handed to the caller's
``on_event`` with the ``RunEnd`` so far; an error stops the worker. ``halt`` is asked after
each batch of events whether to end the run early (a sweep's pruning, a cancelled sweep): it
answers None, or a ``Halt`` with the status the run is recorded with. Ctrl+C stops the run,
records it stopped, and is raised on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from studio.engine.events import Error, Event, Finished, Started
from studio.engine.run_history import FAILED, STOPPED

POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Halt:
    """End the run now, recorded as ``status`` (stopped, pruned) because of ``message``."""

    status: str
    message: str | None = None


@dataclass
class RunEnd:
    """How a driven run ended: its status (finished, stopped, failed, or a halt's), the events
    that told it, and the halt that ended it early, if one did."""

    status: str
    started: Started | None = None
    final: Finished | None = None
    errors: list = field(default_factory=list)
    halt: Halt | None = None


def drive_run(session, recorder=None, *,
              on_event: Callable[[Event, RunEnd], None] | None = None,
              halt: Callable[[], Halt | None] | None = None, spare=None,
              poll: float = POLL_SECONDS) -> RunEnd:
    """Run ``session`` (a ``TrainingSession`` not yet started) to its end; the recorder, if
    any, is closed when it returns (its history is the caller's to close)."""
    end = RunEnd(FAILED)
    try:
        session.start(spare)
        while True:
            for event in session.events(timeout=poll):
                if recorder is not None:
                    recorder.record(event)
                if isinstance(event, Started):
                    end.started = event
                elif isinstance(event, Error):
                    end.errors.append(event)
                    session.stop()
                elif isinstance(event, Finished):
                    end.final = event
                if on_event is not None:
                    on_event(event, end)
            if recorder is not None:
                recorder.flush_if_due()
            end.halt = halt() if halt is not None and end.final is None else None
            if end.halt is not None:
                session.stop()
                if recorder is not None:
                    recorder.close(end.halt.status, end.halt.message)
                break
            if not session.alive and session.wait(0):
                break
    except KeyboardInterrupt:
        session.stop()
        if recorder is not None:
            recorder.close(STOPPED)
        raise
    finally:
        if recorder is not None:
            recorder.close()
    end.status = (end.halt.status if end.halt else FAILED if end.errors else
                  end.final.status if end.final else FAILED)
    return end
