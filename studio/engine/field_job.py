"""What a receptive-field request on the trained state holds (``field_session.py`` sends it,
``field_run.py`` answers it): plain data, no torch, so the worker and the app both read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FieldJob:
    """Which unit (channel, row, column) of which node (key), for which probe sample, with
    which trained weights (a Studio checkpoint or a weights file)."""

    weights: str
    node: str
    unit: tuple
    sample: int = 0
