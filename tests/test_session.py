"""Training in a worker process: control that answers within a second, coalesced events, and
faults that become messages instead of a dead or hung caller."""

import os
import signal
import time

from studio.core.fileformat import load
from studio.core.project import Project
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig
from studio.engine.session import TrainingSession
from tests.helpers import EXAMPLES


def wait_for(session, predicate, timeout=60.0, into=None):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        for event in session.events(timeout=0.05):
            if into is not None:
                into.append(event)
        if predicate():
            return True
    return False


def test_control_answers_within_a_second_and_events_arrive():
    events = []
    session = TrainingSession(load(EXAMPLES / "dcgan.studio"),
                              RunConfig(epochs=200, watch=("training/generator",),
                                        probes=ProbeRates(activations_every=5, budget=None)))
    session.start()
    try:
        assert wait_for(session, lambda: any(e["type"] == "metrics" for e in events),
                        into=events)
        started = time.perf_counter()
        session.pause()
        assert wait_for(session, lambda: session.state == "paused", 1.0, events)
        paused_at = max(p["step"] for e in events if e["type"] == "metrics" for p in e["points"])
        time.sleep(0.5)
        later = [e for e in session.events() if e["type"] == "metrics"]
        assert not later or max(p["step"] for e in later for p in e["points"]) <= paused_at + 1
        session.resume()
        assert wait_for(session, lambda: session.state == "running", 1.0, events)
        session.watch(["training/discriminator/conv1"])
        assert wait_for(session, lambda: any(
            e["type"] == "activations" and e["node"] == "training/discriminator/conv1"
            for e in events), 5.0, events)
        started = time.perf_counter()
        session.stop()
        assert time.perf_counter() - started < 1.5
        assert not session.alive and session.state == "stopped"
    finally:
        session.stop()
    steps = [p["step"] for e in events if e["type"] == "metrics" for p in e["points"]]
    assert steps == list(range(1, len(steps) + 1))  # every point, in order


def test_killed_worker_becomes_a_message():
    session = TrainingSession(load(EXAMPLES / "dcgan.studio"), RunConfig(epochs=200))
    session.start()
    assert wait_for(session, lambda: session.state == "running")
    os.kill(session.pid, signal.SIGKILL)
    collected = []
    assert session.wait(10, collected)
    errors = [e for e in collected if e["type"] == "error"]
    assert errors and errors[0]["kind"] == "crash" and "killed by signal 9" in errors[0]["message"]
    assert session.state == "failed"


def test_slow_consumer_gets_every_metric_and_the_newest_images():
    session = TrainingSession(load(EXAMPLES / "lenet.studio"),
                              RunConfig(steps=120, watch=("training/conv1",),
                                        probes=ProbeRates(activations_every=1, budget=None)))
    session.start()
    session._process.join(60)  # read nothing until the run is over
    time.sleep(0.5)
    events = session.events()
    session.stop()
    maps = [e for e in events if e["type"] == "activations"]
    assert len(maps) == 1 and maps[0]["step"] == 120
    steps = [p["step"] for e in events if e["type"] == "metrics" for p in e["points"]]
    assert steps == list(range(1, 121))
    assert events[-1]["type"] == "finished"


def test_out_of_memory_names_the_node_and_suggests_a_smaller_batch():
    p = Project("Huge")
    t = p.training
    data = t.add("Dataset", id="digits", dataset="digits", size=32)
    x = t.stack(data["image"], "Flatten", ("Linear", "huge", dict(out_features=1_000_000)))
    loss = t.add("CrossEntropy", id="loss")
    t.connect(x, loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add("Adam", id="adam"))
    session = TrainingSession(p, RunConfig(steps=2, memory_limit_gb=3))
    session.start()
    collected = []
    assert session.wait(60, collected)
    error = next(e for e in collected if e["type"] == "error")
    assert error["kind"] == "oom", error
    assert error["node"] == ["training", "huge"]
    assert "smaller batch" in error["message"]


def test_dataset_that_fails_to_load_is_reported(tmp_path):
    session = TrainingSession(load(EXAMPLES / "lenet.studio"),
                              RunConfig(steps=2, data_dir=str(tmp_path)))
    session.start()
    collected = []
    assert session.wait(60, collected)
    error = next(e for e in collected if e["type"] == "error")
    assert error["kind"] == "data" and error["node"] == ["training", "digits"]
    assert session.state == "failed"


def test_answers_to_commands_go_out_at_once_not_with_the_next_batch(monkeypatch):
    """The worker batches events, but 'paused' (and the like) must not wait for the batch:
    the Pause button would lag behind training by a flush interval."""
    import multiprocessing

    from studio.engine import worker

    monkeypatch.setattr(worker, "FLUSH_SECONDS", 30.0)
    receive, send = multiprocessing.Pipe(duplex=False)
    outbox = worker.Outbox(send)
    try:
        time.sleep(0.05)  # the sender is asleep in its flush wait
        outbox.put({"type": "metrics", "points": [{"step": 1, "loss": 0.5}]})
        assert not receive.poll(0.3)  # ordinary events wait for the batch
        outbox.put({"type": "paused", "step": 1})
        assert receive.poll(5.0)
        assert [e["type"] for e in receive.recv()] == ["metrics", "paused"]
    finally:
        outbox.close()
