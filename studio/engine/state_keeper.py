"""A run's states kept on the side: the checkpoint files it writes (at the end, at epoch ends,
every N steps, on request) and, in memory, the last good state it goes back to after a NaN.

Both are ``checkpoint.capture`` of the same ``Training`` and ``Position``, so a run continued
from either trains the same weights, bit for bit, as one never interrupted.
"""

from __future__ import annotations

import time

from studio.core.fileformat import dumps
from studio.engine import checkpoint
from studio.engine.events import Checkpoint


class StateKeeper:
    GOOD_STATE_BUDGET = 0.005  # share of the time keeping the last good state may take

    def __init__(self, project, training, log, clock, emit, path: str | None):
        self.project = project
        self.training = training
        self.log = log  # the metric history goes into checkpoints and is cut back with a state
        self.clock = clock
        self.emit = emit
        self.path = path  # the run's own checkpoint file, if any
        self.last_good: tuple | None = None  # (state, metric-history length)
        self.good_kept: tuple | None = None  # (training seconds when kept, what it cost)

    def write(self, position, path=None) -> None:
        path = path or self.path
        if not path:
            return
        position.history = self.log.history
        state = checkpoint.capture(self.training, position, dumps(self.project))
        checkpoint.save(state, path)
        self.emit(Checkpoint(str(path), position.step))

    def keep_good(self, position) -> None:
        """Copy the state at an epoch end, to go back to after a NaN; at most 0.5% of the time
        (tiny epochs keep one less often). The metric history is append-only, so its length
        is kept rather than a copy that would grow with the run."""
        if not self.clock.spaced(self.good_kept, self.GOOD_STATE_BUDGET):
            return
        start = time.perf_counter()
        state = checkpoint.capture(self.training, position, history=False)
        self.last_good = (checkpoint.copy_state(state), len(self.log.history))
        self.good_kept = (self.clock.active(), time.perf_counter() - start)

    def go_back(self, position) -> None:
        """Put the training and ``position`` back to the last good state, and cut the metric
        history back to its length then."""
        state, history_length = self.last_good
        restored = checkpoint.restore(self.training, checkpoint.copy_state(state))
        position.step, position.epoch = restored.step, restored.epoch
        position.epoch_step, position.epoch_rng = restored.epoch_step, restored.epoch_rng
        self.log.cut(history_length)
