"""The dashboard while training: how responsive the editor stays, what drawing costs the
training, and how plots cope with long runs.

    python bench/bench_dashboard.py [STEPS]

1. Event-loop latency: LeNet and the DCGAN train from the main window with every plot shown at
   once (View > Tile Training Plots), the canvas watching a node. A 10 ms timer on the UI thread
   records how late each tick fires; goal: 99th percentile under 30 ms.
2. Drawing cost: the same steady-state steps (from step 50) with the window drawing against
   the same session with no window at all, trained side by side in alternating slices (each
   paused while the other trains, so drift of the shared machine's speed falls on both
   alike); goal: ratio at most 1.05. The probe timer of (1) is off here, and the bench waits
   on the window's own signals, so that nothing but the editor wakes the editor.
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
from bench_session import WARMUP, SessionRun  # noqa: E402
from common import ROOT, set_threads  # noqa: E402

from studio.engine.allocator import keep_freed_memory  # noqa: E402

# LeNet's steps are so quick that it gets three times as many, for a few seconds of steady state
STEPS = {"lenet": 1440, "dcgan": 480}
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))  # more rounds: a steadier median
# Longer than bench_session's slices: each resume redraws the window's state, which short
# slices would charge to drawing many times a second.
SLICE_SECONDS = float(os.environ.get("BENCH_SLICE", 0.3))
PAUSED_DRAWING_SECONDS = 0.5
WATCH = {"lenet": ("training", "conv2"), "dcgan": ("Generator", "relu2")}


def spin(seconds: float, until=lambda: False, changed=None) -> None:
    """Run the app's own event loop (idle between events, as for a user) for ``seconds`` or
    until ``until()`` holds, looked at whenever the signal ``changed`` fires (so the bench
    adds no timer of its own that would wake the editor while it trains)."""
    from PySide6.QtCore import QEventLoop, QTimer

    if until():
        return
    loop = QEventLoop()
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    deadline.start(int(seconds * 1000))

    def look(*_):
        if until():
            loop.quit()

    if changed is not None:
        changed.connect(look)
    loop.exec()
    deadline.stop()
    if changed is not None:
        changed.disconnect(look)


class WindowRun:
    """Training from the main window with every plot shown (View > Tile Training Plots) and a
    node watched, a slice at a time; with ``probe``, a 10 ms timer on the UI thread records
    how late each tick fires while it trains."""

    def __init__(self, name: str, steps: int, probe: bool = False):
        from PySide6.QtCore import QElapsedTimer, QSettings, QTimer

        from studio.ui.main_window import MainWindow

        folder = tempfile.mkdtemp(prefix="studio-bench-")
        self.window = window = MainWindow(
            QSettings(os.path.join(folder, "s.ini"), QSettings.Format.IniFormat),
            recovery_folder=os.path.join(folder, "recovery"))
        window.resize(1920, 1200)
        window.show()
        window.open_path(ROOT / "examples" / f"{name}.studio", ask=False)
        window.session.doc.project.training.configure(steps=steps)
        window.dashboard.tile_views()
        window.select_node(*WATCH[name])
        self.name, self.steps = name, steps
        self.controller = controller = window.dashboard.controller
        self.progress: list = []
        controller.updated.connect(self._record)
        self.lateness: list = []
        self.training = False
        self.clock = QElapsedTimer()
        self.clock.start()
        self.last_tick = 0
        self.tick = QTimer()
        self.tick.setInterval(10)
        self.tick.timeout.connect(self._on_tick)
        if probe:
            self.tick.start()
        self.cpu = 0.0
        assert window.dashboard.panel.train(), window.dashboard.panel.error_text
        controller.session.pause()  # answered before the first step
        spin(60, lambda: controller.state == "paused", controller.state_changed)

    def _record(self, topics) -> None:
        run = self.window.dashboard.store.current
        if run is not None and "progress" in topics and run.progress is not None:
            if not self.progress or self.progress[-1].step != run.progress.step:
                self.progress.append(run.progress)

    def _on_tick(self) -> None:
        now = self.clock.nsecsElapsed()
        if self.training and self.last_tick:
            self.lateness.append((now - self.last_tick) / 1e6 - 10.0)
        self.last_tick = now

    @property
    def finished(self) -> bool:
        return self.controller.state in ("finished", "stopped", "failed")

    def train_slice(self, seconds: float) -> None:
        cpu = time.process_time()
        self.controller.resume()
        self.training = True
        self.last_tick = 0  # the loop was not run while the other side trained: start afresh
        spin(seconds, lambda: self.finished, self.controller.state_changed)
        self.training = False
        if not self.finished:
            self.controller.pause()
            spin(60, lambda: self.controller.state == "paused" or self.finished,
                 self.controller.state_changed)
        self.cpu += time.process_time() - cpu
        if not self.finished:
            # paused, the window draws the news it still has, as it would for a user who
            # paused, before the other side trains (not at the next resume, in training time)
            spin(PAUSED_DRAWING_SECONDS)

    def train_all(self) -> None:
        """Train to the end without a pause (for the latency probe)."""
        while not self.finished:
            self.train_slice(60.0)

    def result(self) -> tuple[float, np.ndarray, np.ndarray]:
        """Steady seconds, the timer's lateness while training and the drawing time per frame
        (ms)."""
        spin(2.0, lambda: self.window.dashboard.store.current.state in ("finished", "failed"),
             self.controller.updated)
        run = self.window.dashboard.store.current
        if run is None or run.state != "finished":
            raise SystemExit(f"{self.name}: the run did not finish: {run.error if run else None}")
        self.tick.stop()
        window = self.window
        window.session.doc.mark_saved()
        self.controller.shutdown()
        window.close()
        window.deleteLater()
        draw_ms = 1000 * np.array(window.dashboard.refresh_seconds)
        print(f"    ({self.name}: the UI process used {self.cpu:.2f} s of CPU while the window's "
              f"run trained (drawing while paused left out), {len(self.progress)} progress "
              f"reports drawn)")
        warm = next(p for p in self.progress if p.step >= WARMUP)
        last = self.progress[-1]
        seconds = (last.elapsed - warm.elapsed) * (self.steps - WARMUP) / (last.step - warm.step)
        return seconds, np.array(self.lateness), draw_ms


def side_by_side(name: str) -> dict:
    """One round: the same run with every plot drawn and with no window (a session of the
    dashboard's settings: default probes, previews, evaluation, the same node watched), trained
    in alternating slices so that the machine's drift falls on both alike."""
    graph, node = WATCH[name]
    key = f"training/{node}" if graph == "training" else f"training/{graph.lower()}/{node}"
    drawn = WindowRun(name, STEPS[name])
    plain = SessionRun(name, STEPS[name], probes=True, watch=(key,))
    turn = 0
    while not (drawn.finished and plain.finished):
        for run in (drawn, plain) if turn % 2 == 0 else (plain, drawn):
            if not run.finished:
                run.train_slice(SLICE_SECONDS)
        turn += 1
    seconds, _, draw_ms = drawn.result()
    return {"drawn": seconds, "plain": plain.result()[0], "draw_ms": draw_ms}


def latency(name: str) -> np.ndarray:
    """The event loop's lateness (ms) while the window trains the whole run without a pause,
    with the 10 ms probe timer running (apart from the cost rounds, whose ratio it would
    otherwise take part in)."""
    run = WindowRun(name, STEPS[name], probe=True)
    run.train_all()
    return run.result()[1]


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

    if len(sys.argv) > 1:  # read here: other scripts import this one
        STEPS.update(dict.fromkeys(STEPS, int(sys.argv[1])))
    threads = set_threads()
    keep_freed_memory()
    app = QApplication.instance() or QApplication([])
    print(f"CPU, {threads} threads, steps per run {STEPS}, {ROUNDS} rounds of side-by-side "
          f"slices of {SLICE_SECONDS} s")
    for name in os.environ.get("BENCH_MODELS", "lenet,dcgan").split(","):
        lateness = latency(name)
        rounds = [side_by_side(name) for _ in range(ROUNDS)]
        app.processEvents()
        draw_ms = np.concatenate([r["draw_ms"] for r in rounds])
        ratios = [r["drawn"] / r["plain"] for r in rounds]
        print(f"{name}: event-loop lateness p50 {np.percentile(lateness, 50):.1f} ms, p99 "
              f"{np.percentile(lateness, 99):.1f} ms, max {lateness.max():.1f} ms (goal p99 < 30); "
              f"drawing per frame p50 {np.percentile(draw_ms, 50):.1f} ms, p99 "
              f"{np.percentile(draw_ms, 99):.1f} ms")
        print(f"  steady steps with the window {statistics.median(r['drawn'] for r in rounds):.2f}"
              f" s, without {statistics.median(r['plain'] for r in rounds):.2f} s: ratio "
              f"{statistics.median(ratios):.3f} (median of rounds: "
              f"{', '.join(f'{x:.3f}' for x in ratios)}; goal <= 1.05)")
    first, refresh, repaint = long_run_curves(app)
    print(f"100,000-step curves: first draw {first * 1000:.0f} ms; after 10 new points a refresh "
          f"takes {refresh * 1000:.1f} ms and a repaint {repaint * 1000:.1f} ms")


if __name__ == "__main__":
    main()
