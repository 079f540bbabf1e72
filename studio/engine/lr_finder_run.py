"""The learning-rate range test's run, in the training process (``worker.run_job`` with a
``RangeTest``): the project's ``Training`` built as a Train builds it, then one step per rate,
each step's loss sent as a ``RangePoint``, and a ``RangeResult`` with the suggestion at the end.
The settings, the smoothing and the suggestion are ``lr_finder.py``'s.

The rate is written into the optimizer's parameter groups before every step, and the
optimizer's schedule is not stepped: the test sweeps the rate itself, and a schedule would
pull it elsewhere. Nothing is saved: the runner's configuration is cleared of checkpoints and
weights files before it builds.
"""

from __future__ import annotations

import dataclasses
import math
import time

from studio.engine.errors import TrainingError
from studio.engine.events import Error, Finished, RangePoint, RangeResult, Started
from studio.engine.lr_finder import (
    NOT_FINITE,
    REACHED_MAX,
    STOPPED,
    RangeTest,
    SmoothedLoss,
    optimizer_nodes,
    refusal,
    skipped_points,
    stop_reason,
    suggest,
)
from studio.engine.naming import identifier
from studio.engine.node_keys import ROOT, node_key
from studio.engine.runner import Control, RunConfig, Runner


def run_range_test(project, config: RunConfig, test: RangeTest, emit,
                   control: Control | None = None) -> dict:
    """Run ``test`` on ``project``; every outcome is told as events (``Finished`` last) and
    returned as {"status", "suggested", "points"}."""
    return RangeRun(project, config, test, emit, control or Control()).run()


def _full_batches(batches):
    """The training batches, epoch after epoch (each shuffled as a Train's), without an epoch's
    shorter last batch: a loss summed over the batch (a VAE's) reads lower on it, a drop the
    curve would take for progress."""
    size = None
    while True:
        given = False
        for batch in batches:
            count = len(batch[0]) if batch else None
            size = size or count
            if count == size:
                given = True
                yield batch
        if not given:
            return  # an empty training split


class RangeRun:
    def __init__(self, project, config: RunConfig, test: RangeTest, emit, control: Control):
        self.project = project
        self.test = test
        self.emit = emit
        self.control = control
        keep_nothing = dataclasses.replace(
            config, checkpoint_path=None, checkpoint_every=0, resume_from=None,
            save_weights=None, samples_dir=None, previews=False, watch=())
        self.runner = Runner(project, keep_nothing, emit, control)
        self.points: list[dict] = []

    def run(self) -> dict:
        why = refusal(self.project) or self.test.problem()
        if why:
            return self.fail(Error("project", why))
        started = time.perf_counter()
        try:
            self.runner.build()
        except TrainingError as err:
            return self.fail(Error(err.kind, str(err), list(err.node) if err.node else None))
        except Exception as err:  # noqa: BLE001 - code generation refusals and the like
            return self.fail(Error("project", str(err)))
        training = self.runner.training
        node = optimizer_nodes(self.project)[0]
        (optimizer,) = training.optimizers.values()  # refusal() let one optimizer through
        loss_node = self._loss_node(node)
        for schedule in training.schedulers.values():
            schedule.step = _no_step
        self.emit(Started(device=self.runner.device, total_steps=self.test.steps,
                          batches_per_epoch=len(training.batches),
                          metrics=[identifier(loss_node.title or loss_node.id)], step=0,
                          seconds=time.perf_counter() - started, nodes=[],
                          amp=self.project.training.settings["amp"]))
        try:
            stopped_because = self.sweep(training, optimizer, loss_node)
        except TrainingError as err:
            return self.fail(Error(err.kind, str(err), list(err.node) if err.node else None))
        if stopped_because == NOT_FINITE and len(self.points) <= 1:
            return self.fail(Error(
                "nan", f"{node_key(loss_node.id)}: the loss is not a number at the first step, "
                f"at a rate of {self.test.lr_min:g}, before the rate could matter: look at the "
                "data and at the layers that feed this loss", [ROOT, loss_node.id]))
        finite = [p for p in self.points if math.isfinite(p["smoothed"])]
        suggested, rule = suggest([p["lr"] for p in finite], [p["smoothed"] for p in finite],
                                  skipped_points(self.test))
        self.emit(RangeResult(suggested, rule, stopped_because, [ROOT, node.id]))
        status = "stopped" if stopped_because == STOPPED else "finished"
        self.emit(Finished(status, len(self.points), {}, 0.0))
        return {"status": status, "suggested": suggested, "points": self.points}

    def sweep(self, training, optimizer, loss_node) -> str:
        """One step per rate until the last, a divergence, a NaN or Stop; returns why it ended."""
        name = identifier(loss_node.title or loss_node.id)
        smoothed_loss = SmoothedLoss(self.test.smoothing)
        batches = _full_batches(training.batches)
        for index in range(self.test.steps):
            if any(command[0] == "stop" for command in self.control.poll()):
                return STOPPED
            rate = self.test.rate(index)
            for group in optimizer.param_groups:
                group["lr"] = rate
            batch = next(batches, None)
            if batch is None:
                raise TrainingError("the training split has no batch to train on", None, "data")
            try:
                losses = training.train_step(batch)
            except Exception as err:  # noqa: BLE001 - becomes an event naming the node
                raise self.runner.explain(err) from err
            loss = float(losses[name])
            smoothed = smoothed_loss.add(loss) if math.isfinite(loss) else math.nan
            self.points.append({"lr": rate, "loss": loss, "smoothed": smoothed})
            self.emit(RangePoint(index + 1, rate, loss, smoothed))
            reason = stop_reason(loss, smoothed, smoothed_loss.best, self.test.diverge_factor)
            if reason:
                return reason
        return REACHED_MAX

    def _loss_node(self, optimizer_node):
        """The loss node wired into the optimizer: the loss it minimizes and the test watches."""
        graph = self.project.training
        edge = next(e for e in graph.edges if e.dst == optimizer_node.id)
        return graph.nodes[edge.src]

    def fail(self, error: Error) -> dict:
        self.emit(error)
        self.emit(Finished("failed", len(self.points), {}, 0.0))
        return {"status": "failed", "suggested": None, "points": self.points}


def _no_step(*args, **kwargs) -> None:
    """A schedule's step during the test: the test sets the rate itself."""
