"""A VAE's latent code, watched while it trains: the KL divergence of each latent dimension
from the prior (a dimension whose KL stays near 0 carries nothing: posterior collapse), and
what the decoder makes of chosen codes: a map over the two dimensions that carry the most
(the first two of a 2-D code), the others at the prior's mean 0, and traversals of the
dimensions that carry the most (a map over collapsed dimensions would show one picture).

One probe runs ``Training.inspect`` on the probe batch and keeps the mean and log-variance
the sampling step reads (``core/roles.py``'s ``LatentRole`` says which ports) and the
arguments the decoder network is called with; the decoder then runs again, in eval mode, with
the chosen codes in place of the sample and its other inputs (a CVAE's class) taken from the
first probe sample.
"""

from __future__ import annotations

import numpy as np
import torch

from studio.engine.adversarial import training_attribute
from studio.engine.events import Latent
from studio.engine.generative_nodes import LatentWires, latent_wires

SIDE = 8  # the map decodes SIDE x SIDE codes
SPAN = 2.5  # from -SPAN to SPAN along each mapped or traversed dimension (prior: N(0, 1))
TRAVERSED = 4  # dimensions traversed, those with the most KL
STEPS = 9  # codes along each traversal


class LatentProbe:
    """The VAE probe of one run: the latent's keys, the decoder's module, the probe batch."""

    def __init__(self, wires: LatentWires, training, recorder, batch: tuple, decoder):
        self.wires = wires
        self.training = training
        self.recorder = recorder
        self.batch = batch
        self.decoder = decoder  # the module the decoder node runs, or None

    @classmethod
    def of(cls, project, training, code, recorder, batch: tuple) -> LatentProbe | None:
        wires = latent_wires(project)
        if wires is None or not batch:
            return None
        attr = training_attribute(code, wires.decoder) if wires.decoder else None
        decoder = getattr(training, attr, None) if attr else None
        return cls(wires, training, recorder, batch,
                   decoder if isinstance(decoder, torch.nn.Module) else None)

    def measure(self, step: int) -> Latent | None:
        wires = self.wires
        calls: list = []
        hook = self.decoder.register_forward_pre_hook(
            lambda module, args: calls.append(args)) if self.decoder is not None else None
        try:
            _, _, _, whole = self.recorder.run(
                self.training.inspect, self.batch,
                full=(wires.mean, wires.log_variance, wires.sample))
        finally:
            if hook is not None:
                hook.remove()
        if wires.mean not in whole or wires.log_variance not in whole:
            return None
        mu = whole[wires.mean].float().flatten(1)
        logvar = whole[wires.log_variance].float().flatten(1)
        kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(0).cpu().numpy()
        event = Latent(step, kl.astype(np.float32), wires.kl_metric, wires.reconstruction_metric)
        sample = whole.get(wires.sample)
        args = next((a for a in calls if sample is not None and _position(a, sample) is not None),
                    None)
        if args is None:
            return event
        return self._decoded(event, args, _position(args, sample), sample, kl)

    def _decoded(self, event: Latent, args: tuple, at: int, sample, kl) -> Latent:
        """The event with the map and the traversals decoded from codes of ``sample``'s shape,
        the decoder's other arguments those of the first probe sample."""
        width = sample[0].numel()
        values = torch.linspace(-SPAN, SPAN, SIDE)
        along = torch.linspace(-SPAN, SPAN, STEPS)
        dims = [int(d) for d in np.argsort(-kl, kind="stable")[:min(TRAVERSED, width)]]
        mapped = tuple(sorted(dims[:2])) if width >= 2 else ()
        codes = []
        if width >= 2:
            ys, xs = torch.meshgrid(values, values, indexing="ij")
            grid = torch.zeros(SIDE * SIDE, width)
            grid[:, mapped[0]], grid[:, mapped[1]] = xs.reshape(-1), ys.reshape(-1)
            codes.append(grid)
        for d in dims:
            row = torch.zeros(STEPS, width)
            row[:, d] = along
            codes.append(row)
        images = self._decode(args, at, torch.cat(codes).reshape(-1, *sample.shape[1:]), sample)
        if images is None:
            return event
        first = SIDE * SIDE if width >= 2 else 0
        lo, hi = float(images.min()), float(images.max())
        value_range = next(((a, b) for a, b in ((0.0, 1.0), (-1.0, 1.0))
                            if a - 1e-3 <= lo and hi <= b + 1e-3), (lo, max(hi, lo + 1e-6)))
        return Latent(event.step, event.kl_per_dim, event.kl_metric, event.reconstruction_metric,
                      images[:first] if first else None, (-SPAN, SPAN), images[first:],
                      tuple(dims), tuple(float(v) for v in along), value_range, mapped)

    @torch.no_grad()
    def _decode(self, args: tuple, at: int, codes, sample) -> np.ndarray | None:
        count = len(codes)
        inputs = [codes.to(sample.device, sample.dtype) if i == at else
                  a[:1].expand(count, *a.shape[1:]) if torch.is_tensor(a) and a.dim() else a
                  for i, a in enumerate(args)]
        self.training.set_train(False)
        try:
            out = self.decoder(*inputs)
        finally:
            self.training.set_train(True)
        if isinstance(out, (tuple, list)):
            out = next((o for o in out if torch.is_tensor(o)), None)
        if not torch.is_tensor(out) or out.dim() != 4 or len(out) != count:
            return None  # not images: the map and traversals need pictures
        return out.float().cpu().numpy()


def _position(args: tuple, sample) -> int | None:
    """Which of the decoder's arguments is the latent sample (the same tensor's storage)."""
    return next((i for i, a in enumerate(args) if torch.is_tensor(a) and
                 a.shape == sample.shape and a.data_ptr() == sample.data_ptr()), None)
