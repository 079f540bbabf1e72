"""Built-in offline datasets, a batcher over resident tensors, and a PNG grid writer.

The code generator copies the source of these functions and classes into exported training
scripts, which must run with only torch and numpy installed. So: no imports besides the ones
below, every top-level name is self-contained except for calls to other top-level names of this
module, and `DEPENDS` lists those calls so the generator can copy what each name needs.
Annotations naming this module's classes are strings, so the copies work in any order.

Every dataset is small enough to live on the training device as whole tensors; `TensorBatches`
then slices batches from them without a per-sample collate (see bench/bench_data_path.py).
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
    "make_shapes": ("SplitData", "_shape_coverage"),
    "_shape_coverage": (),
    "make_toy_2d": ("SplitData",),
    "load_image_field": ("SplitData",),
    "TensorBatches": (),
    "save_image_grid": ("_write_png",),
    "_write_png": (),
}


class SplitData:
    """Train and test tensors of one dataset, resident on one device."""

    def __init__(self, train: tuple, test: tuple, names: tuple, classes: int = 0):
        # One tensor per named port, in the order of `names`, in both splits.
        self.train = tuple(train)
        self.test = tuple(test)
        self.names = tuple(names)
        self.classes = int(classes)

    def __repr__(self):
        shapes = ", ".join(f"{name}={tuple(t.shape)}" for name, t in zip(self.names, self.train))
        return f"SplitData({shapes}, train={len(self.train[0])}, test={len(self.test[0])})"


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
    )


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
    count: int = 2000, size: int = 32, channels: int = 1, seed: int = 0, value_range=(0.0, 1.0), device="cpu"
) -> "SplitData":
    """Generated filled shapes of 4 classes (0 circle, 1 square, 2 triangle, 3 cross), seeded.

    A dataset of any image size, in grey (white on black) or colour (a random colour per image),
    for trying convolutional networks and generative models without a download. Shapes have
    random positions, sizes and rotations; classes are balanced; the last 20% (rounded down)
    are the test split.
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
