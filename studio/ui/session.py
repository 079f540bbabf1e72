"""The editing session: one document, its latest analysis and generated code, and the selection.

Every view talks to the project through a ``Session``: it pushes commands (never touching the
project itself) and redraws when ``changed`` fires. Shapes and costs are brought up to date right
after each edit, re-analysing only the nodes it can change (``core.incremental``); the generated
code is refreshed a moment after the last edit, from that same analysis, so a burst of typing
regenerates it once.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from studio.core.document import Change, Command, Document, MoveNodes
from studio.core.incremental import Analyzer
from studio.core.inference import Analysis
from studio.core.project import ProjectError
from studio.core.verdict import Judge, Verdict
from studio.ui.editing import refusal_text

CODE_DELAY_MS = 250


class Session(QObject):
    changed = Signal(object)  # Change, after every edit, undo and redo
    analyzed = Signal()  # self.analysis and self.verdict were recomputed
    code_ready = Signal()  # self.code / self.code_error were recomputed
    replaced = Signal()  # a different document (New, Open, Recover)
    selection_changed = Signal()  # self.selection changed
    message = Signal(str)  # a sentence for the status bar: a refused edit, a saved file

    def __init__(self, document: Document | None = None, parent=None):
        super().__init__(parent)
        self.doc = document or Document()
        self._unsubscribe = self.doc.subscribe(self._on_change)
        self._analyzer = Analyzer(self.doc.project)
        self._judge = Judge()
        self.analysis: Analysis = self._analyzer.analysis
        self.verdict: Verdict = self._judge(self.doc.project, self.analysis)
        self._broken = self.analysis.broken_wires
        self.code = None
        self.code_error = None
        self._code_dirty = True
        self.selection: tuple[str, list[str]] = ("training", [])
        self._last_command = None
        self._code_timer = QTimer(self)
        self._code_timer.setSingleShot(True)
        self._code_timer.setInterval(CODE_DELAY_MS)
        self._code_timer.timeout.connect(self.regenerate)
        self._code_timer.start()

    # the document ---------------------------------------------------------------------------
    @property
    def project(self):
        return self.doc.project

    def set_document(self, document: Document) -> None:
        """Replace the document (New, Open); views rebuild from ``replaced``."""
        self._unsubscribe()
        self.doc = document
        self._unsubscribe = self.doc.subscribe(self._on_change)
        self.selection = ("training", [])
        self._analyzer = Analyzer(self.doc.project)
        self._judge = Judge()
        self.analysis = self._analyzer.analysis
        self.verdict = self._judge(self.doc.project, self.analysis)
        self._broken = self.analysis.broken_wires
        self._code_dirty = True
        self.replaced.emit()
        self.analyzed.emit()
        self.selection_changed.emit()
        self._code_timer.start()

    def push(self, command: Command, merge: bool = False) -> bool:
        """Apply an edit; a refused one (a bad value, a missing node) becomes a message."""
        self._last_command = command
        try:
            self.doc.push(command, merge=merge)
        except (ProjectError, KeyError, ValueError) as err:
            self.message.emit(f"Not done: {refusal_text(err, capitalized=True)}")
            return False
        finally:
            self._last_command = None
        return True

    def undo(self) -> None:
        if self.doc.can_undo:
            text = self.doc.undo_text
            self.doc.undo()
            self.message.emit(f"Undid {text}")

    def redo(self) -> None:
        if self.doc.can_redo:
            text = self.doc.redo_text
            self.doc.redo()
            self.message.emit(f"Redid {text}")

    def end_merge(self) -> None:
        self.doc.end_merge()

    def _on_change(self, change: Change) -> None:
        moved_only = isinstance(self._last_command, MoveNodes)
        self._prune_selection()
        self.changed.emit(change)
        if not moved_only:
            self.reanalyze(change)
            self._code_dirty = True
            self._code_timer.start()

    def _prune_selection(self) -> None:
        key, ids = self.selection
        try:
            graph = self.doc.graph(key)
        except ProjectError:
            self.selection = ("training", [])
            self.selection_changed.emit()
            return
        kept = [n for n in ids if n in graph.nodes]
        if kept != ids:
            self.selection = (key, kept)
            self.selection_changed.emit()

    # derived views ----------------------------------------------------------------------------
    def reanalyze(self, change: Change | None = None) -> None:
        """The one analysis of an edit (of ``change``; None: of the whole project), and the
        verdict every view shows from it."""
        self.analysis = self._analyzer.update(change)
        self.verdict = self._judge(self.doc.project, self.analysis)
        self.analyzed.emit()
        self._tell_broken_wires()

    def _tell_broken_wires(self) -> None:
        """An edit that took away an output a wire starts from (a Dataset switched from digits
        to csv) keeps the wire, marked as a problem; the status bar says so at once."""
        now = self.analysis.broken_wires
        new = [(key, e) for key, e in now if (key, e) not in self._broken]
        self._broken = now
        if new:
            key, e = new[0]
            more = f" (and {len(new) - 1} more)" if len(new) > 1 else ""
            self.message.emit(f"Kept the wire {e.src}.{e.src_port} \u2192 {e.dst}.{e.dst_port}{more}, "
                              f"now broken: {e.src} has no output '{e.src_port}'. Rewire or "
                              "delete it, or undo; Problems lists it.")

    def regenerate(self) -> None:
        """Generate the code now (the code view asks after a pause in editing)."""
        from studio.engine.codegen import CodegenError, generate

        self._code_timer.stop()
        self._code_dirty = False
        try:
            self.code, self.code_error = generate(self.doc.project, self.analysis), None
        except CodegenError as err:
            self.code, self.code_error = None, err
        except (ValueError, KeyError, TypeError, ArithmeticError) as err:
            self.code, self.code_error = None, err
        if self.code_error is not None and self.verdict.can_generate:
            # the generator saw what the analysis did not: it joins the verdict, so Problems,
            # the banner and Train say the same
            self.verdict = self.verdict.with_code_refusal(str(self.code_error))
            self.analyzed.emit()
        self.code_ready.emit()

    def ensure_code(self):
        if self._code_dirty:
            self.regenerate()
        return self.code

    # selection --------------------------------------------------------------------------------
    def select(self, graph: str, node_ids) -> None:
        ids = list(node_ids)
        if (graph, ids) != self.selection:
            self.selection = (graph, ids)
            self.selection_changed.emit()

    @property
    def selected_node(self):
        """(graph key, Node) when exactly one node is selected, else None."""
        key, ids = self.selection
        if len(ids) != 1:
            return None
        try:
            node = self.doc.graph(key).nodes.get(ids[0])
        except ProjectError:
            return None
        return (key, node) if node is not None else None

