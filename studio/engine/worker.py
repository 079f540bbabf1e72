"""The training process: receives a project as file text, generates and builds its code, and
runs it, sending events back through a pipe.

Started with ``spawn`` (never fork) so it shares no state with the editor. A sender thread
batches events every 100 ms (answers to commands and errors at once) and coalesces images
(the newest feature map of a node, the newest preview of a name, replace older unsent ones)
while every metric point is kept.

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

FLUSH_SECONDS = 0.1  # the dashboard draws at most a few frames a second per view
COMMAND_SECONDS = 0.02  # pause and stop are answered within this and one step


def image_key(event: dict):
    """Events where only the newest matters; None for events that must all arrive."""
    kind = event.get("type")
    if kind == "activations":
        return ("activations", event["node"])
    if kind == "preview":
        return ("preview", event["name"])
    if kind in ("histograms", "progress"):
        return (kind,)
    return None


# Answers to the user's commands and changes of state go out at once, not with the next flush:
# the Pause button shows "paused" as soon as training has stopped.
PROMPT = frozenset({"started", "paused", "resumed", "restored", "error", "finished"})


class Outbox:
    def __init__(self, connection):
        self.connection = connection
        self.lock = threading.Lock()
        self.ordered: list = []
        self.latest: dict = {}
        self.closed = False
        self.broken = False
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._run, name="studio-events", daemon=True)
        self.thread.start()

    def put(self, event: dict) -> None:
        key = image_key(event)
        with self.lock:
            if key is None:
                self.ordered.append(event)
            else:
                self.latest[key] = event
        if event.get("type") in PROMPT:
            self.wake.set()

    def _take(self) -> list:
        with self.lock:
            batch = list(self.latest.values()) + self.ordered  # 'finished' stays last
            self.ordered, self.latest = [], {}
        return batch

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

    from studio.engine.threads import ThreadTuner

    class PacedRunner(runner_class):
        def __init__(self, *args, threads: int, **kwargs):
            super().__init__(*args, **kwargs)
            self.tuner = ThreadTuner(threads, torch.set_num_threads)

        def build(self):
            super().build()
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


def worker_main(project_text: str, config: dict, commands, events, threads: int | None = None):
    end_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is for the editor or the CLI to answer
    outbox = Outbox(events)
    try:
        from studio.engine.allocator import keep_freed_memory

        keep_freed_memory()  # before torch allocates: every step reuses the last one's buffers
        import torch

        threads = threads or torch.get_num_threads()
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
        project = loads(project_text)
        runner_class = runner_for(project)
        extra = {} if runner_class is Runner else {"threads": threads}
        runner_class(project, RunConfig(**config), outbox.put, Control(_commands(commands)),
                     **extra).run()
    except BaseException as err:  # noqa: BLE001 - the editor must hear about anything
        outbox.put({"type": "error", "kind": "internal", "node": None,
                    "message": f"the training process failed: {type(err).__name__}: {err}",
                    "traceback": traceback.format_exc()})
    finally:
        outbox.close()
        events.close()
    # Everything is flushed and closed: skip the interpreter's slow teardown (torch's threads
    # and modules) so that a stopped run's process is gone at once.
    os._exit(0)
