"""A training process kept waiting for Train: the session trains in it, and a waiting process
never outlives the program that started it."""

import os
import subprocess
import sys
import textwrap
import time

from studio.core.fileformat import load
from studio.engine.runner import RunConfig
from studio.engine.session import TrainingSession
from studio.engine.standby import Standby
from tests.helpers import EXAMPLES, ROOT

TIMEOUT = 180.0


def wait(predicate, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        assert time.monotonic() < deadline, f"{what} did not happen within {TIMEOUT:.0f} s"
        time.sleep(0.05)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has ended; its parent reaps it later
        return stat.read().rsplit(")", 1)[1].split()[0] == "Z"


def test_a_session_trains_in_the_waiting_process_and_a_new_one_can_wait_after():
    standby = Standby()
    standby.prepare()
    spare = standby.take()
    assert spare is not None and standby.take() is None  # taken once, by one session
    project = load(EXAMPLES / "lenet.studio")
    session = TrainingSession(project, RunConfig(steps=3))
    session.start(spare)
    assert session.pid == spare.process.pid
    wait(lambda: session.events(timeout=0.05) is not None and not session.alive and
         not session.events_pending, "the run's end")
    session.events()
    assert session.state == "finished", session.final
    standby.prepare()
    assert standby.pid is not None
    pid = standby.take().process.pid  # dropped untaken: its process ends
    wait(lambda: gone(pid), "the dropped spare's exit")


def test_a_waiting_process_ends_with_the_program_that_started_it():
    script = textwrap.dedent("""
        from studio.engine.standby import STANDBY
        STANDBY.prepare()
        print(STANDBY.pid, flush=True)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.split()[-1])
    wait(lambda: gone(pid), "the spare's exit after its program ended")

