"""The window's layer-time measurement, in a process of its own (spawn, as training processes
are), its report coming back as plain data, so the editor never imports torch
(``layer_timing_run.py`` measures; ``studio lab timing`` calls it directly).
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from dataclasses import asdict

from studio.core.fileformat import dumps
from studio.engine.layer_timing import LayerTimingError, TimingOptions, TimingReport


class TimingProcess:
    """One measurement in a process of its own; ``on_done(report, error)`` is called once, on a
    thread of this object's, with a ``TimingReport`` or a ``LayerTimingError``."""

    def __init__(self, project, options: TimingOptions,
                 on_done: Callable[[TimingReport | None, LayerTimingError | None], None]):
        context = multiprocessing.get_context("spawn")  # never fork a process running Qt
        self._receive, send = context.Pipe(duplex=False)
        self.process = context.Process(target=_process_main,
                                       args=(dumps(project), asdict(options), send),
                                       name="studio-layer-timing")
        self.process.start()
        send.close()  # ours closed: the pipe reads EOF if the process dies without answering
        self.on_done = on_done
        self.stopped = False
        self._reader = threading.Thread(target=self._wait, daemon=True)
        self._reader.start()

    @property
    def alive(self) -> bool:
        return self._reader.is_alive()

    def stop(self) -> None:
        """End the measurement now (its answer is an error saying so)."""
        if self.process.is_alive():
            self.stopped = True
            self.process.terminate()

    def _wait(self) -> None:
        try:
            answer = self._receive.recv()
        except (EOFError, OSError):
            answer = None
        self.process.join()
        self._receive.close()
        if answer is None and self.stopped:
            self.on_done(None, LayerTimingError("the measurement was stopped"))
        elif answer is None:
            code = self.process.exitcode
            self.on_done(None, LayerTimingError(
                "the measuring process ended without an answer "
                + (f"(killed by signal {-code})" if code and code < 0 else f"(exit code {code})")))
        elif answer[0] == "report":
            self.on_done(TimingReport.from_json(answer[1]), None)
        else:
            self.on_done(None, LayerTimingError(answer[1], tuple(answer[2]) if answer[2] else None))


def _process_main(project_text: str, options: dict, send) -> None:
    """The measuring process: measure, send the report (or the error) once, end."""
    from studio.engine.worker import end_with_parent

    end_with_parent()
    try:
        from studio.core.fileformat import loads
        from studio.engine.layer_timing_run import measure

        report = measure(loads(project_text), TimingOptions(**options))
        send.send(("report", report.as_json()))
    except LayerTimingError as err:
        send.send(("error", str(err), err.node))
    except Exception as err:  # noqa: BLE001 - the window must hear about anything
        send.send(("error", f"the measurement failed: {type(err).__name__}: {err}", None))
    finally:
        send.close()
