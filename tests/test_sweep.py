"""Sweeps end to end with real training (engine/sweep.py, studio sweep): each trial a recorded
run, failures recorded and passed over, cancel, pruning, and Optuna optional. Trials train a
few steps of LeNet; the seeds make the samplers and the runs repeat."""

import _thread
import itertools
import json
import signal
import subprocess
import sys

import pytest

from studio.cli import main
from studio.core.fileformat import load
from studio.core.sweep import SweepSpace
from studio.engine import sweep as sweep_module
from studio.engine.events import Metrics
from studio.engine.run_history import (
    FAILED,
    FINISHED,
    PRUNED,
    RUNS_DIR_VARIABLE,
    STOPPED,
    RunHistory,
    history_path,
)
from studio.engine.sweep import SweepOptions, run_sweep, trial_devices
from tests.helpers import EXAMPLES, ROOT

LENET = EXAMPLES / "lenet.studio"


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    """This test's own run histories (`studio sweep lenet` records beside ./lenet.studio)."""
    monkeypatch.setenv(RUNS_DIR_VARIABLE, str(tmp_path))
    return tmp_path


def test_a_2x2_sweep_of_width_and_pooling_records_four_runs_and_a_pareto_front(runs_dir,
                                                                                capsys):
    status = main(["sweep", "lenet", "--vary", "conv1.out_channels=4,8",
                   "--vary", "pool1.block=MaxPool2d,BlurPool2d", "--steps", "12", "--quiet"])
    out = capsys.readouterr().out
    assert status == 0, out
    lines = out.splitlines()
    assert lines[0].split() == ["trial", "conv1.out_channels", "pool1.block", "test_loss",
                                "params", "mult-adds", "status", "pareto", "run"]
    rows = [line.split() for line in lines[2:6]]
    assert sorted((r[1], r[2]) for r in rows) == [
        ("4", "BlurPool2d"), ("4", "MaxPool2d"), ("8", "BlurPool2d"), ("8", "MaxPool2d")]
    assert all("finished" in r for r in rows)
    marked = [r for r in rows if r[7] in ("M", "P", "MP")]
    assert marked, out  # the cheapest trial is always on the front against multiply-adds
    assert any(line.startswith("best: trial ") for line in lines)

    with RunHistory(history_path(runs_dir / "lenet.studio"), create=False) as history:
        runs = history.runs()
        sweep = history.sweeps()[-1]
    assert [(r.name, r.status, r.sweep, r.trial) for r in runs] == [
        (f"sweep {sweep.number} trial {i}", FINISHED, sweep.number, i) for i in range(4)]
    assert sorted((r.trial_values["conv1.out_channels"], r.trial_values["pool1.block"])
                  for r in runs) == [(4, "BlurPool2d"), (4, "MaxPool2d"), (8, "BlurPool2d"),
                                     (8, "MaxPool2d")]
    assert all("test_loss" in r.evaluation for r in runs)
    assert sweep.spec["method"] == "grid" and sweep.spec["trials"] == 4
    wider = {r.trial_values["conv1.out_channels"]: r.macs for r in runs}
    assert wider[8] > wider[4]  # each trial's own graph was recorded and costed

    assert main(["runs", "lenet"]) == 0
    listed = capsys.readouterr().out
    assert all(f"sweep {sweep.number} trial {i}" in listed for i in range(4))
    assert main(["runs", "lenet", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["runs"]
    assert [(r["sweep"], r["trial"], r["trial_values"]) for r in listed] == [
        (r.sweep, r.trial, r.trial_values) for r in runs]


def test_two_devices_train_two_trials_at_once_and_each_grid_cell_once(runs_dir, capsys):
    """Two "devices" that are both the CPU: two trials train at the same time (their recorded
    intervals overlap), each on a connection of its own to the history, and the grid's four
    cells are each tried once."""
    status = main(["sweep", "lenet", "--vary", "conv1.out_channels=4,8",
                   "--vary", "pool1.block=MaxPool2d,BlurPool2d", "--steps", "12",
                   "--devices", "cpu,cpu", "--json", "--quiet"])
    result = json.loads(capsys.readouterr().out)
    assert status == 0
    assert [t["number"] for t in result["trials"]] == [0, 1, 2, 3]
    with RunHistory(history_path(runs_dir / "lenet.studio"), create=False) as history:
        runs = sorted(history.runs(), key=lambda r: r.trial)
    assert [(r.trial, r.status, r.device) for r in runs] == [
        (i, FINISHED, "cpu") for i in range(4)]
    assert sorted((r.trial_values["conv1.out_channels"], r.trial_values["pool1.block"])
                  for r in runs) == [(4, "BlurPool2d"), (4, "MaxPool2d"), (8, "BlurPool2d"),
                                     (8, "MaxPool2d")]
    overlapping = [(a.trial, b.trial) for a, b in itertools.combinations(runs, 2)
                   if a.started < b.ended and b.started < a.ended]
    assert overlapping, [(r.started, r.ended) for r in runs]


def test_trials_spread_over_cuda_gpus_only_when_several_would_train_them(monkeypatch):
    project = load(LENET)
    monkeypatch.setattr(sweep_module, "cuda_devices", lambda: [0, 1])
    width = SweepSpace(project, ["conv1.out_channels=4,8"])
    assert trial_devices(SweepOptions(), project, width) == ("cuda:0", "cuda:1")
    assert trial_devices(SweepOptions(device="cpu"), project, width) == ("cpu",)
    assert trial_devices(SweepOptions(devices=("cuda:1",)), project, width) == ("cuda:1",)
    by_device = SweepSpace(project, ["training.device=cpu,cuda"])
    assert trial_devices(SweepOptions(), project, by_device) == ("auto",)
    monkeypatch.setattr(sweep_module, "cuda_devices", lambda: [0])
    assert trial_devices(SweepOptions(), project, width) == ("auto",)


def test_failed_trials_are_recorded_and_the_sweep_goes_on(runs_dir, capsys):
    """A kernel larger than the image cannot train (refused before any process starts); the
    device mps fails only when the run starts. Either way the trial is a failed run with its
    message and the other trials run."""
    status = main(["sweep", "lenet", "--vary", "conv1.kernel_size=5,40",
                   "--vary", "training.device=cpu,mps", "--steps", "6", "--json", "--quiet"])
    result = json.loads(capsys.readouterr().out)
    assert status == 0
    by_values = {(t["values"]["conv1.kernel_size"], t["values"]["training.device"]): t
                 for t in result["trials"]}
    assert len(by_values) == 4
    assert by_values[5, "cpu"]["status"] == FINISHED
    assert by_values[5, "cpu"]["metric"] is not None
    for device in ("cpu", "mps"):
        refused = by_values[40, device]
        assert refused["status"] == FAILED and "conv1" in refused["message"], refused
    assert by_values[5, "mps"]["status"] == FAILED
    assert "mps" in by_values[5, "mps"]["message"]
    assert result["best"] == by_values[5, "cpu"]["number"]
    with RunHistory(history_path(runs_dir / "lenet.studio"), create=False) as history:
        recorded = {r.number: r for r in history.runs()}
    for trial in result["trials"]:
        run = recorded[trial["run"]]
        assert (run.status, run.message, run.trial) == (trial["status"], trial["message"],
                                                         trial["number"])


def test_cancel_stops_the_running_trial_and_the_sweep(runs_dir):
    project = load(LENET)
    space = SweepSpace(project, ["conv1.out_channels=4,8"])
    cancelled = []

    def on_event(trial, event):
        if isinstance(event, Metrics):
            cancelled.append(trial)

    with RunHistory(runs_dir / "h.sqlite") as history:
        result = run_sweep(project, space, history, SweepOptions(steps=100000),
                           cancelled=lambda: bool(cancelled), on_event=on_event)
        runs = history.runs()
    assert result.cancelled
    assert [(t.status, t.message) for t in result.trials] == [
        (STOPPED, "the sweep was cancelled")]
    assert [(r.status, r.message, r.trial) for r in runs] == [
        (STOPPED, "the sweep was cancelled", 0)]
    assert runs[0].steps < 100000


@pytest.mark.parametrize("how", ["cancel", "ctrl+c"])
def test_cancel_or_ctrl_c_stops_every_trial_running_in_parallel(runs_dir, how, request):
    """With two devices two trials train at once; Cancel (the app's flag) or Ctrl+C (raised on
    the main thread, while Optuna's threads run the trials) stops both, recorded stopped, and
    starts no other."""
    project = load(LENET)
    space = SweepSpace(project, ["conv1.out_channels=4,8,16"])
    cancelled = []

    def on_event(trial, event):
        if isinstance(event, Metrics) and not cancelled:
            cancelled.append(trial)
            if how == "ctrl+c":
                _thread.interrupt_main()

    options = SweepOptions(steps=100000, devices=("cpu", "cpu"))
    if how == "ctrl+c":  # a shell's background job ignores SIGINT, and interrupt_main with it
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        request.addfinalizer(lambda: signal.signal(signal.SIGINT, previous))
    with RunHistory(runs_dir / "h.sqlite") as history:
        if how == "cancel":
            result = run_sweep(project, space, history, options,
                               cancelled=lambda: bool(cancelled), on_event=on_event)
            assert result.cancelled
            assert [(t.number, t.status) for t in result.trials] == [(0, STOPPED), (1, STOPPED)]
        else:
            with pytest.raises(KeyboardInterrupt):
                run_sweep(project, space, history, options, on_event=on_event)
        runs = sorted(history.runs(), key=lambda r: r.trial)
    assert [(r.trial, r.status, r.message) for r in runs] == [
        (0, STOPPED, "the sweep was cancelled"), (1, STOPPED, "the sweep was cancelled")]
    assert all(r.steps < 100000 for r in runs)


def test_a_clearly_bad_trial_is_pruned(runs_dir):
    """Random search (seed 10 draws lr 0.003, then 1e-7): the 1e-7 trial still has its first
    loss when the finished one has learned, so the median pruner stops it early."""
    project = load(LENET)
    space = SweepSpace(project, ["adam.lr=0.003,1e-7"])
    options = SweepOptions(method="random", trials=2, steps=30, seed=10, metric="loss",
                           prune_after_trials=1)
    with RunHistory(runs_dir / "h.sqlite") as history:
        result = run_sweep(project, space, history, options)
        runs = history.runs()
    assert [(t.values["adam.lr"], t.status) for t in result.trials] == [
        (0.003, FINISHED), (1e-7, PRUNED)]
    pruned = runs[1]
    assert pruned.status == PRUNED and pruned.message.startswith("pruned at step ")
    assert pruned.steps < 30
    assert result.best.number == 0 and result.trials[1].metric > result.trials[0].metric


@pytest.mark.parametrize("args, message", [
    (["--vary", "conv9.out_channels=4"],
     "studio: --vary conv9.out_channels: there is no node 'conv9' in the training graph"),
    (["--vary", "conv1.out_channels=4,0"],
     "studio: --vary conv1.out_channels=0: value 0 is below the minimum 1"),
    (["--vary", "conv1.out_channels"], "studio: --vary 'conv1.out_channels': expected "
                                        "NODE.PARAM=VALUES"),
    (["--vary", "adam.lr=log:1e-4..1e-2", "--method", "grid"],
     "studio: adam.lr: a grid tries every value, and this is a log range"),
    (["--vary", "conv1.out_channels=4,8", "--metric", "nonsense", "--steps", "1", "--epochs",
      "1"], "studio: give --epochs or --steps, not both"),
])
def test_bad_specs_are_refused_in_one_line_before_training(runs_dir, capsys, args, message):
    assert main(["sweep", "lenet", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message), err
    assert not (runs_dir / "lenet.runs").exists()


def test_without_optuna_studio_imports_and_sweep_says_how_to_install(runs_dir):
    code = (
        "import sys\n"
        "sys.modules['optuna'] = None  # as if it were not installed\n"
        "import studio.cli, studio.cli_sweep, studio.core.sweep, studio.engine.sweep\n"
        "sys.exit(studio.cli.main(['sweep', 'lenet', '--vary', 'conv1.out_channels=4,8']))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "pip install studio[sweep]" in done.stderr
    assert done.stderr.count("\n") == 1  # one line, no traceback
