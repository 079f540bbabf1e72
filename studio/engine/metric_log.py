"""A run's losses: every step's values sent as ``Metrics`` events, kept as the run's history
(which a checkpoint carries, so a continued run's curves start with what came before), and a
NaN or infinite loss caught and named by the node that computed it.
"""

from __future__ import annotations

import math

import torch

from studio.engine.events import Error, Metrics
from studio.engine.naming import identifier
from studio.engine.node_keys import ROOT, node_key


class MetricLog:
    def __init__(self, project, emit, pause_on_nan: bool):
        self.emit = emit
        self.pause_on_nan = pause_on_nan
        self.history: list = []  # every point so far, append-only (a NaN's cut aside)
        # a metric's name (the loss node's title or id, as the code names it) -> its node id
        self.loss_nodes = {identifier(n.title or n.id): n.id
                           for n in project.training.nodes.values()}

    def flush(self, pending: list, position, optimizers: dict) -> bool:
        """Send every step's losses (one device sync for the whole window); False on NaN."""
        if not pending:
            return True
        names = list(pending[0])
        values = torch.stack([m[k] for m in pending for k in names]).float()  # one sync
        rows = values.reshape(len(pending), len(names)).tolist()
        first = position.step - len(pending) + 1
        lr = {name: opt.param_groups[0]["lr"] for name, opt in optimizers.items()}
        points = []
        for i, row in enumerate(rows):
            point = {"step": first + i, "epoch": position.epoch + 1, **dict(zip(names, row))}
            points.append(point)
            bad = [k for k, v in zip(names, row) if not math.isfinite(v)]
            if bad:
                self.history += points
                self.emit(Metrics(points, lr))
                self._not_a_number(bad[0], row[names.index(bad[0])], first + i)
                return False
        points[-1]["lr"] = lr
        self.history += points
        self.emit(Metrics(points, lr))
        return True

    def _not_a_number(self, name: str, value: float, step: int) -> None:
        node = self.loss_nodes.get(name, name)
        then = ("training paused at the last good state; lower the learning rate or "
                "check the data, then resume from that state or stop"
                if self.pause_on_nan else
                "training stopped and the last good checkpoint is kept; lower the "
                "learning rate or check the data")
        self.emit(Error("nan", f"{node_key(node)}: the loss became {value} at step {step}; "
                               f"{then}", [ROOT, node]))

    def cut(self, length: int) -> None:
        """Forget the points past ``length`` (the run went back to a state kept then)."""
        del self.history[length:]
