"""Networks fitting a function of one number, drawn as curves: each network's prediction over
an even grid of x beside the function the data were drawn from (the universal approximation
lesson), redrawn as they learn.

The probe sender makes one ``FunctionFitProbe`` per run when the data keep their noiseless
function (``make_curve_1d``'s ``function``) and the project has networks fitting it
(``fitted_functions.py``), and runs the grid through ``Training.inspect`` with each activations
probe: one more eval-mode forward pass of a few hundred numbers, within the same budget.
"""

from __future__ import annotations

import torch

from studio.core.inference import analyze
from studio.engine.events import FunctionFit
from studio.engine.fitted_functions import fitted_curves

MAX_POINTS = 300  # training samples sent with each fit


class FunctionFitProbe:
    """The grid as a batch for ``inspect`` (x, and the function there as y), the networks'
    output nodes with their labels, and the training samples drawn under the curves."""

    def __init__(self, curves: list, function: tuple, train: tuple):
        self.keys = tuple(c.key for c in curves)
        self.labels = tuple(c.label for c in curves)
        self.batch = tuple(function)
        self.x = function[0].reshape(-1).float().cpu().numpy()
        self.target = function[1].reshape(-1).float().cpu().numpy()
        x, y = train[0], train[1]
        pick = torch.linspace(0, len(x) - 1, min(len(x), MAX_POINTS)).long().to(x.device)
        self.points = torch.cat([x[pick].reshape(-1, 1), y[pick].reshape(-1, 1)], 1) \
            .float().cpu().numpy()

    @classmethod
    def of(cls, project, data) -> FunctionFitProbe | None:
        """A probe when ``data`` keep the function they were drawn from and the project has
        networks fitting it; None otherwise."""
        function = getattr(data, "function", None)
        if function is None or len(data.train) != 2:
            return None
        curves = fitted_curves(project, analyze(project))
        return cls(curves, function, data.train) if curves else None

    def event(self, step: int, outputs: dict) -> FunctionFit | None:
        """The curves of ``outputs`` (node key -> the networks' whole outputs over the grid);
        None when one is missing."""
        if any(k not in outputs for k in self.keys):
            return None
        rows = torch.stack([outputs[k].detach().float().reshape(-1) for k in self.keys])
        return FunctionFit(step, self.x, self.target, rows.cpu().numpy(), self.labels,
                           self.points)
