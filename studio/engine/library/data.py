"""Datasets for training: built-in sets, standard sets downloaded once into a cache, the user's
files; a batcher over resident tensors or streamed files; augmentation; a PNG grid writer.

The code generator copies the source of these functions and classes into exported training
scripts, which must run with only torch and numpy installed. So: every top-level name is
self-contained except for calls to other top-level names of this module, and `DEPENDS` lists
those calls so the generator can copy what each name needs. The module-level imports below are
the ones every exported script has; a helper that needs more of the standard library (gzip,
hashlib, urllib ...) imports it inside the function, so a copied helper never depends on which
imports the script's header carries. Pillow, needed only to read image folders, is imported the
same way and is optional. Annotations naming this module's classes are strings, so the copies
work in any order.

Where data come from:
- digits, image and the bundled sets of feature vectors (`load_bundled`): files shipped with
  Studio, in `data_dir` (an export copies them to data/).
- mnist, fashion_mnist, kmnist, cifar10: downloaded on first use from the mirrors in
  `DatasetSources` (checked against its checksums) into the cache folder: the `cache_dir`
  argument, else $STUDIO_DATA_DIR, else ~/.cache/studio/datasets; one sub-folder per set.
- idx, npz/npy, csv, image folders: the user's files. A relative path resolves against `root`
  (the engine passes the project's folder), else $STUDIO_DATA_ROOT, else the current directory.

Resident or streamed: data whose float32 tensors (all splits together) take at most
`max_resident_mb` (2048 MB) live on the training device as whole tensors, and `TensorBatches`
slices batches from them without a per-sample collate (see bench/bench_data_path.py). Larger
data, or any with memory="stream", stay on disk or in host memory as a `StreamSplit`, read in
batches by a torch DataLoader with background workers. Only the loaders that can stream
(`_assemble`'s) make a `StreamableSplitData`, and only `StreamableBatches` takes a StreamSplit:
their plain bases are all that a script of resident data carries.

Bad data (a truncated or damaged file, wrong array shapes, labels out of range, an empty folder,
an image that does not decode) raise ValueError with a message naming the file.
"""

import math
import struct
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

# Top-level names each name calls directly (the generator closes this transitively).
DEPENDS: dict[str, tuple[str, ...]] = {
    "SplitData": (),
    "load_digits": ("SplitData",),
    "make_shapes": ("SplitData", "_shape_coverage", "_stripes"),
    "_shape_coverage": (),
    "_stripes": (),
    "make_toy_2d": ("SplitData",),
    "make_curve_1d": ("SplitData", "curve_values"),
    "curve_values": (),
    "load_image_field": ("SplitData",),
    "load_bundled": ("SplitData",),
    "DatasetSources": (),
    "ProgressBar": (),
    "_cache_folder": (),
    "_file_digest": (),
    "download_file": ("_file_digest",),
    "fetch_standard": ("DatasetSources", "_cache_folder", "download_file", "_extract_cifar"),
    "_extract_cifar": ("DatasetSources",),
    "read_idx": (),
    "_read_cifar": (),
    "load_standard": (
        "DatasetSources",
        "ProgressBar",
        "fetch_standard",
        "read_idx",
        "_read_cifar",
        "_check_labels",
        "ArraySource",
        "_assemble",
    ),
    "_resolve_path": (),
    "_check_labels": (),
    "_image_tensor": (),
    "_read_image": (),
    "ArraySource": ("_image_tensor",),
    "ImageFileSource": ("_read_image",),
    "load_idx": ("_resolve_path", "read_idx", "_check_labels", "ArraySource", "_assemble"),
    "load_arrays": ("_resolve_path", "_check_labels", "ArraySource", "_assemble"),
    "load_csv": ("_resolve_path", "_check_labels", "ArraySource", "_assemble"),
    "load_image_folder": ("_resolve_path", "ImageFileSource", "_assemble"),
    "_assemble": ("StreamableSplitData", "StreamSplit", "_gather"),
    "StreamableSplitData": ("SplitData",),
    "_gather": ("StreamSplit",),
    "StreamSplit": ("_StreamColumn", "_rank_rows", "_default_workers"),
    "_default_workers": (),
    "_StreamColumn": (),
    "_rank_rows": (),
    "TensorBatches": ("_rank_rows",),
    "StreamableBatches": ("TensorBatches",),
    "augment_images": (),
    "save_image_grid": ("_write_png",),
    "_write_png": (),
}


class SplitData:
    """Train, validation and test data of one dataset, resident on one device.

    Each split is a tuple with one tensor per named port, living on the device; the validation
    split is empty unless one was asked for. `class_names` names the label values.
    `value_range` is the range image pixels were mapped to; `mean` and `std` (per channel or per
    feature) are set when the data were normalized with statistics of the training split;
    `fill` is the value a black pixel has after that mapping (what augmentation pads with).
    """

    def __init__(
        self,
        train,
        test,
        names: tuple,
        classes: int = 0,
        validation=(),
        class_names=(),
        value_range=(0.0, 1.0),
        mean=None,
        std=None,
        fill=0.0,
    ):
        self.train, self.test, self.validation = (self._split(s) for s in (train, test, validation))
        self.names = tuple(names)
        self.classes = int(classes)
        self.class_names = tuple(class_names) or tuple(str(k) for k in range(self.classes))
        self.value_range = tuple(value_range)
        self.mean, self.std, self.fill = mean, std, fill

    streamed = False  # whether the splits are read from disk in batches

    @staticmethod
    def _split(part) -> tuple:  # one tensor per named port, in the order of `names`
        return tuple(part)

    def __repr__(self):
        shapes = ", ".join(f"{name}={tuple(t.shape)}" for name, t in zip(self.names, self.train))
        validation = f", validation={len(self.validation[0])}" if len(self.validation) else ""
        streamed = ", streamed" if self.streamed else ""
        return (
            f"SplitData({shapes}, train={len(self.train[0])}{validation}, test={len(self.test[0])}{streamed})"
        )


class StreamableSplitData(SplitData):
    """SplitData whose splits may be StreamSplits (streamed from disk in batches), which read
    like tuples of tensors; made by the loaders that stream data too large for the device."""

    @staticmethod
    def _split(part):
        return part if hasattr(part, "loader") else tuple(part)

    @property
    def streamed(self) -> bool:
        return hasattr(self.train, "loader")


def load_digits(data_dir, size: int = 8, value_range=(0.0, 1.0), device="cpu") -> "SplitData":
    """The 1,797 8x8 handwritten digits that scikit-learn ships, as image and label tensors.

    The held-out split is fixed so that every run (in the app or an exported script) measures
    on the same 300 images: a permutation drawn from np.random.default_rng(20261124) of all
    indices, whose first 1,497 entries are the training set and last 300 the test set.
    """
    with np.load(Path(data_dir) / "digits.npz") as archive:
        images = archive["images"]
        labels = archive["labels"]
    image = torch.from_numpy(images.astype(np.float32) / 16.0)[:, None]
    if size != 8:
        image = F.interpolate(image, size=(size, size), mode="bilinear", align_corners=False)
    low, high = value_range
    image = low + image * (high - low)
    label = torch.from_numpy(labels.astype(np.int64))
    order = torch.from_numpy(np.random.default_rng(20261124).permutation(len(label)))
    train, test = order[:-300], order[-300:]
    return SplitData(
        (image[train].to(device), label[train].to(device)),
        (image[test].to(device), label[test].to(device)),
        ("image", "label"),
        classes=10,
        value_range=(low, high),
        fill=low,
    )


def load_bundled(data_dir, file: str, classes: int, device="cpu") -> "SplitData":
    """A data set of feature vectors shipped with Studio: arrays x, y (the training split) and
    x_test, y_test (the held-out split) in `data_dir`/`file`, with fixed splits so every run
    measures on the same samples. Each is declared once, in the Dataset block's BUNDLED sets."""
    with np.load(Path(data_dir) / file) as archive:
        arrays = {k: archive[k] for k in ("x", "y", "x_test", "y_test")}

    def split(x, y):
        features = torch.from_numpy(x.astype(np.float32)).to(device)
        return features, torch.from_numpy(y.astype(np.int64)).to(device)

    return SplitData(split(arrays["x"], arrays["y"]), split(arrays["x_test"], arrays["y_test"]),
                     ("x", "label"), classes=classes)


def _stripes(rng, count: int, size: int) -> np.ndarray:
    """(count, size, size) stripes between 0 and 1, each image with a period of 2 to 3 pixels,
    an angle and a phase of its own."""
    period = rng.choice(np.array([2.0, 2.5, 3.0], dtype=np.float32), count)[:, None, None]
    theta = rng.uniform(0.0, math.pi, count).astype(np.float32)[:, None, None]
    phase = rng.uniform(0.0, 2.0 * math.pi, count).astype(np.float32)[:, None, None]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    across = xx[None] * np.cos(theta) + yy[None] * np.sin(theta)
    return (0.5 + 0.5 * np.cos(2.0 * math.pi * across / period + phase)).astype(np.float32)


def _shape_coverage(labels, radius, cx, cy, angle, size):
    """Antialiased coverage (N, size, size) of filled shapes: 0 circle, 1 square, 2 triangle, 3 cross.

    Each shape fits its circumscribed circle of `radius`, so keeping the centre `radius` from the
    border keeps the whole shape visible. Coverage comes from a signed distance d (in pixels):
    clip(0.5 - d, 0, 1) gives a one-pixel soft edge without supersampling.
    """
    grid = np.arange(size, dtype=np.float32) + 0.5
    r = radius.astype(np.float32)[:, None, None]
    dx = grid[None, None, :] - cx.astype(np.float32)[:, None, None]
    dy = grid[None, :, None] - cy.astype(np.float32)[:, None, None]
    cos = np.cos(angle).astype(np.float32)[:, None, None]
    sin = np.sin(angle).astype(np.float32)[:, None, None]
    u = dx * cos + dy * sin
    v = dy * cos - dx * sin
    au, av = np.abs(u), np.abs(v)
    circle = np.sqrt(dx * dx + dy * dy) - r
    square = np.maximum(au, av) - r * np.float32(math.sqrt(0.5))
    # Equilateral triangle: the inradius is half the circumradius; edge normals 120 degrees apart.
    half = np.float32(math.sqrt(3.0) / 2.0)
    triangle = np.maximum(np.maximum(v, half * u - 0.5 * v), -half * u - 0.5 * v) - 0.5 * r
    arm = r * np.float32(1.0 / math.sqrt(1.0 + 1.0 / 16.0))  # arm tips' corners touch the circle
    width = 0.25 * arm
    cross = np.minimum(np.maximum(au - arm, av - width), np.maximum(au - width, av - arm))
    k = labels[:, None, None]
    distance = np.where(k == 0, circle, np.where(k == 1, square, np.where(k == 2, triangle, cross)))
    return np.clip(0.5 - distance, 0.0, 1.0).astype(np.float32)


def make_shapes(
    count: int = 2000, size: int = 32, channels: int = 1, seed: int = 0, value_range=(0.0, 1.0), device="cpu",
    texture: bool = False,
) -> "SplitData":
    """Generated filled shapes of 4 classes (0 circle, 1 square, 2 triangle, 3 cross), seeded.

    A dataset of any image size, in grey (white on black) or colour (a random colour per image),
    for trying convolutional networks and generative models without a download. Shapes have
    random positions, sizes and rotations; classes are balanced; the last 20% (rounded down)
    are the test split. `texture`: each shape is filled with fine stripes (a period of 2 to 3
    pixels, at a random angle and phase) and lies on fainter stripes of another angle, with a
    little noise: only fine detail tells a shape from its background, so moving an image by
    one pixel changes much of what a strided layer samples (aliasing).
    """
    if channels not in (1, 3):
        raise ValueError(f"shapes: channels must be 1 or 3, got {channels!r}")
    if count < 1 or size < 4:
        raise ValueError(f"shapes: need count >= 1 and size >= 4, got count={count!r}, size={size!r}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % 4)
    radius = rng.uniform(0.2, 0.4, count) * size
    cx = rng.uniform(radius, size - radius)
    cy = rng.uniform(radius, size - radius)
    angle = rng.uniform(0.0, 2.0 * math.pi, count)
    colour = rng.uniform(0.35, 1.0, (count, 3)) if channels == 3 else np.ones((count, 1))
    coverage = np.empty((count, size, size), dtype=np.float32)
    step = max(1, (1 << 20) // (size * size))  # bounds the temporaries to a few MB per array
    for start in range(0, count, step):
        part = slice(start, start + step)
        coverage[part] = _shape_coverage(labels[part], radius[part], cx[part], cy[part], angle[part], size)
    if texture:
        coverage = coverage * _stripes(rng, count, size) + (1 - coverage) * 0.5 * _stripes(rng, count, size)
        coverage = np.clip(coverage + rng.normal(0.0, 0.05, coverage.shape), 0.0, 1.0).astype(np.float32)
    low, high = value_range
    image = (
        torch.from_numpy(coverage)[:, None] * torch.from_numpy(colour.astype(np.float32))[:, :, None, None]
    )
    image = low + image * (high - low)
    label = torch.from_numpy(labels.astype(np.int64))
    cut = count - count // 5
    return SplitData(
        (image[:cut].to(device), label[:cut].to(device)),
        (image[cut:].to(device), label[cut:].to(device)),
        ("image", "label"),
        classes=4,
        class_names=("circle", "square", "triangle", "cross"),
        value_range=(low, high),
        fill=low,
    )


def make_toy_2d(
    kind: str = "moons", count: int = 1000, noise: float = 0.1, classes: int = 2, seed: int = 0, device="cpu"
) -> "SplitData":
    """Two-dimensional point clouds for watching a decision boundary form.

    kinds: "moons" (two interleaved half circles), "circles" (an outer ring and an inner ring of
    half its radius), "spirals" (`classes` interleaved arms), "blobs" (`classes` Gaussian blobs
    at seeded centres). Moons and circles always have 2 classes; `classes` is used by spirals
    and blobs. `noise` is the standard deviation of Gaussian noise added to each point before the
    cloud is standardized (zero mean, unit overall scale). Classes are balanced; the last 20%
    (rounded down) are the test split.
    """
    if kind not in ("moons", "circles", "spirals", "blobs"):
        raise ValueError(f"unknown toy dataset kind {kind!r}; choose moons, circles, spirals or blobs")
    if kind in ("moons", "circles"):
        classes = 2
    if classes < 2 or count < classes:
        raise ValueError(f"{kind}: need classes >= 2 and count >= classes, got {classes!r}, {count!r}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % classes)
    if kind == "moons":
        t = rng.uniform(0.0, math.pi, count)
        outer = np.stack([np.cos(t), np.sin(t)], 1)
        inner = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], 1)
        x = np.where(labels[:, None] == 0, outer, inner)
    elif kind == "circles":
        t = rng.uniform(0.0, 2.0 * math.pi, count)
        ring = np.where(labels == 0, 1.0, 0.5)
        x = ring[:, None] * np.stack([np.cos(t), np.sin(t)], 1)
    elif kind == "spirals":
        t = np.sqrt(rng.uniform(0.0, 1.0, count))  # sqrt: even density along the widening arms
        theta = 2.0 * math.pi * labels / classes + 2.5 * math.pi * t
        x = t[:, None] * np.stack([np.cos(theta), np.sin(theta)], 1)
    else:
        # Centres in [-1, 1]^2, kept apart where the square has room for them.
        spacing = 1.5 / math.sqrt(classes)
        centres = []
        for _ in range(200 * classes):
            candidate = rng.uniform(-1.0, 1.0, 2)
            if all(np.hypot(*(candidate - c)) >= spacing for c in centres):
                centres.append(candidate)
            if len(centres) == classes:
                break
        while len(centres) < classes:
            centres.append(rng.uniform(-1.0, 1.0, 2))
        x = np.array(centres)[labels] + rng.normal(0.0, 0.15, (count, 2))
    x = x + rng.normal(0.0, noise, (count, 2))
    x = (x - x.mean(0)) / max(float(x.std()), 1e-12)
    points = torch.from_numpy(x.astype(np.float32))
    label = torch.from_numpy(labels.astype(np.int64))
    cut = count - count // 5
    return SplitData(
        (points[:cut].to(device), label[:cut].to(device)),
        (points[cut:].to(device), label[cut:].to(device)),
        ("x", "label"),
        classes=classes,
    )


def curve_values(kind: str, x):
    """The 1-D target functions on [-1, 1] (numpy in, numpy out): "sines", a sum of three
    sines (a slow swell, a faster wave, a ripple); "steps", a staircase of four flat treads
    with jumps at -0.5, 0 and 0.5; "bumps", two narrow Gaussian bumps, one up and one down,
    on a flat floor."""
    if kind == "sines":
        return 0.5 * np.sin(math.pi * x) + 0.3 * np.sin(3 * math.pi * x) + 0.15 * np.sin(7 * math.pi * x)
    if kind == "steps":
        return np.array([-0.75, 0.25, -0.25, 0.75])[np.clip(np.floor((x + 1.0) * 2.0), 0, 3).astype(np.int64)]
    if kind == "bumps":
        return 0.9 * np.exp(-(((x + 0.4) / 0.12) ** 2)) - 0.6 * np.exp(-(((x - 0.45) / 0.06) ** 2))
    raise ValueError(f"unknown 1-D function {kind!r}; choose sines, steps or bumps")


def make_curve_1d(
    kind: str = "sines", count: int = 1000, noise: float = 0.1, seed: int = 0, device="cpu",
    grid_points: int = 256,
) -> "SplitData":
    """One number to one number: ``count`` x drawn evenly at random on [-1, 1] (seeded) and
    y = f(x) plus Gaussian noise of standard deviation ``noise``, f one of ``curve_values``'
    functions; ports x (N, 1) and y (N, 1), the last 20% (rounded down) the test split. The
    noiseless function on ``grid_points`` evenly spaced x is kept as ``function`` (x, f(x)),
    for drawing what a network should have learned."""
    if count < 5:
        raise ValueError(f"{kind}: need at least 5 samples, got {count!r}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, count)
    y = curve_values(kind, x) + rng.normal(0.0, noise, count)
    xs = torch.from_numpy(x.astype(np.float32))[:, None]
    ys = torch.from_numpy(y.astype(np.float32))[:, None]
    cut = count - count // 5
    data = SplitData((xs[:cut].to(device), ys[:cut].to(device)),
                     (xs[cut:].to(device), ys[cut:].to(device)), ("x", "y"))
    grid = np.linspace(-1.0, 1.0, grid_points)
    data.function = tuple(torch.from_numpy(v.astype(np.float32))[:, None].to(device)
                          for v in (grid, curve_values(kind, grid)))
    return data


def load_image_field(
    data_dir, name: str = "siren", size: int = 64, channels: int = 3, device="cpu"
) -> "SplitData":
    """One image as a field, coordinates to pixel values, for coordinate networks such as SIREN.

    Reads Path(data_dir)/f"{name}.npz" (array "image", uint8 H x W x 3) and resizes it to
    size x size. Pixels are in row-major order (row by row, top to bottom); coords[:, 0] is x
    (the column, left -1 to right 1) and coords[:, 1] is y (the row, top -1 to bottom 1).
    pixel is (size*size, channels) in [-1, 1]; channels 1 is the luminance. The test split is
    the training split itself: the task is fitting one signal, not generalizing.
    """
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"image field: name must be letters, digits, '_' or '-', got {name!r}")
    if channels not in (1, 3):
        raise ValueError(f"image field: channels must be 1 or 3, got {channels!r}")
    with np.load(Path(data_dir) / f"{name}.npz") as archive:
        image = archive["image"]
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    rgb = torch.from_numpy(image[:, :, :3].astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    if tuple(rgb.shape[-2:]) != (size, size):
        rgb = F.interpolate(rgb, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    if channels == 1:
        rgb = 0.299 * rgb[:, 0:1] + 0.587 * rgb[:, 1:2] + 0.114 * rgb[:, 2:3]
    pixel = (rgb.clamp(0.0, 1.0) * 2.0 - 1.0)[0].permute(1, 2, 0).reshape(size * size, channels)
    axis = torch.linspace(-1.0, 1.0, size)
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    coords = torch.stack([x.reshape(-1), y.reshape(-1)], 1)
    tensors = (coords.to(device), pixel.contiguous().to(device))
    return SplitData(tensors, tensors, ("coords", "pixel"), classes=0)


# ---------------------------------------------------------------- standard sets: download and cache


class DatasetSources:
    """Where the standard datasets come from: mirrors (tried in order), files, checksums.

    These are constants of the library and never come from a project file. A checksum is
    "sha256:<hex>", or "md5:<hex>" where the publisher gives only an MD5 sum (Fashion-MNIST,
    CIFAR-10; KMNIST's is the one torchvision checks). The MNIST files are the originals,
    re-hosted by the mirrors. Tests point MIRRORS at a server of their own.
    """

    MIRRORS = {
        "mnist": (
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        "fashion_mnist": (
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        ),
        "kmnist": (
            "https://codh.rois.ac.jp/kmnist/dataset/kmnist/",
            "http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
        ),
        "cifar10": ("https://www.cs.toronto.edu/~kriz/",),
    }
    FILES = {
        "mnist": {
            "train-images-idx3-ubyte.gz": "sha256:440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",  # noqa: E501
            "train-labels-idx1-ubyte.gz": "sha256:3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",  # noqa: E501
            "t10k-images-idx3-ubyte.gz": "sha256:8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",  # noqa: E501
            "t10k-labels-idx1-ubyte.gz": "sha256:f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",  # noqa: E501
        },
        "fashion_mnist": {
            "train-images-idx3-ubyte.gz": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "md5:25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "md5:bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "md5:bb300cfdad3c16e7a12a480ee83cd310",
        },
        "kmnist": {
            "train-images-idx3-ubyte.gz": "md5:bdb82020997e1d708af4cf47b453dcf7",
            "train-labels-idx1-ubyte.gz": "md5:e144d726b3acfaa3e44228e80efcd344",
            "t10k-images-idx3-ubyte.gz": "md5:5c965bf0a639b31b8f53240b1b52f4d7",
            "t10k-labels-idx1-ubyte.gz": "md5:7320c461ea6c1c855c0b718fb2a4b134",
        },
        # the binary version (fixed-size records), never the pickled one
        "cifar10": {"cifar-10-binary.tar.gz": "md5:c32a1d4ab5d03f1284b67883e8d87530"},
    }
    CIFAR_BATCHES = tuple(f"data_batch_{k}.bin" for k in range(1, 6)) + ("test_batch.bin",)
    CLASS_NAMES = {
        "mnist": tuple(str(k) for k in range(10)),
        "fashion_mnist": (
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        "kmnist": ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        "cifar10": (
            "airplane",
            "automobile",
            "bird",
            "cat",
            "deer",
            "dog",
            "frog",
            "horse",
            "ship",
            "truck",
        ),
    }


class ProgressBar:
    """Download progress as a text bar on stderr, `progress(label, done_bytes, total_bytes)`.

    On a terminal the bar is redrawn in place at every percent; in a log, one line every 25%.
    """

    def __init__(self, stream=None, width: int = 30):
        self.stream = stream
        self.width = int(width)
        self.shown = None

    def __call__(self, label, done, total):
        import sys

        stream = self.stream or sys.stderr
        tty = hasattr(stream, "isatty") and stream.isatty()
        if total:
            percent = min(100, int(done * 100 // total))
            step = percent if tty else percent // 25 * 25
            if (label, step) == self.shown:
                return
            self.shown = (label, step)
            bar = "#" * (percent * self.width // 100)
            text = f"{label} [{bar:<{self.width}}] {percent:3d}% of {total / 1e6:.1f} MB"
        else:
            megabytes = int(done // 1_000_000)
            if (label, megabytes) == self.shown:
                return
            self.shown = (label, megabytes)
            text = f"{label}: {megabytes} MB"
        finished = bool(total) and done >= total
        if tty:
            stream.write("\r" + text + ("\n" if finished else ""))
        else:
            stream.write(text + "\n")
        stream.flush()


def _cache_folder(cache_dir=None) -> Path:
    """The folder standard datasets are kept in: `cache_dir`, else $STUDIO_DATA_DIR, else
    ~/.cache/studio/datasets."""
    import os

    folder = cache_dir or os.environ.get("STUDIO_DATA_DIR") or Path.home() / ".cache" / "studio" / "datasets"
    return Path(os.path.expanduser(str(folder)))


def _file_digest(path, algorithm: str) -> str:
    """Hex digest of a file ("sha256" or "md5"), read in 1 MB blocks."""
    import hashlib

    digest = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_file(
    urls, target, checksum: str, progress=None, attempts: int = 3, timeout: float = 30.0
) -> Path:
    """Download one file to `target`, trying each URL in turn, and check it against `checksum`.

    The bytes go to `target` + ".partial", which is renamed over `target` only once its checksum
    ("sha256:<hex>" or "md5:<hex>") matches: `target` is either absent or complete. An
    interrupted transfer resumes where it stopped (an HTTP Range request) when the server allows
    it and starts over when it does not; a checksum mismatch discards the partial file and
    starts over. Each URL gets `attempts` tries. `progress(label, done, total)` is called as
    bytes arrive (total is None when the server does not say). When every try fails, OSError
    says what failed and where to place the file by hand.
    """
    import http.client
    import os
    import urllib.error
    import urllib.request

    target = Path(target)
    if target.exists():
        return target
    algorithm, _, expected = checksum.partition(":")
    if algorithm not in ("sha256", "md5") or not expected:
        raise ValueError(f"checksum must be 'sha256:<hex>' or 'md5:<hex>', got {checksum!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    failures = []
    for url in urls:
        for _ in range(max(1, int(attempts))):
            have = partial.stat().st_size if partial.exists() else 0
            headers = {"User-Agent": "Studio dataset download"}
            if have:
                headers["Range"] = f"bytes={have}-"
            try:
                with urllib.request.urlopen(
                    urllib.request.Request(url, headers=headers), timeout=timeout
                ) as response:
                    if have and response.status != 206:
                        have = 0  # the server sent the whole file: start over
                    length = response.headers.get("Content-Length")
                    total = have + int(length) if length is not None else None
                    done = have
                    with open(partial, "ab" if have else "wb") as out:
                        while True:
                            block = response.read(1 << 16)
                            if not block:
                                break
                            out.write(block)
                            done += len(block)
                            if progress is not None:
                                progress(target.name, done, total)
                    if total is not None and done < total:
                        raise OSError(f"the connection closed after {done:,} of {total:,} bytes")
            except urllib.error.HTTPError as err:
                if err.code != 416 or not have:  # 416: nothing after `have`, the partial file is whole
                    failures.append(f"{url}: HTTP {err.code} {err.reason}")
                    if 400 <= err.code < 500 and err.code not in (408, 429):
                        break  # this URL will not work: try the next one
                    continue
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
                reason = getattr(err, "reason", None) or err
                failures.append(f"{url}: {type(err).__name__}: {reason}")
                if partial.exists() and partial.stat().st_size > have:
                    continue  # bytes came: the next try resumes from there
                break  # no connection (offline, refused, timed out): try the next URL
            digest = _file_digest(partial, algorithm)
            if digest == expected:
                os.replace(partial, target)
                return target
            partial.unlink()
            failures.append(f"{url}: the file's {algorithm} is {digest}, expected {expected}")
    tried = "; ".join(failures[-3:]) or "no URL to try"
    raise OSError(
        f"could not download {target.name} ({tried}). If this computer is offline, download "
        f"{urls[0] if urls else target.name} on another one and place it at {target} (the cache "
        f"folder {target.parent}; set STUDIO_DATA_DIR to use another folder)"
    )


def _extract_cifar(archive, folder) -> None:
    """Take CIFAR-10's six batch files out of its binary archive into `folder`, by name only.

    Only the expected members are read (never extractall), each must be a regular file of whole
    3,073-byte records, and each is written beside its target and renamed into place.
    """
    import os
    import tarfile

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for name in DatasetSources.CIFAR_BATCHES:
                try:
                    member = tar.getmember(f"cifar-10-batches-bin/{name}")
                except KeyError:
                    raise ValueError(
                        f"{archive}: has no cifar-10-batches-bin/{name}; is it the binary version "
                        f"of CIFAR-10 (cifar-10-binary.tar.gz)?"
                    ) from None
                if not member.isfile() or member.size == 0 or member.size % 3073:
                    raise ValueError(f"{archive}: {member.name} is not a file of 3,073-byte records")
                payload = tar.extractfile(member).read()
                partial = folder / (name + ".partial")
                partial.write_bytes(payload)
                os.replace(partial, folder / name)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise ValueError(
            f"{archive}: damaged archive ({type(err).__name__}: {err}); delete it to download again"
        ) from None


def fetch_standard(name: str, cache_dir=None, progress=None) -> Path:
    """The cache folder of a standard dataset, downloading (and checking) what it lacks.

    MNIST-like sets keep their four .gz files; CIFAR-10 keeps the six batch files of its binary
    archive, which is deleted once they are out. Files placed in the folder by hand are used as
    they are.
    """
    if name not in DatasetSources.FILES:
        raise ValueError(f"unknown standard dataset {name!r}; choose {', '.join(DatasetSources.FILES)}")
    folder = _cache_folder(cache_dir) / name
    if name == "cifar10" and all((folder / b).exists() for b in DatasetSources.CIFAR_BATCHES):
        return folder
    for file, checksum in DatasetSources.FILES[name].items():
        urls = [mirror + file for mirror in DatasetSources.MIRRORS[name]]
        download_file(urls, folder / file, checksum, progress=progress)
    if name == "cifar10":
        archive = folder / "cifar-10-binary.tar.gz"
        _extract_cifar(archive, folder)
        archive.unlink()
    return folder


def read_idx(path, mmap: bool = False) -> np.ndarray:
    """The array in an IDX file (the format of MNIST), gzip-compressed or not.

    The header (two zero bytes, a type code, the number of dimensions, then each size as a
    big-endian uint32) must promise exactly the bytes that follow. `mmap` maps an uncompressed
    file instead of reading it. Errors name the file.
    """
    import gzip

    path = Path(path)
    types = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    with open(path, "rb") as stream:
        compressed = stream.read(2) == b"\x1f\x8b"
    raw = None
    if compressed:
        try:
            with gzip.open(path, "rb") as stream:
                raw = stream.read()
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(
                f"{path}: damaged gzip data ({err}); the file is truncated or not gzip"
            ) from None
        head = raw[:1024]
        size = len(raw)
    else:
        with open(path, "rb") as stream:
            head = stream.read(1024)
        size = path.stat().st_size
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in types or not 1 <= head[3] <= 8:
        raise ValueError(
            f"{path}: not an IDX file (it starts with {head[:4].hex(' ')}; an IDX file starts with "
            "00 00, a type code and a dimension count)"
        )
    ndim = head[3]
    offset = 4 + 4 * ndim
    if len(head) < offset:
        raise ValueError(f"{path}: truncated IDX file: the header ends early")
    dims = struct.unpack(">" + "I" * ndim, head[4:offset])
    dtype = np.dtype(types[head[2]])
    expected = math.prod(dims) * dtype.itemsize
    available = size - offset
    if available != expected:
        what = "truncated IDX file" if available < expected else "not a valid IDX file"
        raise ValueError(
            f"{path}: {what}: the header promises {' x '.join(map(str, dims))} values "
            f"({expected:,} bytes) but {available:,} bytes follow"
        )
    if mmap and not compressed:
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=dims)
    if raw is None:
        raw = path.read_bytes()
    array = np.frombuffer(raw, dtype=dtype, count=math.prod(dims), offset=offset).reshape(dims)
    return array.astype(dtype.newbyteorder("=")) if dtype.itemsize > 1 else array


def _read_cifar(files) -> tuple:
    """Images (N, 3, 32, 32) uint8 and labels (N,) of CIFAR-10 binary batch files: records of one
    label byte and 3,072 pixel bytes (the red plane, then green, then blue, row by row)."""
    images, labels = [], []
    for path in files:
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size == 0 or raw.size % 3073:
            raise ValueError(
                f"{path}: {raw.size:,} bytes is not a whole number of 3,073-byte CIFAR-10 records"
            )
        records = raw.reshape(-1, 3073)
        labels.append(records[:, 0].astype(np.int64))
        images.append(records[:, 1:].reshape(-1, 3, 32, 32))
    return np.concatenate(images), np.concatenate(labels)


def load_standard(
    name: str,
    cache_dir=None,
    size: int | None = None,
    channels: int | None = None,
    value_range=(0.0, 1.0),
    normalize: bool = False,
    val_fraction: float = 0.0,
    seed: int = 0,
    memory: str = "auto",
    progress=True,
    workers: int | None = None,
    device="cpu",
) -> "SplitData":
    """A standard dataset (mnist, fashion_mnist, kmnist, cifar10) with its official test split.

    Downloaded on first use into the cache folder (see `fetch_standard`; `progress` True prints a
    bar on stderr, or pass a callable `progress(label, done, total)`). Images are resized to
    `size` and converted to `channels` (grey: the luminance; colour: the grey value three
    times); the defaults keep them as published (28 x 28 grey, CIFAR-10 32 x 32 colour). A
    validation split of `val_fraction` of the training images is drawn with `seed`.
    """
    if name not in DatasetSources.FILES:
        raise ValueError(f"unknown standard dataset {name!r}; choose {', '.join(DatasetSources.FILES)}")
    report = ProgressBar() if progress is True else progress or None
    folder = fetch_standard(name, cache_dir, progress=report)
    if name == "cifar10":
        train_x, train_y = _read_cifar([folder / b for b in DatasetSources.CIFAR_BATCHES[:5]])
        test_x, test_y = _read_cifar([folder / DatasetSources.CIFAR_BATCHES[5]])
        where = (folder, folder)
    else:
        arrays = []
        for split in ("train", "t10k"):
            images = folder / f"{split}-images-idx3-ubyte.gz"
            labels = folder / f"{split}-labels-idx1-ubyte.gz"
            x, y = read_idx(images), read_idx(labels)
            if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
                raise ValueError(
                    f"{images}: expected N images and N labels, got images {x.shape} and labels {y.shape} "
                    f"in {labels.name}"
                )
            arrays += [x, y]
        train_x, train_y, test_x, test_y = arrays
        where = (folder / "train-labels-idx1-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz")
    native = 3 if name == "cifar10" else 1
    size = size or train_x.shape[-1]
    channels = channels or native
    train = ArraySource(train_x, _check_labels(train_y, 10, where[0]), size, channels, folder)
    test = ArraySource(test_x, _check_labels(test_y, 10, where[1]), size, channels, folder)
    return _assemble(
        train,
        test,
        ("image", "label"),
        10,
        DatasetSources.CLASS_NAMES[name],
        value_range,
        normalize,
        val_fraction,
        0.0,
        seed,
        memory,
        workers,
        device,
    )


# ---------------------------------------------------------------- the user's files


def _resolve_path(path, root=None) -> Path:
    """`path` as an existing file or folder: `~` expanded; a relative path resolves against
    `root`, else $STUDIO_DATA_ROOT, else the current directory."""
    import os

    if not path:
        raise ValueError("no path given: set the Dataset's path to the file or folder to load")
    resolved = Path(os.path.expanduser(str(path)))
    base = None
    if not resolved.is_absolute():
        base = Path(root or os.environ.get("STUDIO_DATA_ROOT") or os.getcwd())
        resolved = base / resolved
    if not resolved.exists():
        rule = f" (a relative path resolves against {base})" if base is not None else ""
        raise FileNotFoundError(f"{resolved}: no such file or folder{rule}")
    return resolved


def _check_labels(labels, classes: int, where) -> np.ndarray:
    """Labels as int64 (N,), each in 0..classes-1; the error names the file and the first bad one."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(
            f"{where}: labels must be one number per sample, got an array of shape {labels.shape}"
        )
    if labels.dtype.kind == "f":
        whole = np.isfinite(labels) & (labels == np.round(labels))
        if not whole.all():
            index = int(np.argmin(whole))
            raise ValueError(
                f"{where}: label {float(labels[index]):g} of sample {index} is not a class number"
            )
    elif labels.dtype.kind not in "iub":
        raise ValueError(f"{where}: labels must be class numbers, got {labels.dtype} values")
    outside = (labels < 0) | (labels >= classes)
    if outside.any():
        index = int(np.argmax(outside))
        raise ValueError(
            f"{where}: label {float(labels[index]):g} of sample {index} is outside 0..{classes - 1} "
            f"(the Dataset has classes={classes}; raise it, or fix the labels)"
        )
    return labels.astype(np.int64)


def _image_tensor(x, size: int, channels: int, where="") -> torch.Tensor:
    """Images as float32 (N, channels, size, size) in 0..1.

    `x`: (N, H, W), (N, H, W, C) or (N, C, H, W) with C 1, 3 or 4 (alpha is dropped); uint8 or
    other whole numbers 0..255, or floats in 0..1. Grey becomes colour by repeating it, colour
    becomes grey by its luminance (0.299 R + 0.587 G + 0.114 B); other sizes are resized
    bilinearly (antialiased when shrinking), to a square.
    """
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
        x = x.transpose(0, 3, 1, 2)
    elif x.ndim != 4 or x.shape[1] not in (1, 3, 4):
        raise ValueError(
            f"{where}: images must be (N, H, W), (N, H, W, C) or (N, C, H, W) with 1, 3 or 4 channels, "
            f"got an array of shape {x.shape}"
        )
    if x.dtype == np.uint8:
        images = torch.from_numpy(np.ascontiguousarray(x)).float().div_(255.0)
    elif x.dtype.kind in "iub":
        if x.size and (x.min() < 0 or x.max() > 255):
            raise ValueError(f"{where}: whole-number pixels must be 0..255, found {x.min()}..{x.max()}")
        images = torch.from_numpy(x.astype(np.float32)).div_(255.0)
    elif x.dtype.kind == "f":
        images = torch.from_numpy(x.astype(np.float32))
        if images.numel() and not (
            bool(images.isfinite().all()) and images.min() >= -1e-3 and images.max() <= 1 + 1e-3
        ):
            raise ValueError(
                f"{where}: float pixels must be in 0..1, found {float(images.min()):g}.."
                f"{float(images.max()):g} (save uint8 0..255, or divide by 255)"
            )
    else:
        raise ValueError(f"{where}: images must hold numbers, got {x.dtype}")
    if images.shape[1] == 4:
        images = images[:, :3]
    if images.shape[1] != channels:
        if channels == 1:
            grey = 0.299 * images[:, 0:1] + 0.587 * images[:, 1:2] + 0.114 * images[:, 2:3]
            images = grey.clamp_(0.0, 1.0)
        else:
            images = images.expand(-1, 3, -1, -1)
    if tuple(images.shape[-2:]) != (size, size) and len(images):
        shrinking = images.shape[-2] > size or images.shape[-1] > size
        images = F.interpolate(
            images, size=(size, size), mode="bilinear", align_corners=False, antialias=shrinking
        ).clamp_(0.0, 1.0)
    elif x.dtype.kind == "f":
        images = images.clamp(0.0, 1.0)  # within the tolerance checked above; exactly 0..1 now
    return images.contiguous()


def _read_image(path, size: int, channels: int) -> np.ndarray:
    """One image file as uint8 (size, size, channels), via Pillow; the error names the file."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            "reading an image folder needs Pillow (pip install pillow); the rest of Studio's exported "
            "code needs only torch and numpy"
        ) from None
    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            if image.size != (size, size):
                image = image.resize((size, size), Image.BILINEAR)
            pixels = np.asarray(image, dtype=np.uint8)
    except Exception as err:  # noqa: BLE001 - any decoder failure is this file's fault
        raise ValueError(f"{path}: not a readable image ({type(err).__name__}: {err})") from None
    return pixels.reshape(size, size, channels)


class ArraySource:
    """Samples of arrays in memory or memory-mapped: images prepared as (channels, size, size) in
    0..1 (when `size` is set), or feature vectors as float32. `source[positions]` gives one batch
    (x, labels) of CPU tensors; a DataLoader reads it in worker processes when streaming."""

    decodes = False  # reading is slicing: no worker processes for a one-time load

    def __init__(self, x, labels, size: int = 0, channels: int = 0, where=""):
        self.x, self.labels = x, np.asarray(labels, dtype=np.int64)
        self.size, self.channels, self.where = int(size), int(channels), str(where)
        self.sample_shape = (self.channels, self.size, self.size) if self.size else tuple(x.shape[1:])

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, positions):
        positions = np.asarray(positions, dtype=np.int64)
        labels = torch.from_numpy(self.labels[positions])
        if self.size:
            return _image_tensor(self.x[positions], self.size, self.channels, self.where), labels
        return torch.from_numpy(np.asarray(self.x[positions], dtype=np.float32)), labels


class ImageFileSource:
    """Samples of image files, decoded (Pillow), resized and converted when read: `source[positions]`
    gives one batch (images (B, channels, size, size) in 0..1, labels) of CPU tensors."""

    decodes = True  # decoding is slow: worth worker processes even for a one-time load

    def __init__(self, paths, labels, size: int, channels: int):
        self.paths = [str(p) for p in paths]
        self.labels = np.asarray(labels, dtype=np.int64)
        self.size, self.channels = int(size), int(channels)
        self.sample_shape = (self.channels, self.size, self.size)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, positions):
        positions = np.asarray(positions, dtype=np.int64)
        pixels = (
            np.stack([_read_image(self.paths[k], self.size, self.channels) for k in positions])
            if len(positions)
            else np.zeros((0, self.size, self.size, self.channels), dtype=np.uint8)
        )
        images = torch.from_numpy(pixels).permute(0, 3, 1, 2).float().div_(255.0).contiguous()
        return images, torch.from_numpy(self.labels[positions])


def load_idx(
    path,
    root=None,
    size: int = 28,
    channels: int = 1,
    classes: int = 10,
    value_range=(0.0, 1.0),
    normalize: bool = False,
    val_fraction: float = 0.0,
    test_fraction: float = 0.2,
    seed: int = 0,
    memory: str = "auto",
    workers: int | None = None,
    device="cpu",
) -> "SplitData":
    """Images and labels in IDX files (MNIST's format), gzip-compressed or not.

    `path` is a folder holding a training pair (names containing "train" and "images" or
    "labels", such as train-images-idx3-ubyte.gz) and optionally a test pair ("t10k" or "test"
    in the name), or one images file whose labels file has the same name with "labels" for
    "images" (and "idx1" for "idx3"). Without a test pair, `test_fraction` of the samples are
    held out, drawn with `seed`. Uncompressed files are memory-mapped, so large ones can stream.
    """
    path = _resolve_path(path, root)
    pairs = {}
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.endswith(".partial"))
        for split, marks in (("train", ("train",)), ("test", ("t10k", "test"))):
            images = [
                p for p in files if "images" in p.name.lower() and any(m in p.name.lower() for m in marks)
            ]
            labels = [
                p for p in files if "labels" in p.name.lower() and any(m in p.name.lower() for m in marks)
            ]
            if len(images) > 1 or len(labels) > 1:
                raise ValueError(
                    f"{path}: several {split} IDX files ({', '.join(p.name for p in images + labels)}); "
                    "keep one pair"
                )
            if images and labels:
                pairs[split] = (images[0], labels[0])
            elif images or labels:
                raise ValueError(
                    f"{path}: {(images or labels)[0].name} has no matching "
                    f"{'labels' if images else 'images'} file"
                )
        if "train" not in pairs:
            raise ValueError(
                f"{path}: no IDX training files (names containing 'train' and 'images' or 'labels', "
                "such as train-images-idx3-ubyte.gz)"
            )
    else:
        labels = path.with_name(path.name.replace("images", "labels").replace("idx3", "idx1"))
        if labels == path or not labels.exists():
            raise ValueError(f"{path}: no labels file beside it (expected {labels.name})")
        pairs["train"] = (path, labels)
    sources = {}
    for split, (images_file, labels_file) in pairs.items():
        x, y = read_idx(images_file, mmap=True), read_idx(labels_file)
        if x.ndim not in (3, 4):
            raise ValueError(f"{images_file}: expected images (N, H, W) or (N, H, W, C), got shape {x.shape}")
        if len(y) != len(x):
            raise ValueError(f"{labels_file}: {len(y):,} labels for {len(x):,} images in {images_file.name}")
        sources[split] = ArraySource(x, _check_labels(y, classes, labels_file), size, channels, images_file)
    return _assemble(
        sources["train"],
        sources.get("test"),
        ("image", "label"),
        classes,
        (),
        value_range,
        normalize,
        val_fraction,
        test_fraction,
        seed,
        memory,
        workers,
        device,
    )


def load_arrays(
    path,
    root=None,
    features: int = 0,
    size: int = 28,
    channels: int = 1,
    classes: int = 10,
    value_range=(0.0, 1.0),
    normalize: bool = False,
    val_fraction: float = 0.0,
    test_fraction: float = 0.2,
    seed: int = 0,
    memory: str = "auto",
    workers: int | None = None,
    device="cpu",
) -> "SplitData":
    """Samples x and labels y from NumPy files: an .npz archive with arrays "x" and "y" (and
    optionally "x_test", "y_test"), or a folder (or its x.npy) holding x.npy and y.npy (and
    optionally x_test.npy, y_test.npy; these are memory-mapped, so large ones can stream).

    `features` 0: x holds images, (N, H, W), (N, H, W, C) or (N, C, H, W); otherwise x holds
    feature vectors (N, features). Never unpickles: object arrays are refused.
    """
    path = _resolve_path(path, root)
    keys = ("x", "y", "x_test", "y_test")
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                found = tuple(archive.files)
                arrays = {k: archive[k] for k in keys if k in found}
        else:
            folder = path if path.is_dir() else path.parent
            found = tuple(k for k in keys if (folder / f"{k}.npy").exists())
            arrays = {k: np.load(folder / f"{k}.npy", mmap_mode="r", allow_pickle=False) for k in found}
    except (OSError, EOFError, ValueError, zlib.error) as err:  # object arrays: ValueError, never unpickled
        raise ValueError(f"{path}: not a readable NumPy file ({type(err).__name__}: {err})") from None
    if "x" not in arrays or "y" not in arrays:
        raise ValueError(
            f"{path}: holds arrays {', '.join(found) or 'none'}; expected x (the samples) and y (the labels)"
        )
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise ValueError(f"{path}: has one of x_test and y_test but not the other")
    sources = {}
    for split, xk, yk in (("train", "x", "y"), ("test", "x_test", "y_test")):
        if xk not in arrays:
            continue
        x, y = arrays[xk], arrays[yk]
        where = f"{path} ({xk})"
        if x.ndim == 0 or len(x) != len(y):
            raise ValueError(f"{where}: {len(y) if y.ndim else 0:,} labels in {yk} for x of shape {x.shape}")
        if features:
            if x.ndim != 2 or x.shape[1] != features:
                raise ValueError(
                    f"{where}: expected feature vectors (N, {features}) (the Dataset's features), "
                    f"got shape {x.shape}"
                )
            if x.dtype.kind not in "iubf":
                raise ValueError(f"{where}: features must be numbers, got {x.dtype}")
            source = ArraySource(x, _check_labels(y, classes, f"{path} ({yk})"))
        else:
            if x.ndim not in (3, 4):
                raise ValueError(
                    f"{where}: expected images (N, H, W), (N, H, W, C) or (N, C, H, W), got shape {x.shape}; "
                    "for feature vectors set the Dataset's features"
                )
            source = ArraySource(x, _check_labels(y, classes, f"{path} ({yk})"), size, channels, where)
        sources[split] = source
    names = ("x", "label") if features else ("image", "label")
    return _assemble(
        sources["train"],
        sources.get("test"),
        names,
        classes,
        (),
        value_range,
        normalize,
        val_fraction,
        test_fraction,
        seed,
        memory,
        workers,
        device,
    )


def load_csv(
    path,
    root=None,
    label_column=None,
    features: int = 2,
    classes: int = 2,
    normalize: bool = False,
    val_fraction: float = 0.0,
    test_fraction: float = 0.2,
    seed: int = 0,
    memory: str = "auto",
    workers: int | None = None,
    device="cpu",
) -> "SplitData":
    """Feature vectors and labels from a CSV file: one sample per row, numbers in every column
    but the label's. The label column is the one named `label_column` (the first row must then be
    a header), else the last. Labels are class numbers 0..classes-1, or names, numbered in sorted
    order. A first row that is not all numbers is taken as a header. `test_fraction` of the rows
    are held out, drawn with `seed`.
    """
    import csv

    path = _resolve_path(path, root)
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            rows = [row for row in csv.reader(stream) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ValueError(f"{path}: not a readable CSV file ({type(err).__name__}: {err})") from None
    if not rows:
        raise ValueError(f"{path}: the file is empty")

    def number(text):
        try:
            return float(text)
        except ValueError:
            return None

    header = None
    if any(number(cell) is None for cell in rows[0]):
        header, rows = [cell.strip() for cell in rows[0]], rows[1:]
    if not rows:
        raise ValueError(f"{path}: a header and no data rows")
    width = len(header or rows[0])
    if label_column is not None:
        if header is None:
            raise ValueError(
                f"{path}: label column {label_column!r} is asked for, but the file has no header row"
            )
        if label_column not in header:
            raise ValueError(
                f"{path}: no column named {label_column!r} (the columns are {', '.join(header)})"
            )
        label_at = header.index(label_column)
    else:
        label_at = width - 1
    if width - 1 != features:
        raise ValueError(
            f"{path}: {width - 1} feature columns besides the label, but the Dataset's features is {features}"
        )
    x = np.empty((len(rows), features), dtype=np.float32)
    names = []
    first_line = 2 if header else 1
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"{path}, line {i + first_line}: {len(row)} values, expected {width}")
        values = [number(cell) for k, cell in enumerate(row) if k != label_at]
        if None in values:
            column = [k for k in range(width) if k != label_at][values.index(None)]
            name = header[column] if header else f"column {column + 1}"
            raise ValueError(f"{path}, line {i + first_line}, {name}: {row[column]!r} is not a number")
        x[i] = values
        names.append(row[label_at].strip())
    if not np.isfinite(x).all():
        line = int(np.argmin(np.isfinite(x).all(1))) + first_line
        raise ValueError(f"{path}, line {line}: features must be finite numbers")
    numeric = [number(n) for n in names]
    if None in numeric:
        class_names = sorted(set(names))
        if len(class_names) > classes:
            raise ValueError(
                f"{path}: {len(class_names)} label names ({', '.join(class_names[:12])}) but the Dataset has "
                f"classes={classes}"
            )
        lookup = {n: k for k, n in enumerate(class_names)}
        labels = np.array([lookup[n] for n in names], dtype=np.int64)
    else:
        class_names = ()
        labels = _check_labels(np.array(numeric), classes, path)
    return _assemble(
        ArraySource(x, labels),
        None,
        ("x", "label"),
        classes,
        class_names,
        (0.0, 1.0),
        normalize,
        val_fraction,
        test_fraction,
        seed,
        memory,
        workers,
        device,
    )


def load_image_folder(
    path,
    root=None,
    size: int = 32,
    channels: int = 3,
    classes: int = 10,
    value_range=(0.0, 1.0),
    normalize: bool = False,
    val_fraction: float = 0.0,
    test_fraction: float = 0.2,
    seed: int = 0,
    memory: str = "auto",
    workers: int | None = None,
    device="cpu",
) -> "SplitData":
    """Images in a folder with one sub-folder per class (the class names, numbered in sorted
    order), or with "train" and "test" folders laid out that way. PNG, JPEG, BMP, GIF and WebP
    files are read with Pillow, converted to `channels` and resized to size x size (to a square).
    Without a test folder, `test_fraction` of the images are held out, drawn with `seed`.
    """
    path = _resolve_path(path, root)
    if not path.is_dir():
        raise ValueError(f"{path}: expected a folder with one sub-folder of images per class")
    suffixes = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}

    def scan(folder):
        class_folders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not class_folders:
            raise ValueError(f"{folder}: no class folders (expected one sub-folder of images per class)")
        if len(class_folders) != classes:
            raise ValueError(
                f"{folder}: {len(class_folders)} class folders "
                f"({', '.join(p.name for p in class_folders[:12])}) but the Dataset has classes={classes}"
            )
        paths, labels = [], []
        for label, class_folder in enumerate(class_folders):
            images = sorted(
                p for p in class_folder.rglob("*") if p.suffix.lower() in suffixes and p.is_file()
            )
            if not images:
                raise ValueError(f"{class_folder}: no images (.png, .jpg, .jpeg, .bmp, .gif, .webp)")
            paths += images
            labels += [label] * len(images)
        return [p.name for p in class_folders], ImageFileSource(paths, labels, size, channels)

    split_folders = {p.name.lower(): p for p in path.iterdir() if p.is_dir()}
    if {"train", "test"} <= set(split_folders) and len(split_folders) == 2:
        class_names, train = scan(split_folders["train"])
        test_names, test = scan(split_folders["test"])
        if test_names != class_names:
            raise ValueError(
                f"{split_folders['test']}: class folders {test_names} differ from train's {class_names}"
            )
    else:
        (class_names, train), test = scan(path), None
    return _assemble(
        train,
        test,
        ("image", "label"),
        classes,
        class_names,
        value_range,
        normalize,
        val_fraction,
        test_fraction,
        seed,
        memory,
        workers,
        device,
    )


# ---------------------------------------------------------------- splits, normalization, resident or streamed


def _assemble(
    train,
    test,
    names: tuple,
    classes: int,
    class_names=(),
    value_range=(0.0, 1.0),
    normalize: bool = False,
    val_fraction: float = 0.0,
    test_fraction: float = 0.2,
    seed: int = 0,
    memory: str = "auto",
    workers: int | None = None,
    device="cpu",
    max_resident_mb: int = 2048,
) -> "StreamableSplitData":
    """SplitData from sample sources (`ArraySource`, `ImageFileSource`): splits, normalization,
    and the choice between resident and streamed.

    Splits, fixed by `seed`: a permutation of the training source's samples from
    np.random.default_rng(seed) whose first `test_fraction` (only when `test` is None: the
    files have no test split of their own) are the test split, the next `val_fraction` the
    validation split, the rest the training split; each split keeps file order.

    Values: images are mapped from 0..1 to `value_range`; features are kept as they are. With
    `normalize`, each channel (or feature) is instead shifted and scaled to mean 0 and standard
    deviation 1 over the training split (streamed: over a seeded sample of at most 10,000
    training samples).

    Resident when `memory` is "resident", or "auto" and the float32 samples of all splits take at
    most `max_resident_mb` MB: tensors on `device`. Otherwise every split is a StreamSplit.
    """
    if memory not in ("auto", "resident", "stream"):
        raise ValueError(f"memory must be 'auto', 'resident' or 'stream', got {memory!r}")
    count = len(train)
    if count == 0:
        raise ValueError("the dataset has no samples")

    def share(fraction):
        return 0 if fraction <= 0 else max(1, int(round(count * fraction)))

    rng = np.random.default_rng(seed)
    order = rng.permutation(count)
    held = 0 if test is not None else share(test_fraction)
    checked = share(val_fraction)
    if count - held - checked < 1:
        raise ValueError(
            f"{count} samples leave none for training after a test share of {test_fraction} and a "
            f"validation share of {val_fraction}"
        )
    if test is None and held == 0:
        raise ValueError("the files have no test split and test_fraction is 0: nothing to measure on")
    splits = {
        "train": (train, np.sort(order[held + checked :])),
        "validation": (train, np.sort(order[held : held + checked])),
        "test": (test, np.arange(len(test))) if test is not None else (train, np.sort(order[:held])),
    }
    images = len(train.sample_shape) == 3
    samples = sum(len(positions) for _, positions in splits.values())
    megabytes = samples * (math.prod(train.sample_shape) * 4 + 8) / 2**20
    resident = memory == "resident" or (memory == "auto" and megabytes <= max_resident_mb)
    device = torch.device(device)

    loaded = {}
    if resident:
        loaded = {name: _gather(source, positions, workers) for name, (source, positions) in splits.items()}
    low, high = (float(v) for v in value_range)
    mean = std = None
    if normalize:
        if resident:
            sample = loaded["train"][0]
        else:
            positions = splits["train"][1]
            if len(positions) > 10_000:
                positions = np.sort(rng.choice(positions, 10_000, replace=False))
            sample = _gather(train, positions, workers)[0]
        dims = (0, 2, 3) if images else (0,)
        mean = sample.mean(dims)
        std = sample.std(dims).clamp_min(1e-6) if len(sample) > 1 else torch.ones_like(mean)
        scale, offset = 1.0 / std, -mean / std
    elif images:
        scale, offset = torch.tensor([high - low]), torch.tensor([low])
    else:
        scale, offset = torch.ones(1), torch.zeros(1)
    fill = offset.to(device) if images else 0.0

    parts = {}
    for name, (source, positions) in splits.items():
        if resident:
            x, labels = loaded.pop(name)
            view = (1, -1, 1, 1) if images else (1, -1)
            x = x.mul_(scale.view(view)).add_(offset.view(view))
            parts[name] = (x.to(device), labels.to(device))
        else:
            parts[name] = StreamSplit(source, positions, device, scale, offset, workers)
    return StreamableSplitData(
        parts["train"],
        parts["test"],
        names,
        classes,
        validation=parts["validation"] if len(splits["validation"][1]) else (),
        class_names=class_names,
        value_range=(low, high),
        mean=None if mean is None else mean.to(device),
        std=None if std is None else std.to(device),
        fill=fill,
    )


def _gather(source, positions, workers=None, chunk: int = 2048) -> tuple:
    """Every sample of `source` at `positions` as CPU tensors (x, labels), read in chunks (image
    files by DataLoader workers, in parallel)."""
    count = len(positions)
    x = torch.empty((count,) + tuple(source.sample_shape), dtype=torch.float32)
    labels = torch.empty(count, dtype=torch.int64)
    split = StreamSplit(source, positions, "cpu", workers=workers if getattr(source, "decodes", False) else 0)
    start = 0
    for part_x, part_labels in split.loader(chunk, shuffle=False):
        x[start : start + len(part_x)] = part_x
        labels[start : start + len(part_labels)] = part_labels
        start += len(part_x)
    return x, labels


def _default_workers() -> int:
    """DataLoader workers when none are asked for: min(4, this process's cores - 1). Under torchrun
    the machine's cores are shared by its LOCAL_WORLD_SIZE ranks, each reading with workers of its
    own, so a rank counts its part of them."""
    import os

    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    ranks_here = max(int(os.environ.get("LOCAL_WORLD_SIZE") or 1), 1)
    return max(min(4, cores // ranks_here - 1), 0)


class StreamSplit:
    """One split read from its source in batches by a torch DataLoader, with background workers.

    For data that do not fit on the training device (or memory="stream"): `source[positions]`
    reads and prepares one batch on the CPU, in a worker process; the batch moves to `device`
    (pinned memory when that is a GPU) and column 0 (images or features) becomes
    `x * scale + offset` (the value range or the normalization), per channel.

    It reads like the tuple of tensors of a resident split: one column per port, each with
    len(), shape, dtype and device, and indexing a column (`split[0][:64]`) loads those samples
    (the last batch loaded is kept, so the label column of the same samples costs nothing).
    `TensorBatches` hands its epochs to `loader`. Workers: `workers`, else `_default_workers()`;
    where the source's class cannot be imported by a fresh process (code run from text, as in
    the app), they are forked, and where forking is not available, the batches are read in the
    training process.
    """

    def __init__(self, source, positions, device="cpu", scale=1.0, offset=0.0, workers=None):
        self.source = source
        self.positions = np.asarray(positions, dtype=np.int64)
        self.count = len(self.positions)
        self.device = torch.device(device)
        shape = (1, -1, 1, 1) if len(source.sample_shape) == 3 else (1, -1)
        self.scale = torch.as_tensor(scale, dtype=torch.float32).reshape(shape).to(self.device)
        self.offset = torch.as_tensor(offset, dtype=torch.float32).reshape(shape).to(self.device)
        self.workers = workers
        self.columns = (_StreamColumn(self, 0), _StreamColumn(self, 1))
        self.kept = (None, None)

    def __len__(self):
        return len(self.columns)

    def __getitem__(self, index):
        return self.columns[index]

    def __iter__(self):
        return iter(self.columns)

    def _place(self, batch) -> tuple:
        x, labels = (t.to(self.device, non_blocking=True) for t in batch)
        return x * self.scale + self.offset, labels

    def _worker_setup(self) -> tuple:
        """(worker count, multiprocessing context) for the DataLoader."""
        import multiprocessing
        import os
        import sys

        workers = self.workers if self.workers is not None else _default_workers()
        if workers <= 0:
            return 0, None
        module = sys.modules.get(type(self.source).__module__)
        filename = str(getattr(module, "__file__", None) or "")
        if filename.endswith(".py") and os.path.isfile(filename):
            return workers, None
        if "fork" in multiprocessing.get_all_start_methods():
            return workers, "fork"
        return 0, None

    def loader(
        self, batch_size: int, shuffle: bool = True, drop_last: bool = False, generator=None, part=None
    ):
        """One epoch of batches (x, labels) on the device; `generator` (on any device) draws the order.
        With `part` (rank, ranks), data-parallel: of each batch only this rank's rows are read,
        given as (its fraction of the batch, its rows) (see `_rank_rows`)."""
        order = self.positions
        if shuffle:
            where = generator.device if generator is not None else "cpu"
            order = order[torch.randperm(self.count, generator=generator, device=where).cpu().numpy()]
        stop = self.count - self.count % batch_size if drop_last else self.count
        batches = [order[start : start + batch_size] for start in range(0, stop, batch_size)]
        if part is not None:
            shares = [_rank_rows(len(b), *part) for b in batches]
            batches = [b[rows] for b, (rows, _) in zip(batches, shares)]
        workers, context = self._worker_setup()
        workers = min(workers, len(batches))
        loader = torch.utils.data.DataLoader(
            self.source,
            batch_size=None,
            sampler=batches,
            num_workers=workers,
            multiprocessing_context=context if workers else None,
            pin_memory=self.device.type == "cuda",
        )
        for index, batch in enumerate(loader):
            yield self._place(batch) if part is None else (shares[index][1], self._place(batch))

    def take(self, indices) -> tuple:
        """The samples at `indices` (positions within this split) as one batch on the device."""
        indices = np.atleast_1d(np.asarray(indices, dtype=np.int64))
        key = indices.tobytes()
        if self.kept[0] != key:
            self.kept = (key, self._place(self.source[self.positions[indices]]))
        return self.kept[1]


class _StreamColumn:
    """Column `index` (0: images or features, 1: labels) of a StreamSplit, read like a tensor."""

    def __init__(self, split, index: int):
        self.split, self.index = split, index

    def __len__(self):
        return self.split.count

    @property
    def shape(self) -> tuple:
        return (self.split.count,) + (tuple(self.split.source.sample_shape) if self.index == 0 else ())

    @property
    def dtype(self):
        return torch.float32 if self.index == 0 else torch.int64

    @property
    def device(self):
        return self.split.device

    def __getitem__(self, key):
        if isinstance(key, torch.Tensor):
            key = key.cpu().numpy()
        indices = np.arange(self.split.count)[key]
        batch = self.split.take(indices)[self.index]
        return batch[0] if np.ndim(indices) == 0 else batch


def _rank_rows(count: int, rank: int, ranks: int) -> tuple:
    """Rank `rank`'s share of a batch of `count` split among `ranks` data-parallel ranks:
    (rows [count*rank/ranks, count*(rank+1)/ranks) as a slice, its fraction of the batch). An
    empty share is row 0 with fraction 0 (every rank must take part in each step)."""
    start, stop = count * rank // ranks, count * (rank + 1) // ranks
    if stop > start:
        return slice(start, stop), (stop - start) / count
    return slice(0, 1), 0.0


class TensorBatches:
    """Batches sliced from resident tensors: one shuffle per epoch, then contiguous slices
    (no per-sample collate)."""

    def __init__(
        self,
        tensors: tuple,
        batch_size: int,
        shuffle: bool = True,
        drop_last: bool = False,
        generator: torch.Generator | None = None,
    ):
        self.tensors = tuple(tensors)
        if not self.tensors:
            raise ValueError("TensorBatches needs at least one tensor")
        self.count = len(self.tensors[0])
        if any(len(t) != self.count for t in self.tensors):
            raise ValueError(f"TensorBatches: tensors differ in length {[len(t) for t in self.tensors]}")
        if int(batch_size) < 1:
            raise ValueError(f"TensorBatches: batch_size must be at least 1, got {batch_size!r}")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        # Must live on the tensors' device (torch.randperm draws there); None: the global RNG.
        self.generator = generator

    def __len__(self) -> int:
        if self.drop_last:
            return self.count // self.batch_size
        return (self.count + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        tensors, count, size = self.tensors, self.count, self.batch_size
        if not self.shuffle and count <= size:
            # Full-batch training: hand out the tensors themselves, no gather and no slicing.
            if count == size or (count > 0 and not self.drop_last):
                yield tensors
            return
        if self.shuffle:
            # One gather per epoch; every batch after it is a view (contiguous slice).
            order = torch.randperm(count, device=tensors[0].device, generator=self.generator)
            tensors = tuple(t[order] for t in tensors)
        stop = count - count % size if self.drop_last else count
        for start in range(0, stop, size):
            yield tuple(t[start : start + size] for t in tensors)

    def shares(self, rank: int, ranks: int):
        """One epoch for data-parallel rank `rank` of `ranks`, all drawing the same order: (its
        fraction of each batch, its rows of it) (see `_rank_rows`)."""
        for batch in self:
            rows, fraction = _rank_rows(len(batch[0]), rank, ranks)
            yield fraction, tuple(t[rows] for t in batch)


class StreamableBatches(TensorBatches):
    """TensorBatches that also take a StreamSplit (data streamed from disk): then they hand out
    the batches of the split's DataLoader, with the same order, length and options."""

    def __init__(self, tensors, *args, **kwargs):
        super().__init__(tensors, *args, **kwargs)  # a StreamSplit reads like its columns' tuple
        if hasattr(tensors, "loader"):
            self.tensors = tensors  # whole, for its loader

    def __iter__(self):
        if hasattr(self.tensors, "loader"):
            return self.tensors.loader(self.batch_size, self.shuffle, self.drop_last, self.generator)
        return super().__iter__()

    def shares(self, rank: int, ranks: int):
        """As TensorBatches', but a streamed split reads only this rank's rows of each batch."""
        if hasattr(self.tensors, "loader"):
            split = self.tensors
            return split.loader(self.batch_size, self.shuffle, self.drop_last, self.generator, (rank, ranks))
        return super().shares(rank, ranks)


def augment_images(images, flip: bool = False, crop: int = 0, shift: int = 0, fill=0.0, generator=None):
    """Random changes to a batch of images (N, C, H, W) on its own device, for training steps.

    flip: mirror each image left to right with probability 1/2. crop: pad each side with `crop`
    pixels of `fill` (the value of black, a number or one per channel), then cut a random H x W
    window: the image moves by up to `crop` pixels and blank border comes in. shift: move each
    image by up to `shift` pixels across and down, repeating its edge pixels. Every image draws its
    own flip and offsets from `generator` (on the images' device), so a seeded run repeats.
    Returns a new tensor; the input is not changed.
    """
    if images.dim() != 4:
        raise ValueError(f"augment_images expects images (N, C, H, W), got shape {tuple(images.shape)}")
    count, channels, height, width = images.shape
    device = images.device
    if flip:
        mirrored = torch.rand(count, device=device, generator=generator) < 0.5
        images = torch.where(mirrored[:, None, None, None], images.flip(3), images)
    for pad, blank in ((int(crop), True), (int(shift), False)):
        if pad <= 0:
            continue
        if blank:
            padded = images.new_empty((count, channels, height + 2 * pad, width + 2 * pad))
            padded[:] = torch.as_tensor(fill, dtype=images.dtype, device=device).reshape(1, -1, 1, 1)
            padded[:, :, pad : pad + height, pad : pad + width] = images
        else:
            padded = F.pad(images, (pad, pad, pad, pad), mode="replicate")
        top = torch.randint(0, 2 * pad + 1, (count, 1), device=device, generator=generator)
        left = torch.randint(0, 2 * pad + 1, (count, 1), device=device, generator=generator)
        rows = (top + torch.arange(height, device=device))[:, :, None]
        columns = (left + torch.arange(width, device=device))[:, None, :]
        batch = torch.arange(count, device=device)[:, None, None]
        # advanced indices around the channel slice: (N, H, W, C), back to (N, C, H, W)
        images = padded[batch, :, rows, columns].permute(0, 3, 1, 2).contiguous()
    return images


def _write_png(path, pixels) -> None:
    """Write a uint8 array (H, W) grey or (H, W, 3) RGB as an 8-bit PNG, atomically.

    A tiny writer (zlib + struct) so that exported scripts need no imaging library; the file
    is written beside the target and renamed over it, so a reader never sees half a picture.
    """
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = pixels.shape[:2]
    colour_type = 0 if pixels.ndim == 2 else 2
    rows = pixels.reshape(height, -1)
    scanlines = np.concatenate([np.zeros((height, 1), dtype=np.uint8), rows], axis=1).tobytes()

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(scanlines, 6))
    png += chunk(b"IEND", b"")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(png)
    partial.replace(path)


def save_image_grid(images, path, nrow: int = 8, value_range=(-1.0, 1.0), padding: int = 2) -> None:
    """Tile images (N, C, H, W), C 1 or 3, into one PNG: `nrow` images per row, black padding.

    Values are clamped to `value_range` and mapped to 0..255, so that a generator's tanh output
    (the default range) or a [0, 1] image both show as they are meant to.
    """
    images = torch.as_tensor(images).detach().to("cpu", torch.float32)
    if images.dim() == 3:
        images = images[None]
    if images.dim() != 4 or images.shape[1] not in (1, 3) or images.shape[0] == 0:
        raise ValueError(f"save_image_grid expects (N, 1 or 3, H, W) with N >= 1, got {tuple(images.shape)}")
    low, high = float(value_range[0]), float(value_range[1])
    images = images.nan_to_num(nan=low).clamp(low, high)
    scaled = ((images - low) * (255.0 / (high - low))).round().to(torch.uint8).numpy()
    count, channels, height, width = scaled.shape
    columns = max(1, min(int(nrow), count))
    rows = -(-count // columns)
    grid = np.zeros(
        (channels, rows * (height + padding) + padding, columns * (width + padding) + padding), dtype=np.uint8
    )
    for index in range(count):
        row, column = divmod(index, columns)
        top = padding + row * (height + padding)
        left = padding + column * (width + padding)
        grid[:, top : top + height, left : left + width] = scaled[index]
    _write_png(path, grid[0] if channels == 1 else grid.transpose(1, 2, 0))
