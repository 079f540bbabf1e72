"""Build the example projects in examples/ with Studio's Python API.

    python scripts/make_examples.py          # rewrite examples/*.studio
    python scripts/make_examples.py --check  # exit 1 if a file differs from what this builds

The files are data; this script is how they were made and how to refresh them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio.core.fileformat import dumps  # noqa: E402
from studio.core.layout import layout_project  # noqa: E402
from studio.core.project import Project  # noqa: E402


def lenet() -> Project:
    """The course's LeNet: 32x32 grey digits, 6 maps 5x5, average pool, 16 maps 5x5, average
    pool, 120, 84, 10 (61,706 parameters), trained with Adam on cross-entropy."""
    p = Project("LeNet")
    t = p.training
    t.configure(batch_size=64, epochs=12, log_every=10)
    data = t.add("Dataset", title="digits", id="digits", dataset="digits", size=32)
    logits = t.stack(
        data["image"],
        ("Conv2d", "conv1", dict(out_channels=6, kernel_size=5)), "Tanh",
        ("AvgPool2d", "pool1", dict(kernel_size=2)),
        ("Conv2d", "conv2", dict(out_channels=16, kernel_size=5)), "Tanh",
        ("AvgPool2d", "pool2", dict(kernel_size=2)),
        "Flatten",
        ("Linear", "fc1", dict(out_features=120)), "Tanh",
        ("Linear", "fc2", dict(out_features=84)), "Tanh",
        ("Linear", "fc3", dict(out_features=10)),
    )
    loss = t.add("CrossEntropy", title="loss", id="loss")
    t.connect(logits, loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add("Adam", title="adam", id="adam", lr=1e-3))
    return p


EXAMPLES = {"lenet": lenet}


def build_all() -> dict[str, str]:
    out = {}
    for name, build in EXAMPLES.items():
        project = build()
        layout_project(project)
        out[name] = dumps(project)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    stale = []
    for name, text in build_all().items():
        path = ROOT / "examples" / f"{name}.studio"
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("out of date: " + ", ".join(stale) + " (run scripts/make_examples.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
