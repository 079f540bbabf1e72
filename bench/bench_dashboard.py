"""The dashboard while training: how responsive the editor stays, what drawing costs the
training, and how plots cope with long runs.

    python bench/bench_dashboard.py [STEPS]

1. Event-loop latency: LeNet and the DCGAN train from the main window with every plot shown at
   once (View > Tile Training Plots), the canvas watching a node. A 10 ms timer on the UI thread
   records how late each tick fires; goal: 99th percentile under 30 ms.
2. Drawing cost: the same steady-state steps (from step 50) with the window drawing against
   the same session with no window at all, interleaved; goal: ratio at most 1.05.
3. Long runs: a 100,000-step run's curves, one refresh after 10 new points and a full repaint.

Runs offscreen (QT_QPA_PLATFORM=offscreen) when no display is set.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from common import ROOT, set_threads  # noqa: E402

from studio.core.fileformat import load  # noqa: E402
from studio.engine.probes import ProbeRates  # noqa: E402
from studio.engine.runner import RunConfig  # noqa: E402
from studio.engine.session import TrainingSession  # noqa: E402

# LeNet's steps are so quick that it gets three times as many, for a few seconds of steady state
STEPS = {"lenet": 1440, "dcgan": 480}
if len(sys.argv) > 1:
    STEPS = dict.fromkeys(STEPS, int(sys.argv[1]))
WARMUP = 50
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))  # more rounds: a steadier median
WATCH = {"lenet": ("training", "conv2"), "dcgan": ("Generator", "relu2")}


def steady_seconds(progress: list, steps: int) -> float:
    """Seconds for the steps after the warm-up, from the worker's own progress reports."""
    warm = next(p for p in progress if p["step"] >= WARMUP)
    last = progress[-1]
    return (last["elapsed"] - warm["elapsed"]) * (steps - WARMUP) / (last["step"] - warm["step"])


def headless(name: str, steps: int) -> float:
    """The dashboard's run settings (default probes, previews, evaluation), no window."""
    key = WATCH[name]
    node = f"training/{key[1]}" if key[0] == "training" else f"training/generator/{key[1]}"
    config = RunConfig(steps=steps, probes=ProbeRates(), watch=(node,), checkpoint_epochs=False)
    session = TrainingSession(load(ROOT / "examples" / f"{name}.studio"), config)
    session.start()
    events: list = []
    session.wait(collect=events)
    return steady_seconds([e for e in events if e["type"] == "progress"], steps)


def windowed(app, name: str, steps: int) -> tuple[float, np.ndarray, np.ndarray]:
    """Train from the main window with every plot shown: steady seconds, the timer's lateness
    and the drawing time per frame (ms)."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer

    from studio.ui.main_window import MainWindow

    folder = tempfile.mkdtemp(prefix="studio-bench-")
    window = MainWindow(QSettings(os.path.join(folder, "s.ini"), QSettings.Format.IniFormat),
                        recovery_folder=os.path.join(folder, "recovery"))
    window.resize(1920, 1200)
    window.show()
    window.open_path(ROOT / "examples" / f"{name}.studio", ask=False)
    window.session.doc.project.training.configure(steps=steps)
    window.dashboard.tile_views()
    graph, node = WATCH[name]
    window.select_node(graph, node)
    app.processEvents()
    progress: list = []
    run_holder = {}

    def record(topics):
        run = window.dashboard.store.current
        run_holder["run"] = run
        if run is not None and "progress" in topics and run.progress:
            progress.append(dict(run.progress))

    controller = window.dashboard.controller
    controller.updated.connect(record)
    lateness: list = []
    clock = QElapsedTimer()
    tick = QTimer()
    tick.setInterval(10)
    last = [0]

    def on_tick():
        now = clock.nsecsElapsed()
        if last[0]:
            lateness.append((now - last[0]) / 1e6 - 10.0)
        last[0] = now

    tick.timeout.connect(on_tick)
    loop = QEventLoop()
    controller.state_changed.connect(
        lambda state: state in ("finished", "stopped", "failed") and loop.quit())
    cpu = time.process_time()
    assert window.dashboard.panel.train(), window.dashboard.panel.error_text
    clock.start()
    tick.start()
    loop.exec()  # the app's own event loop, idle between events, as for a user
    tick.stop()
    window.ui_cpu = time.process_time() - cpu
    for _ in range(5):
        app.processEvents()
    run = run_holder.get("run")
    if run is None or run.state != "finished":
        raise SystemExit(f"{name}: the run did not finish: {run.error if run else None}")
    window.session.doc.mark_saved()
    window.dashboard.controller.shutdown()
    window.close()
    window.deleteLater()
    app.processEvents()
    draw_ms = 1000 * np.array(window.dashboard.refresh_seconds)
    print(f"    ({name}: the UI process used {window.ui_cpu:.2f} s of CPU over the run, "
          f"{len(progress)} progress reports drawn)")
    return steady_seconds(progress, steps), np.array(lateness), draw_ms


def long_run_curves(app) -> tuple[float, float, float]:
    from studio.ui.dashboard.curves import CurvesView
    from studio.ui.dashboard.store import RunStore

    store = RunStore()
    store.new_run()
    rng = np.random.default_rng(0)
    n = 100_000
    steps = np.arange(1, n + 1)
    loss = 2.3 * np.exp(-steps / 20_000) + 0.1 * rng.random(n)
    points = [{"step": int(s), "epoch": 1, "loss": float(v), "accuracy": float(1 - v / 3)}
              for s, v in zip(steps, loss)]
    store.apply([{"type": "started", "total_steps": n + 1000, "metrics": ["loss"], "nodes": []}])
    store.apply([{"type": "metrics", "points": points, "lr": {"adam": 1e-3}}])
    store.apply([{"type": "evaluation", "step": int(s), "metrics": {"test_loss": float(loss[s - 1])}}
                 for s in range(1000, n + 1, 1000)])
    view = CurvesView(store)
    view.resize(1000, 500)
    view.show()
    app.processEvents()
    start = time.perf_counter()
    view.refresh({"all"})
    view.grab()
    first = time.perf_counter() - start
    more = []
    for i in range(20):
        base = n + 10 * i
        store.apply([{"type": "metrics", "points": [
            {"step": base + j, "epoch": 1, "loss": 0.1, "accuracy": 0.97} for j in range(1, 11)],
            "lr": {"adam": 1e-3}}])
        start = time.perf_counter()
        view.refresh({"metrics"})
        refresh = time.perf_counter() - start
        start = time.perf_counter()
        view.grab()
        more.append((refresh, time.perf_counter() - start))
    view.close()
    view.deleteLater()
    app.processEvents()
    return first, statistics.median(m[0] for m in more), statistics.median(m[1] for m in more)


def main() -> None:
    from PySide6.QtWidgets import QApplication

    threads = set_threads()
    app = QApplication.instance() or QApplication([])
    print(f"CPU, {threads} threads, steps per run {STEPS}, {ROUNDS} interleaved rounds")
    for name in ("lenet", "dcgan"):
        plain, drawn, late, draw = [], [], [], []
        for _ in range(ROUNDS):
            plain.append(headless(name, STEPS[name]))
            seconds, lateness, draw_ms = windowed(app, name, STEPS[name])
            drawn.append(seconds)
            late.append(lateness)
            draw.append(draw_ms)
        lateness = np.concatenate(late)
        draw_ms = np.concatenate(draw)
        ratio = statistics.median(drawn) / statistics.median(plain)
        print(f"{name}: event-loop lateness p50 {np.percentile(lateness, 50):.1f} ms, p99 "
              f"{np.percentile(lateness, 99):.1f} ms, max {lateness.max():.1f} ms (goal p99 < 30); "
              f"drawing per frame p50 {np.percentile(draw_ms, 50):.1f} ms, p99 "
              f"{np.percentile(draw_ms, 99):.1f} ms")
        print(f"  steady steps with the window {statistics.median(drawn):.2f} s, without "
              f"{statistics.median(plain):.2f} s: ratio {ratio:.3f} (goal <= 1.05)")
    first, refresh, repaint = long_run_curves(app)
    print(f"100,000-step curves: first draw {first * 1000:.0f} ms; after 10 new points a refresh "
          f"takes {refresh * 1000:.1f} ms and a repaint {repaint * 1000:.1f} ms")


if __name__ == "__main__":
    main()
