"""ResNet-18 at 224x224: the training step Studio generates against the same network, batches
and SGD written by hand in PyTorch, on one device, in the same process.

    BENCH_DEVICE=cuda python bench/bench_resnet_step.py        # the GPU path (fp16)
    python bench/bench_resnet_step.py --quick                  # a smoke run on the CPU (bf16)

Four variants train side by side in interleaved rounds (a change in the machine's speed falls
on all alike; the median round is kept), each timed from its first step to a device sync:
- Studio with mixed precision and channels-last (the project's settings ``amp``,
  ``channels_last``; fp16 on CUDA, bf16 on the CPU, or BENCH_AMP);
- hand-written with the same autocast (and GradScaler for fp16) and channels-last, as a user
  writes them (goal: Studio's throughput at least 1.0 times it);
- hand-written naive fp32, contiguous (goal: Studio at least 2 times it on a GPU, where the
  tensor cores take the half-precision convolutions);
- Studio in fp32, for the record.
The hand-written network is ``tests/model_zoo/classic.resnet18`` (torchvision's layers and
11,689,512 parameters, as in examples/resnet18.studio).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from common import ROOT, HandPrecision, bench_device, set_threads

from studio.core.fileformat import load
from studio.engine.codegen import generate
from studio.engine.loader import RESOURCES_DATA
from studio.engine.loader import load as load_code
from tests.model_zoo.classic import resnet18


def studio_step(device, amp: str, channels_last: bool, batch_size: int):
    """Studio's generated Training for examples/resnet18.studio with these settings: its step
    function and its batches."""
    project = load(ROOT / "examples" / "resnet18.studio")
    project.training.configure(amp=amp, channels_last=channels_last, batch_size=batch_size)
    module = load_code(generate(project))
    training = module.Training(device, 0, RESOURCES_DATA, steps=10**6)
    training.set_train(True)
    return training.train_step, [tuple(t.clone() for t in b) for b in training.batches]


def hand_step(device, amp: str, channels_last: bool):
    """The hand-written step: the network, SGD as the example's, autocast and layout."""
    torch.manual_seed(0)
    model = resnet18(num_classes=1000).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    precision = HandPrecision(device, amp)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)

    def step(batch):
        image, label = batch
        if channels_last:
            image = image.contiguous(memory_format=torch.channels_last)
        with precision.autocast():
            loss = criterion(model(image), label)
        optimizer.zero_grad(set_to_none=True)
        precision.step(loss, optimizer)
        return loss.detach()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="batch 4, 2 steps a round, 1 round")
    parser.add_argument("--batch", type=int, default=None, help="default 128 on CUDA, 16 else")
    parser.add_argument("--steps", type=int, default=None, help="steps per round (default 20)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 5)")
    args = parser.parse_args()
    device, amp = bench_device()
    device = torch.device(device)
    if amp == "off":
        amp = "fp16" if device.type == "cuda" else "bf16"
    batch_size = 4 if args.quick else args.batch or (128 if device.type == "cuda" else 16)
    steps = 2 if args.quick else args.steps or 20
    rounds = 1 if args.quick else args.rounds or 5
    threads = set_threads()
    fast, batches = studio_step(device, amp, True, batch_size)
    plain, _ = studio_step(device, "off", False, batch_size)
    variants = {"studio amp+cl": fast, "hand amp+cl": hand_step(device, amp, True),
                "hand fp32": hand_step(device, "off", False), "studio fp32": plain}
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def run(step) -> float:
        sync()
        start = time.perf_counter()
        for i in range(steps):
            step(batches[i % len(batches)])
        sync()
        return time.perf_counter() - start

    for step in variants.values():  # warm-up: cuDNN's choices, the allocator, autocast caches
        run(step)
    seconds = {name: [] for name in variants}
    for _ in range(rounds):
        for name, step in variants.items():
            seconds[name].append(run(step))
    rate = {name: batch_size * steps / statistics.median(s) for name, s in seconds.items()}
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {threads} threads"
    print(f"ResNet-18 training step, 3x224x224, batch {batch_size}, {where}, amp {amp}, torch "
          f"{torch.__version__}; median of {rounds} rounds of {steps} steps")
    for name, r in rate.items():
        print(f"  {name:<14} {r:9.1f} images/s")
    print(f"  Studio amp+channels-last / hand-written amp+channels-last: "
          f"{rate['studio amp+cl'] / rate['hand amp+cl']:.3f}  (goal >= 1.0)")
    print(f"  Studio amp+channels-last / hand-written naive fp32:        "
          f"{rate['studio amp+cl'] / rate['hand fp32']:.2f}  (goal >= 2 on a GPU)")


if __name__ == "__main__":
    main()
