"""How often a trained classifier keeps its answer when the image moves by a few pixels.

Convolutions are shift-equivariant, but strided pooling samples the maps on a grid, so a
one-pixel move can change what the network sees (aliasing). The consistency test of the
course: for each held-out image and each shift d, move the image by d pixels in one of the
eight directions (chosen by a seeded generator, the same for every network compared) and count
how often the predicted class is the one predicted for the unmoved image. Images move
circularly (``torch.roll``), so no content is lost or invented at the border.

Used by ``studio lab shift`` and the shift lesson; the weights come from a Studio checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from studio.core.package_files import data_folder
from studio.core.project import Project
from studio.engine import checkpoint
from studio.engine.classifier_nodes import classifier_scores
from studio.engine.codegen import generate
from studio.engine.library.download import prepare_project
from studio.engine.loader import load
from studio.engine.probes import ActivationRecorder

DIRECTIONS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
BATCH = 256


class ShiftTestError(ValueError):
    """The project or its weights cannot be tested (the message says why)."""


@dataclass
class ShiftReport:
    images: int
    accuracy: float  # on the unmoved held-out images
    consistency: dict = field(default_factory=dict)  # shift in pixels -> fraction kept
    shifted_accuracy: dict = field(default_factory=dict)  # shift -> accuracy on moved images

    @property
    def mean_consistency(self) -> float:
        return sum(self.consistency.values()) / len(self.consistency)

    def as_json(self) -> dict:
        return {"images": self.images, "accuracy": self.accuracy,
                "consistency": {str(d): v for d, v in self.consistency.items()},
                "shifted_accuracy": {str(d): v for d, v in self.shifted_accuracy.items()},
                "mean_consistency": self.mean_consistency}


def shift_consistency(project: Project, weights, shifts=(1, 2, 3, 4), seed: int = 0,
                      limit: int | None = None, device: str = "cpu") -> ShiftReport:
    """The consistency of ``project``'s classifier with the networks of the checkpoint
    ``weights``, over its held-out images (the first ``limit`` of them if given)."""
    scores_key = classifier_scores(project)
    if scores_key is None:
        raise ShiftTestError("the shift test needs a classifier: a loss that measures accuracy "
                             "on a dataset's labels (CrossEntropy on a Dataset's label)")
    if not shifts or min(shifts) < 1:
        raise ShiftTestError("shifts are whole pixels, 1 or more")
    code = generate(project)
    module = load(code)
    try:
        prepare_project(project)  # a standard set downloads once into its cache
        training = module.Training(device, seed, str(data_folder()), steps=1)
    except OSError as err:
        raise ShiftTestError(f"the held-out data cannot be read: {err}") from None
    _load_networks(training, weights)
    data = training.data
    images, labels = data.test if len(data.test[0]) else data.train
    if images.dim() != 4:
        raise ShiftTestError(f"the shift test moves images; this dataset gives "
                             f"{images.dim() - 1}-D samples")
    images, labels = images[:limit], labels[:limit]
    recorder = ActivationRecorder(code, module, project)

    def predict(batch_images, batch_labels):
        _, _, _, whole = recorder.run(training.inspect, (batch_images, batch_labels),
                                      full=(scores_key,))
        return whole[scores_key].argmax(1)

    generator = torch.Generator().manual_seed(seed)
    report = ShiftReport(images=len(labels), accuracy=0.0)
    base = torch.cat([predict(images[i:i + BATCH], labels[i:i + BATCH])
                      for i in range(0, len(labels), BATCH)])
    report.accuracy = float((base == labels).float().mean())
    for d in shifts:
        picks = torch.randint(len(DIRECTIONS), (len(labels),), generator=generator)
        answers = torch.empty_like(base)
        for i in range(0, len(labels), BATCH):
            answers[i:i + BATCH] = predict(moved(images[i:i + BATCH], d, picks[i:i + BATCH]),
                                           labels[i:i + BATCH])
        report.consistency[d] = float((answers == base).float().mean())
        report.shifted_accuracy[d] = float((answers == labels).float().mean())
    return report


def moved(images: torch.Tensor, distance: int, picks: torch.Tensor) -> torch.Tensor:
    """``images`` each moved circularly by ``distance`` pixels in its direction
    ``DIRECTIONS[pick]`` (the shift probe and this test draw the picks from a seeded
    generator, so every network compared sees the same moves)."""
    return torch.stack([torch.roll(image, shifts=(DIRECTIONS[p][0] * distance,
                                                  DIRECTIONS[p][1] * distance), dims=(-2, -1))
                        for image, p in zip(images, picks.tolist())])


def _load_networks(training, weights) -> None:
    """The checkpoint's network weights into ``training`` (its optimizers are not needed)."""
    try:
        state = checkpoint.load(weights)
        checkpoint.check_format(state)
    except checkpoint.CheckpointError as err:
        raise ShiftTestError(str(err)) from None
    theirs = state.get("networks", {})
    for name, net in training.networks.items():
        if name not in theirs:
            raise ShiftTestError(f"{weights} has no weights for the network {name}")
        changes = checkpoint.mismatches(net.state_dict(), theirs[name])
        if changes:
            raise ShiftTestError(f"the weights of {name} in {weights} do not fit the project: "
                                 + "; ".join(changes))
        net.load_state_dict(theirs[name])
