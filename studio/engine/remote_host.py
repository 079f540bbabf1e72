"""A remote machine as Studio reaches it: the user's own ``ssh`` (their keys, agent and
config), never a password (``BatchMode``). Torch-free, so the editor's "Train on" choice can
name one without importing the engine's training side."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

SSH_OPTIONS = ("BatchMode=yes", "ConnectTimeout=15", "ServerAliveInterval=10",
               "ServerAliveCountMax=3")  # a dead link is noticed in about 30 s, never a hang


@dataclass(frozen=True)
class RemoteHost:
    """Where and how to reach a remote machine: ``host`` as the user's ssh knows it (an alias
    of ~/.ssh/config or ``user@name``); ``python``, shell text run there (``~/venv/bin/python``),
    else the ``studio`` command on the remote PATH; ``ssh_config`` for ``ssh -F``."""

    host: str
    python: str | None = None
    ssh_config: str | None = None
    ssh: str = "ssh"

    def command(self, *worker_args: str) -> list[str]:
        studio = f"{self.python} -m studio" if self.python else "studio"
        remote = " ".join([studio, "worker", *map(shlex.quote, worker_args)])
        options = [arg for option in SSH_OPTIONS for arg in ("-o", option)]
        config = ["-F", self.ssh_config] if self.ssh_config else []
        return [self.ssh, *config, *options, "--", self.host, remote]
