"""Shape inference speed: a whole 500-node graph, and one parameter edit in a 100-node graph.

    python bench/bench_inference.py   # goals: 500 nodes < 100 ms; one edit in 100 nodes < 16 ms
"""

from __future__ import annotations

import statistics
import time

from common import ROOT  # noqa: F401  (puts the repository on sys.path)

from studio.core.inference import analyze
from studio.core.project import Project

BLOCKS = [("Conv2d", dict(out_channels=16, kernel_size=3, padding=1)), ("BatchNorm2d", {}),
          ("ReLU", {}), ("Conv2d", dict(out_channels=16, kernel_size=3, padding=1)), ("Tanh", {})]


def chain(n: int) -> tuple[Project, list[str]]:
    p = Project("Bench")
    t = p.training
    data = t.add("Dataset", id="data", dataset="shapes", size=32)
    prev = data["image"]
    ids = []
    from studio.core.registry import REGISTRY, load_catalogue

    load_catalogue()
    blocks = [b for b in BLOCKS if b[0] in REGISTRY]
    while len(t.nodes) < n - 4:
        block, params = blocks[len(ids) % len(blocks)]
        node = t.add(block, **params)
        t.connect(prev, node)
        prev = node
        ids.append(node)
    head = t.stack(prev, "Flatten", ("Linear", dict(out_features=4)))
    loss = t.add("CrossEntropy", id="loss")
    t.connect(head, loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add("Adam", id="adam"))
    return p, ids


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    big, _ = chain(500)
    a = analyze(big)
    assert a.ok, a.problems[:3]
    t_big = timed(lambda: analyze(big), 15)
    small, ids = chain(100)
    conv = next(i for i in ids if small.training.nodes[i].block == "Conv2d")
    widths = iter(range(8, 10_000))

    def edit_and_check():
        small.training.nodes[conv].params["out_channels"] = next(widths)
        return analyze(small)

    t_edit = timed(edit_and_check, 51)
    print(f"shape inference, {len(big.training.nodes)} nodes: {t_big * 1e3:.1f} ms "
          f"(goal < 100 ms)")
    print(f"one edit then re-check, {len(small.training.nodes)} nodes: {t_edit * 1e3:.2f} ms "
          f"(goal < 16 ms)")


if __name__ == "__main__":
    main()
