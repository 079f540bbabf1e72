"""A classifier of 2-D points drawn as a map: the class it predicts over a grid spanning its
training data, the course's decision boundary, redrawn as the network learns.

The probe sender (``probe_sender.py``) makes one ``BoundaryGrid`` per run when the project's
classifier reads 2-feature vectors, and runs the grid through ``Training.inspect`` whenever it
sends the probe batch's predictions, so the map costs one more eval-mode forward pass of
``SIDE * SIDE`` points at the same moments, within the same probe budget.
"""

from __future__ import annotations

import torch

from studio.engine.events import Boundary

SIDE = 64  # cells along each axis
MARGIN = 0.1  # the grid reaches this share of the data's range beyond it on every side
MAX_POINTS = 500  # training points sent with each map
RANGE_SAMPLES = 10_000  # the grid spans the first this many training samples


class BoundaryGrid:
    """The grid's points as a batch for ``inspect`` (labels 0: the loss it computes is not
    used) and the training points drawn over it; made once per run."""

    def __init__(self, train: tuple, side: int = SIDE):
        x = train[0][:RANGE_SAMPLES]
        lo, hi = x.min(0).values.float(), x.max(0).values.float()
        pad = (hi - lo).clamp_min(1e-6) * MARGIN
        lo, hi = (lo - pad).tolist(), (hi + pad).tolist()
        self.extent = (lo[0], hi[0], lo[1], hi[1])
        xs = torch.linspace(lo[0], hi[0], side)
        ys = torch.linspace(lo[1], hi[1], side)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")  # row i: y = ys[i]
        grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1).to(x.device, x.dtype)
        self.side = side
        self.batch = (grid, *(torch.zeros((len(grid), *t.shape[1:]), dtype=t.dtype,
                                          device=t.device) for t in train[1:]))
        pick = torch.linspace(0, len(x) - 1, min(len(x), MAX_POINTS)).long()  # spread evenly
        self.points = x[pick.to(x.device)].float().cpu().numpy()
        self.labels = train[1][:RANGE_SAMPLES][pick.to(x.device)].long().cpu().numpy()

    @classmethod
    def of(cls, data, probe_batch: tuple) -> BoundaryGrid | None:
        """A grid for ``data`` when its samples are 2-feature vectors with integer labels
        (the probe batch shows what a sample is); None otherwise."""
        if data is None or len(probe_batch) < 2:
            return None
        x, labels = probe_batch[0], probe_batch[1]
        if not (torch.is_tensor(x) and x.dim() == 2 and x.shape[1] == 2 and x.is_floating_point()
                and torch.is_tensor(labels) and labels.dim() == 1 and not labels.is_floating_point()):
            return None
        return cls(data.train)

    def event(self, step: int, scores: torch.Tensor) -> Boundary:
        """The map for the grid's class ``scores`` (one row of scores per grid point)."""
        probabilities = torch.softmax(scores.detach().float(), dim=1)
        confidence, predicted = probabilities.max(dim=1)
        shape = (self.side, self.side)
        return Boundary(step, self.extent, predicted.reshape(shape).cpu().numpy(),
                        confidence.reshape(shape).cpu().numpy(), int(scores.shape[1]),
                        self.points, self.labels)
