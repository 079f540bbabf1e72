"""Training on another machine over SSH, against a real OpenSSH server on 127.0.0.1 that the
test starts (``tests/ssh_server.py``): the remote run's events arrive like a local run's, its
checkpoint comes back equal to a local run's, a lost connection is said (naming the host) and
the run, which went on there, is followed again and stopped by the command the message
gives; a bad host is named; and the stream reads back Studio's events only."""

import os
import pickle
import shlex
import signal
import subprocess
import time

import pytest
import torch

from studio.cli import main
from studio.core.fileformat import load
from studio.engine import checkpoint
from studio.engine.events import (
    Checkpoint,
    Error,
    Finished,
    Metrics,
    Progress,
    RemoteRun,
    Started,
)
from studio.engine.probes import ProbeRates
from studio.engine.remote import RemoteSession
from studio.engine.runner import RunConfig
from studio.engine.session import TrainingSession
from studio.engine.stream_codec import StreamError, UnknownEvent, decode, encode
from tests.helpers import EXAMPLES
from tests.ssh_server import ALIAS, CLOSED_ALIAS, serve

TIMEOUT = 180.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serve(tmp_path_factory)


def lenet():
    project = load(EXAMPLES / "lenet.studio")
    project.training.configure(deterministic=True)  # the same weights here and there
    return project


def collect(session, until, into, timeout=TIMEOUT) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        into.extend(session.events(timeout=0.1))
        if until(into):
            return True
    return False


def networks(path):
    return checkpoint.load(path)["networks"]


def test_lenet_trains_there_and_its_checkpoint_comes_back_equal_to_a_local_runs(
        server, tmp_path):
    config = RunConfig(steps=12, seed=3, probes=ProbeRates.off())
    remote = RemoteSession(lenet(), RunConfig(**{**vars(config), "checkpoint_path":
                                                 str(tmp_path / "remote.ckpt")}),
                           host=server.host(), threads=1)
    here = TrainingSession(lenet(), RunConfig(**{**vars(config), "checkpoint_path":
                                                 str(tmp_path / "local.ckpt")}), threads=1)
    events, local = [], []
    remote.start()
    here.start()
    assert remote.wait(TIMEOUT, collect=events) and here.wait(TIMEOUT, collect=local)
    kinds = [type(e) for e in events]
    assert kinds[0] is RemoteRun and events[0].run_id in events[0].folder
    assert Started in kinds and Metrics in kinds and Progress in kinds
    assert remote.state == "finished" and remote.final.steps == 12
    assert [e for e in events if isinstance(e, Checkpoint)][-1] == \
        Checkpoint(str(tmp_path / "remote.ckpt"), 12)
    steps = [p["step"] for e in events if isinstance(e, Metrics) for p in e.points]
    assert steps == list(range(1, 13))
    there, ours = networks(tmp_path / "remote.ckpt"), networks(tmp_path / "local.ckpt")
    assert there.keys() == ours.keys()
    for name in ours:
        for key, tensor in ours[name].items():
            assert torch.equal(there[name][key], tensor), (name, key)


def test_studio_train_remote_prints_progress_and_writes_the_checkpoint_here(
        server, tmp_path, capsys):
    path = tmp_path / "lenet.ckpt"
    status = main(["train", "lenet", "--steps", "6", "--remote", ALIAS, "--ssh-config",
                   str(server.ssh_config), "--remote-python", server.python,
                   "--checkpoint", str(path), "--no-record"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "trained 6 steps on cpu" in out
    assert "training on " in err and "6/6" in err
    assert checkpoint.load(path)["step"] == 6


def test_a_lost_connection_is_said_and_the_run_that_went_on_is_followed_again_and_stopped(
        server, tmp_path):
    config = RunConfig(steps=1_000_000, probes=ProbeRates.off(), checkpoint_epochs=False,
                       checkpoint_path=str(tmp_path / "first.ckpt"))
    session = RemoteSession(lenet(), config, host=server.host())
    events = []
    session.start()
    assert collect(session, lambda got: any(isinstance(e, Metrics) for e in got), events)
    run_id = next(e for e in events if isinstance(e, RemoteRun)).run_id
    os.kill(session.pid, signal.SIGKILL)  # the connection goes, as a network or a laptop lid
    assert session.wait(TIMEOUT, collect=events)
    lost = [e for e in events if isinstance(e, Error)]
    assert session.state == "disconnected"
    assert [e.kind for e in lost] == ["connection"]
    assert f"connection to {ALIAS} was lost" in lost[0].message and run_id in lost[0].message
    last_step = max(p["step"] for e in events if isinstance(e, Metrics) for p in e.points)

    again = RemoteSession(lenet(), RunConfig(checkpoint_path=str(tmp_path / "again.ckpt")),
                          host=server.host(), attach=run_id)
    followed = []
    again.start()
    assert collect(again, lambda got: any(isinstance(e, Metrics) and e.points[-1]["step"] >
                                          last_step + 5 for e in got), followed)
    assert isinstance(followed[0], RemoteRun) and followed[0].run_id == run_id
    assert any(isinstance(e, Started) for e in followed)  # the run again from its start
    asked = tmp_path / "asked.ckpt"
    again.save_checkpoint(asked)  # written there now, its bytes back here
    assert collect(again, lambda got: any(isinstance(e, Checkpoint) and e.path == str(asked)
                                          for e in got), followed)
    assert checkpoint.load(asked)["step"] > last_step
    stop = lost[0].message.rsplit("`", 2)[-2]  # the command the message gives to stop it
    assert subprocess.run(shlex.split(stop), timeout=TIMEOUT).returncode == 0
    assert again.wait(TIMEOUT, collect=followed)  # the followed run ends, its session with it
    final = [e for e in followed if isinstance(e, Finished)]
    assert [f.status for f in final] == ["stopped"] and again.state == "stopped"
    assert Checkpoint(str(tmp_path / "again.ckpt"), final[0].steps) in followed
    assert checkpoint.load(tmp_path / "again.ckpt")["step"] == final[0].steps > last_step


def test_a_host_that_cannot_be_reached_is_named(server, capsys):
    session = RemoteSession(lenet(), RunConfig(steps=2), host=server.host(CLOSED_ALIAS))
    events = []
    session.start()
    assert session.wait(TIMEOUT, collect=events)
    errors = [e for e in events if isinstance(e, Error)]
    assert session.state == "failed" and len(errors) == 1
    assert f"could not start a run on {CLOSED_ALIAS} over SSH" in errors[0].message
    assert "Connection refused" in errors[0].message  # ssh's own words say why

    status = main(["train", "lenet", "--remote", CLOSED_ALIAS, "--ssh-config",
                   str(server.ssh_config), "--no-record"])
    assert status == 2 and CLOSED_ALIAS in capsys.readouterr().err


def test_the_stream_reads_back_studios_events_and_refuses_anything_else():
    event = Error("crash", "gone", ["training", "conv1"])
    assert decode(encode([event])[8:]) == [event]

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo owned",))

    with pytest.raises(StreamError, match="refused posix.system"):
        decode(pickle.dumps(Payload(), protocol=4))
    with pytest.raises(StreamError, match="refused builtins.eval"):
        decode(pickle.dumps(eval, protocol=4))
    # an event kind only a newer Studio declares is read as its fields, not refused
    later = decode(pickle.dumps(event, protocol=4).replace(b"\x05Error", b"\x05Later"))
    assert isinstance(later, UnknownEvent) and later.message == "gone"


def test_the_worker_names_a_run_it_does_not_have(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STUDIO_REMOTE_RUNS", str(tmp_path))
    assert main(["worker", "--stop", "20261202-000000-abcdef"]) == 2
    assert "no remote run '20261202-000000-abcdef'" in capsys.readouterr().err
