"""Canvas speed: open a 1,000-node graph in the editor, then zoom and pan it.

    python bench/bench_canvas.py      # goals: opens (scene + first paint) < 1 s; frames < 33 ms

The graph is eight residual branches off one dataset (conv, batch norm, ReLU, add: 124 nodes
each), their losses summed: 1,000 nodes, 1,254 wires, many of them skip connections routed
around nodes. "Open" is what File > Open does after reading the file: the analysis, building
every item, routing every wire, placing every label, then the first paint of the view. Then 60
zoom and pan steps, each repainted, at three zoom levels (the whole graph, half size, full size).
Runs offscreen: the figures are painting into an image, as the window does.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

from common import ROOT  # noqa: F401  (puts the repository on sys.path)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

BRANCHES = 8
BLOCKS_PER_BRANCH = 30


def project():
    from studio.core.layout import layout_project
    from studio.core.project import Project

    p = Project("Canvas bench")
    t = p.training
    data = t.add("Dataset", id="data", dataset="digits", size=16)
    losses = []
    for b in range(BRANCHES):
        x = t.add("Conv2d", id=f"stem{b}", out_channels=8, kernel_size=3, padding=1)
        t.connect(data["image"], x)
        if b == 0:  # five more nodes make it a round thousand
            x = t.stack(x, *[("Dropout", f"drop{k}", dict(p=0.1)) for k in range(5)])
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


def main() -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from studio.core.document import Document
    from studio.core.inference import analyze
    from studio.ui import theme
    from studio.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply_theme(app, dark=False)
    p = project()
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

    def frames(zoom: float, steps: int = 20) -> list[float]:
        view.set_zoom(zoom)
        view.centerOn(view.scene().itemsBoundingRect().center())
        out = []
        for i in range(steps):
            begin = time.perf_counter()
            if i % 2:
                view.set_zoom(zoom * (1.08 if i % 4 == 1 else 1 / 1.08))
            else:
                view.pan_by(37, -21)
            view.viewport().grab()
            out.append(time.perf_counter() - begin)
        return out

    fit = view.scene().itemsBoundingRect()
    vp = view.viewport().rect()
    whole = min(vp.width() / fit.width(), vp.height() / fit.height())
    levels = {f"whole graph ({whole:.0%})": whole, "half size (50%)": 0.5, "full size (100%)": 1.0}
    results = {name: frames(z) for name, z in levels.items()}

    # dragging a node: one merged move command per mouse step, wires rerouted around it
    scene = view.scene()
    view.set_zoom(1.0)
    view.center_on_node("conv3_10")
    start_pos = {"conv3_10": p.training.nodes["conv3_10"].pos}
    drags = []
    for i in range(1, 31):
        begin = time.perf_counter()
        scene.drag_nodes(start_pos, (i * 3.0, i * 2.0))
        view.viewport().grab()
        drags.append(time.perf_counter() - begin)
    window.session.end_merge()
    # a parameter edit: analysis, every node's shape and cost, the wire labels, one repaint
    edits = []
    for width in (12, 8, 12, 8, 12):
        begin = time.perf_counter()
        window.editor.set_params("training", "stem3", {"out_channels": width}, merge=False)
        view.viewport().grab()
        edits.append(time.perf_counter() - begin)

    print(f"{nodes:,} nodes, {wires:,} wires; viewport {vp.width()}x{vp.height()}")
    print(f"analysis           {t_analyze * 1000:7.1f} ms")
    print(f"build the scene    {t_build * 1000:7.1f} ms  (items, wire routing, labels, analysis)")
    print(f"first paint        {t_paint * 1000:7.1f} ms")
    print(f"open, in all       {(t_build + t_paint) * 1000:7.1f} ms  (goal < 1000 ms)")
    all_frames = []
    for name, times in results.items():
        all_frames += times
        print(f"zoom/pan frames at {name:<20} median {statistics.median(times) * 1000:6.1f} ms, "
              f"worst {max(times) * 1000:6.1f} ms")
    print(f"60 zoom/pan steps  {sum(all_frames) * 1000:7.1f} ms in all, "
          f"median {statistics.median(all_frames) * 1000:.1f} ms per frame (goal < 33 ms)")
    print(f"drag a node        median {statistics.median(drags) * 1000:6.1f} ms per mouse step")
    print(f"edit a parameter   median {statistics.median(edits) * 1000:6.1f} ms (analysis, "
          "labels, repaint)")
    window.session.doc.mark_saved()
    window.close()
    ok = t_build + t_paint < 1.0 and statistics.median(all_frames) < 0.033
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
