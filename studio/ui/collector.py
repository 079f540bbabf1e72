"""Python's cycle collector, run on the window's thread only.

Left automatic, the collector runs on whichever thread allocates when a generation fills: a
run's writer thread, a session's reader thread, a sweep's thread. When the garbage it finds
holds Qt objects (a closed dialog or window caught in a reference cycle), their C++ destructors
then run on that thread while the window's thread is using Qt, and the process dies of a
segmentation fault (CI saw it: the run writer was mid-analysis when the window's thread
crashed). So the window turns automatic collection off, and a timer on its thread collects as
the automatic collector would, by the same thresholds; threads without Qt objects (``studio
train``, the workers) keep Python's own collector.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_MS = 500  # how often the window's thread looks at the collector's counts


class UiThreadCollector(QObject):
    """Collects cycles on the thread it was made on (the window's), in place of Python's
    automatic collector; one per application (``keep_collection_on_ui_thread``)."""

    def __init__(self, parent: QObject):
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_MS)
        self.timer.timeout.connect(self.collect_if_due)
        self.timer.start()

    def collect_if_due(self) -> int:
        """Collect the oldest generation whose count passed its threshold, as the automatic
        collector would on an allocation; what was collected (-1 for nothing due)."""
        counts = gc.get_count()
        if counts[0] <= self.thresholds[0]:
            return -1
        generation = 0
        while (generation + 1 < len(counts) and self.thresholds[generation + 1]
               and counts[generation + 1] > self.thresholds[generation + 1]):
            generation += 1
        gc.collect(generation)
        return generation


def keep_collection_on_ui_thread(app) -> UiThreadCollector:
    """Install the collector on ``app`` (a QApplication, from its thread) once; it lives as
    long as the application."""
    existing = app.findChild(UiThreadCollector)
    return existing if existing is not None else UiThreadCollector(app)
