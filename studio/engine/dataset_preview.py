"""What the dataset view shows of a dataset, worked out here as plain data (numbers, text and
numpy arrays), so the editor's view draws it without importing torch.

``load`` loads the data a Dataset block describes, through the same loader call the generated
training code makes, and ``summarize`` reduces a loaded ``SplitData`` to a ``DatasetPreview``:
sizes, per-port shapes and value ranges, class counts per split, and the samples to draw
(image tiles as uint8 pixels with captions, or feature vectors for a scatter plot). torch is
imported when one of them runs, never when this module is imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STAT_SAMPLES = 2048  # the statistics come from the first samples of the training split
STREAMED_STAT_SAMPLES = 256  # read from disk: keep it short
GRID_SAMPLES = 40  # image tiles offered to the grid (it shows as many as fit)
SCATTER_SAMPLES = 4000
SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class PortFigures:
    """One port of the Dataset node: its shape, its kind and its values in the training split."""

    name: str
    shape: str  # "1 x 32 x 32", "scalar"
    kind: str  # "float32", "class index"
    stats: tuple  # min, max, mean, std (NaN when there are no samples)
    whole: bool  # class indices: shown as whole numbers


@dataclass(frozen=True)
class DatasetPreview:
    """A dataset as the view shows it; ``samples`` says how: "images", "field", "scatter" or
    "curve" (one number to one number: the points are (x, y))."""

    sizes: dict  # split -> number of samples
    classes: int
    class_names: tuple
    streamed: bool
    device: str
    ports: tuple  # PortFigures, in the order of the Dataset node's outputs
    first_port: str
    mean: tuple | None  # normalization statistics (first values), when normalized
    std: tuple | None
    value_range: tuple
    stat_count: int  # how many training samples the statistics read
    counts: dict = field(default_factory=dict)  # split -> samples per class (labelled data)
    samples: str = "images"
    pixels: np.ndarray | None = None  # (N, H, W, 3) uint8 tiles
    captions: tuple = ()
    points: np.ndarray | None = None  # (N, features) for the scatter plot
    point_labels: np.ndarray | None = None


def load(params: dict, root=None, data_dir=None, device: str = "cpu", progress=None):
    """The SplitData a Dataset block with ``params`` loads, and its preview: (split, preview)."""
    from studio.engine.library import download

    kwargs = {} if data_dir is None else {"data_dir": data_dir}
    split = download.load_dataset(params, root=root, device=device, progress=progress, **kwargs)
    return split, summarize(split)


def summarize(split) -> DatasetPreview:
    """Everything the view shows of ``split``; reads the first samples of a streamed split (a
    file that breaks while they are read raises here)."""
    sizes = {name: _length(getattr(split, name)) for name in SPLITS}
    count = min(STREAMED_STAT_SAMPLES if split.streamed else STAT_SAMPLES, sizes["train"])
    first = _first(split.train, count)
    normalized = split.mean is not None
    preview = dict(
        sizes=sizes, classes=split.classes, class_names=tuple(split.class_names),
        streamed=split.streamed, device=str(split.train[0].device),
        ports=tuple(_port(name, tensor) for name, tensor in zip(split.names, first)),
        first_port=split.names[0],
        mean=tuple(split.mean.flatten().tolist()) if normalized else None,
        std=tuple(split.std.flatten().tolist()) if normalized else None,
        value_range=tuple(split.value_range), stat_count=count,
        counts=_counts(split, sizes),
    )
    return DatasetPreview(**preview, **_samples(split))


def display_pixels(split, images) -> np.ndarray:
    """Images (N, C, H, W) as uint8 (N, H, W, 3), undoing the value mapping for display."""
    import torch

    images = images.detach().float().cpu()
    if split.mean is not None:
        shape = (1, -1, 1, 1)
        std, mean = (v.detach().cpu().reshape(shape) for v in (split.std, split.mean))
        images = images * std + mean
    else:
        lo, hi = split.value_range
        images = (images - lo) / max(hi - lo, 1e-12)
    pixels = (images.clamp(0, 1) * 255).round().to(torch.uint8)
    if pixels.shape[1] == 1:
        pixels = pixels.expand(-1, 3, -1, -1)
    return pixels.permute(0, 2, 3, 1).contiguous().numpy()


# ----------------------------------------------------------------------------------------------
def _port(name: str, tensor) -> PortFigures:
    import torch

    whole = tensor.dtype == torch.int64
    shape = " x ".join(str(d) for d in tensor.shape[1:]) or "scalar"
    kind = "class index" if whole else str(tensor.dtype).removeprefix("torch.")
    values = tensor.detach().float()
    if values.numel():
        stats = (float(values.min()), float(values.max()), float(values.mean()),
                 float(values.std()) if values.numel() > 1 else 0.0)
    else:
        stats = (float("nan"),) * 4
    return PortFigures(name, "scalar" if whole else shape, kind, stats, whole)


def _counts(split, sizes) -> dict:
    """Samples per class in each split that has any; none for unlabelled data."""
    if not split.classes or "label" not in split.names:
        return {}
    index = split.names.index("label")
    return {name: _class_counts(getattr(split, name), index, split.classes)
            for name in SPLITS if sizes[name]}


def _class_counts(part, index: int, classes: int) -> np.ndarray:
    import torch

    if hasattr(part, "loader"):  # streamed: the labels are known without reading the samples
        labels = torch.from_numpy(part.source.labels[part.positions])
    else:
        labels = part[index].detach().cpu()
    return torch.bincount(labels.long(), minlength=classes)[:classes].numpy().astype(float)


def _samples(split) -> dict:
    if split.names[0] == "image":
        return _image_grid(split)
    if split.names[0] == "coords":
        return _image_field(split)
    x, labels = (c.detach().float().cpu().numpy() for c in _first(split.train, SCATTER_SAMPLES))
    if not split.classes and x.shape[1:] == (1,) and labels.shape[1:] == (1,):  # a 1-D curve
        return {"samples": "curve", "points": np.concatenate([x, labels], 1),
                "point_labels": np.zeros(len(x))}
    return {"samples": "scatter", "points": x, "point_labels": labels}


def _image_grid(split) -> dict:
    """A seeded mix of training images with their class names."""
    count = min(GRID_SAMPLES, _length(split.train))
    order = np.random.default_rng(0).permutation(_length(split.train))[:count]
    images, labels = (column[order] for column in split.train)
    names = list(split.class_names)
    captions = tuple(names[int(k)] if int(k) < len(names) else str(int(k))
                     for k in labels.tolist())
    return {"samples": "images", "pixels": display_pixels(split, images), "captions": captions}


def _image_field(split) -> dict:
    """The fitted picture: every pixel is one sample (its colour in -1..1)."""
    pixel = split.train[1].detach().float().cpu()
    side = int(round(pixel.shape[0] ** 0.5))
    image = ((pixel.t().reshape(1, pixel.shape[1], side, side) + 1) / 2).clamp(0, 1)
    shown = type(split)((), (), ("image",), value_range=(0.0, 1.0))
    return {"samples": "field", "pixels": display_pixels(shown, image),
            "captions": (f"{side} x {side} pixels",)}


def _length(part) -> int:
    return len(part[0]) if len(part) else 0


def _first(part, count: int) -> tuple:
    """The first ``count`` samples of a split, one tensor per port (loads a streamed split's)."""
    n = min(count, _length(part))
    return tuple(column[:n] for column in part)
