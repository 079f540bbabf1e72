"""Shift consistency of max pooling against blur pooling, over seeds: the figure the shift
lesson will show, measured as `studio lab shift` measures it (engine/shift_consistency.py).

    python scripts/measure_shift.py                       # shapes 32x32, 3 seeds, 10 epochs
    python scripts/measure_shift.py --seeds 5 --epochs 4
    python scripts/measure_shift.py --dataset textures --epochs 8   # the shift lesson's data

The same small classifier (three 3x3 convolutions with ReLU, two downsamplings, global average
pooling, a linear layer) is trained on the built-in shapes (or their textured version, where
fine stripes make one-pixel moves matter) with each downsampling: MaxPool2d(2),
or MaxPool2d(2, stride 1) then BlurPool2d (Zhang, 2019). Prints each run and the mean and spread
of the accuracy and of the fraction of predictions kept at each shift.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio.core.project import Project  # noqa: E402
from studio.engine.runner import RunConfig  # noqa: E402
from studio.engine.shift_consistency import shift_consistency  # noqa: E402
from studio.engine.trainer import train_project  # noqa: E402

SHIFTS = (1, 2, 3, 4)


def classifier(pool: str, seed: int, epochs: int, dataset: str = "shapes") -> Project:
    p = Project(f"Shift {pool}")
    t = p.training
    t.configure(batch_size=64, epochs=epochs, log_every=50, seed=seed)
    data = t.add("Dataset", title=dataset, id=dataset, dataset=dataset, size=32, count=4000)

    def down(tag):
        if pool == "max":
            return [("MaxPool2d", f"pool{tag}", dict(kernel_size=2))]
        return [("MaxPool2d", f"pool{tag}", dict(kernel_size=2, stride=1)),
                ("BlurPool2d", f"blur{tag}", dict(stride=2))]

    logits = t.stack(
        data["image"],
        ("Conv2d", "conv1", dict(out_channels=16, kernel_size=3, padding=1)), ("ReLU", "relu1", {}),
        *down(1),
        ("Conv2d", "conv2", dict(out_channels=32, kernel_size=3, padding=1)), ("ReLU", "relu2", {}),
        *down(2),
        ("Conv2d", "conv3", dict(out_channels=64, kernel_size=3, padding=1)), ("ReLU", "relu3", {}),
        ("GlobalAvgPool", "gap", {}), ("Linear", "fc", dict(out_features=4)))
    loss = t.add("CrossEntropy", title="loss", id="loss")
    t.connect(logits, loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add("Adam", title="adam", id="adam", lr=2e-3))
    return p


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--dataset", choices=("shapes", "textures"), default="shapes")
    args = parser.parse_args()
    reports = {"max": [], "blur": []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            for pool in reports:
                project = classifier(pool, seed, args.epochs, args.dataset)
                weights = Path(tmp) / f"{pool}{seed}.ckpt"
                train_project(project, RunConfig(checkpoint_path=str(weights), seed=seed),
                              progress=False)
                report = shift_consistency(project, weights, shifts=SHIFTS, seed=seed)
                reports[pool].append(report)
                kept = " ".join(f"{report.consistency[d]:.3f}" for d in SHIFTS)
                print(f"{pool:4} seed {seed}: accuracy {report.accuracy:.3f}, kept {kept}",
                      flush=True)

    def spread(values) -> str:
        values = list(values)
        deviation = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.3f} +- {deviation:.3f}"

    print(f"\n{args.dataset} 32x32, {args.epochs} epochs, {args.seeds} seeds (mean +- standard deviation)")
    for pool, runs in reports.items():
        shifts = ", ".join(f"{d} px {spread(r.consistency[d] for r in runs)}" for d in SHIFTS)
        print(f"{pool:4}: accuracy {spread(r.accuracy for r in runs)}; kept {shifts}; "
              f"mean {spread(r.mean_consistency for r in runs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
