"""A private X server (Xvfb) of a chosen screen size, and running a scenario script on it.

The test suite runs Qt offscreen in-process, and a Qt process can use one platform only, so each
window scenario runs the app in its own process on its own Xvfb display. Used by the scenario
tests, ``bench/bench_first_hour.py`` and ``scripts/make_screenshots.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
# Display numbers tried, in order (a shared machine may hold some already).
FIRST_DISPLAY = int(os.environ.get("STUDIO_XVFB_FIRST", "170"))
DISPLAYS_TRIED = 40
START_TIMEOUT = 30.0


def missing_tools() -> list[str]:
    """The programs the window scenarios need that are not installed."""
    return [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]


class XServerError(RuntimeError):
    pass


class XServer:
    """``with XServer(1600, 1000) as x:`` an Xvfb display of that size; ``x.display`` is ``:N``.

    Each display number is tried in turn: one whose lock file exists is taken, and a server
    that exits at once lost a race for its number. Ready means the server accepts a
    connection on its socket."""

    def __init__(self, width: int, height: int, depth: int = 24):
        self.size = (width, height)
        self.depth = depth
        self.number: int | None = None
        self.process: subprocess.Popen | None = None

    @property
    def display(self) -> str:
        return f":{self.number}"

    def start(self) -> XServer:
        w, h = self.size
        for number in range(FIRST_DISPLAY, FIRST_DISPLAY + DISPLAYS_TRIED):
            if Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists():
                continue
            process = subprocess.Popen(
                ["Xvfb", f":{number}", "-screen", "0", f"{w}x{h}x{self.depth}", "-nolisten", "tcp",
                 "-noreset"],  # a reset when the last client leaves refuses the next one
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if self._ready(number, process):
                self.number, self.process = number, process
                return self
            _end(process)
        raise XServerError(f"no free X display from :{FIRST_DISPLAY} to "
                           f":{FIRST_DISPLAY + DISPLAYS_TRIED - 1}")

    @staticmethod
    def _ready(number: int, process: subprocess.Popen) -> bool:
        """Whether this server, not another one that won a race for the number, accepts
        connections on the display's socket (the lock file names the server's process)."""
        path = f"/tmp/.X11-unix/X{number}"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            if os.path.exists(path) and _lock_owner(number) == process.pid:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    try:
                        s.connect(path)
                        return True
                    except OSError:
                        pass
            time.sleep(0.02)  # polling the socket: the server gives no other sign
        return False

    def stop(self) -> None:
        if self.process is not None:
            _end(self.process)
            self.process = None

    def __enter__(self) -> XServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _lock_owner(number: int) -> int | None:
    """The process id in the display's lock file (Xvfb writes its own there)."""
    try:
        return int(Path(f"/tmp/.X{number}-lock").read_text().strip())
    except (OSError, ValueError):
        return None


def _end(process: subprocess.Popen, grace: float = 5.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class CpuBurners:
    """``with CpuBurners(2):`` processes that burn a core each (a busy machine) until the end."""

    def __init__(self, count: int):
        self.count = count
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> CpuBurners:
        for _ in range(self.count):
            self.processes.append(subprocess.Popen(
                [sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL))
        return self

    def __exit__(self, *exc) -> None:
        for p in self.processes:
            _end(p, grace=2.0)
        self.processes.clear()


def scenario_env(display: str, home: Path, shots: Path | None = None, **extra) -> dict:
    """The environment of an app process on ``display``: xcb, and a home of its own so the
    user's settings, recent files and recovery files are neither read nor changed."""
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)
    home = Path(home)
    for sub in ("config", "cache", "data"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", HOME=str(home),
               XDG_CONFIG_HOME=str(home / "config"), XDG_CACHE_HOME=str(home / "cache"),
               XDG_DATA_HOME=str(home / "data"), XDG_RUNTIME_DIR=str(home),
               PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE)]), PYTHONUNBUFFERED="1")
    env.pop("WAYLAND_DISPLAY", None)
    if shots is not None:
        env["STUDIO_SCENARIO_SHOTS"] = str(shots)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_scenario(script: str, size: tuple[int, int], home: Path, shots: Path | None = None,
                 timeout: float = 600, busy: int = 0, args=(), **extra):
    """Run ``tests/window/<script>`` on a fresh Xvfb display of ``size``; (exit status, output).

    The script runs in a session of its own, so the training worker it starts ends with it;
    ``busy`` CPU-burning processes run beside it for its whole length."""
    with XServer(*size) as x, CpuBurners(busy):
        env = scenario_env(x.display, home, shots, **extra)
        process = subprocess.Popen([sys.executable, str(HERE / script), *map(str, args)],
                                   cwd=str(home), env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            out, _ = process.communicate(timeout=timeout)
            status = process.returncode
        except subprocess.TimeoutExpired:
            _kill_group(process)
            out, _ = process.communicate()
            status = None
            out += f"\n[scenario] killed after {timeout:.0f} s\n"
        finally:
            _kill_group(process)
    return status, out


def _kill_group(process: subprocess.Popen) -> None:
    """End what the scenario left running (its training worker) with it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
