"""Data-parallel training with DistributedDataParallel under torchrun, on the CPU (gloo) with
two ranks: ``studio train --nproc 2`` follows the one-process run, resumes exactly, trains a GAN
and a VAE, stops in order, names a rank that dies; the exported train.py runs under torchrun."""

import json
import math
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from studio.cli import main
from studio.core.fileformat import load, save
from studio.engine.codegen import generate
from studio.engine.distributed_session import DistributedSession, Launch
from studio.engine.events import (
    Activations,
    Checkpoint,
    Error,
    Finished,
    Paused,
    Progress,
    ReceptiveField,
    Resumed,
    Started,
)
from studio.engine.export import write_export
from studio.engine.loader import RESOURCES_DATA
from studio.engine.loader import load as load_code
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig
from studio.engine.trainer import train_project
from tests.helpers import EXAMPLES, rank_pids

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="torchrun's gloo ranks, tested on Linux")


def lenet(tmp_path) -> Path:
    """LeNet logging every step (1,497 digits, 64 a batch: step 24 is a batch of 25, which two
    ranks split 12 and 13)."""
    project = load(EXAMPLES / "lenet.studio")
    project.training.configure(log_every=1)
    path = tmp_path / "lenet.studio"
    save(project, path)
    return path


def train_ranks(path, log, *options) -> list[float]:
    """``studio train --nproc 2``; the losses it logged, step by step."""
    status = main(["train", str(path), "--nproc", "2", "--device", "cpu", "--quiet",
                   "--no-record", "--log", str(log), *options])
    assert status == 0
    points = [json.loads(line) for line in Path(log).read_text().splitlines()]
    return [p["loss"] for p in points if "step" in p and "event" not in p]


def session(path, steps, **config) -> DistributedSession:
    run = DistributedSession(load(path), RunConfig(steps=steps, device="cpu",
                                                   probes=ProbeRates.off(), pause_on_nan=False,
                                                   **config), Launch(2))
    run.start()
    return run


def wait_for(run, kind) -> list:
    seen: list = []
    while not any(isinstance(e, kind) for e in seen):
        batch = run.events(1.0)
        assert batch or run.alive, seen
        seen += batch
    return seen


def test_two_ranks_follow_the_one_process_run_stop_and_resume_exactly(tmp_path):
    path = lenet(tmp_path)
    one = [p["loss"] for p in train_project(load(path), RunConfig(steps=50, device="cpu"),
                                            progress=False).history]
    two = train_ranks(path, tmp_path / "two.jsonl", "--steps", "50")
    assert len(one) == len(two) == 50
    assert max(abs(a - b) for a, b in zip(one, two)) < 1e-5
    checkpoint = tmp_path / "stopped.pt"
    run = session(path, 100_000, checkpoint_path=str(checkpoint))
    seen = wait_for(run, Started)
    run.stop()  # every rank stops at the next step; rank 0 writes the checkpoint
    seen += run.events()
    final = next(e for e in seen if isinstance(e, Finished))
    assert final.status == "stopped" and not any(isinstance(e, Error) for e in seen)
    assert torch.load(checkpoint, weights_only=True)["step"] == final.steps
    assert 0 < final.steps < 50
    resumed = train_ranks(path, tmp_path / "resumed.jsonl", "--steps", "50",
                          "--resume", str(checkpoint))
    assert resumed == two  # the stopped run's steps (from the checkpoint), then the new ones


def test_two_ranks_pause_answer_rank_0s_commands_and_resume_from_a_checkpoint_asked_for(
        tmp_path):
    """What the window sends a run on several processes: the ranks pause together (a
    checkpoint asked for while paused holds the paused step), rank 0 answers a watch and a
    receptive-field click on its own, they resume, and the checkpoint continues exactly."""
    path = lenet(tmp_path)
    run = session(path, 100_000)
    seen = wait_for(run, Started)
    run.pause()
    seen += wait_for(run, Paused)
    paused = next(e for e in seen if isinstance(e, Paused)).step
    asked = tmp_path / "asked.pt"
    run.save_checkpoint(asked)
    run.watch(["training/conv1"])
    run.request_field("training/conv1", (0, 5, 5), 0)
    while not ({Checkpoint, Activations, ReceptiveField} <= {type(e) for e in seen}):
        batch = run.events(1.0)
        assert batch or run.alive, seen
        seen += batch
    assert next(e for e in seen if isinstance(e, Checkpoint)).step == paused
    assert all(e.step == paused for e in seen if isinstance(e, Activations))
    field = next(e for e in seen if isinstance(e, ReceptiveField))
    assert field.message is None and field.gradient is not None
    assert not [e for e in seen if isinstance(e, Progress) and e.step > paused]  # held
    run.resume()
    seen += wait_for(run, Resumed)
    while not [e for e in seen if isinstance(e, Progress) and e.step > paused + 2]:
        batch = run.events(1.0)
        assert batch or run.alive, seen
        seen += batch
    run.stop()
    seen += run.events()
    assert not any(isinstance(e, Error) for e in seen), [e for e in seen if isinstance(e, Error)]
    steps = paused + 8
    one = [p["loss"] for p in train_project(load(path), RunConfig(steps=steps, device="cpu"),
                                            progress=False).history]
    resumed = train_ranks(path, tmp_path / "resumed.jsonl", "--steps", str(steps),
                          "--resume", str(asked))
    assert len(resumed) == steps
    assert max(abs(a - b) for a, b in zip(one, resumed)) < 1e-5


@pytest.mark.parametrize("example, loss", [("dcgan", "loss_g"), ("vae", None)])
def test_a_gan_and_a_vae_train_under_two_ranks(tmp_path, example, loss):
    samples = tmp_path / "samples"
    status = main(["train", str(EXAMPLES / f"{example}.studio"), "--nproc", "2", "--steps", "4",
                   "--device", "cpu", "--quiet", "--no-record", "--samples", str(samples),
                   "--log", str(tmp_path / "log.jsonl")])
    assert status == 0
    points = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    final = points[-1]
    assert final["event"] == "final" and final["steps"] == 4 and "2 ranks" in final["device"]
    values = [v for p in points if "step" in p and "event" not in p for k, v in p.items()
              if k not in ("step", "epoch", "lr") and (loss is None or k == loss)]
    assert values and all(math.isfinite(v) for v in values)
    assert list(samples.glob("*.png"))  # rank 0 drew the previews


def test_a_rank_that_dies_is_named_and_no_rank_is_left(tmp_path):
    run = session(EXAMPLES / "lenet.studio", 100_000)
    wait_for(run, Started)
    pids = rank_pids(run)
    os.kill(pids[1], signal.SIGKILL)
    assert run.wait(120)
    errors = [e for e in run.events() if isinstance(e, Error)]
    assert errors[0].message.startswith("rank 1 ended with exit code -9 (killed by SIGKILL)")
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids.values())


def test_the_exported_script_runs_under_torchrun(tmp_path):
    project = load(EXAMPLES / "lenet.studio")
    project.training.configure(log_every=1)
    training = load_code(generate(project)).Training("cpu", 0, RESOURCES_DATA, steps=3)
    expected = [training.train_step(b)["loss"].item() for b, _ in zip(training.batches, range(3))]
    write_export(project, tmp_path)
    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                          "--nproc_per_node", "2", "train.py", "--steps", "3", "--device", "cpu",
                          "--out", "out"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    losses = [float(v) for v in re.findall(r"^step \d+/3 loss (\S+)", out.stdout, re.M)]
    assert len(losses) == 3  # printed once, by rank 0
    assert all(abs(a - b) < 2e-4 for a, b in zip(losses, expected)), (losses, expected)
    assert out.stdout.count("test_accuracy") == 1 and (tmp_path / "out" / "weights.pt").exists()


def test_several_machines_meet_at_one_endpoint(capsys):
    lenet_file = str(EXAMPLES / "lenet.studio")
    assert main(["train", lenet_file, "--nproc", "2", "--nnodes", "2"]) == 2
    assert "--rdzv-endpoint" in capsys.readouterr().err
    assert main(["train", lenet_file, "--nnodes", "2", "--rdzv-endpoint", "a:1"]) == 2
    assert "go with --nproc" in capsys.readouterr().err
    args = Launch(4, nnodes=2, node_rank=1, rdzv_endpoint="node0:29400").arguments()
    assert args == ["--nproc_per_node", "4", "--nnodes", "2", "--node_rank", "1",
                    "--rdzv_backend", "c10d", "--rdzv_endpoint", "node0:29400",
                    "--rdzv_id", "studio"]


def image_folder_project(tmp_path) -> Path:
    """A small MLP (no batch statistics) on 33 PNG files streamed from disk: 25 train, 8 a
    batch, so each epoch's last batch is one image (rank 0's share of it is empty)."""
    from studio.core.project import Project
    from tests.test_data_files import write_image_folder

    write_image_folder(tmp_path / "images", count=11)
    project = Project("Streamed")
    t = project.training
    t.configure(batch_size=8, log_every=1)
    d = t.add("Dataset", id="images", dataset="folder", path=str(tmp_path / "images"),
              classes=3, size=8, channels=1, test_fraction=0.25, memory="stream")
    logits = t.stack(d["image"], "Flatten", ("Linear", dict(out_features=16)), "ReLU",
                     ("Linear", dict(out_features=3)))
    loss = t.add("CrossEntropy", id="loss")
    t.connect(logits, loss["input"])
    t.connect(d["label"], loss["target"])
    t.chain(loss, t.add("Adam", id="adam", lr=1e-2))
    path = tmp_path / "streamed.studio"
    save(project, path)
    return path


def test_streamed_images_under_two_ranks_follow_the_one_process_run_and_resume_exactly(tmp_path):
    """One launch: two ranks continue a one-process run's checkpoint in the middle of an
    epoch (streamed batches skipped to the same place), across an empty share and into the
    next epoch (rank 0's order), and log the one-process run's losses."""
    path = image_folder_project(tmp_path)
    one = [p["loss"] for p in train_project(load(path), RunConfig(steps=10, device="cpu"),
                                            progress=False).history]
    checkpoint = tmp_path / "five.pt"
    train_project(load(path), RunConfig(steps=5, device="cpu", checkpoint_path=str(checkpoint)),
                  progress=False)
    two = train_ranks(path, tmp_path / "two.jsonl", "--steps", "10", "--resume", str(checkpoint))
    assert len(one) == len(two) == 10
    assert max(abs(a - b) for a, b in zip(one, two)) < 1e-5, (one, two)


class CountingFiles:
    """An image folder's source that records the positions of the files it reads."""

    def __init__(self, source):
        self.source, self.read = source, []
        self.sample_shape = source.sample_shape

    def __len__(self):
        return len(self.source)

    def __getitem__(self, positions):
        self.read += [int(p) for p in positions]
        return self.source[positions]


def test_each_rank_reads_only_its_share_of_every_streamed_batch(tmp_path):
    from studio.engine.library import data
    from tests.test_data_files import write_image_folder

    write_image_folder(tmp_path, count=11)

    def batches(seed=3):
        split = data.load_image_folder(tmp_path, size=8, classes=3, test_fraction=0.25,
                                       memory="stream", workers=0).train
        split.source = CountingFiles(split.source)
        return data.StreamableBatches(split, 8, generator=torch.Generator().manual_seed(seed))

    whole = batches()
    epoch = list(whole)
    assert [len(b[0]) for b in epoch] == [8, 8, 8, 1]
    ranks = [batches() for _ in range(2)]
    shares = [list(r.shares(rank, 2)) for rank, r in enumerate(ranks)]
    for step, batch in enumerate(epoch):
        (f0, (x0, y0)), (f1, (x1, y1)) = shares[0][step], shares[1][step]
        assert f0 + f1 == 1.0
        rows = [x for f, x in ((f0, x0), (f1, x1)) if f]  # an empty share is weighted 0
        assert torch.equal(torch.cat(rows), batch[0])
        assert torch.equal(torch.cat([y for f, y in ((f0, y0), (f1, y1)) if f]), batch[1])
    read = [r.tensors.source.read for r in ranks]
    assert len(read[0]) == 4 + 4 + 4 + 1 and len(read[1]) == 4 + 4 + 4 + 1  # row 0 of the last
    assert sorted(read[0][:12] + read[1]) == sorted(whole.tensors.source.read)
    assert not set(read[0][:12]) & set(read[1])


def test_sync_batchnorm_is_refused_on_the_cpu_with_a_message(tmp_path, capsys):
    """torch's SyncBatchNorm has CUDA kernels only: studio train refuses it before starting
    any rank, the exported train.py when it builds the run."""
    dcgan = str(EXAMPLES / "dcgan.studio")  # BatchNorm in both networks
    assert main(["train", dcgan, "--nproc", "2", "--device", "cpu", "--sync-batchnorm"]) == 2
    assert "--sync-batchnorm needs GPUs" in capsys.readouterr().err
    assert main(["train", dcgan, "--sync-batchnorm"]) == 2
    assert "--sync-batchnorm go with --nproc" in capsys.readouterr().err
    write_export(load(EXAMPLES / "dcgan.studio"), tmp_path)
    out = subprocess.run([sys.executable, "train.py", "--steps", "1", "--device", "cpu",
                          "--sync-batchnorm"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode != 0
    assert "sync_batchnorm: torch's SyncBatchNorm runs on GPUs only, not on cpu" in out.stderr


def test_loader_workers_share_a_machines_cores_among_its_ranks(monkeypatch):
    """Each rank's DataLoader starts workers of its own: two ranks on a machine count half of
    its cores each (no worker at all where a rank has only a core)."""
    from studio.engine.library.data import _default_workers as default_workers

    cores = len(os.sched_getaffinity(0))
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert default_workers() == max(min(4, cores - 1), 0)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert default_workers() == max(min(4, cores // 2 - 1), 0)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(cores))
    assert default_workers() == 0
