"""The CUDA path: training on a GPU in fp32, fp16 and bf16, channels-last, deterministic runs
that resume exactly, the generative examples with two GradScalers, a session's worker on the
GPU, and data-parallel ranks on several GPUs. Skipped where torch sees no GPU (CI); run on a
machine with one by ``scripts/gpu_check.sh``, which needs no Qt (``--noconftest``)."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from studio.core.fileformat import load, save  # noqa: E402
from studio.engine.events import Error, Finished, Started  # noqa: E402
from studio.engine.probes import ProbeRates  # noqa: E402
from studio.engine.runner import RunConfig  # noqa: E402
from studio.engine.trainer import train_project  # noqa: E402

EXAMPLES = ROOT / "examples"
GPUS = torch.cuda.device_count() if torch.cuda.is_available() else 0
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(GPUS == 0, reason="no CUDA GPU here")]


def losses(project, **config) -> list[float]:
    result = train_project(project, RunConfig(device="cuda", **config), progress=False)
    return [p["loss"] for p in result.history if "loss" in p]


def lenet(**settings):
    project = load(EXAMPLES / "lenet.studio")
    project.training.configure(log_every=1, **settings)
    return project


@pytest.mark.parametrize("amp, channels_last", [("off", False), ("fp16", False), ("bf16", True)])
def test_lenet_learns_on_the_gpu_in_each_precision(amp, channels_last):
    values = losses(lenet(amp=amp, channels_last=channels_last), steps=60)
    assert len(values) == 60 and all(math.isfinite(v) for v in values)
    assert sum(values[-10:]) < sum(values[:10])  # it learns


def test_the_gpu_follows_the_cpu_in_fp32():
    gpu = losses(lenet(deterministic=True), steps=20)
    cpu = [p["loss"] for p in train_project(lenet(deterministic=True),
                                            RunConfig(device="cpu", steps=20),
                                            progress=False).history]
    assert max(abs(a - b) for a, b in zip(gpu, cpu)) < 1e-3


def test_a_deterministic_gpu_run_repeats_and_resumes_exactly(tmp_path):
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    whole = losses(lenet(deterministic=True), steps=40)
    assert losses(lenet(deterministic=True), steps=40) == whole
    checkpoint = tmp_path / "half.pt"
    train_project(lenet(deterministic=True), RunConfig(device="cuda", steps=20,
                                                       checkpoint_path=str(checkpoint)),
                  progress=False)
    resumed = losses(lenet(deterministic=True), steps=40, resume_from=str(checkpoint))
    assert resumed == whole


@pytest.mark.parametrize("example", ["dcgan", "vae"])
def test_the_generative_examples_train_in_fp16(example):
    project = load(EXAMPLES / f"{example}.studio")
    project.training.configure(amp="fp16")
    result = train_project(project, RunConfig(device="cuda", steps=40), progress=False)
    values = [v for p in result.history for k, v in p.items()
              if k not in ("step", "epoch", "lr") and isinstance(v, float)]
    assert values and all(math.isfinite(v) for v in values)
    assert result.device.startswith("cuda")


def test_a_session_trains_on_the_gpu():
    from studio.engine.session import TrainingSession

    session = TrainingSession(lenet(), RunConfig(device="cuda", steps=50,
                                                 probes=ProbeRates()))
    session.start()
    seen: list = []
    assert session.wait(300, collect=seen)
    assert not [e for e in seen if isinstance(e, Error)], seen[-3:]
    assert next(e for e in seen if isinstance(e, Started)).device.startswith("cuda")
    assert next(e for e in seen if isinstance(e, Finished)).status == "finished"


@pytest.mark.skipif(GPUS < 2, reason="data-parallel on GPUs needs two of them")
@pytest.mark.parametrize("sync_batchnorm", [False, True])
def test_two_gpus_follow_one_and_sync_batchnorm_runs(tmp_path, sync_batchnorm):
    from studio.cli import main

    path = tmp_path / "lenet.studio"
    save(lenet(), path)
    log = tmp_path / "log.jsonl"
    options = ["--sync-batchnorm"] if sync_batchnorm else []
    assert main(["train", str(path), "--nproc", "2", "--device", "cuda", "--steps", "30",
                 "--quiet", "--no-record", "--log", str(log), *options]) == 0
    two = [json.loads(line)["loss"] for line in log.read_text().splitlines()
           if '"loss"' in line and '"event"' not in line]
    one = losses(lenet(), steps=30)
    assert len(two) == 30 and max(abs(a - b) for a, b in zip(one, two)) < 1e-3
