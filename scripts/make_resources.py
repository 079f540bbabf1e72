"""Build the offline datasets in resources/data/ (a developer tool; not shipped at runtime).

- digits.npz: scikit-learn's copy of the UCI handwritten digits, as uint8 arrays.
- siren.npz and siren.png: an original 256x256 RGB picture drawn here, deterministically, with
  smooth regions, sharp edges and fine detail, so that a SIREN visibly beats a ReLU MLP on it.

Run: python scripts/make_resources.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parents[1] / "resources" / "data"
SIZE = 256
SUPERSAMPLE = 4  # sharp edges are drawn at 4x and box-filtered down: antialiased, still crisp


def make_digits() -> None:
    digits = load_digits()
    images = digits.images.astype(np.uint8)  # values 0..16
    labels = digits.target.astype(np.uint8)
    assert images.shape == (1797, 8, 8) and images.max() == 16 and labels.max() == 9
    np.savez_compressed(OUT / "digits.npz", images=images, labels=labels)


def _blend(canvas: np.ndarray, mask: np.ndarray, colour, alpha: float = 1.0) -> None:
    """Paint `colour` where `mask` (0..1) is set, in place."""
    weight = (alpha * mask)[..., None]
    canvas *= 1.0 - weight
    canvas += weight * np.asarray(colour, dtype=np.float64)


def make_siren_image(seed: int = 20261124) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = SIZE * SUPERSAMPLE
    coords = (np.arange(n) + 0.5) / n  # 0..1, pixel centres
    y, x = np.meshgrid(coords, coords, indexing="ij")

    # Smooth background: a diagonal two-colour gradient with a gentle low-frequency wave.
    t = np.clip(0.55 * x + 0.45 * y + 0.06 * np.sin(2 * np.pi * (1.3 * x - 0.7 * y)), 0, 1)[..., None]
    canvas = (1 - t) * np.array([0.10, 0.18, 0.38]) + t * np.array([0.95, 0.72, 0.45])

    # Overlapping discs and rectangles with hard edges, some half transparent.
    for _ in range(5):
        cx, cy = rng.uniform(0.15, 0.85, 2)
        radius = rng.uniform(0.07, 0.16)
        _blend(
            canvas,
            ((x - cx) ** 2 + (y - cy) ** 2 <= radius**2).astype(float),
            rng.uniform(0.05, 1.0, 3),
            alpha=rng.choice([1.0, 0.6]),
        )
    for _ in range(4):
        left, top = rng.uniform(0.05, 0.7, 2)
        width, height = rng.uniform(0.08, 0.25, 2)
        mask = ((x >= left) & (x <= left + width) & (y >= top) & (y <= top + height)).astype(float)
        _blend(canvas, mask, rng.uniform(0.05, 1.0, 3), alpha=rng.choice([1.0, 0.7]))

    # A sinusoidal ring pattern whose frequency rises outwards (a chirp): fine, smooth detail.
    cx, cy, outer = 0.72, 0.70, 0.22
    r = np.hypot(x - cx, y - cy)
    rings = 0.5 + 0.5 * np.cos(2 * np.pi * (5 * r / outer + 8 * (r / outer) ** 2))
    disc = (r <= outer).astype(float)
    _blend(canvas, disc * rings, (0.98, 0.96, 0.90))
    _blend(canvas, disc * (1 - rings), (0.20, 0.05, 0.25), alpha=0.8)

    # A region of thin grid lines (one output pixel wide): the finest detail in the picture.
    left, top, side = 0.06, 0.62, 0.30
    inside = (x >= left) & (x <= left + side) & (y >= top) & (y <= top + side)
    pitch = 6 / SIZE  # every 6 output pixels
    line = 1 / SIZE
    on_line = (((x - left) % pitch) < line) | (((y - top) % pitch) < line)
    _blend(canvas, (inside & ~on_line).astype(float), (0.92, 0.94, 0.97))
    _blend(canvas, (inside & on_line).astype(float), (0.05, 0.05, 0.08))

    # A few thin diagonal strokes across everything: sharp edges at all angles.
    for _ in range(3):
        angle = rng.uniform(0, np.pi)
        offset = rng.uniform(0.3, 0.7)
        distance = np.abs((x - offset) * np.sin(angle) - (y - offset) * np.cos(angle))
        _blend(canvas, (distance <= 1.5 / SIZE).astype(float), rng.uniform(0.0, 1.0, 3))

    small = canvas.reshape(SIZE, SUPERSAMPLE, SIZE, SUPERSAMPLE, 3).mean(axis=(1, 3))
    return np.clip(np.round(small * 255), 0, 255).astype(np.uint8)


def make_siren() -> None:
    image = make_siren_image()
    assert image.shape == (SIZE, SIZE, 3)
    np.savez_compressed(OUT / "siren.npz", image=image)
    Image.fromarray(image).save(OUT / "siren.png", optimize=True)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    make_digits()
    make_siren()
    for path in sorted(OUT.glob("*")):
        print(f"{path.relative_to(OUT.parents[1])}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
