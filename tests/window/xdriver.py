"""Driving the real Studio window as a user does: real mouse and keyboard events through the X
server (xdotool), with the app's event loop running all the while.

A scenario runs as a "user" thread beside the Qt event loop, as a person sits beside a running
app: it moves the pointer, clicks and types with xdotool, then looks at what the window shows.
Everything that touches Qt runs on the GUI thread (``Scenario.gui``), so modal dialogs,
drag-and-drop loops and file dialogs behave as they do for a person (their nested event loops
keep running, and the user thread can answer them).

Each step is named; a step that fails is reported with its name and a screenshot of the whole
screen, and the scenario goes on with the next step unless the failed one was needed by the
rest. The process exits 0 only when every step passed.
"""

from __future__ import annotations

import concurrent.futures
import faulthandler
import os
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, QPoint, QPointF, Qt, QTimer, Signal
from PySide6.QtWidgets import QAbstractButton, QApplication, QMessageBox, QWidget

DEFAULT_TIMEOUT = 30.0
XDOTOOL_TIMEOUT = 60.0
POLL_SECONDS = 0.05


class StepFailed(AssertionError):
    pass


class _Bridge(QObject):
    """Runs callables on the GUI thread for the user thread (queued: also inside modal loops)."""

    call = Signal(object)
    call_from_loop = Signal(object)

    def __init__(self):
        super().__init__()
        self.call.connect(self._run, Qt.ConnectionType.QueuedConnection)
        self.call_from_loop.connect(self._run_from_loop, Qt.ConnectionType.QueuedConnection)

    def _run_from_loop(self, job) -> None:
        """Run the job from the event loop's timers, not inside Qt's delivery of posted
        calls: work that may start a modal loop (``sync()`` delivering the mouse move that
        starts a drag) must not nest inside it, or the calls posted after it wait until the
        modal loop ends (a drag from the palette then never sees its release)."""
        QTimer.singleShot(0, lambda: self._run(job))

    def _run(self, job) -> None:
        fn, future = job
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn())
        except BaseException as err:  # handed to the user thread, which reports it
            future.set_exception(err)


def xdotool(*args) -> str:
    """Run one xdotool command (real input through the X server); its output."""
    done = subprocess.run(["xdotool", *map(str, args)], capture_output=True, text=True,
                          timeout=XDOTOOL_TIMEOUT)
    if done.returncode != 0:
        raise StepFailed(f"xdotool {' '.join(map(str, args))} failed: {done.stderr.strip()}")
    return done.stdout


class Scenario:
    """The user thread's tools: ``gui`` (look at the window), input (``click``, ``drag``,
    ``key``, ``type``), ``wait_until``, ``shot``, and ``step`` to name what is being done."""

    def __init__(self, name: str):
        self.name = name
        shots = os.environ.get("STUDIO_SCENARIO_SHOTS")
        self.shots = Path(shots) if shots else None
        self.failed: list[tuple[str, str]] = []
        self.passed: list[str] = []
        self.app = None
        self.window = None
        self._bridge = None
        self._started = time.monotonic()
        self._shot_number = 0

    # running ------------------------------------------------------------------------------------
    def run(self, body, build=None) -> int:
        """Create the app as ``studio`` does, run ``body(self)`` on the user thread while the
        event loop runs, and return the exit status (0 when every step passed)."""
        if build is None:
            from studio.ui.app import build
        t0 = time.monotonic()
        self.app, self.window = build()
        self.log(f"window built in {time.monotonic() - t0:.2f} s")
        self._bridge = _Bridge()
        outcome = {}

        def user():
            try:
                self.wait_until(lambda: self.window.isVisible() and self.window.windowHandle()
                                is not None and self.window.windowHandle().isExposed(),
                                "the main window is shown", 60)
                body(self)
            except StepFailed as err:
                outcome["error"] = str(err)
            except BaseException:
                outcome["error"] = traceback.format_exc()
            finally:
                try:
                    self.gui(self._close_quietly, timeout=60)
                except BaseException:
                    self.log("could not close the window; exiting")
                    QTimer.singleShot(0, lambda: QApplication.exit(3))

        thread = threading.Thread(target=user, name="user", daemon=True)
        QTimer.singleShot(0, thread.start)
        self.app.exec()
        thread.join(10)
        if "error" in outcome:
            self.failed.append(("(scenario)", outcome["error"]))
        return self.report()

    def _close_quietly(self) -> None:
        """Close the app at the end without prompts: what the scenario changed counts as saved."""
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QMessageBox) and widget.isVisible():
                widget.reject()
        w = self.window
        w.session.doc.mark_saved()
        w.dashboard.controller.shutdown()
        QApplication.exit(0)

    def report(self) -> int:
        total = time.monotonic() - self._started
        self.log(f"{len(self.passed)} steps passed, {len(self.failed)} failed, {total:.1f} s")
        for name, why in self.failed:
            self.log(f"FAILED step '{name}': {why}")
        return 1 if self.failed else 0

    def log(self, text: str) -> None:
        print(f"[{self.name} {time.monotonic() - self._started:6.1f}s] {text}", flush=True)

    def step(self, name: str, fn, needed: bool = False) -> bool:
        """Do one named step; a failure is recorded with a screenshot, and ends the scenario
        when later steps need this one (``needed``). True when it passed."""
        self.log(f"step: {name}")
        t0 = time.monotonic()
        try:
            fn()
        except BaseException as err:
            why = str(err) if isinstance(err, StepFailed) else traceback.format_exc()
            self.failed.append((name, why))
            self.log(f"  FAILED after {time.monotonic() - t0:.1f} s: {why}")
            self.shot(f"FAILED {name}")
            self.dismiss_popups()
            if needed:
                raise StepFailed(f"stopped: the steps after '{name}' need it") from None
            return False
        self.passed.append(name)
        self.log(f"  ok ({time.monotonic() - t0:.1f} s)")
        return True

    # the GUI thread -----------------------------------------------------------------------------
    def gui(self, fn, timeout: float = DEFAULT_TIMEOUT, from_loop: bool = False):
        """Run ``fn()`` on the GUI thread and return its result (its exception is raised here).
        ``from_loop``: run it from the event loop's timers (see ``_Bridge._run_from_loop``)."""
        future = concurrent.futures.Future()
        (self._bridge.call_from_loop if from_loop else self._bridge.call).emit((fn, future))
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            # where the window's thread is stuck, for whoever reads the failure
            faulthandler.dump_traceback(file=sys.stdout, all_threads=True)
            raise StepFailed(f"the window did not answer within {timeout:.0f} s "
                             "(the event loop is blocked)") from None

    def settle(self) -> None:
        """Let the app take in the input sent so far: Qt empties its queue, syncs with the X
        server (whose queue holds the input xdotool sent), and delivers what arrived."""
        self.gui(lambda: QApplication.instance().sync(), from_loop=True)
        self.gui(lambda: None)

    def wait_until(self, condition, what: str, timeout: float = DEFAULT_TIMEOUT):
        """Wait until ``condition()`` (run on the GUI thread) is truthy; its value. Fails with
        ``what`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.gui(condition)
            if value:
                return value
            if time.monotonic() > deadline:
                raise StepFailed(f"waited {timeout:.0f} s for: {what}")
            time.sleep(POLL_SECONDS)  # the user looks again shortly

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            raise StepFailed(message)

    # input through the X server -----------------------------------------------------------------
    def pointer(self) -> tuple[int, int]:
        out = xdotool("getmouselocation", "--shell")
        values = dict(line.split("=", 1) for line in out.split() if "=" in line)
        return int(values["X"]), int(values["Y"])

    def move(self, x: int, y: int) -> None:
        x, y = int(round(x)), int(round(y))
        if self.pointer() != (x, y):  # --sync waits for a motion that would never come
            xdotool("mousemove", "--sync", x, y)
        self.settle()

    def click(self, at, button: int = 1, double: bool = False) -> None:
        x, y = self.point(at)
        self.move(x, y)
        xdotool("click", "--repeat", 2 if double else 1, "--delay", 60, button)
        self.settle()

    def press(self, at, button: int = 1) -> None:
        x, y = self.point(at)
        self.move(x, y)
        xdotool("mousedown", button)
        self.settle()

    def release(self, button: int = 1) -> None:
        xdotool("mouseup", button)
        self.settle()

    def drag(self, start, end, steps: int = 8, button: int = 1, modifiers: str = "") -> None:
        """Press at ``start``, move to ``end`` in steps (the app takes in each), release."""
        (x0, y0), (x1, y1) = self.point(start), self.point(end)
        if modifiers:
            xdotool("keydown", modifiers)
        try:
            self.press((x0, y0), button)
            for i in range(1, steps + 1):
                t = i / steps
                self.move(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t)
            self.release(button)
        finally:
            if modifiers:
                xdotool("keyup", modifiers)
                self.settle()

    def key(self, *keys: str) -> None:
        """Press keys or chords in turn: ``key("ctrl+z")``, ``key("F5")``."""
        xdotool("key", "--clearmodifiers", "--delay", 40, *keys)
        self.settle()

    def type(self, text: str) -> None:
        xdotool("type", "--clearmodifiers", "--delay", 15, text)
        self.settle()

    def point(self, at) -> tuple[int, int]:
        """A global screen point from (x, y), a QPoint, a widget (its centre) or a callable
        giving one of those on the GUI thread."""
        if callable(at) and not isinstance(at, QWidget):
            at = self.gui(lambda: _global(at()))
        elif isinstance(at, QWidget):
            at = self.gui(lambda: _global(at))
        elif isinstance(at, QPoint | QPointF):
            at = (at.x(), at.y())
        return int(round(at[0])), int(round(at[1]))

    # looking at the screen ----------------------------------------------------------------------
    def shot(self, name: str) -> Path | None:
        """Save what the screen shows (the X server's own pixels) as ``NN-name.png``."""
        if self.shots is None:
            return None
        self._shot_number += 1
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:60]
        path = self.shots / f"{self._shot_number:02d}-{safe}.png"
        path.parent.mkdir(parents=True, exist_ok=True)

        def grab():
            screen = QApplication.primaryScreen()
            return screen.grabWindow(0).save(str(path))

        try:
            self.gui(grab)
        except StepFailed:
            return None
        return path

    def dismiss_popups(self) -> None:
        """After a failed step: close what it left open (menus, dialogs) with Escape."""
        for _ in range(4):
            try:
                open_ = self.gui(lambda: QApplication.activePopupWidget() is not None or
                                 QApplication.activeModalWidget() is not None, timeout=10)
            except StepFailed:
                return
            if not open_:
                return
            xdotool("key", "Escape")
            self.settle()

    # finding things on screen (GUI thread) ------------------------------------------------------
    def menu_path(self, *texts: str) -> None:
        """Open a menu of the menu bar and choose an item by its text (submenus in between),
        with the mouse: ``menu_path("File", "Examples", "lenet")``."""
        bar = self.window.menuBar()
        action = self.gui(lambda: _action_by_text(bar.actions(), texts[0]))
        self.click(lambda: bar.mapToGlobal(bar.actionGeometry(action).center()))
        menu = self.wait_until(lambda: action.menu() if action.menu().isVisible() else None,
                               f"the {texts[0]} menu opens")
        for i, text in enumerate(texts[1:], 1):
            item = self.gui(lambda m=menu, t=text: _action_by_text(m.actions(), t))
            self.wait_until(lambda it=item: it.isEnabled(), f"'{text}' is enabled", 10)
            self.click(lambda m=menu, it=item: m.mapToGlobal(m.actionGeometry(it).center()))
            if i < len(texts) - 1:
                menu = self.wait_until(lambda it=item: it.menu() if it.menu().isVisible()
                                       else None, f"the {text} submenu opens")
        self.wait_until(lambda: QApplication.activePopupWidget() is None or
                        QApplication.activeModalWidget() is not None, "the menu closes", 10)

    def modal(self, what: str, timeout: float = DEFAULT_TIMEOUT):
        """Wait for a modal dialog (a prompt, a file dialog) to be on the screen; the dialog."""
        dialog = self.wait_until(lambda: QApplication.activeModalWidget(), what, timeout)
        self.wait_until(lambda: dialog.windowHandle() is not None and
                        dialog.windowHandle().isExposed(), f"{what}: shown", timeout)
        self.settle()  # laid out and placed: where its widgets are is known now
        return dialog

    def no_modal(self, what: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.wait_until(lambda: QApplication.activeModalWidget() is None, what, timeout)

    def click_button(self, dialog, pick, what: str) -> str:
        """Click the dialog's button chosen by ``pick(button, dialog)``; its text."""
        def find():
            for b in dialog.findChildren(QAbstractButton):
                if b.isVisible() and pick(b, dialog):
                    return b
            return None

        button = self.wait_until(find, what, 10)
        text = self.gui(lambda: button.text())
        self.click(button)
        return text


def gone(widget) -> bool:
    """Whether a dialog is closed (deleted, or hidden). GUI thread."""
    return not shiboken6.isValid(widget) or not widget.isVisible()


def _global(at) -> tuple[int, int]:
    if isinstance(at, QWidget):
        at = at.mapToGlobal(at.rect().center())
    if isinstance(at, QPoint | QPointF):
        return int(round(at.x())), int(round(at.y()))
    return int(round(at[0])), int(round(at[1]))


def _action_by_text(actions, text: str):
    want = text.replace("&", "").lower()
    for a in actions:
        have = a.text().replace("&", "").replace("\u2026", "").lower()
        if have == want or have.split("\t")[0] == want:
            return a
    names = [a.text().replace("&", "") for a in actions if not a.isSeparator()]
    raise StepFailed(f"no menu item '{text}' among {names}")


def run_main(name: str, body) -> None:
    """The entry point of a scenario script: run it and exit with its status."""
    scenario = Scenario(name)
    status = scenario.run(body)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # the training worker is ended already; skip the interpreter's teardown


__all__ = ["Scenario", "StepFailed", "gone", "run_main", "xdotool"]
