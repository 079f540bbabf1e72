"""Training on another machine from the command line: ``studio train FILE --remote HOST``
(``engine/remote.py``), and the hidden ``studio worker`` that Studio runs on that machine over
SSH (``engine/remote_worker.py``)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from studio.cli_common import CliError


def add_train_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--remote", metavar="HOST", help="train on HOST over SSH, with your own "
                        "ssh, keys and config (never a password); data is read there, the "
                        "checkpoint comes back (--checkpoint, else ./NAME-HOST.ckpt)")
    parser.add_argument("--remote-python", metavar="PATH", help="the Python that has Studio on "
                        "the remote machine, as its shell reads it (~/venv/bin/python); "
                        "default: the `studio` command on its PATH")
    parser.add_argument("--ssh-config", metavar="FILE", help="ssh's configuration file (ssh -F)")
    parser.add_argument("--attach", metavar="RUN_ID", help="with --remote: follow a run already "
                        "there (after a lost connection) to its end; Ctrl+C stops it")


def remote_session(args, project, config):
    """A ``RemoteSession`` when ``--remote`` is given, else None; its checkpoint comes back to
    ``--checkpoint`` or ``./<project>-<host>.ckpt``."""
    if not args.remote:
        if args.attach or args.remote_python or args.ssh_config:
            raise CliError("--attach, --remote-python and --ssh-config go with --remote HOST")
        return None
    import dataclasses

    from studio.engine.remote import RemoteSession
    from studio.engine.remote_host import RemoteHost

    if not config.checkpoint_path:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", args.remote)
        config = dataclasses.replace(
            config, checkpoint_path=str(Path.cwd() / f"{project.name or 'run'}-{safe}.ckpt"))
    host = RemoteHost(args.remote, python=args.remote_python, ssh_config=args.ssh_config)
    try:
        session = RemoteSession(project, config, host=host, attach=args.attach)
    except ValueError as err:
        raise CliError(str(err)) from None
    session.observer = _announce
    return session


def _announce(event) -> None:
    """The remote run's id and the checkpoints that came back, on stderr as they arrive."""
    from studio.engine.events import Checkpoint, RemoteRun

    if isinstance(event, RemoteRun):
        print(f"training on {event.machine} as run {event.run_id} ({event.folder})",
              file=sys.stderr, flush=True)
    elif isinstance(event, Checkpoint):
        print(f"checkpoint at step {event.step}: {event.path}", file=sys.stderr, flush=True)


def worker(args) -> int:
    """``studio worker``: what a remote session runs on the machine that trains."""
    from studio.engine import remote_worker

    if args.run_folder:
        remote_worker.run_detached(args.run_folder)
        return 0
    if args.attach:
        return remote_worker.attach(args.attach)
    if args.stop:
        try:
            return remote_worker.stop(args.stop)
        except ValueError as err:
            raise CliError(str(err)) from None
    if args.stdio:
        return remote_worker.serve_stdio()
    raise CliError("studio worker needs --stdio, --attach RUN_ID or --stop RUN_ID")


def add_command(sub) -> None:
    """``studio worker`` (advanced: Studio runs it over SSH; not in the command list)."""
    p = sub.add_parser("worker", description="The training worker a remote run starts over "
                       "SSH: reads its job and commands on stdin, writes events on stdout.")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--stdio", action="store_true", help="start a run from the job on stdin")
    mode.add_argument("--attach", metavar="RUN_ID", help="follow a run again from its start")
    mode.add_argument("--stop", metavar="RUN_ID", help="ask a run to stop")
    mode.add_argument("--run", dest="run_folder", metavar="FOLDER", help=argparse.SUPPRESS)
    p.set_defaults(run=worker)
