"""Measuring each layer's forward time on this machine (``layer_timing.py`` holds the report).

Fair to every layer and to the run:
- the project is built as Train builds it (``Runner.build``: the generated networks, the
  device and the settings the run uses), and torch computes with the threads a run starts
  with (the cores other work leaves free, as its ``ThreadTuner`` starts) and its allocator
  setting (``allocator.keep_freed_memory``: without it each big output faults its pages in
  anew, which made ConvCosts' forward about half as fast again);
- one batch of the training data (the project's batch size unless told) goes through
  ``Training.inspect`` once, with forward pre-hooks that only keep each node module's inputs;
  the hooks are then removed, so they cost nothing in what is timed;
- each module is then called on its own inputs, in eval mode under ``no_grad`` (forward only:
  no autograd graph is built) and, when the project trains in mixed precision, under the
  autocast its training step uses (inputs and outputs as a step has them): warm-up calls,
  then ``repeats`` timed repeats, each of enough calls to last ``MIN_REPEAT_S`` so that a
  layer of microseconds is not lost in the clock, and the median per call is kept. The
  repeats go round every layer in turn, so a burst of other work slows one round rather than
  all of one layer's repeats. Only the module call is inside the clock; on a GPU the device
  is synchronised around each repeat. The whole networks are timed the same way, so the sum
  of the layers can be held against the forward they make up.
Functional nodes (ReLU written as ``F.relu``, a mean, an add) have no module to call: their
time, and Python's between the calls, is the report's rest.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable

import torch

from studio.core.inference import analyze
from studio.core.verdict import judge
from studio.engine.allocator import keep_freed_memory
from studio.engine.errors import TrainingError
from studio.engine.layer_timing import LayerTime, LayerTimingError, TimingOptions, TimingReport
from studio.engine.node_keys import node_key
from studio.engine.probes import ProbeRates, node_modules
from studio.engine.runner import RunConfig, Runner
from studio.engine.threads import IdleCores, ThreadTuner, usable_cores

WARMUP_CALLS = 3
MIN_REPEAT_S = 0.002  # a repeat runs the call this long at least
MAX_CALLS_PER_REPEAT = 1000


def measure(project, options: TimingOptions = TimingOptions()) -> TimingReport:
    """Time every node module of ``project``'s networks (see the module's docstring)."""
    verdict = judge(project, analysis := analyze(project))
    if not verdict.can_train:
        raise LayerTimingError(f"cannot build the networks: {verdict.train_blocker}")
    if options.repeats < 1:
        raise LayerTimingError("repeats must be at least 1")
    if options.batch is not None and options.batch < 1:
        raise LayerTimingError("the batch must hold at least 1 sample")
    keep_freed_memory()  # as a training process: big buffers reused, not faulted in anew
    cores = usable_cores()
    idle = IdleCores(cores)  # as a run: how busy the machine is while the project is built
    runner = Runner(project, RunConfig(pause_on_nan=False, previews=False,
                                       probes=ProbeRates.off(), data_root=options.data_root),
                    lambda event: None)
    try:
        runner.build()
    except TrainingError as err:
        raise LayerTimingError(str(err), err.node) from None
    threads = _threads(project, options, cores, idle)
    training = runner.training
    modules = node_modules(training, runner.code)
    if not modules:
        raise LayerTimingError("the networks have no layer to time (no node holds a module)")
    batch = _batch(training, options.batch or project.training.settings["batch_size"])
    networks = {name: getattr(net, "_orig_mod", net) for name, net in training.networks.items()}
    calls = _captured_calls(training, batch, [m for ms in modules.values() for m in ms]
                            + list(networks.values()), runner)
    every = [*(m for ms in modules.values() for m in ms), *networks.values()]
    training.set_train(False)  # inspect sets train mode again as it ends
    amp = getattr(training, "autocast", None)  # the project's mixed precision, if it has one
    forward = {id(m): [_forward(m, call, amp) for call in calls.get(id(m), ())] for m in every}
    backward = {}
    if options.backward:
        training.set_train(True)  # the graphs are made as a training step makes them
        backward = {id(m): [b for call in calls.get(id(m), ())
                            if (b := _backward(m, call, batch, amp)) is not None]
                    for m in every}
        training.set_train(False)
    _time_all([t for ts in (*forward.values(), *backward.values()) for t in ts],
              options.repeats, _synchronizer(runner.device))
    rows = {node_key(*row.path.split("/")): row for row in analysis.rows}
    layers = []
    for key, module_list in modules.items():
        # a node may hold several modules (each called once per call of the node)
        calls_made = max(len(forward[id(m)]) for m in module_list)
        if calls_made:  # else built but not run by this pass (a branch no loss reads)
            row = rows.get(key)
            total = sum(t.ms for m in module_list for t in forward[id(m)])
            back = [t.ms for m in module_list for t in backward.get(id(m), ())]
            layers.append(LayerTime(key, row.node.block if row else type(module_list[0]).__name__,
                                    row.macs if row else 0, total / calls_made, calls_made,
                                    sum(back) / calls_made if back else None))
    order = {key: i for i, key in enumerate(rows)}
    layers.sort(key=lambda layer: order.get(layer.key, len(order)))
    whole = {name: sum(t.ms for t in forward[id(net)]) for name, net in networks.items()}
    whole_back = {name: sum(t.ms for t in backward[id(net)]) for name, net in networks.items()
                  if backward.get(id(net))}
    return TimingReport(project.name, str(runner.device), threads,
                        len(batch[0]) if batch else 0, options.repeats, layers, whole,
                        whole_back)


def _threads(project, options: TimingOptions, cores: int, idle: IdleCores) -> int:
    """Set torch's thread count: the one asked for, or the one a training run would start
    with (all the cores for a deterministic run; else the free ones, as its ThreadTuner
    starts)."""
    if options.threads:
        torch.set_num_threads(options.threads)
        return options.threads
    if project.training.settings["deterministic"]:
        torch.set_num_threads(cores)
        return cores
    return ThreadTuner(cores, torch.set_num_threads, idle).threads


class _Timed:
    """One call to time (a module's forward on the inputs it had, or the backward of one), and
    its timed repeats."""

    def __init__(self, run: Callable[[], object], grad: bool = False, amp: dict | None = None):
        self.run, self.grad, self.amp = run, grad, amp
        self.number = 1  # calls per repeat
        self.seconds: list[float] = []  # per call, one per repeat

    def repeat(self, sync) -> float:
        """Seconds for ``number`` calls."""
        run = self.run
        with torch.set_grad_enabled(self.grad), _precision(self.amp):
            sync()
            start = time.perf_counter()
            for _ in range(self.number):
                run()
            sync()
            return time.perf_counter() - start

    def calibrate(self, sync) -> None:
        """Warm up, then double the calls per repeat until a repeat lasts MIN_REPEAT_S."""
        with torch.set_grad_enabled(self.grad), _precision(self.amp):
            for _ in range(WARMUP_CALLS):
                self.run()
        while self.repeat(sync) < MIN_REPEAT_S and self.number < MAX_CALLS_PER_REPEAT:
            self.number = min(MAX_CALLS_PER_REPEAT, self.number * 2)

    @property
    def ms(self) -> float:
        return statistics.median(self.seconds) * 1000


def _precision(amp: dict | None):
    """The training step's autocast (``Training.autocast``), or nothing without one."""
    return torch.autocast(**amp) if amp else contextlib.nullcontext()


def _forward(module, call: tuple, amp: dict | None = None) -> _Timed:
    args, kwargs = call
    return _Timed(lambda: module(*args, **kwargs), amp=amp)


def _backward(module, call: tuple, batch: tuple, amp: dict | None = None) -> _Timed | None:
    """The backward of one call as a training step runs it: the module in train mode (set by
    the caller), gradients for its parameters and for the float inputs that other nodes made
    (not the batch's own tensors), from a fixed random gradient of its outputs; its graph kept
    so that each repeat runs the backward alone (its forward under the step's autocast, the
    backward outside it, as a step does). None when nothing in it needs a gradient."""
    given = {id(t) for t in batch}

    def leaf(value):
        if isinstance(value, torch.Tensor) and value.is_floating_point() and id(value) not in given:
            return value.detach().requires_grad_()
        return value

    args, kwargs = call
    args, kwargs = tuple(leaf(a) for a in args), {k: leaf(v) for k, v in kwargs.items()}
    with torch.enable_grad(), _precision(amp):
        out = module(*args, **kwargs)
    outs = [t for t in _tensors(out) if t.requires_grad]
    wrt = [t for t in (*args, *kwargs.values()) if isinstance(t, torch.Tensor) and t.requires_grad]
    wrt += [p for p in module.parameters() if p.requires_grad]
    if not outs or not wrt:
        return None
    grads = [torch.randn_like(t) for t in outs]
    return _Timed(lambda: torch.autograd.grad(outs, wrt, grads, retain_graph=True,
                                              allow_unused=True), grad=True)


def _tensors(value) -> list:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    return []


def _time_all(timed: list, repeats: int, sync) -> None:
    """Each repeat times every call once, in turn, so that a burst of other work on the
    machine slows one repeat of many calls rather than every repeat of one."""
    for t in timed:
        t.calibrate(sync)
    for _ in range(repeats):
        for t in timed:
            t.seconds.append(t.repeat(sync) / t.number)


def _batch(training, size: int) -> tuple:
    """The first ``size`` samples of the training split (all of them when it has fewer)."""
    data = training.data
    if data is None:
        return ()
    return tuple(t[:size] for t in data.train)


def _captured_calls(training, batch, modules: list, runner) -> dict:
    """id(module) -> the (args, kwargs) of each of its calls in one eval pass of the graph."""
    calls: dict[int, list] = {}

    def keep(module, args, kwargs):
        calls.setdefault(id(module), []).append((args, kwargs))

    handles = [m.register_forward_pre_hook(keep, with_kwargs=True)
               for m in {id(m): m for m in modules}.values()]
    try:
        training.inspect(batch)
    except Exception as err:  # noqa: BLE001 - becomes an error naming the node
        error = runner.explain(err)
        raise LayerTimingError(str(error), error.node) from None
    finally:
        for handle in handles:
            handle.remove()
    return calls


def _synchronizer(device):
    kind = torch.device(device).type
    if kind == "cuda":
        return torch.cuda.synchronize
    if kind == "mps":
        return torch.mps.synchronize
    return lambda: None
