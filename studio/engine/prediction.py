"""Predicting on the user's own pictures, without torch: what a prediction job holds and
whether a project can answer one (``prediction_session.py`` runs it in a training process).

``studio predict`` and the app's Predict on Image read the files here (``image_file.py``), so a
bad file is said at once and names itself; the job carries the pixels to the training process,
where ``prediction_run.py`` prepares them as the project's dataset prepares its own and runs the
trained classifier in eval mode. Its answers come back as ``Prediction`` events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from studio.core.registry import Values, role_of
from studio.engine.classifier_nodes import classifier_losses
from studio.engine.image_file import read_image

DEFAULT_TOP = 5


@dataclass
class PredictJob:
    """The pictures to classify (file name -> uint8 H x W x C pixels, as ``read_image`` gives),
    the trained weights (a Studio checkpoint or a weights file), how many classes to name, and
    the node keys whose feature maps to send with each answer."""

    weights: str
    images: dict = field(default_factory=dict)
    top: int = DEFAULT_TOP
    watch: tuple = ()

    @classmethod
    def of_files(cls, weights, paths, top: int = DEFAULT_TOP, watch=()) -> PredictJob:
        """Read every file now; the first that is not a picture raises ``ImageFileError``."""
        return cls(str(weights), {str(p): read_image(p) for p in paths}, top, tuple(watch))


def picture_source(project):
    """(dataset node, its port of pictures) a classifier reads, or None."""
    for _loss, _scores, data in classifier_losses(project.training):
        role = role_of(data.block, "data")
        port = role.pictures(Values(data.params)) if role is not None else None
        if port:
            return data, port
    return None


def refusal(project) -> str | None:
    """Why this project cannot classify a picture file, or None."""
    found = classifier_losses(project.training)
    if not found:
        return ("the training graph has no classifier to ask (a loss that counts right answers, "
                "such as Cross entropy, reading a dataset's labels)")
    if picture_source(project) is None:
        names = ", ".join(f"training/{data.id}" for _l, _s, data in found)
        return (f"{names} gives no pictures (its samples are vectors or points), so an image "
                "file cannot stand in for one")
    return None
