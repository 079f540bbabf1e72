"""The training process: receives a project as file text, generates and builds its code, and
runs it, sending events back through a pipe.

Started with ``spawn`` (never fork) so it shares no state with the editor. A sender thread
batches events every 100 ms (answers to commands and errors at once) and coalesces them as
``events.py`` declares (the newest feature map of a node, the newest preview of a name, replace
older unsent ones) while every metric point is kept.

It is not a daemon process, because its data loaders start worker processes of their own (image
folders are decoded in parallel), which a daemon may not. It ends itself when the editor goes,
however the editor ends (a watcher thread waits on the parent's sentinel), and leaves Ctrl+C to
the editor or the CLI, which stop it in order.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
import traceback

from studio.engine.events import Error, Event, Pending, WorkerJob

FLUSH_SECONDS = 0.1  # the dashboard draws at most a few frames a second per view
COMMAND_SECONDS = 0.02  # pause and stop are answered within this and one step


class Outbox:
    """Events on their way to the editor: batched every FLUSH_SECONDS, prompt ones at once."""

    def __init__(self, connection):
        self.connection = connection
        self.lock = threading.Lock()
        self.pending = Pending()
        self.closed = False
        self.broken = False
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._run, name="studio-events", daemon=True)
        self.thread.start()

    def put(self, event: Event) -> None:
        with self.lock:
            self.pending.put(event)
        if event.prompt:
            self.wake.set()

    def _take(self) -> list:
        with self.lock:
            return self.pending.take()  # in the order they came: 'finished' is last

    def _run(self) -> None:
        while True:
            closing = self.closed
            self.wake.clear()  # set again by anything put from here on that must go at once
            batch = self._take()
            if batch and not self.broken:
                try:
                    self.connection.send(batch)
                except (BrokenPipeError, OSError):
                    self.broken = True  # nobody listens any more: keep training, drop events
            if closing:
                return
            self.wake.wait(FLUSH_SECONDS)

    def close(self) -> None:
        self.closed = True
        self.wake.set()  # send what is left now, not at the next flush
        self.thread.join(timeout=10)


def _commands(connection):
    last_look = [0.0]

    def poll(timeout: float) -> list:
        """Commands sent since the last look. Between steps (no timeout) the pipe is looked at
        every COMMAND_SECONDS at most, not at each of a small model's millisecond steps."""
        out = []
        now = time.perf_counter()
        if not timeout and now - last_look[0] < COMMAND_SECONDS:
            return out
        last_look[0] = now
        try:
            if connection.poll(timeout):
                while connection.poll():
                    out.append(tuple(connection.recv()))
        except (EOFError, OSError):
            out.append(("stop",))  # the editor went away: stop cleanly
        return out
    return poll


def end_with_parent() -> None:
    """Exit (ending this process's own children first) as soon as the process that started
    this one is gone, whether it quit, crashed or was killed: nobody is left to listen."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        for child in multiprocessing.active_children():
            try:
                child.terminate()
            except (OSError, ValueError):
                pass
        os._exit(1)

    threading.Thread(target=watch, name="studio-parent-watch", daemon=True).start()


def paced(runner_class):
    """``runner_class`` whose training steps are timed for a ThreadTuner (see threads.py)."""
    import torch

    from studio.engine.threads import IdleCores, ThreadTuner

    class PacedRunner(runner_class):
        def __init__(self, *args, threads: int, idle: IdleCores | None = None, **kwargs):
            super().__init__(*args, **kwargs)
            self.threads = threads
            self.idle = idle or IdleCores(threads)

        def build(self):
            super().build()
            # Made after building, so that its first thread count rests on how busy the machine
            # was while the code was generated and the data loaded (see IdleCores).
            self.tuner = ThreadTuner(self.threads, torch.set_num_threads, self.idle)
            step, observe, clock = self.training.train_step, self.tuner.observe, time.perf_counter

            def timed_step(batch):
                start = clock()
                metrics = step(batch)
                observe(clock() - start)
                return metrics

            self.training.train_step = timed_step

    return PacedRunner


def runner_for(project):
    """The runner class for ``project``: paced by a ThreadTuner, unless the project asks for
    deterministic training, where the thread count stays fixed (a reduction split over another
    number of threads sums in another order, so the weights would differ in their last bits)."""
    from studio.engine.runner import Runner

    return Runner if project.training.settings["deterministic"] else paced(Runner)


def warm_up() -> None:
    """Do the slow first-time work every run needs, while no one waits: import torch and the
    engine, and make an optimizer (its first construction imports torch._dynamo, seconds on a
    busy machine) and a convolution step (the math kernels' set-up). Touches no random state."""
    import torch

    import studio.engine.runner  # noqa: F401

    weight = torch.ones(2, 1, 3, 3, requires_grad=True)
    torch.optim.SGD([weight], lr=0.0)
    torch.nn.functional.conv2d(torch.ones(1, 1, 8, 8), weight).sum().backward()


def standby_main(job, commands, events) -> None:
    """A training process's life: import torch and the engine, wait for the job (project text,
    run configuration, thread count) on ``job``, run it, exit. Started ahead of need by
    ``standby.Standby`` or at Train; either way the same path."""
    end_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is for the editor or the CLI to answer
    failure = None
    try:
        from studio.engine.allocator import keep_freed_memory

        keep_freed_memory()  # before torch allocates: every step reuses the last one's buffers
        warm_up()
    except BaseException:  # noqa: BLE001 - told to the editor once there is a job to fail
        failure = traceback.format_exc()
    try:
        data = job.recv()
    except (EOFError, OSError):
        os._exit(0)  # nobody will send a job: the editor closed or discarded this process
    run_job(data, commands, events, failure)


def run_job(data: dict, commands, events, failure: str | None = None) -> None:
    """Do the job (``events.WorkerJob`` as data): train the project, or run a learning-rate
    range test on it (``lr_finder_run.py``), classify pictures (``prediction_run.py``) or
    measure a unit's receptive field on the trained state (``field_run.py``), sending its
    events; the process ends with the job."""
    outbox = Outbox(events)
    try:
        job = WorkerJob.from_data(data)
        config, threads, task = job.config, job.threads, job.task
        if failure:
            raise RuntimeError(f"the engine could not be imported:\n{failure}")
        import torch

        from studio.engine.threads import IdleCores

        threads = threads or torch.get_num_threads()
        idle = IdleCores(threads)  # looks at the machine now and again once the run is built
        torch.set_num_threads(threads)
        from studio.core.fileformat import loads
        from studio.engine.probes import ProbeRates
        from studio.engine.runner import Control, RunConfig, Runner

        config = dict(config)
        limit = config.get("memory_limit_gb")
        if limit:
            import resource

            cap = int(limit * (1 << 30))
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        config["probes"] = ProbeRates(**config.get("probes", {}))
        config["watch"] = tuple(config.get("watch", ()))
        project = loads(job.project)
        if job.kind == "field":
            from studio.engine.field_job import FieldJob
            from studio.engine.field_run import run_field

            run_field(project, RunConfig(**config), FieldJob(**task), outbox.put)
        elif job.kind == "predict":
            from studio.engine.prediction import PredictJob
            from studio.engine.prediction_run import run_prediction

            run_prediction(project, RunConfig(**config), PredictJob(**task), outbox.put)
        elif job.kind == "range_test":
            from studio.engine.lr_finder import RangeTest
            from studio.engine.lr_finder_run import run_range_test

            run_range_test(project, RunConfig(**config), RangeTest(**task), outbox.put,
                           Control(_commands(commands)))
        else:
            runner_class = runner_for(project)
            extra = {} if runner_class is Runner else {"threads": threads, "idle": idle}
            runner_class(project, RunConfig(**config), outbox.put, Control(_commands(commands)),
                         **extra).run()
    except BaseException as err:  # noqa: BLE001 - the editor must hear about anything
        outbox.put(Error("internal", f"the training process failed: {type(err).__name__}: {err}",
                         traceback=traceback.format_exc()))
    finally:
        outbox.close()
        events.close()
    # Everything is flushed and closed: skip the interpreter's slow teardown (torch's threads
    # and modules) so that a stopped run's process is gone at once.
    os._exit(0)
