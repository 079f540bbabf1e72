"""Build resources/data/waves.npz, the bundled "waves" dataset (a developer tool; not shipped).

1,000 signals of 32 samples: a sine, a square or a sawtooth wave (classes 0, 1, 2), each of a
random frequency (1 to 3 cycles), phase and amplitude (0.5 to 1.5), with Gaussian noise of
standard deviation 0.3. Seeded, so the file is the same on every run. The first 800 are the
training split, the last 200 the held-out one. Stored as float16 to keep the file small.

Run: python scripts/make_waves.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "resources" / "data" / "waves.npz"
COUNT, LENGTH, TRAIN = 1000, 32, 800


def make_waves(seed: int = 20261202) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(COUNT) % 3)
    t = np.arange(LENGTH) / LENGTH
    cycles = rng.uniform(1.0, 3.0, COUNT)[:, None]
    phase = rng.uniform(0.0, 1.0, COUNT)[:, None]
    amplitude = rng.uniform(0.5, 1.5, COUNT)[:, None]
    position = (cycles * t[None, :] + phase) % 1.0  # where in its cycle each sample lies
    shapes = np.stack([np.sin(2 * np.pi * position),  # sine
                       np.where(position < 0.5, 1.0, -1.0),  # square
                       2.0 * position - 1.0])  # sawtooth
    x = amplitude * shapes[labels, np.arange(COUNT)] + rng.normal(0.0, 0.3, (COUNT, LENGTH))
    return x.astype(np.float16), labels.astype(np.uint8)


def main() -> None:
    x, y = make_waves()
    np.savez_compressed(OUT, x=x[:TRAIN], y=y[:TRAIN], x_test=x[TRAIN:], y_test=y[TRAIN:])
    print(f"{OUT}: {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
