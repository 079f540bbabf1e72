"""What the window says and asks about training: Train > Save Weights (saving the project first
when it has no file), a failed run (the message in the status bar, the node at fault shown), and
the question before closing while a run is going.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from studio.engine.events import Error
from studio.ui.confirm import confirm


class TrainingPrompts(QObject):
    def __init__(self, bench, save_as, parent=None):
        super().__init__(parent)
        self.bench = bench
        self.save_as = save_as  # () -> bool: File > Save As
        bench.controller.failed.connect(self.training_failed)

    def save_weights(self) -> bool:
        """Train > Save Weights: the trained state goes beside the project file (saved first)."""
        if not self.bench.session.doc.path and not self.save_as():
            return False
        try:
            path = self.bench.controller.save_weights()
        except OSError as err:
            self.bench.show_error("Cannot save the weights", str(err))
            return False
        self.bench.status(f"Saved the trained weights to {path}", 8000)
        return True

    def training_failed(self, event: Error) -> None:
        """Say what went wrong in the status bar and show the node at fault; the graph and the
        plots so far are kept."""
        self.bench.status(f"Training: {event.message}", 15000)
        node = event.node
        project = self.bench.session.project
        if node and (node[0] == "training" or node[0] in project.networks) \
                and node[1] in self.bench.session.doc.graph(node[0]).nodes:
            self.bench.select_node(node[0], node[1])

    def may_close(self) -> bool:
        """Before the window closes: True unless a run is going and the user keeps it."""
        if not self.bench.controller.running:
            return True
        return confirm(self.bench.dialog_parent, "Training is running",
                       "Stop training and close? The weights trained so far are not saved.",
                       "stop_training_box")
