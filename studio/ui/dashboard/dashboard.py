"""The dashboard: the training panel and the plot views as dock widgets of the main window,
fed from one ``TrainingController``.

Every frame (at most ~30 per second, when events arrived) each view hears which topics changed;
a view that is hidden (a tab behind another dock) collects them and catches up when shown, so
plots nobody sees cost nothing. Selecting a node on the canvas watches it: the worker starts
sending its activations and the views follow it.
"""

from __future__ import annotations

import time

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget

from studio.core.project import INSTANCE, ProjectError
from studio.core.registry import is_preview, measures_accuracy
from studio.engine.fitted_functions import fits_functions
from studio.engine.node_keys import node_key
from studio.ui.dashboard.adversarial import AdversarialView, is_gan
from studio.ui.dashboard.boundary import BoundaryView, classifies_points
from studio.ui.dashboard.classifier import ClassifierView
from studio.ui.dashboard.curves import CurvesView
from studio.ui.dashboard.features import FeatureMapsView
from studio.ui.dashboard.field_view import FieldAsker
from studio.ui.dashboard.function_fit import FunctionFitView
from studio.ui.dashboard.gradients import GradientsView
from studio.ui.dashboard.health import health_by_graph
from studio.ui.dashboard.kernels import KernelsView
from studio.ui.dashboard.latent import LatentView, has_latent
from studio.ui.dashboard.normalization import NormalizationView, normalizes
from studio.ui.dashboard.panel import TrainingPanel
from studio.ui.dashboard.paths import PathsView, compares_optimizers
from studio.ui.dashboard.preactivations import PreActivationsView
from studio.ui.dashboard.runs import RunsView
from studio.ui.dashboard.samples import SamplesView
from studio.ui.dashboard.shift import ShiftView, classifies_images

HEALTH_SECONDS = 0.5  # the canvas indicators refresh at most twice a second
FRAME_SECONDS = 1 / 30  # frames at most ~30 per second, each drawing at most one view
# How often each view may redraw, at most: enough to watch, and the CPU stays with training
# (on a 2-core machine every millisecond the editor draws is taken from the worker).
UI_CPU_BUDGET = 0.03  # share of one core the editor may use while training: everything it does
MAX_CPU_CREDIT = 0.05  # seconds of CPU a quiet spell may save up (or a busy one owe)
LONGEST_WAIT = 1.0  # seconds: however busy the editor is, a frame at least this often
VIEW_FPS = {"curves": 4, "features": 3, "gradients": 2, "samples": 2, "classifier": 2,
            "boundary": 2, "shift": 1, "paths": 1, "normalization": 1, "adversarial": 2,
            "latent": 2, "runs": 1, "function_fit": 2}
VIEW_FPS.update({"pre_activations": 2, "kernels": 2})
HEALTH_TOPICS = {"stats", "dead_units", "error", "all", "state"}

VIEWS = (  # attribute, dock title, object name, class, tooltip
    ("curves", "Curves", "curves_dock", CurvesView,
     "Every loss and metric against step, train and held-out, and the learning rate"),
    ("features", "Feature Maps", "features_dock", FeatureMapsView,
     "Activations of the node selected on the canvas, for one sample of the probe batch"),
    ("gradients", "Gradients", "gradients_dock", GradientsView,
     "Gradient norms per layer, the selected node's histograms, dead units"),
    ("pre_activations", "Pre-activations", "pre_activations_dock", PreActivationsView,
     "The selected node's values over the whole probe batch as they change, and the share "
     "that lands where the activation after it is flat (dead or saturated)"),
    ("kernels", "Kernels", "kernels_dock", KernelsView,
     "The selected convolution's kernels as one picture, live"),
    ("samples", "Samples", "samples_dock", SamplesView,
     "Generated samples and reconstructions from fixed inputs"),
    ("classifier", "Classifier", "classifier_dock", ClassifierView,
     "Confusion matrix, per-class accuracy and predictions on the probe batch"),
    ("boundary", "Boundary", "boundary_dock", BoundaryView,
     "The class a classifier of 2-D points predicts over the plane, with its training points"),
    ("function_fit", "Function Fit", "function_fit_dock", FunctionFitView,
     "Each network fitting a function of one number: its prediction for every x over the "
     "function the data were drawn from"),
    ("shift", "Shift", "shift_dock", ShiftView,
     "An image classifier's answers for images moved by a few pixels, and where in the "
     "network moving the image stops moving the maps"),
    ("paths", "Optimizer Paths", "paths_dock", PathsView,
     "Each optimizer of the project, with its own settings, descending a 2-D toy surface"),
    ("normalization", "Normalization", "normalization_dock", NormalizationView,
     "BatchNorm's batch against running statistics and train against eval output; LayerNorm"),
    ("adversarial", "Discriminator", "adversarial_dock", AdversarialView,
     "A GAN's discriminator: D(real) and D(fake), the Jensen-Shannon estimate, the "
     "generator's gradient under the minimax and the non-saturating loss"),
    ("latent", "Latent", "latent_dock", LatentView,
     "A VAE's latent code: KL per dimension, its loss terms, the decoder's map and "
     "traversals"),
)
RUNS_TIP = ("Every recorded run of the project: select runs to overlay their curves; open, "
            "compare, continue, rename, annotate or delete one")


def probe_key(project, graph_key: str, node_id: str) -> str | None:
    """The key the probes use for a node (``node_keys.py``): ``training/conv1``; for a node of
    a network, through the first instance of that network (``training/generator/relu1``);
    None if unused."""
    if graph_key == "training":
        return node_key(node_id)
    path = _instance_path(project, "training", graph_key, set())
    return node_key(*path, node_id) if path else None


def _instance_path(project, graph_key: str, target: str, seen: set) -> tuple | None:
    """The instance node ids from ``graph_key`` down to the first instance of ``target``."""
    graph = project.training if graph_key == "training" else project.networks.get(graph_key)
    if graph is None or graph_key in seen:
        return None
    seen = seen | {graph_key}
    instances = [n for n in graph.nodes.values() if n.block == INSTANCE]
    for node in instances:
        if node.params.get("network") == target:
            return (node.id,)
    for node in instances:
        inner = _instance_path(project, node.params.get("network"), target, seen)
        if inner:
            return (node.id, *inner)
    return None


class Dashboard(QObject):
    """The training panel and the plot views, as docks; everything it needs of the window comes
    through the ``Workbench`` (``ui/workbench.py``): its docks are added there and arranged by
    the window's layouts."""

    def __init__(self, bench):
        super().__init__(bench.dialog_parent)
        self.bench = bench
        self.session = bench.session
        self.controller = bench.controller
        self.store = self.controller.store
        self.panel = TrainingPanel(self.controller, bench.editor)
        self.views: dict = {}
        self.docks: dict = {}
        self.pending: dict = {}
        self.refresh_seconds: list[float] = []  # time spent drawing per frame (benchmark)
        self._health_at = 0.0
        self._health_due = False
        self._drawn_at: dict = {}
        self._cpu_mark = (0.0, time.process_time())  # (seconds trained, editor CPU) then
        self._cpu_credit = MAX_CPU_CREDIT
        self._frame_at = 0.0
        self._seen: dict = {}  # attr -> (when looked at, whether on screen)
        self.train_front = "curves"  # the view Train brings to the front (a lesson's first)
        self.frame = QTimer(self)  # set for when the next frame is due; idle otherwise
        self.frame.setSingleShot(True)
        self.frame.timeout.connect(self.draw_frame)
        self.panel_dock = bench.add_dock("Training", "training_dock", self.panel,
                                         Qt.DockWidgetArea.RightDockWidgetArea,
                                         "Train the project and follow its progress")
        for attr, title, name, cls, tip in VIEWS:
            self._add_view(attr, title, name, cls(self.store), tip)
        self._add_view("runs", "Runs", "runs_dock",
                       RunsView(self.controller, self.curves, bench), RUNS_TIP)
        self.controller.history_changed.connect(lambda: self.on_updated({"history"}))
        self.controller.history_failed.connect(lambda text: bench.status(text, 15000))
        self.features.sample_chosen.connect(self.controller.choose_sample)
        self.field_asker = FieldAsker(bench, self.features)  # units clicked in Feature Maps
        self.samples.probe_requested.connect(self.controller.request_probe)
        self.gradients.probe_requested.connect(self.controller.request_probe)
        self.boundary.probe_requested.connect(self.controller.request_probe)
        self.function_fit.probe_requested.connect(self.controller.request_probe)
        self.shift.probe_requested.connect(self.controller.request_probe)
        self.adversarial.probe_requested.connect(self.controller.request_probe)
        self.latent.probe_requested.connect(self.controller.request_probe)
        self.controller.updated.connect(self.on_updated)
        self.controller.state_changed.connect(self._state_changed)
        self.panel.show_node.connect(bench.select_node)
        self.session.selection_changed.connect(self._selection_changed)
        self.session.replaced.connect(self.project_replaced)
        self.session.changed.connect(self._edited)

    def _add_view(self, attr: str, title: str, name: str, view, tip: str) -> None:
        dock = self.bench.add_dock(title, name, view, Qt.DockWidgetArea.BottomDockWidgetArea, tip)
        # a dock brought to the front catches up with the news it missed while hidden
        dock.visibilityChanged.connect(lambda visible, a=attr: self._shown(a, visible))
        self.views[attr] = view
        self.docks[attr] = dock
        self.pending[attr] = {"all"}
        setattr(self, attr, view)

    def relevant_views(self) -> list[str]:
        """The views this project has something for: samples need a Preview output, the
        classifier view a loss that measures accuracy, the boundary view one on 2-D points, the
        function fit view networks fitting a function of one number, the
        shift view one on images, the discriminator view a GAN's loss, the latent view a VAE's
        sampling step."""
        blocks = {n.block for n in self.session.project.training.nodes.values()}
        names = ["curves", "features", "gradients"]
        if any(is_preview(b) for b in blocks):
            names.append("samples")
        if any(measures_accuracy(b) for b in blocks):
            names.append("classifier")
        if classifies_points(self.session.project, self.session.analysis):
            names.append("boundary")
        if fits_functions(self.session.project, self.session.analysis):
            names.append("function_fit")
        if classifies_images(self.session.project, self.session.analysis):
            names.append("shift")
        if compares_optimizers(self.session.project):
            names.append("paths")
        if normalizes(self.session.project):
            names.append("normalization")
        if is_gan(self.session.project):
            names.append("adversarial")
        if has_latent(self.session.project):
            names.append("latent")
        return names

    def tile_views(self) -> None:
        """View > Tile Training Plots: every plot the project has at once, tiled under the
        canvas (the window's Analysis layout, sized for the screen)."""
        self.bench.arrange("analysis")

    @property
    def all_docks(self) -> list[QDockWidget]:
        return [self.panel_dock, *self.docks.values()]

    # frames -----------------------------------------------------------------------------------
    def on_updated(self, topics) -> None:
        """New events: note which views have news; a frame draws them when one is due."""
        topics = set(topics)
        for attr in self.views:
            self.pending[attr] |= topics
        if topics & HEALTH_TOPICS:
            self._health_due = True
            if topics & {"all", "error", "state"}:
                self._health_at = 0.0
        if topics & {"all", "error"}:
            self.draw_frame(urgent=True)
        else:
            self._next_frame()

    def draw_frame(self, urgent: bool = False) -> None:
        """One frame: redraw the one visible view with news that waited longest (so a frame's
        work is one view's, never all of them at once), each view at most VIEW_FPS times a
        second, and only while the editor keeps within its CPU budget (so drawing never
        takes more than a small share of a core from training), though never less than a
        frame a second. The timer is set only for the next frame that is due, so a quiet
        editor does not wake up at all."""
        start = time.perf_counter()
        if not self.has_cpu_credit() and not urgent and start - self._frame_at < LONGEST_WAIT:
            credit_back = -self._cpu_credit / UI_CPU_BUDGET
            self._wake_in(min(credit_back, LONGEST_WAIT - (start - self._frame_at)))
            return
        due = [a for a in self.views if self.pending[a] and self._visible(a) and
               (urgent or start - self._drawn_at.get(a, 0.0) >= 1.0 / VIEW_FPS[a])]
        if due:
            attr = min(due, key=lambda a: self._drawn_at.get(a, 0.0))
            self._refresh(attr)
            self._drawn_at[attr] = start
        elif self._health_due and start - self._health_at >= HEALTH_SECONDS:
            self.show_health()
        else:
            self._next_frame()
            return
        self._frame_at = start
        self.refresh_seconds.append(time.perf_counter() - start)
        del self.refresh_seconds[:-1000]
        self._next_frame()

    def _next_frame(self) -> None:
        """Set the timer for the soonest view (or health update) due to be drawn, at least a
        frame's time after the last frame; nothing waiting, no timer."""
        now = time.perf_counter()
        waits = [self._drawn_at.get(a, 0.0) + 1.0 / VIEW_FPS[a] - now
                 for a in self.views if self.pending[a] and self._visible(a)]
        if self._health_due:
            waits.append(self._health_at + HEALTH_SECONDS - now)
        if waits:
            self._wake_in(max(min(waits), self._frame_at + FRAME_SECONDS - now))

    def _wake_in(self, seconds: float) -> None:
        """Draw a frame in ``seconds`` (sooner if the timer is set for sooner already)."""
        ms = max(0, int(seconds * 1000 + 0.5))
        if not self.frame.isActive() or self.frame.remainingTime() > ms:
            self.frame.start(ms)

    def has_cpu_credit(self) -> bool:
        """A token bucket over the editor process's own CPU time: credit grows by
        UI_CPU_BUDGET of the time trained (the worker's clock, from its progress reports) and
        shrinks by the CPU the process used, whatever used it (a frame's refresh, the paints
        Qt runs after it, reading events, the progress text). Measuring the process, not the
        drawing code, counts the paints that happen later, outside any timer around a
        refresh. While nothing trains (paused, finished), drawing is free and earns nothing:
        time that training did not use is no licence to take more of it later."""
        trained, cpu = self.trained_seconds(), time.process_time()
        before, used = self._cpu_mark
        self._cpu_mark = (trained, cpu)
        if self.controller.state != "running":
            return True
        earned = UI_CPU_BUDGET * max(trained - before, 0.0)  # a new run starts its clock at 0
        self._cpu_credit = max(-MAX_CPU_CREDIT, min(
            self._cpu_credit + earned - (cpu - used), MAX_CPU_CREDIT))
        return self._cpu_credit > 0

    def trained_seconds(self) -> float:
        """How long the current run has trained, paused time left out (its last report)."""
        run = self.store.current
        return run.progress.elapsed if run is not None and run.progress is not None else 0.0

    SEEN_SECONDS = 0.25  # how long whether a view is on screen is taken as known

    def _visible(self, attr: str) -> bool:
        """Whether the view is on screen (not a hidden tab); looked up at most four times a
        second, as working out a dock's visible region is not free."""
        now = time.perf_counter()
        seen = self._seen.get(attr)
        if seen is None or now - seen[0] > self.SEEN_SECONDS:
            dock = self.docks[attr]
            on = dock.isVisible() and not dock.visibleRegion().isEmpty() or dock.isFloating()
            self._seen[attr] = seen = (now, on)
        return seen[1]

    def _shown(self, attr: str, visible: bool) -> None:
        """A dock was shown or hidden (or its tab chosen): a view brought to the front
        catches up with the news it missed while hidden."""
        self._seen.pop(attr, None)
        if visible:
            self._refresh(attr)

    def _refresh(self, attr: str) -> None:
        topics = self.pending[attr]
        if topics:
            self.pending[attr] = set()
            view = self.views[attr]
            view.refresh(topics)
            settle_plots(view)

    def refresh_all(self) -> None:
        """Draw every view now, seen or not (screenshots, benchmarks)."""
        for attr in self.views:
            self._refresh(attr)

    def show_health(self) -> None:
        """Colour the canvas nodes by the newest gradient and dead-unit figures."""
        self._health_at = time.perf_counter()
        self._health_due = False
        run = self.store.current
        self.bench.show_health(health_by_graph(self.session.project, run) if run is not None
                               else {})

    # the user -------------------------------------------------------------------------------
    def _state_changed(self, state: str) -> None:
        if state == "starting":
            self.docks.get(self.train_front, self.docks["curves"]).raise_()
            self._selection_changed()
            self.show_health()

    def _selection_changed(self) -> None:
        picked = self.session.selected_node
        key = None
        if picked is not None:
            graph_key, node = picked
            try:
                key = probe_key(self.session.project, graph_key, node.id)
            except ProjectError:
                key = None
        if key is None and self.controller.watched and picked is None:
            return  # clicking empty canvas keeps the feature maps of the last node
        self.controller.watch(key)
        self.features.set_node(key)
        self.gradients.set_node(key)
        self.pre_activations.set_node(key)
        self.kernels.set_node(key)

    def project_replaced(self) -> None:
        """Another project is open (new, open, example, recovery): nothing shown may speak of
        the last one: no run, no watched node, no health marks; every view starts empty."""
        self.controller.forget_project()
        self.train_front = "curves"
        self.features.set_node(None)
        self.gradients.set_node(None)
        self.pre_activations.set_node(None)
        self.kernels.set_node(None)
        for attr in self.views:
            self.pending[attr] = {"all"}
        self.refresh_all()
        self.show_health()

    def _edited(self, change) -> None:
        """After an edit the last run's health marks may not fit the graph; drop them."""
        if not self.controller.running and (change.wires or change.structure):
            self.bench.show_health(None)


def settle_plots(widget) -> None:
    """Fit the pyqtgraph plots in ``widget`` to their new data now. pyqtgraph fits its auto
    ranges lazily, in the paint; the changed range then asks for a second full paint, so
    every plot was painted twice per frame."""
    for plot in widget.findChildren(pg.GraphicsView):
        if plot.isVisible():
            plot.scene().prepareForPaint()
