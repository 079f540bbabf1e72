"""One unit's receptive field, measured: the theoretical window the blocks' rules give
(``core/receptive_field.py``) and the effective field, the gradient of that single unit with
respect to the input, from one backward pass on one probe sample in eval mode.

The effective field says which pixels the trained unit actually responds to: inside the
theoretical window, and usually concentrated in its centre (more paths through the layers
lead to the central pixels than to the edge ones). Asked for by clicking a unit in the Feature
Maps view: during a run the runner answers the ``FIELD_COMMAND`` at the next step boundary,
after it ``field_run.py`` answers from the trained state.
"""

from __future__ import annotations

import numpy as np
import torch

from studio.core.inference import analyze
from studio.core.receptive_field import field_refusal, image_source, node_row, window
from studio.engine.events import ReceptiveField
from studio.engine.node_keys import NodeKey
from studio.engine.probe_sender import cuda_devices


def gradient_field(forward, inputs: torch.Tensor, unit: tuple) -> torch.Tensor:
    """|d output[0, channel, row, column] / d inputs| summed over the input's channels (H x W),
    where ``forward(inputs)`` gives the output map (batch x C x H x W) still attached to
    ``inputs``; zeros where the unit does not depend on the input."""
    x = inputs.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        out = forward(x)
        if out is None or not out.requires_grad:
            return torch.zeros(x.shape[-2:])
        channel, row, column = unit
        (grad,) = torch.autograd.grad(out[0, channel, row, column], x, allow_unused=True)
    if grad is None:
        return torch.zeros(x.shape[-2:])
    return grad[0].detach().abs().sum(0).float().cpu()


def half_mass_side(gradient: np.ndarray, centre: tuple) -> int:
    """The side of the smallest square about ``centre`` (row, column; halves between pixels)
    that holds half of the gradient's mass: the effective field's size."""
    total = float(gradient.sum())
    if total <= 0:
        return 0
    rows, columns = np.indices(gradient.shape)
    reach = np.maximum(np.abs(rows - centre[0]), np.abs(columns - centre[1])).ravel()
    order = np.argsort(reach, kind="stable")
    mass = np.cumsum(gradient.ravel()[order])
    needed = reach[order][int(np.searchsorted(mass, 0.5 * total))]
    return int(round(2 * needed + 1))


def measure(project, probes, step: int | None, key: str, unit, sample: int) -> ReceptiveField:
    """The receptive field of ``unit`` (channel, row, column) of node ``key`` for probe sample
    ``sample``, from ``probes`` (the run's ``ProbeSender``: its Training, recorder and probe
    batch); a field that cannot be measured comes back with the reason as its message."""
    unit = tuple(int(v) for v in unit)
    empty = dict(step=step, node=key, unit=unit, sample=int(sample))
    parsed = NodeKey.parse(key)
    analysis = analyze(project)
    why = field_refusal(project, analysis, parsed.path, parsed.port)
    if why:
        return ReceptiveField(**empty, message=why)
    row = node_row(analysis, parsed.path, parsed.port)
    kind = row.outputs[parsed.port] if parsed.port else next(iter(row.outputs.values()))
    channels, height, width = kind.shape
    if not (0 <= unit[0] < channels and 0 <= unit[1] < height and 0 <= unit[2] < width):
        return ReceptiveField(**empty, message=f"{parsed.label} has no unit {unit} in its "
                              f"{kind.describe()} map")
    _, port = image_source(project, analysis, parsed.path)
    training, batch = probes.training, probes.probe_batch
    names = tuple(training.data.names) if training.data is not None else ()
    plain = getattr(type(training).inspect, "__wrapped__", None)  # without no_grad
    if port not in names or plain is None or not batch:
        return ReceptiveField(**empty, message="this run has no probe images to measure on")
    index = names.index(port)
    sample = min(max(int(sample), 0), len(batch[index]) - 1)
    one = [t[sample: sample + 1] for t in batch]

    def forward(x):
        one[index] = x
        _, _, _, whole = probes.recorder.run(lambda b: plain(training, b), tuple(one),
                                             full=(key,), attached=True)
        return whole.get(key)

    with torch.random.fork_rng(devices=cuda_devices()):
        gradient = gradient_field(forward, batch[index][sample: sample + 1].float(), unit)
    field = np.ascontiguousarray(gradient.numpy(), dtype=np.float32)
    image = batch[index][sample].detach().float().cpu().numpy()
    frame = window(row.rf, unit[1], unit[2])
    on_input = frame.clipped(*field.shape)
    outside = field.astype(np.float64)
    total = float(outside.sum())
    outside[on_input.top:on_input.bottom, on_input.left:on_input.right] = 0.0
    inside = 1.0 - float(outside.sum()) / total if total > 0 else 0.0  # 1 exactly: none out
    centre = ((frame.top + frame.bottom - 1) / 2, (frame.left + frame.right - 1) / 2)
    return ReceptiveField(**{**empty, "sample": sample}, image=np.ascontiguousarray(image),
                          value_range=(float(image.min()), float(image.max())),
                          gradient=field,
                          window=(frame.top, frame.bottom, frame.left, frame.right),
                          inside=inside,
                          half_side=half_mass_side(field, centre), map_size=(height, width))




def answer(project, probes, step: int | None, key: str, unit, sample: int) -> ReceptiveField:
    """``measure``, with a failure told in the event (the run trains on)."""
    try:
        return measure(project, probes, step, key, unit, sample)
    except Exception as err:  # noqa: BLE001 - said in the view beside the maps
        return ReceptiveField(step, key, tuple(int(v) for v in unit), int(sample),
                              message=f"the receptive field could not be measured: "
                                      f"{type(err).__name__}: {err}")
