"""A sweep's overhead per trial against the same trials run as separate `studio train` commands,
in the same session of this process: one `studio sweep` command over LeNet, width x pooling
(2x2), each trial STEPS steps, then each trial's project trained by its own `studio train`.

    python bench/bench_sweep.py            # goal: sweep overhead below 10% of a trial's time
    BENCH_STEPS=600 BENCH_ROUNDS=3 python bench/bench_sweep.py

A trial's time is its training, on the worker's own clock (``Progress.elapsed``, in the sweep).
A trial's overhead is what its wall-clock time adds to that: for the sweep, the command's wall
time over its trials less their training (one interpreter and its imports, starting each
trial's process or taking the one started during the trial before, building, the final
evaluation, recording, Optuna); for the
commands, each `studio train FILE --steps N` command's wall time less the same trial's
training (a new interpreter, importing torch twice: the command's and its worker's). The
sweep's first trial starts its process cold; the later trials' overhead is printed apart (each
trial's wall time from its start to its record closed, less its training). Rounds
alternate the sweep and the commands, so a change in the machine's speed falls on both alike;
figures are medians over the rounds. Every run is recorded in a temporary run history.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from common import ROOT

from studio.core.fileformat import load, save
from studio.core.sweep import SweepSpace
from studio.engine.run_history import RUNS_DIR_VARIABLE

STEPS = int(os.environ.get("BENCH_STEPS", 800))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 2))
VARY = ["conv1.out_channels=4,8", "pool1.block=MaxPool2d,BlurPool2d"]
GOAL = 0.10


def sweep_round(folder: Path) -> tuple[float, list]:
    """One `studio sweep` command: its wall seconds and its trials (as --json gives them)."""
    args = [sys.executable, "-m", "studio.cli", "sweep", "lenet", "--steps", str(STEPS),
            "--json", "--quiet"]
    for vary in VARY:
        args += ["--vary", vary]
    start = time.perf_counter()
    done = subprocess.run(args, check=True, cwd=folder, capture_output=True, text=True,
                          env=dict(os.environ, **{RUNS_DIR_VARIABLE: str(folder)}))
    wall = time.perf_counter() - start
    trials = [SimpleNamespace(**t) for t in json.loads(done.stdout)["trials"]]
    bad = [t for t in trials if t.status != "finished"]
    if bad:
        raise SystemExit(f"trial {bad[0].number} {bad[0].status}: {bad[0].message}")
    return wall, trials


def command_round(folder: Path, space, trials) -> list[float]:
    """Each trial's values trained by its own `studio train` command: wall seconds each."""
    times = []
    env = dict(os.environ, **{RUNS_DIR_VARIABLE: str(folder)})
    for trial in trials:
        path = folder / f"trial{trial.number}.studio"
        save(space.apply(trial.values), path)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "studio.cli", "train", str(path), "--steps",
                        str(STEPS), "--quiet"], check=True, cwd=ROOT, env=env,
                       stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    space = SweepSpace(load(ROOT / "examples" / "lenet.studio"), VARY)
    sweep_overheads, command_overheads, trainings, sweep_walls, command_walls = [], [], [], [], []
    later_overheads = []  # trials after the first, whose process the trial before started
    with tempfile.TemporaryDirectory() as tmp:
        os.environ[RUNS_DIR_VARIABLE] = tmp
        for index in range(ROUNDS):
            folder = Path(tmp) / f"round{index}"
            folder.mkdir()
            wall, trials = sweep_round(folder)
            commands = command_round(folder, space, trials)
            training = [t.train_seconds for t in trials]
            trainings.append(statistics.mean(training))
            sweep_walls.append(wall / len(trials))
            command_walls.append(statistics.mean(commands))
            sweep_overheads.append((wall - sum(training)) / len(trials))
            later_overheads.append(statistics.mean(t.seconds - t.train_seconds
                                                   for t in trials[1:]))
            command_overheads.append(statistics.mean(c - t for c, t in zip(commands, training)))
            print(f"round {index}: sweep {wall:.1f} s for {len(trials)} trials; commands "
                  f"{sum(commands):.1f} s; training {sum(training):.1f} s", flush=True)
    train = statistics.median(trainings)
    sweep_over, command_over = statistics.median(sweep_overheads), statistics.median(
        command_overheads)
    print(f"\nLeNet 2x2 ({', '.join(VARY)}), {STEPS} steps a trial, {ROUNDS} rounds, medians:")
    print(f"  a trial's training          {train:6.2f} s")
    print(f"  sweep, per trial            {statistics.median(sweep_walls):6.2f} s wall, "
          f"overhead {sweep_over:5.2f} s = {sweep_over / train:5.1%} of the training "
          f"(goal < {GOAL:.0%})")
    later = statistics.median(later_overheads)
    print(f"  sweep, trials after the first: overhead {later:5.2f} s = {later / train:5.1%} "
          "(their process imported torch while the trial before trained)")
    print(f"  studio train, per command   {statistics.median(command_walls):6.2f} s wall, "
          f"overhead {command_over:5.2f} s = {command_over / train:5.1%} of the training")
    print(f"  sweep overhead / commands' overhead: {sweep_over / command_over:.2f}; "
          f"commands' wall / sweep's wall: "
          f"{statistics.median(command_walls) / statistics.median(sweep_walls):.2f}")


if __name__ == "__main__":
    main()
