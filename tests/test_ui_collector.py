"""Cycles holding Qt objects are collected on the window's thread, never on a worker thread,
where freeing them would run Qt destructors beside the window's thread (a crash)."""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QObject

from studio.ui.collector import UiThreadCollector, keep_collection_on_ui_thread


class Cycle(QObject):
    freed_on: list[str] = []

    def __init__(self):
        super().__init__()
        self.me = self  # a reference cycle: only the cycle collector frees it

    def __del__(self):
        Cycle.freed_on.append(threading.current_thread().name)


def test_a_busy_thread_never_collects_and_the_ui_thread_does(qapp, qtbot):
    collector = keep_collection_on_ui_thread(qapp)
    assert keep_collection_on_ui_thread(qapp) is collector  # one per application
    assert isinstance(collector, UiThreadCollector) and not gc.isenabled()
    Cycle.freed_on.clear()
    Cycle()  # garbage at once, in a cycle

    def allocate():  # far past every threshold: automatic collection would run here
        junk = []
        for _ in range(50 * gc.get_threshold()[0]):
            pair = [None]
            pair[0] = pair
            junk.append(pair)

    worker = threading.Thread(target=allocate, name="busy-worker")
    worker.start()
    worker.join()
    assert Cycle.freed_on == []
    qtbot.waitUntil(lambda: Cycle.freed_on == [threading.main_thread().name], timeout=10_000)
