"""The receptive-field lesson's figures: for each layer of ``examples/course/receptive_field.studio``
the theoretical window of the centre unit and its effective field, measured as the Feature
Maps view measures it (``engine/receptive_field.py``) for every channel and the 16 probe
samples, at initialization and after the lesson's training (seed 0, on the CPU); then two of
the lesson's variants at initialization (conv3 dilated, one more convolution).

    python bench/bench_receptive_field.py            # about 5 minutes on 2 busy cores

Per layer: the window's size, the mean share of |d unit / d input| inside it (always 1: the
gradient cannot leave the window) and the median side of the square about the window's centre
that holds half of it.
"""

from __future__ import annotations

import statistics

from common import ROOT

from studio.core import fileformat
from studio.core.inference import analyze
from studio.core.receptive_field import node_row
from studio.engine.probes import ProbeRates
from studio.engine.receptive_field import answer
from studio.engine.runner import RunConfig, Runner

LESSON = ROOT / "examples" / "course" / "receptive_field.studio"
LAYERS = ("conv1", "conv2", "pool1", "conv3", "pool2", "conv4")


def runner_for(project) -> Runner:
    return Runner(project, RunConfig(seed=0, device="cpu", probes=ProbeRates.off(),
                                     previews=False, checkpoint_epochs=False), lambda e: None)


def centre_fields(project, runner, node: str) -> str:
    channels, height, width = next(iter(node_row(analyze(project), (node,))
                                        .outputs.values())).shape
    inside, half, size = [], [], ""
    for sample in range(16):
        for channel in range(channels):
            event = answer(project, runner.probes, None, f"training/{node}",
                           (channel, height // 2, width // 2), sample)
            if event.message or not event.gradient.any():
                continue  # a unit that is 0 for this image (a ReLU's, a pooling's loser)
            inside.append(event.inside)
            half.append(event.half_side)
            top, bottom, left, right = event.window
            size = f"{bottom - top}x{right - left}"
    return (f"  {node}: window {size}, inside {statistics.mean(inside):.3f}, half of the "
            f"gradient within {statistics.median(half):g}x{statistics.median(half):g} "
            f"({len(half)} units)")


def main() -> None:
    project = fileformat.load(LESSON)
    runner = runner_for(project)
    runner.build()
    print("at initialization")
    for node in LAYERS:
        print(centre_fields(project, runner, node))
    runner = runner_for(project)
    result = runner.run()
    print(f"after training: {result['evaluation']}")
    for node in LAYERS:
        print(centre_fields(project, runner, node))

    dilated = fileformat.load(LESSON)
    dilated.training.nodes["conv3"].params.update(dilation=2, padding=2)
    runner = runner_for(dilated)
    runner.build()
    print("conv3 with dilation 2 (padding 2), at initialization")
    for node in ("conv3", "conv4"):
        print(centre_fields(dilated, runner, node))

    deeper = fileformat.load(LESSON)
    t = deeper.training
    t.edges.remove(next(e for e in t.edges if e.src == "relu4"))
    t.chain("relu4", t.add("Conv2d", id="conv5", out_channels=16, kernel_size=3, padding=1),
            t.add("ReLU", id="relu5"), "flatten")
    runner = runner_for(deeper)
    runner.build()
    print("one more 3x3 convolution after conv4, at initialization")
    print(centre_fields(deeper, runner, "conv5"))


if __name__ == "__main__":
    main()
