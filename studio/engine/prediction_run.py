"""A prediction job's run, in the training process (``worker.run_job`` with a ``PredictJob``):
the project's ``Training`` built as a Train builds it (so its dataset is loaded, with the value
range or the training split's statistics it maps pixels with), the trained weights loaded, then
each picture prepared as that dataset prepares its own images and passed through the whole
graph in eval mode (``Training.inspect``), its class scores turned into probabilities.

One ``Prediction`` per picture, then ``Finished``; a project that cannot answer, weights that do
not fit or a picture that cannot be prepared become an ``Error`` naming what is at fault.
"""

from __future__ import annotations

import dataclasses

import torch

from studio.core.inference import analyze
from studio.engine import warm_start
from studio.engine.checkpoint import CheckpointError
from studio.engine.classifier_nodes import classifier_scores
from studio.engine.errors import TrainingError
from studio.engine.events import Error, Finished, Prediction
from studio.engine.library.data import _image_tensor  # the loaders' own conversion of pictures
from studio.engine.prediction import PredictJob, picture_source, refusal
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig, Runner


def run_prediction(project, config: RunConfig, job: PredictJob, emit) -> str:
    """Answer ``job`` on ``project``; every outcome is told as events (``Finished`` last).
    Returns the status: "finished" or "failed"."""
    try:
        _predict(project, config, job, emit)
    except PredictionError as err:
        emit(Error(err.kind, str(err), err.node))
        emit(Finished("failed", 0, {}, 0.0))
        return "failed"
    emit(Finished("finished", 0, {}, 0.0))
    return "finished"


class PredictionError(Exception):
    def __init__(self, message: str, kind: str = "project", node: list | None = None):
        super().__init__(message)
        self.kind, self.node = kind, node


def _predict(project, config: RunConfig, job: PredictJob, emit) -> None:
    why = refusal(project)
    if why:
        raise PredictionError(why)
    runner = answering_runner(project, config, emit)
    try:
        runner.build()
    except TrainingError as err:
        raise PredictionError(str(err), err.kind, list(err.node) if err.node else None) from None
    except Exception as err:  # noqa: BLE001 - code generation refusals and the like
        raise PredictionError(str(err)) from None
    training = runner.training
    _load_weights(training, runner.code, job.weights)
    inputs = PictureInputs(project, training, runner.device)
    scores_key = classifier_scores(project)
    names = training.data.class_names
    for file, pixels in job.images.items():
        batch = inputs.batch(file, pixels)
        try:
            _, maps, _, whole = runner.probes.recorder.run(
                training.inspect, batch, watch=job.watch, full=(scores_key,))
        except Exception as err:  # noqa: BLE001 - becomes an event naming the node
            error = runner.explain(err)
            raise PredictionError(f"{file}: {error}", error.kind,
                                  list(error.node) if error.node else None) from None
        scores = whole[scores_key][0].float()
        probabilities = torch.softmax(scores.reshape(-1), dim=0)
        top = min(job.top, probabilities.numel())
        values, indices = probabilities.topk(top)
        image = batch[inputs.index][0].float().cpu()
        emit(Prediction(file, [names[k] if k < len(names) else str(k) for k in indices.tolist()],
                        [float(v) for v in values], image.numpy(),
                        (float(image.min()), float(image.max())), maps))


def answering_runner(project, config: RunConfig, emit) -> Runner:
    """A runner that builds the project as Train builds it but only to answer questions of
    its trained state: no checkpoints, previews, probes or weights written."""
    return Runner(project, dataclasses.replace(
        config, checkpoint_path=None, checkpoint_every=0, resume_from=None, init_from=None,
        save_weights=None, samples_dir=None, previews=False, watch=(),
        probes=ProbeRates.off()), emit)


def _load_weights(training, code, weights: str) -> None:
    """Every tensor of the networks from ``weights``; a file that leaves one out does not
    answer for this project."""
    try:
        report = warm_start.fit(training, code, warm_start.read(weights), weights)
    except CheckpointError as err:
        raise PredictionError(str(err), "weights") from None
    if report.reinitialized:
        lines = report.lines()
        raise PredictionError(f"{weights} does not fit the project (" + "; ".join(
            line.strip() for line in lines[1:4]) + "): train it again, or give the weights "
            "trained for it", "weights")


class PictureInputs:
    """Turns a picture into a batch of one for the dataset's ports: the picture, resized and
    converted to the dataset's size and channels and mapped as the loader maps its images
    (its value range, or its training split's mean and deviation); the other ports (labels)
    hold zeros, which the eval pass's losses read and nobody looks at."""

    def __init__(self, project, training, device):
        data_node, port = picture_source(project)
        self.node = ["training", data_node.id]
        row = next(r for r in analyze(project).rows if r.graph == "training" and
                   r.node.id == data_node.id)
        self.types = dict(row.outputs)
        data = training.data
        self.names = tuple(data.names)
        self.index = self.names.index(port)
        self.channels, self.size = self.types[port].shape[0], self.types[port].shape[-1]
        self.value_range, self.mean, self.std = data.value_range, data.mean, data.std
        self.device = device

    def batch(self, file: str, pixels) -> tuple:
        try:
            image = _image_tensor(pixels.transpose(2, 0, 1)[None], self.size, self.channels,
                                  where=file)
        except ValueError as err:
            raise PredictionError(str(err), "data", self.node) from None
        if self.mean is not None:
            mean, std = (t.detach().float().cpu().view(1, -1, 1, 1) for t in (self.mean,
                                                                              self.std))
            image = (image - mean) / std
        else:
            low, high = self.value_range
            image = low + image * (high - low)
        out = []
        for name in self.names:
            if name == self.names[self.index]:
                out.append(image.to(self.device))
            else:
                kind = self.types[name]
                dtype = torch.long if kind.dtype == "long" else torch.float32
                out.append(torch.zeros((1, *kind.shape), dtype=dtype, device=self.device))
        return tuple(out)

