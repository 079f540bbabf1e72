"""Step time of the generated LeNet (through Studio's Training class, from the same source that
Export writes) against the same model, optimizer and batches written by hand in PyTorch.

    python bench/bench_lenet_step.py [ROUNDS]   # goal: ratio at most 1.01
"""

from __future__ import annotations

import sys

import torch
import torch.nn as nn
from common import ROOT, HandPrecision, interleaved, set_threads

from studio.core.fileformat import load
from studio.engine.codegen import generate
from studio.engine.loader import RESOURCES_DATA
from studio.engine.loader import load as load_code

STEPS = 48


class HandLeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.pool1 = nn.AvgPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.pool2 = nn.AvgPool2d(2)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool1(torch.tanh(self.conv1(x)))
        x = self.pool2(torch.tanh(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = torch.tanh(self.fc1(x))
        x = torch.tanh(self.fc2(x))
        return self.fc3(x)


def lenet_steps(device="cpu", amp="off"):
    """The hand-written LeNet training loop on digits (Adam, batches of 64), one step per
    ``next()``, forever; each yields the number of batches in an epoch. On ``device`` (the data
    resident there, as Studio keeps it), with ``amp`` ("fp16", "bf16") as a user writes it."""
    from studio.engine.library.data import TensorBatches, load_digits

    torch.manual_seed(0)
    precision = HandPrecision(device, amp)
    data = load_digits(RESOURCES_DATA, size=32, device=device)
    batches = TensorBatches(data.train, 64,
                            generator=torch.Generator(device=device).manual_seed(0))
    model, criterion = HandLeNet().to(device), nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    done = 0
    while True:
        for image, label in batches:
            with precision.autocast():
                loss = criterion(model(image), label)
            opt.zero_grad(set_to_none=True)
            precision.step(loss, opt)
            done += 1
            if done % 10 == 0:
                loss.item()  # the session reads losses every log interval too
            yield len(batches)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 31  # read here: other benches import
    threads = set_threads()
    module = load_code(generate(load(ROOT / "examples" / "lenet.studio")))
    training = module.Training("cpu", 0, RESOURCES_DATA, steps=STEPS)
    batches = [tuple(t.clone() for t in b) for b in training.batches][:STEPS]

    torch.manual_seed(0)
    hand = HandLeNet()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(hand.parameters(), lr=1e-3)

    def hand_epoch():
        for image, label in batches:
            loss = criterion(hand(image), label)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    def studio_epoch():
        for batch in batches:
            training.train_step(batch)

    for _ in range(3):
        hand_epoch()
        studio_epoch()
    t = interleaved({"hand": hand_epoch, "studio": studio_epoch}, rounds, len(batches))
    print(f"LeNet step, batch 64, CPU, {threads} threads, torch {torch.__version__}, median of "
          f"{rounds} rounds of {len(batches)} steps")
    print(f"  hand-written PyTorch: {t['hand'] * 1e3:.3f} ms/step")
    print(f"  Studio generated:     {t['studio'] * 1e3:.3f} ms/step")
    print(f"  ratio (Studio / hand): {t['studio'] / t['hand']:.3f}  (goal <= 1.01)")


if __name__ == "__main__":
    main()
