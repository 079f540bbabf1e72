"""The shift lesson's live measurement: how often an image classifier keeps its answer when its
held-out images move by a few pixels, and where in the network shift equivariance breaks.

Convolutions move their maps with their input; a layer that samples its map on a grid (a
strided pooling or convolution) does so only for moves by whole steps of that grid, and a
one-pixel move can change what it passes on (aliasing). So, for each layer with a spatial map,
the probe compares the map of the images moved one pixel to the right with the map of the
unmoved images moved by as much: one pixel is 1/S of a cell of a map whose cells are S pixels
apart, and between cells the expected map is interpolated linearly. The distance between the
two, relative to the map's size, is 0 for an equivariant layer and grows where sampling
aliases. Images move circularly (``torch.roll``), so nothing is lost at the edges, but the
column wrapped round makes a seam that padded layers see: the cells whose receptive field
reaches it are left out of the comparison. The moves and their directions are those of
``shift_consistency.py`` (the CLI's ``studio lab shift``), drawn once per run from a seeded
generator.

Two passes of ``Training.inspect`` per probe: the unmoved and one-pixel-moved images with
every layer's map recorded, then the images moved by each shift with only the class scores.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from studio.core.inference import analyze
from studio.core.project import upstream_of
from studio.engine.classifier_nodes import all_classifier_scores
from studio.engine.events import ShiftTest
from studio.engine.node_keys import node_key
from studio.engine.shift_consistency import DIRECTIONS, moved

SHIFTS = (1, 2, 3, 4)
IMAGES = 64  # held-out images whose answers are compared
MAPPED = 16  # of them, the ones whose maps are compared


def rolled(maps: torch.Tensor, cells: float) -> torch.Tensor:
    """``maps`` moved circularly by ``cells`` (a fraction: linear between whole cells) along
    their last dimension."""
    whole = math.floor(cells)
    part = cells - whole
    near = torch.roll(maps, shifts=whole, dims=-1)
    if part == 0:
        return near
    return (1 - part) * near + part * torch.roll(maps, shifts=whole + 1, dims=-1)


def seam_cells(field: int, stride: float) -> int:
    """The cells at each side of a map whose inputs reach across the seam of an image moved
    circularly (its last column wrapped round to the first): those within half the receptive
    field ``field`` (in pixels) of the image's edge."""
    return math.ceil((field // 2 + 1) / stride)


def shift_error(unmoved: torch.Tensor, moved_maps: torch.Tensor, stride: float,
                margin: int = 0) -> tuple:
    """How far the maps of images moved one pixel right are from the unmoved images' maps
    moved by 1 / ``stride`` cells, leaving out ``margin`` cells at the left and right (where
    the moved image's seam reaches): (the distance relative to the expected maps' size, the
    compared part of the moved maps, the expected maps)."""
    expected = rolled(unmoved.float(), 1.0 / stride)
    width = expected.shape[-1]
    margin = min(margin, max((width - 2) // 2, 0))  # keep the middle two cells at least
    expected = expected[..., margin:width - margin]
    moved_maps = moved_maps.float()[..., margin:width - margin]
    distance = torch.linalg.vector_norm(moved_maps - expected)
    size = torch.linalg.vector_norm(expected)
    return float(distance / size) if float(size) > 0 else 0.0, moved_maps, expected


def spatial_layers(project, scores_node: str) -> list:
    """(node key, the input pixels between its map's cells, its receptive field in pixels) of
    each training-graph node
    upstream of ``scores_node`` whose output is a map of channels x height x width, in the
    order the analysis walks them (the step between cells is the analysis's: the product of
    the strides on the way)."""
    upstream = upstream_of(project.training, scores_node) | {scores_node}
    found = []
    for row in analyze(project).rows:
        if row.graph != "training" or row.depth != 0 or not row.ok or len(row.outputs) != 1 \
                or not row.inputs or row.node.id not in upstream:  # data: not a layer
            continue
        (port_type,) = row.outputs.values()
        shape = tuple(port_type.shape)
        if port_type.kind != "tensor" or len(shape) != 3 or not all(
                isinstance(d, int) and d > 1 for d in shape[1:]):
            continue
        if isinstance(row.rf, tuple) and len(row.rf[1]) == 2:
            found.append((node_key(row.node.id), float(row.rf[1][-1]), int(row.rf[0][-1])))
    return found


class ShiftProbe:
    """The shift test of one run: its fixed held-out images, their moved copies, and for each
    classifier (a lesson may train two side by side) its scores and the layers whose maps are
    compared."""

    def __init__(self, training, recorder, classifiers: list, images: torch.Tensor,
                 labels: torch.Tensor):
        self.training = training
        self.recorder = recorder
        self.classifiers = classifiers  # (scores key, [(layer key, stride, field)])
        generator = torch.Generator().manual_seed(0)
        self.labels = labels
        right = torch.roll(images[:MAPPED], shifts=1, dims=-1)
        self.mapped_batch = (torch.cat([images[:MAPPED], right]),
                             torch.cat([labels[:MAPPED], labels[:MAPPED]]))
        picks = [torch.randint(len(DIRECTIONS), (len(images),), generator=generator)
                 for _ in SHIFTS]
        self.scored_batch = (torch.cat([images] + [moved(images, d, p)
                                                   for d, p in zip(SHIFTS, picks)]),
                             labels.repeat(len(SHIFTS) + 1))

    @classmethod
    def of(cls, project, training, recorder) -> ShiftProbe | None:
        """The probe for the classifiers of images of ``project`` (None when it has none)."""
        data = training.data
        classifiers = all_classifier_scores(project)
        if not classifiers or data is None:
            return None
        split = data.test if len(data.test[0]) else data.train
        images, labels = split[0][:IMAGES], split[1][:IMAGES]
        if not (torch.is_tensor(images) and images.dim() == 4 and min(images.shape[-2:]) >= 4
                and torch.is_tensor(labels) and labels.dim() == 1):
            return None
        return cls(training, recorder, [(key, spatial_layers(project, node))
                                        for key, node in classifiers], images, labels)

    def measure(self, step: int) -> list:
        """One event per classifier, for the classifiers as they are now (none whose scores
        a pass did not reach)."""
        layer_keys = tuple(layer[0] for _, layers in self.classifiers for layer in layers)
        scores_keys = tuple(key for key, _ in self.classifiers)
        _, _, _, maps = self.recorder.run(self.training.inspect, self.mapped_batch,
                                          full=layer_keys)
        _, _, _, scores = self.recorder.run(self.training.inspect, self.scored_batch,
                                            full=scores_keys)
        return [self._event(step, key, scores[key], maps, layers)
                for key, layers in self.classifiers if key in scores]

    def _event(self, step: int, scores_key: str, scores, maps: dict, layers: list) -> ShiftTest:
        answers = scores.argmax(1).reshape(len(SHIFTS) + 1, -1)
        base = answers[0]
        kept = tuple(float((answers[k + 1] == base).float().mean()) for k in range(len(SHIFTS)))
        accuracy = float((base == self.labels.to(base.device)).float().mean())
        names, strides, errors, shown = [], [], [], None
        for key, stride, field in layers:
            if key not in maps:
                continue
            error, compared, expected = shift_error(maps[key][:MAPPED], maps[key][MAPPED:],
                                                    stride, seam_cells(field, stride))
            names.append(key)
            strides.append(stride)
            errors.append(error)
            if shown is None or stride > 1 >= shown[0]:  # the first map sampled on a grid
                shown = (stride, compared[0].mean(0), expected[0].mean(0))
        pictures = [np.ascontiguousarray(m.cpu().numpy(), dtype=np.float32)
                    for m in shown[1:]] if shown is not None else [None, None]
        return ShiftTest(step, scores_key, SHIFTS, kept, accuracy, tuple(names), tuple(strides),
                         tuple(errors), *pictures)
