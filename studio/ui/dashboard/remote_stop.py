"""A remote run whose connection was lost: which it is, and stopping it there (``studio worker
--stop RUN_ID`` over a new ssh connection, in a process of its own so the window never waits on
the network)."""

from __future__ import annotations

from PySide6.QtCore import QProcess


def lost_run(session):
    """``(RemoteHost, run id)`` of the remote run ``session`` lost its connection to and that
    goes on there, or None."""
    remote_run = getattr(session, "run", None)  # a RemoteSession's RemoteRun
    if session is None or remote_run is None or session.state != "disconnected":
        return None
    return session.host, remote_run.run_id


def ask_to_stop(host, run_id: str, parent, report) -> QProcess:
    """Ask run ``run_id`` on ``host`` (an ``engine.remote_host.RemoteHost``) to stop after its
    step; ``report(sentence)`` says how it went when ssh ends."""
    command = host.command("--stop", run_id)
    process = QProcess(parent)
    process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)

    def finished(code, status):
        said = " ".join(bytes(process.readAll()).decode(errors="replace").split())
        if status == QProcess.ExitStatus.NormalExit and code == 0:
            report(f"Run {run_id} on {host.host} was asked to stop.")
        else:
            report(f"Could not reach {host.host} to stop run {run_id}: "
                   f"{said or f'ssh ended with status {code}'}")
        process.deleteLater()

    process.finished.connect(finished)
    process.start(command[0], command[1:])
    return process
