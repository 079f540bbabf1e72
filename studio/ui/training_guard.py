"""What waits while a training run goes (the learning-rate finder, a sweep): both would share
the processor with the run, and each would measure the other's slowness. They follow the
controller's state the same way, through ``while_training``."""

from __future__ import annotations

from collections.abc import Callable

TRAINING_GOING = "a training run is going: stop it first"


def while_training(controller, react: Callable[[bool], None]) -> None:
    """Call ``react(running)`` now and whenever the training state changes."""
    controller.state_changed.connect(lambda _state: react(controller.running))
    react(controller.running)
