"""Time one epoch over digits at 32x32 (batch 64): TensorBatches against torch's DataLoader.

Why: Studio keeps its built-in datasets resident as whole tensors and slices batches from them
(one shuffle per epoch, then contiguous views) instead of collating sample by sample. This shows
what that buys, first with a trivial per-batch workload (the data path alone), then with a real
LeNet training step per batch (what a user sees).

Run: python bench/bench_data_path.py   (about 10 s on 2 cores)
"""

import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio.engine.library.data import TensorBatches, load_digits  # noqa: E402

BATCH = 64


class LeNet(nn.Module):
    """LeNet-5 for 1x32x32 inputs, as the Classifier example project builds it."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5)
        self.pool1 = nn.AvgPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.pool2 = nn.AvgPool2d(2)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, image):
        x = self.pool1(torch.tanh(self.conv1(image)))  # 6 x 14 x 14
        x = self.pool2(torch.tanh(self.conv2(x)))  # 16 x 5 x 5
        x = torch.flatten(x, 1)  # 400
        x = torch.tanh(self.fc1(x))  # 120
        x = torch.tanh(self.fc2(x))  # 84
        return self.fc3(x)  # 10


def touch_epoch(batches) -> float:
    """The data path alone: read every batch once (sum it) so nothing is skipped lazily."""
    start = time.perf_counter()
    total = torch.zeros(())
    for image, label in batches:
        total += image.sum() + label.sum()
    float(total)
    return time.perf_counter() - start


def make_train_epoch(model, optimizer):
    loss_fn = nn.CrossEntropyLoss()

    def train_epoch(batches) -> float:
        start = time.perf_counter()
        for image, label in batches:
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(image), label)
            loss.backward()
            optimizer.step()
        loss.item()
        return time.perf_counter() - start

    return train_epoch


def compare(title, epoch, ours, theirs, warmup, repeats) -> None:
    """Interleave the two ways (so drift hits both alike), take medians, print them and the ratio."""
    for _ in range(warmup):
        epoch(ours)
        epoch(theirs)
    ours_times, theirs_times = [], []
    for _ in range(repeats):
        ours_times.append(epoch(ours))
        theirs_times.append(epoch(theirs))
    ours_median, theirs_median = statistics.median(ours_times), statistics.median(theirs_times)
    print(f"{title}, median of {repeats} epochs:")
    print(f"  TensorBatches: {ours_median * 1e3:9.2f} ms/epoch")
    print(f"  DataLoader:    {theirs_median * 1e3:9.2f} ms/epoch")
    print(f"  ratio (DataLoader / TensorBatches): {theirs_median / ours_median:.2f}x")


def main() -> None:
    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    digits = load_digits(ROOT / "resources" / "data", size=32)
    image, label = digits.train
    ours = TensorBatches((image, label), batch_size=BATCH, shuffle=True)
    theirs = DataLoader(TensorDataset(image, label), batch_size=BATCH, shuffle=True)
    print(
        f"digits {tuple(image.shape[1:])}, {len(image)} training images, batch {BATCH}, "
        f"{len(ours)} batches per epoch; torch {torch.__version__}, {threads} threads"
    )
    compare("touch only (sum of each batch)", touch_epoch, ours, theirs, warmup=3, repeats=51)
    model = LeNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    compare(
        "LeNet + Adam step per batch", make_train_epoch(model, optimizer), ours, theirs, warmup=2, repeats=15
    )


if __name__ == "__main__":
    main()
