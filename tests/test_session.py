"""Training in a worker process: control that answers within a second, coalesced events, and
faults that become messages instead of a dead or hung caller."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
from PIL import Image

from studio.core.fileformat import dumps, load
from studio.core.project import Project
from studio.engine.events import Activations, Error, Finished, Metrics, Paused
from studio.engine.probes import ProbeRates
from studio.engine.runner import RunConfig
from studio.engine.session import TrainingSession
from tests.helpers import EXAMPLES, ROOT, started_event


def wait_for(session, predicate, timeout=180.0, into=None):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        for event in session.events(timeout=0.05):
            if into is not None:
                into.append(event)
        if predicate():
            return True
    return False


def test_pause_watch_resume_and_stop_are_answered_in_order_and_events_arrive():
    """Behaviour, not speed (timings are in bench/bench_session.py): while paused no step is
    trained, a change of the watched nodes is answered at the paused step, and every metric
    point arrives once, in order."""
    events = []
    project = load(EXAMPLES / "dcgan.studio")
    project.training.configure(log_every=2)  # the first metrics early, however busy the machine
    session = TrainingSession(project, RunConfig(epochs=200, watch=("training/generator",),
                                                 probes=ProbeRates(activations_every=5,
                                                                   budget=None)))
    session.start()
    try:
        assert wait_for(session, lambda: any(isinstance(e, Metrics) for e in events),
                        into=events)
        session.pause()
        assert wait_for(session, lambda: session.state == "paused", into=events)
        paused = next(e for e in events if isinstance(e, Paused))
        session.watch(["training/discriminator/conv1"])  # answered while paused
        assert wait_for(session, lambda: any(
            isinstance(e, Activations) and e.node == "training/discriminator/conv1"
            for e in events), into=events)
        session.resume()
        assert wait_for(session, lambda: session.state == "running", into=events)
        assert wait_for(session, lambda: any(isinstance(e, Metrics) and e.points[-1]["step"] >
                                             paused.step for e in events), into=events)
        session.stop()
        assert not session.alive and session.state == "stopped"
    finally:
        session.stop()
    kinds = [e.type for e in events]
    while_paused = events[kinds.index("paused"):kinds.index("resumed") + 1]
    snapshot = next(e for e in while_paused if isinstance(e, Activations) and
                    e.node == "training/discriminator/conv1")
    assert snapshot.step == paused.step and while_paused[-1].step == paused.step
    assert not [e for e in while_paused if isinstance(e, Metrics)
                and e.points[-1]["step"] > paused.step]
    steps = [p["step"] for e in events if isinstance(e, Metrics) for p in e.points]
    assert steps == list(range(1, len(steps) + 1))  # every point, in order


def test_killed_worker_becomes_a_message():
    session = TrainingSession(load(EXAMPLES / "dcgan.studio"), RunConfig(epochs=200))
    session.start()
    assert wait_for(session, lambda: session.state == "running")
    os.kill(session.pid, signal.SIGKILL)
    collected = []
    assert session.wait(120, collected)
    errors = [e for e in collected if isinstance(e, Error)]
    assert errors and errors[0].kind == "crash" and "killed by signal 9" in errors[0].message
    assert session.state == "failed"


def test_slow_consumer_gets_every_metric_and_the_newest_images():
    session = TrainingSession(load(EXAMPLES / "lenet.studio"),
                              RunConfig(steps=120, watch=("training/conv1",),
                                        probes=ProbeRates(activations_every=1, budget=None)))
    session.start()
    session._process.join(600)  # read nothing until the run is over
    session._reader.join(600)  # and everything it sent has been taken from the pipe
    events = session.events()
    session.stop()
    maps = [e for e in events if isinstance(e, Activations)]
    assert len(maps) == 1 and maps[0].step == 120
    steps = [p["step"] for e in events if isinstance(e, Metrics) for p in e.points]
    assert steps == list(range(1, 121))
    assert isinstance(events[-1], Finished)


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
    assert session.wait(300, collected)
    error = next(e for e in collected if isinstance(e, Error))
    assert error.kind == "oom", error
    assert error.node == ["training", "huge"]
    assert "smaller batch" in error.message


def test_dataset_that_fails_to_load_is_reported(tmp_path):
    session = TrainingSession(load(EXAMPLES / "lenet.studio"),
                              RunConfig(steps=2, data_dir=str(tmp_path)))
    session.start()
    collected = []
    assert session.wait(300, collected)
    error = next(e for e in collected if isinstance(e, Error))
    assert error.kind == "data" and error.node == ["training", "digits"]
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
        outbox.put(started_event())
        assert receive.poll(20.0)  # long before the 30 s flush
        assert [e.type for e in receive.recv()] == ["started"]
        outbox.put(Metrics([{"step": 1, "loss": 0.5}], {}))
        assert not receive.poll(0.3)  # ordinary events wait for the batch
        outbox.put(Paused(1))
        assert receive.poll(20.0)
        assert [e.type for e in receive.recv()] == ["metrics", "paused"]
    finally:
        outbox.close()


# ------------------------------------------------------------------ the worker's own processes


def image_folder_project(folder, memory="auto"):
    """A two-class folder of 8x8 PNGs (dark and light) beside a project that trains on it; the
    folder loader decodes the files in DataLoader worker processes of the training process."""
    rng = np.random.default_rng(0)
    for label, kind in enumerate(("dark", "light")):
        (folder / "images" / kind).mkdir(parents=True)
        for i in range(12):
            pixels = (rng.random((8, 8)) * 100 + 150 * label).astype(np.uint8)
            Image.fromarray(pixels).save(folder / "images" / kind / f"{i}.png")
    p = Project("Folder")
    t = p.training
    t.configure(batch_size=4, log_every=2)
    d = t.add("Dataset", id="images", dataset="folder", path="images", classes=2, size=8,
              channels=1, memory=memory)
    head = t.stack(d["image"], "Flatten", ("Linear", dict(out_features=2)))
    loss = t.add("CrossEntropy", id="loss")
    t.connect(head, loss["input"])
    t.connect(d["label"], loss["target"])
    t.chain(loss, t.add("Adam", id="adam", lr=1e-2))
    path = folder / "folder.studio"
    path.write_text(dumps(p))
    return p, path


def test_an_image_folder_dataset_trains_in_the_session(tmp_path):
    project, _ = image_folder_project(tmp_path)
    session = TrainingSession(project, RunConfig(epochs=2, data_root=str(tmp_path)))
    session.start()
    collected = []
    assert session.wait(120, collected)
    assert not [e for e in collected if isinstance(e, Error)], collected[-1]
    assert session.state == "finished" and session.final.steps == 10


def test_an_image_folder_dataset_trains_from_studio_train(tmp_path):
    _, path = image_folder_project(tmp_path, memory="stream")
    result = subprocess.run([sys.executable, "-m", "studio", "train", str(path), "--epochs", "2",
                             "--quiet"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "trained 10 steps" in result.stdout


def process_gone(pid: int) -> bool:
    """No such process, or only its exit status is left (a zombie nobody has reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (FileNotFoundError, ProcessLookupError):
                pass
    return found


def wait_until(predicate, timeout=60.0) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


EDITOR = textwrap.dedent("""
    import sys, time
    from studio.core.fileformat import load
    from studio.engine.runner import RunConfig
    from studio.engine.session import TrainingSession
    session = TrainingSession(load(sys.argv[1]), RunConfig(epochs=100000, data_root=sys.argv[2]))
    session.start()
    while session.state != "running":
        assert session.alive, session.events()
        session.events(timeout=0.1)
    print(session.pid, flush=True)
    while True:
        session.events(timeout=1.0)
""")


def test_the_worker_and_its_loaders_end_when_the_editor_is_killed(tmp_path):
    """The worker is no daemon (its loaders have processes of their own), yet it never outlives
    the program that started it, even one killed without a chance to stop it."""
    _, path = image_folder_project(tmp_path, memory="stream")
    editor = subprocess.Popen([sys.executable, "-c", EDITOR, str(path), str(tmp_path)],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        worker = int(editor.stdout.readline())
        assert wait_until(lambda: children_of(worker))  # streaming: loader processes at work
        family = [worker] + children_of(worker)
        editor.kill()
        editor.wait(60)
        assert wait_until(lambda: all(process_gone(pid) for pid in family)), family
    finally:
        editor.kill()
        editor.wait(60)


def test_a_program_that_exits_without_stopping_its_session_ends_the_worker(tmp_path):
    """multiprocessing joins a non-daemon child at exit: the session ends it first, or the
    program would wait for the whole run."""
    leaves = EDITOR.replace("while True:\n    session.events(timeout=1.0)", "sys.exit(0)")
    assert leaves != EDITOR
    program = subprocess.run([sys.executable, "-c", leaves, str(EXAMPLES / "lenet.studio"),
                              str(tmp_path)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert program.returncode == 0, program.stderr
    worker = int(program.stdout)
    assert wait_until(lambda: process_gone(worker))


def test_ctrl_c_in_studio_train_stops_the_worker(tmp_path):
    """Ctrl+C reaches the whole terminal group; the CLI answers it, stopping its worker."""
    _, path = image_folder_project(tmp_path, memory="stream")
    cli = subprocess.Popen([sys.executable, "-m", "studio", "train", str(path), "--epochs",
                            "100000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           cwd=ROOT, start_new_session=True)
    try:
        # training: the worker's loader processes are at work
        assert wait_until(lambda: any(children_of(pid) for pid in children_of(cli.pid)), 120)
        workers = children_of(cli.pid)
        workers += [child for pid in workers for child in children_of(pid)]
        os.killpg(cli.pid, signal.SIGINT)
        _, err = cli.communicate(timeout=60)
        assert cli.returncode == 130 and "interrupted" in err
        assert wait_until(lambda: all(process_gone(pid) for pid in workers)), workers
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
            cli.wait(60)
