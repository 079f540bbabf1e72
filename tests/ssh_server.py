"""A real OpenSSH server on 127.0.0.1 for the remote-training tests and bench: throwaway host
and user keys made by ssh-keygen in a folder of its own, an sshd_config there (a free port,
``StrictModes no``, no PAM, keys only) and an ssh_config for ``ssh -F`` with the alias
``studio-test``, so the user's own ~/.ssh is neither read nor written. The remote command is
this checkout's Python, its runs kept in the same folder."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SSHD = "/usr/sbin/sshd"
ALIAS, CLOSED_ALIAS = "studio-test", "studio-closed"


def why_not() -> str | None:
    """Why no server can be started here (None when one can)."""
    if not Path(SSHD).is_file() or shutil.which("ssh") is None or \
            shutil.which("ssh-keygen") is None:
        return "OpenSSH (sshd, ssh, ssh-keygen) is not installed: apt-get install openssh-server"
    privsep = Path("/run/sshd")  # sshd refuses to start without it, even on a private port
    if not privsep.is_dir():
        if os.geteuid() != 0:
            return "sshd needs /run/sshd, which only root can make"
        privsep.mkdir(mode=0o755, parents=True, exist_ok=True)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackSsh:
    def __init__(self, folder: Path, timeout: float = 30.0):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        for key in ("host_key", "user_key"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                            str(folder / key)], check=True)
        shutil.copyfile(folder / "user_key.pub", folder / "authorized_keys")
        self.port = _free_port()
        (folder / "sshd_config").write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {folder / 'host_key'}",
            f"PidFile {folder / 'sshd.pid'}", f"AuthorizedKeysFile {folder / 'authorized_keys'}",
            "StrictModes no", "UsePAM no", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
            "PermitRootLogin prohibit-password", ""]))
        user = getpass.getuser()
        common = [f"  User {user}", f"  IdentityFile {folder / 'user_key'}",
                  "  IdentitiesOnly yes", "  StrictHostKeyChecking no",
                  "  UserKnownHostsFile /dev/null", "  LogLevel ERROR"]
        self.ssh_config = folder / "ssh_config"
        self.ssh_config.write_text("\n".join([
            f"Host {ALIAS}", "  HostName 127.0.0.1", f"  Port {self.port}", *common,
            f"Host {CLOSED_ALIAS}", "  HostName 127.0.0.1", f"  Port {_free_port()}", *common,
            ""]))
        self.runs = folder / "runs"
        # Shell text run by the remote shell: this checkout's Python, runs kept here.
        self.python = (f"PYTHONPATH={ROOT} STUDIO_REMOTE_RUNS={self.runs} {sys.executable}")
        self.log = open(folder / "sshd.log", "wb")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(folder / "sshd_config")],
                                        stdout=self.log, stderr=self.log)
        self._wait_listening(timeout)

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd ended: {(self.folder / 'sshd.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # polling the port until sshd listens, not a timed wait

    def host(self, alias: str = ALIAS):
        from studio.engine.remote_host import RemoteHost

        return RemoteHost(alias, python=self.python, ssh_config=str(self.ssh_config))

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        self.log.close()
        self._end_runs_left_going()

    def _end_runs_left_going(self) -> None:
        """A remote run outlives its connection by design; one that a failed test left going
        (a run of a million steps, say) must not train on beside the rest of the suite."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue  # ended meanwhile, or not ours to read
            if "worker --run" in command and str(self.runs) in command:
                try:
                    os.kill(int(entry.name), signal.SIGTERM)
                except ProcessLookupError:
                    pass


def serve(tmp_path_factory):
    """A module fixture's body: a server for the module's tests (closed after them), or the
    module skipped, saying why."""
    reason = why_not()
    if reason:
        pytest.skip(reason)
    server = LoopbackSsh(tmp_path_factory.mktemp("ssh"))
    yield server
    server.close()
