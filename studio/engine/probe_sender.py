"""What a run's probes measure and send (``events.py``): gradient statistics and histograms,
a watched node's output and dead units on a fixed probe batch, a classifier's predictions on
it (and, for a classifier of 2-D points, its map over a grid: ``boundary.py``), networks
fitting a function of one number as curves (``function_fit.py``), a GAN's
discriminator (``adversarial.py``), a VAE's latent code (``latent.py``), and the preview
outputs' images. When they run is ``probe_schedule.py``'s business.

Every probe that draws random numbers does so on a forked generator, so a run with probes
trains the same weights as one without.
"""

from __future__ import annotations

from pathlib import Path

import torch

from studio.core.project import predecessors, upstream_of
from studio.core.registry import Values, is_data_source, is_preview, role_of
from studio.engine.adversarial import AdversarialProbe
from studio.engine.boundary import BoundaryGrid
from studio.engine.classifier_nodes import classifier_scores
from studio.engine.events import Activations, DeadUnits, Histograms, Predictions, Preview, Stats
from studio.engine.function_fit import FunctionFitProbe
from studio.engine.latent import LatentProbe
from studio.engine.naming import identifier
from studio.engine.normalization import NormalizationProbe
from studio.engine.probes import ActivationRecorder, ParameterStats, histograms, parameter_nodes
from studio.engine.shift_probe import ShiftProbe
from studio.engine.watched_probe import WatchedNodeProbe


class ProbeSender:
    """The probes of one built run: its ``Training``, the generated code and module."""

    def __init__(self, project, code, module, training, rates, emit, watch=(),
                 samples_dir: str | None = None):
        self.project = project
        self.module = module
        self.training = training
        self.rates = rates  # shared with the runner: the "sample" command changes it
        self.emit = emit
        self.watch = set(watch)
        self.samples_dir = samples_dir
        self.groups = parameter_nodes(training, code)
        self.recorder = ActivationRecorder(code, module, project)
        self.watched = WatchedNodeProbe(project, self.groups)  # its histogram, its kernels
        self.probe_batch = self._probe_batch()
        self.scores_key = classifier_scores(project)
        self.boundary = BoundaryGrid.of(training.data, self.probe_batch) \
            if self.scores_key else None
        self.function_fit = FunctionFitProbe.of(project, training.data)  # 1-D fits, as curves
        self.preview_inputs = self._preview_inputs()  # fixed for the run: read once
        self.normalization = NormalizationProbe.of(  # BatchNorm's statistics, LayerNorm beside
            self.groups, training.inspect, self.probe_batch,
            project.training.settings["batch_size"])
        self.generative = [probe for probe in (
            AdversarialProbe.of(project, training, code, self.recorder),
            LatentProbe.of(project, training, code, self.recorder, self.probe_batch))
            if probe is not None]  # a GAN's discriminator, a VAE's latent code
        self.preview_sources = preview_sources(project)
        self.shift = ShiftProbe.of(project, training, self.recorder) \
            if rates.shift_every else None  # image classifiers' answers for moved images

    def _probe_batch(self):
        data = self.training.data
        if data is None:
            return ()
        split = data.test if len(data.test[0]) else data.train
        return tuple(t[: self.rates.probe_count or 16] for t in split)

    def _preview_inputs(self):
        """The dataset images the previews were computed from (None without image data)."""
        batch = getattr(self.training, "preview_batch", None)
        if not batch or not torch.is_tensor(batch[0]) or batch[0].dim() != 4:
            return None
        return batch[0].detach().float().cpu().numpy()

    # ------------------------------------------------------------------------------------------
    def snapshot(self):
        """The parameters before a step, for the update-to-weight ratios ``send_stats`` sends."""
        return ParameterStats.snapshot(self.groups)

    def send_stats(self, step: int, before) -> None:
        self.emit(Stats(step, ParameterStats.measure(self.groups, before)))

    def send_histograms(self, step: int) -> None:
        self.emit(Histograms(step, histograms(self.groups)))

    def send_activations(self, step: int) -> None:
        if not (self.rates.activations_every or self.watch):
            return
        full = {self.scores_key} if self.scores_key else set()
        full |= self.watched.sources(self.watch)
        with torch.random.fork_rng(devices=cuda_devices()):
            _, images, dead, whole = self.recorder.run(
                self.training.inspect, self.probe_batch, watch=self.watch,
                sample=self.rates.sample, full=full)
        for key, image in images.items():
            self.emit(Activations(step=step, node=key, **image))
        for event in self.watched.events(step, self.watch, whole):
            self.emit(event)  # the watched node's histogram over the batch, a conv's kernels
        if dead:
            self.emit(DeadUnits(step, dead))
        if self.scores_key in whole:
            self.send_predictions(step, whole[self.scores_key])
            if self.boundary is not None:
                self.send_boundary(step)
        if self.function_fit is not None:
            self.send_function_fit(step)
        if self.normalization is not None:
            with torch.random.fork_rng(devices=cuda_devices()):
                event = self.normalization.measure(step)
            if event is not None:
                self.emit(event)

    def send_predictions(self, step: int, scores: torch.Tensor) -> None:
        """The probe batch with true and predicted classes: the dashboard marks the wrong ones."""
        probabilities = torch.softmax(scores.float(), dim=1)
        confidence, predicted = probabilities.max(dim=1)
        inputs, labels = self.probe_batch[0], self.probe_batch[1]
        self.emit(Predictions(step, labels.cpu().numpy(), predicted.cpu().numpy(),
                              confidence.cpu().numpy(),
                              inputs.float().cpu().numpy() if inputs.dim() == 4 else None))

    def send_boundary(self, step: int) -> None:
        """The classifier's classes over the grid of its 2-D inputs, with its predictions."""
        with torch.random.fork_rng(devices=cuda_devices()):
            _, _, _, whole = self.recorder.run(self.training.inspect, self.boundary.batch,
                                               full=(self.scores_key,))
        if self.scores_key in whole:
            self.emit(self.boundary.event(step, whole[self.scores_key]))

    def send_function_fit(self, step: int) -> None:
        """Each network fitting a function of one number, over the grid of x (``function_fit``)."""
        probe = self.function_fit
        with torch.random.fork_rng(devices=cuda_devices()):
            _, _, _, whole = self.recorder.run(self.training.inspect, probe.batch, full=probe.keys)
        event = probe.event(step, whole)
        if event is not None:
            self.emit(event)

    def send_generative(self, step: int) -> None:
        """A GAN's discriminator (``adversarial.py``) and a VAE's latent code (``latent.py``)."""
        with torch.random.fork_rng(devices=cuda_devices()):
            for probe in self.generative:
                event = probe.measure(step)
                if event is not None:
                    self.emit(event)

    def send_shift(self, step: int) -> None:
        """The answers and maps of the classifier for moved images (``shift_probe.py``)."""
        with torch.random.fork_rng(devices=cuda_devices()):
            events = self.shift.measure(step)
        for event in events:
            self.emit(event)

    def send_previews(self, step: int | None) -> None:
        with torch.random.fork_rng(devices=cuda_devices()):
            previews = self.training.previews()
        inputs, sources = self.preview_inputs, self.preview_sources
        for name, images in previews.items():
            meta = self.module.PREVIEWS.get(name, {})
            data = images.detach().float().cpu()
            upstream = sources.get(name, [])
            shown_beside = None
            if any(is_data_source(n.block) for n in upstream) and inputs is not None and \
                    tuple(inputs.shape) == tuple(data.shape):
                shown_beside = inputs  # reconstructions are shown beside what they rebuild
            drawn = [(role_of(n.block, "drawn"), n) for n in upstream]
            classes = [d.class_rows(Values(n.params)) for d, n in drawn if d and d.class_rows]
            self.emit(Preview(step, name, data.numpy(), meta.get("value_range", (-1.0, 1.0)),
                              meta.get("nrow", 8), shown_beside,
                              int(classes[0]) if classes else None))
            if self.samples_dir:
                suffix = f"_step{step:07d}" if step is not None else ""
                self.module.save_image_grid(data, Path(self.samples_dir) /
                                            f"{name}{suffix}.png", **meta)


def preview_sources(project) -> dict:
    """For each preview output, the nodes upstream of it: a preview that reads the dataset
    shows reconstructions (sent with their inputs); one fed by Class labels has a row per
    class (sent with the class count, so the dashboard labels the rows)."""
    graph = project.training
    preds = predecessors(graph)
    return {identifier(node.title or node.id): [graph.nodes[n] for n in
                                                upstream_of(graph, node.id, preds)]
            for node in graph.nodes.values() if is_preview(node.block)}


def cuda_devices() -> list:
    return list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
