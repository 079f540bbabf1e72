"""The sweep dialog's Devices field: where trials run, one trial on each device at a time.

The window never imports torch, so it cannot list the GPUs torch sees: the field takes the
devices as ``studio sweep --devices`` does (``cuda:0,cuda:1``), checked for their form here;
left empty, the engine chooses (``engine.sweep.trial_devices``: every CUDA GPU when torch sees
several and the trials train on CUDA, else one trial at a time on the project's device).
"""

from __future__ import annotations

import re

from PySide6.QtWidgets import QLineEdit

FIELD = "Devices"
FORM = re.compile(r"(cpu|mps|cuda(:\d+)?)")
DEVICES_HINT = ("one trial on each at a time, e.g. cuda:0,cuda:1; empty: every GPU when there "
                "are several, else one trial at a time")
TIP = ("The devices trials run on, one trial on each at a time, separated by commas: cpu, "
       "cuda:0, cuda:1, mps (a device named twice runs two trials on it). Empty: every CUDA "
       "GPU when there are several, else one trial at a time on the project's device")


class DevicesError(ValueError):
    """A Devices field Studio cannot read; the message names the field and the entry."""


def parse_devices(text: str) -> tuple[str, ...] | None:
    """The devices written in the field, or None (empty: the engine's choice)."""
    devices = tuple(d.strip().lower() for d in text.split(","))
    if devices == ("",):
        return None
    for device in devices:
        if not device:
            raise DevicesError(f"{FIELD}: an empty entry between commas")
        if not FORM.fullmatch(device):
            raise DevicesError(f"{FIELD}: '{device}' is not a device (cpu, cuda, cuda:N or "
                               "mps)")
    return devices


def devices_field() -> QLineEdit:
    field = QLineEdit()
    field.setObjectName("sweep_devices")
    field.setPlaceholderText("automatic")
    field.setToolTip(TIP)
    field.setClearButtonEnabled(True)
    return field
