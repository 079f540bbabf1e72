"""Canvas speed: open a 1,000-node and a 3,000-node graph in the editor, zoom, pan, drag, edit.

    python bench/bench_canvas.py              # both sizes
    python bench/bench_canvas.py --nodes 1000 # one
    goals (1,000 nodes): opens (scene + first paint) < 1 s; zoom/pan frames < 33 ms;
    a parameter edit and a drag step < 16 ms; panning ahead of ComfyUI's canvas (below)

The graph is residual branches off one dataset (conv, batch norm, ReLU, add: 124 nodes each;
8 or 24 of them), their losses summed: 1,000 nodes and 1,254 wires, or 3,000 and 3,766, many
of them skip connections routed around nodes. "Open" is what File > Open does after reading the
file: the analysis, building every item, routing every wire, placing every label, then the first
paint of the view. Then 60 zoom and pan steps, each repainted, at three zoom levels (the whole
graph, half size, full size); then panning alone at 60% and with the whole graph fitted, as
ComfyUI's canvas was measured (1,000 nodes: 10.1 ms a frame at 0.6 zoom, 37.2 ms fitted; 3,000
nodes: 27.3 / 126.5 ms). Runs offscreen: the figures are painting into an image, as the window
does.

Each frame, drag step and edit is timed twice: wall-clock and this process's CPU time. On a
shared, loaded machine the wall-clock figure grows with other processes' load; the CPU figure
is closer to the work the editor itself did (both are printed, "wall / cpu"). On a virtual
machine whose host is busy both grow: compare runs made at the same moment.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from common import ROOT  # noqa: F401  (puts the repository on sys.path)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

BLOCKS_PER_BRANCH = 30
NODES_PER_BRANCH = 4 * BLOCKS_PER_BRANCH + 4  # stem, blocks, flatten, linear, loss
COMFYUI_PAN_MS = {1000: (10.1, 37.2), 3000: (27.3, 126.5)}  # at 0.6 zoom, fitted


def project(nodes: int = 1000):
    from studio.core.layout import layout_project
    from studio.core.project import Project

    branches = (nodes - 3) // NODES_PER_BRANCH  # besides: the dataset, the sum, the optimizer
    p = Project("Canvas bench")
    t = p.training
    data = t.add("Dataset", id="data", dataset="digits", size=16)
    losses = []
    for b in range(branches):
        x = t.add("Conv2d", id=f"stem{b}", out_channels=8, kernel_size=3, padding=1)
        t.connect(data["image"], x)
        if b == 0:  # a few more nodes make it a round number
            extra = nodes - 3 - branches * NODES_PER_BRANCH
            x = t.stack(x, *[("Dropout", f"drop{k}", dict(p=0.1)) for k in range(extra)])
        for k in range(BLOCKS_PER_BRANCH):
            body = t.stack(x, ("Conv2d", f"conv{b}_{k}", dict(out_channels=8, kernel_size=3,
                                                             padding=1)),
                           ("BatchNorm2d", f"bn{b}_{k}", {}), ("ReLU", f"relu{b}_{k}", {}))
            add = t.add("Add", id=f"add{b}_{k}")
            t.connect(body, add)
            t.connect(x, add)
            x = add
        head = t.stack(x, ("Flatten", f"flat{b}", {}), ("Linear", f"fc{b}", dict(out_features=10)))
        loss = t.add("CrossEntropy", id=f"loss{b}")
        t.connect(head, loss["input"])
        t.connect(data["label"], loss["target"])
        losses.append(loss)
    total = t.add("WeightedSum", id="total")
    for loss in losses:
        t.connect(loss, total)
    t.chain(total, t.add("Adam", id="adam"))
    layout_project(p)
    return p


class Stopwatch:
    """Wall-clock and CPU time of each timed step."""

    def __init__(self):
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self):
        self._begin = (time.perf_counter(), time.process_time())
        return self

    def __exit__(self, *exc):
        self.wall.append(time.perf_counter() - self._begin[0])
        self.cpu.append(time.process_time() - self._begin[1])

    def text(self) -> str:
        """'median 12.3 / 4.5 ms, worst 20.1 / 6.7 ms' (wall / cpu)."""
        def ms(values, pick):
            return pick(values) * 1000
        return (f"median {ms(self.wall, statistics.median):6.1f} / "
                f"{ms(self.cpu, statistics.median):5.1f} ms, worst {ms(self.wall, max):6.1f} / "
                f"{ms(self.cpu, max):5.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[1000, 3000],
                        help="graph sizes to measure (default: 1000 3000)")
    sizes = parser.parse_args().nodes
    ok = True
    for n in sizes:
        ok &= measure(n)
    return 0 if ok else 1


def measure(size: int) -> bool:
    """Measure one graph size and print the figures; True when the goals are met."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from studio.core.document import Document
    from studio.core.inference import analyze
    from studio.ui import theme
    from studio.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply_theme(app, dark=False)
    p = project(size)
    nodes, wires = len(p.training.nodes), len(p.training.edges)
    start = time.perf_counter()
    analysis = analyze(p)
    t_analyze = time.perf_counter() - start
    assert not analysis.problems, analysis.problems[:3]

    folder = tempfile.mkdtemp(prefix="studio-bench-")  # settings and autosaves go here
    settings = QSettings(os.path.join(folder, "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, recovery_folder=folder)
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    view = window.view("training")

    start = time.perf_counter()
    window.session.set_document(Document(p))
    t_build = time.perf_counter() - start
    view = window.view("training")
    start = time.perf_counter()
    view.show_graph()
    view.viewport().grab()
    t_paint = time.perf_counter() - start
    window.problems.refresh()

    def frames(zoom: float, steps: int = 20) -> Stopwatch:
        view.set_zoom(zoom)
        view.centerOn(view.scene().content_rect().center())
        watch = Stopwatch()
        for i in range(steps):
            with watch:
                if i % 2:
                    view.set_zoom(zoom * (1.08 if i % 4 == 1 else 1 / 1.08))
                else:
                    view.pan_by(37, -21)
                view.viewport().grab()
        return watch

    def pans(zoom: float, steps: int = 20) -> Stopwatch:
        """Panning alone (ComfyUI's figures are for that): each frame moves and repaints."""
        view.set_zoom(zoom)
        view.centerOn(view.scene().content_rect().center())
        view.viewport().grab()
        watch = Stopwatch()
        for i in range(steps):
            with watch:
                view.pan_by(37 if i % 4 < 2 else -37, -21 if i % 4 < 2 else 21)
                view.viewport().grab()
        return watch

    fit = view.scene().content_rect()
    vp = view.viewport().rect()
    whole = min(vp.width() / fit.width(), vp.height() / fit.height())
    levels = {f"whole graph ({whole:.0%})": whole, "half size (50%)": 0.5, "full size (100%)": 1.0}
    results = {name: frames(z) for name, z in levels.items()}
    view.fit_all()
    fitted = view.zoom()
    panned = {"60%": pans(0.6), f"fitted ({fitted:.0%})": pans(fitted)}

    # dragging a node: one merged move command per mouse step, wires rerouted around it
    scene = view.scene()
    view.set_zoom(1.0)
    view.center_on_node("conv3_10")
    start_pos = {"conv3_10": p.training.nodes["conv3_10"].pos}
    drags = Stopwatch()
    for i in range(1, 31):
        with drags:
            scene.drag_nodes(start_pos, (i * 3.0, i * 2.0))
            view.viewport().grab()
    window.session.end_merge()
    # a parameter edit: analysis, every node's shape and cost, the wire labels, one repaint
    edits = Stopwatch()
    for width in (12, 8, 12, 8, 12, 8, 12, 8, 12):
        with edits:
            window.editor.set_params("training", "stem3", {"out_channels": width}, merge=False)
            view.viewport().grab()

    print(f"\n{nodes:,} nodes, {wires:,} wires; viewport {vp.width()}x{vp.height()}")
    print(f"analysis           {t_analyze * 1000:7.1f} ms")
    print(f"build the scene    {t_build * 1000:7.1f} ms  (items, wire routing, labels, analysis)")
    print(f"first paint        {t_paint * 1000:7.1f} ms")
    print(f"open, in all       {(t_build + t_paint) * 1000:7.1f} ms  (goal < 1000 ms)")
    print("frames, drag steps and edits below: wall / cpu")
    all_frames = Stopwatch()
    for name, watch in results.items():
        all_frames.wall += watch.wall
        all_frames.cpu += watch.cpu
        print(f"zoom/pan frames at {name:<20} {watch.text()}")
    print(f"60 zoom/pan steps  {sum(all_frames.wall) * 1000:7.1f} ms in all, "
          f"median {statistics.median(all_frames.wall) * 1000:.1f} ms per frame (goal < 33 ms)")
    anchors = COMFYUI_PAN_MS.get(nodes)
    for (name, watch), anchor in zip(panned.items(), anchors or (None, None)):
        versus = f" (ComfyUI: {anchor} ms)" if anchor else ""
        print(f"pan frames at {name:<14} {watch.text()}{versus}")
    print(f"drag a node        {drags.text()} per mouse step (goal < 16 ms)")
    print(f"edit a parameter   {edits.text()} (analysis, labels, repaint; goal < 16 ms)")
    window.session.doc.mark_saved()
    window.close()
    if size != 1000:
        return True  # the goals are set for a thousand nodes
    return t_build + t_paint < 1.0 and statistics.median(all_frames.wall) < 0.033


if __name__ == "__main__":
    sys.exit(main())
