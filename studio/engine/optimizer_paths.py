"""Where each optimizer of a run would go on a 2-D toy surface: the course's picture of SGD,
momentum and Adam, drawn with the project's own optimizers rather than textbook settings.

Every optimizer of the run is rebuilt on two parameters (x, y) with its own class and settings
(``type(opt)([xy], **opt.defaults)``: learning rate, momentum, betas, ...) and takes ``STEPS``
steps down ``f(x, y) = x^2 / 20 + y^2`` from ``START``: a long, narrow valley, steep across and
nearly flat along, where plain SGD crawls along the valley floor, momentum speeds along it and
swings across, and Adam, scaling each coordinate by its own gradient's size, goes nearly
straight. Sent once at the start of a run (a few milliseconds; the training itself is left
alone: no random numbers, no shared tensors).
"""

from __future__ import annotations

import inspect

import numpy as np
import torch

from studio.engine.events import OptimizerPaths

STEPS = 200
START = (-4.5, 2.0)
EXTENT = (-5.0, 5.0, -2.5, 2.5)  # x lowest, x highest, y lowest, y highest
SIDE = 64  # grid cells per side of the drawn surface
FORMULA = "x²/20 + y²"


def valley(x, y):
    """The toy loss, for numpy arrays and tensors alike."""
    return x * x / 20 + y * y


def surface(side: int = SIDE) -> np.ndarray:
    """``log(1 + f)`` on a side x side grid over ``EXTENT`` (row: y from lowest)."""
    x0, x1, y0, y1 = EXTENT
    xs, ys = np.meshgrid(np.linspace(x0, x1, side), np.linspace(y0, y1, side))
    return np.log1p(valley(xs, ys)).astype(np.float32)


def settings(optimizer: torch.optim.Optimizer) -> dict:
    """The optimizer's constructor settings: its ``defaults`` that its class takes (some
    versions keep more in ``defaults`` than the constructor accepts)."""
    accepted = inspect.signature(type(optimizer).__init__).parameters
    return {k: v for k, v in optimizer.defaults.items() if k in accepted}


def descend(optimizer: torch.optim.Optimizer, steps: int = STEPS) -> np.ndarray:
    """The (steps + 1) x 2 path of a copy of ``optimizer`` (its class and settings) from START;
    a path that leaves every bound (a too large learning rate) ends where it diverged. The
    gradient is written directly (the valley's is (x / 10, 2y)), not by autograd: a step then
    costs what the optimizer's own update costs."""
    xy = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    twin = type(optimizer)([xy], **settings(optimizer))

    def closure():
        with torch.no_grad():
            x, y = xy
            xy.grad = torch.stack((x / 10, 2 * y))
            return valley(x, y)

    points = np.empty((steps + 1, 2), dtype=np.float32)
    points[0] = START
    for step in range(1, steps + 1):
        twin.step(closure)
        point = xy.detach().numpy()
        if not np.isfinite(point).all() or np.abs(point).max() > 1e6:
            return points[:step]
        points[step] = point
    return points


def optimizer_paths(optimizers: dict) -> OptimizerPaths | None:
    """The event for a run's optimizers (name -> optimizer); None without any."""
    paths = {}
    for name, optimizer in optimizers.items():
        try:
            paths[name] = descend(optimizer)
        except (TypeError, ValueError, RuntimeError):  # an optimizer that needs more than this
            continue
    if not paths:
        return None
    return OptimizerPaths(EXTENT, surface(), paths, FORMULA, START)
