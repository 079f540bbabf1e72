"""A user's first moments with Studio, timed on a real X display (Xvfb, 1600x1000, xcb):

1. Launch: from starting the ``studio`` command to its window on the screen (mapped and
   viewable, as xdotool finds it through the X server); goal under 1.5 s once set up. Each
   launch has fresh settings (its own home folder).
2. First plot: LeNet opened from File > Examples, F5 pressed through the X server; from the
   Train action firing to the first step drawn on the Curves view; goal under 3 s on a quiet
   machine. Each round is a fresh app process. The app starts a training process when its
   window is up and keeps it waiting (engine/standby.py); F5 comes as soon as the example is
   open, before that process has finished importing torch, unless ``--reading S``: a user who
   looks at the example for S seconds first (the time is said in the output).

    python bench/bench_first_hour.py [--rounds N] [--busy K] [--reading S]

The two are measured in alternation (so drift of a shared machine hits both alike); median and
range over the rounds. ``--busy K`` runs K CPU-burning processes beside it. Needs Xvfb and
xdotool.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT

WINDOW_DIR = ROOT / "tests" / "window"
sys.path.insert(0, str(WINDOW_DIR))

SCREEN = (1600, 1000)
LAUNCH_TIMEOUT = 60.0
POLL_SECONDS = 0.01


def studio_command() -> list[str]:
    script = ROOT / ".venv" / "bin" / "studio"
    return [str(script)] if script.exists() else [sys.executable, "-m", "studio"]


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) a process has used so far: on a shared machine, about what
    its wall time would be on a quiet one, for work on one core."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def launch_seconds(display: str) -> tuple[float, float]:
    """Start ``studio`` and time until its window is viewable on ``display``; (wall seconds,
    CPU seconds of the process by then)."""
    from xserver import scenario_env

    home = Path(tempfile.mkdtemp(prefix="studio-bench-home-"))
    env = scenario_env(display, home)
    env.pop("PYTHONPATH", None)  # the installed command, as a user runs it
    start = time.perf_counter()
    process = subprocess.Popen(studio_command(), env=env, cwd=str(home), stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        while True:
            found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "Studio"],
                                   env=env, capture_output=True).returncode == 0
            if found:
                return time.perf_counter() - start, cpu_seconds(process.pid)
            if process.poll() is not None:
                raise RuntimeError(f"studio exited with {process.returncode}: "
                                   f"{process.stderr.read().decode()[-2000:]}")
            if time.perf_counter() - start > LAUNCH_TIMEOUT:
                raise RuntimeError(f"no Studio window within {LAUNCH_TIMEOUT:.0f} s")
            time.sleep(POLL_SECONDS)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def first_plot_seconds(display: str, reading: float) -> tuple[float, float]:
    """A fresh app on ``display``: LeNet from the menu, F5; seconds from Train to the first
    plotted step, and to the training process's first report of running (measured inside the
    app, see ``inside``)."""
    from xserver import scenario_env

    home = Path(tempfile.mkdtemp(prefix="studio-bench-home-"))
    env = scenario_env(display, home)
    done = subprocess.run([sys.executable, __file__, "--inside", f"--reading={reading}"], env=env,
                          cwd=str(home),
                          capture_output=True, text=True, timeout=300, start_new_session=True)
    for line in done.stdout.splitlines():
        if line.startswith("FIRST_PLOT "):
            return float(line.split()[1]), float(line.split()[2])
    raise RuntimeError(f"the first-plot run failed (exit {done.returncode}):\n"
                       f"{done.stdout[-3000:]}\n{done.stderr[-2000:]}")


def inside(reading: float) -> None:
    """The app side of the first-plot measurement (run on the X display by ``first_plot``)."""
    from PySide6.QtCore import QTimer
    from studio_steps import curve_points, focus_canvas, open_example
    from xdriver import run_main

    def body(s):
        s.step("File > Examples > lenet", lambda: open_example(s, "lenet"), needed=True)
        marks: dict[str, float] = {}

        def arm():
            window = s.window
            watch = QTimer(window)
            watch.setInterval(5)  # how often the bench looks at the curves; the app draws them

            def look():
                if "first" not in marks and curve_points(window) >= 1:
                    marks["first"] = time.perf_counter()
                    watch.stop()

            def pressed():
                marks.setdefault("train", time.perf_counter())
                watch.start()

            def state(name):
                if name == "running":
                    marks.setdefault("running", time.perf_counter())

            watch.timeout.connect(look)
            window.dashboard.panel.train_action.triggered.connect(pressed)
            window.dashboard.controller.state_changed.connect(state)

        s.gui(arm)
        focus_canvas(s)
        if reading:
            time.sleep(reading)  # the user looks at the example before pressing Train
        s.step("F5 and the first plotted step", lambda: (s.key("F5"), s.wait_until(
            lambda: "first" in marks, "the first plotted step", 240)), needed=True)
        running = marks.get("running", marks["first"])
        print(f"FIRST_PLOT {marks['first'] - marks['train']:.4f} "
              f"{running - marks['train']:.4f}", flush=True)
        s.key("shift+F5")
        s.wait_until(lambda: not s.window.dashboard.controller.running, "training stops", 60)

    run_main("first plot", body)


def summary(name: str, values: list[float], goal: float) -> str:
    med = statistics.median(values)
    return (f"{name}: median {med:.2f} s, range {min(values):.2f} .. {max(values):.2f} s over "
            f"{len(values)} rounds (goal < {goal} s: {'met' if med < goal else 'NOT met'}); "
            + ", ".join(f"{v:.2f}" for v in values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--busy", type=int, default=0, help="CPU-burning processes beside it")
    parser.add_argument("--reading", type=float, default=0.0,
                        help="seconds the user looks at the example before pressing Train")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.reading)
        return
    from xserver import CpuBurners, XServer, missing_tools

    missing = missing_tools()
    if missing:
        raise SystemExit(f"needs {' and '.join(missing)}")
    launches, launch_cpu, plots, started = [], [], [], []
    with XServer(*SCREEN) as x, CpuBurners(args.busy):
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start, "
              f"{args.busy} busy processes, display {x.display} {SCREEN[0]}x{SCREEN[1]}, "
              f"{args.reading:g} s between opening the example and Train",
              flush=True)
        for i in range(args.rounds):
            wall, cpu = launch_seconds(x.display)
            launches.append(wall)
            launch_cpu.append(cpu)
            plot, running = first_plot_seconds(x.display, args.reading)
            plots.append(plot)
            started.append(running)
            print(f"round {i + 1}: launch {wall:.2f} s ({cpu:.2f} s of CPU), Train -> first "
                  f"plot {plot:.2f} s (training process running after {running:.2f} s)",
                  flush=True)
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
    print(summary("launch -> window shown", launches, 1.5))
    print(f"  CPU the launch used: median {statistics.median(launch_cpu):.2f} s")
    print(summary("Train -> first plotted step", plots, 3.0))
    print(f"  of which starting the training process (Train -> running): median "
          f"{statistics.median(started):.2f} s")


if __name__ == "__main__":
    main()
