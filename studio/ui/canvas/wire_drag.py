"""Dragging a wire from a port: the loose wire follows the mouse, every port that would not take
it is dimmed, the port it would end on is marked and says why it would refuse, and the drop
wires the two ports through the editor (or, on empty canvas, offers the blocks that take it).

The scene owns one ``WireDrag`` and hands it the mouse while a wire is dragged. It asks the
scene only for its items (the node items, the port or node under a point) and to hold the loose
wire; it tells what happened through its own signals, which the scene passes on.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, Signal

from studio.core import wiring
from studio.ui.canvas.port_item import PortItem
from studio.ui.canvas.refusal_bubble import RefusalNote
from studio.ui.canvas.wire_item import DragWire


def _ends(a: PortItem, b: PortItem) -> tuple[PortItem, PortItem]:
    """(output, input) of two ports of different sides, in either order."""
    return (a, b) if a.side == "output" else (b, a)


def _same_side(a: PortItem) -> wiring.Verdict:
    return wiring.Verdict(False, f"both ports are {a.side}s; wire an output to an input")


class WireDrag(QObject):
    refused = Signal(str)  # a wiring was refused, with the reason
    dropped = Signal(str, str, QPointF)  # a wire from (node, output) let go on empty canvas

    def __init__(self, scene, editor, graph_key: str):
        super().__init__(scene)
        self.scene = scene
        self.editor = editor
        self.graph_key = graph_key
        self.note = RefusalNote(scene)
        self.last_refusal = ""
        self.hover_reason = ""  # why the port under the dragged wire would not take it
        self._drag = None  # (start port, DragWire, {port: verdict}) while a wire is dragged

    @property
    def active(self) -> bool:
        return self._drag is not None

    def forget(self) -> None:
        """The scene dropped every item (the loose wire and the bubble with them)."""
        self._drag = None
        self.note.forget()

    def _ports(self, side: str | None = None):
        for item in self.scene.nodes.values():
            if side != "output":
                yield from item.inputs.values()
            if side != "input":
                yield from item.outputs.values()

    def target_port(self, start: PortItem, pos: QPointF) -> PortItem | None:
        """The port a wire dragged from ``start`` would end on at ``pos``: a port of the other
        side under the mouse, else of the node under the mouse the first one that would take
        the wire (a free one first)."""
        want = "input" if start.side == "output" else "output"
        port = self.scene.port_at(pos, want)
        if port is not None:
            return port
        node = self.scene.node_at(pos)
        if node is None or node is start.node_item:
            return None
        ports = list((node.inputs if want == "input" else node.outputs).values())
        verdicts = [(p, self.verdict(start, p)) for p in ports]
        for p, v in verdicts:
            if v.ok and v.replaces is None:
                return p
        for p, v in verdicts:
            if v.ok:
                return p
        return ports[0] if ports else None

    def verdict(self, a: PortItem, b: PortItem) -> wiring.Verdict:
        """Whether a wire between two ports can work (asked once per port and drag)."""
        cache = self._drag[2] if self._drag and self._drag[0] is a else {}
        if b in cache:
            return cache[b]
        if a.side == b.side:
            v = _same_side(a)
        else:
            src, dst = _ends(a, b)
            v = self.editor.check_wire(self.graph_key, src.node_id, src.name, dst.node_id,
                                       dst.name)
        cache[b] = v
        return v

    def wire_ports(self, a: PortItem, b: PortItem, replace: bool = False) -> bool:
        """Connect two ports (either order), or show why not. A taken single input is rewired
        only with ``replace`` (Shift held on the drop)."""
        if a.side == b.side:
            ok, reason = False, _same_side(a).reason
        else:
            src, dst = _ends(a, b)
            ok, reason = self.editor.connect(self.graph_key, src.node_id, src.name, dst.node_id,
                                             dst.name, replace=replace)
        if not ok:
            self.show_refusal(reason, b.scenePos())
        return ok

    def show_refusal(self, reason: str, at: QPointF, announce: bool = True) -> None:
        """The reason beside the port; ``announce``: a refused drop (not a hover)."""
        if announce:
            self.last_refusal = reason
        self.note.show(f"Can't wire: {reason}", at)
        if announce:
            self.refused.emit(reason)

    def begin(self, port: PortItem) -> None:
        """Start dragging a wire from ``port``: every port that would not take it is dimmed."""
        wire = DragWire(port.scenePos(), port.side == "output")
        self.scene.addItem(wire)
        self._drag = (port, wire, {})
        for p in self._ports("input" if port.side == "output" else "output"):
            v = self.verdict(port, p) if p.node_item is not port.node_item else None
            p.set_drag_state("open" if v is not None and v.ok else "refused")

    def _unhighlight(self) -> None:
        for p in self._ports():
            if p.highlight:
                p.highlight = None
                p.update()

    def _clear_marks(self) -> None:
        for p in self._ports():
            p.set_drag_state(None)
        self._unhighlight()

    def move_to(self, pos: QPointF) -> PortItem | None:
        """Move the dragged wire's loose end; marks the port it would connect to, and says why
        a refused one would not take it (in the status bar and beside the pointer)."""
        start, wire = self._drag[0], self._drag[1]
        self._unhighlight()
        target = self.target_port(start, pos)
        ok = True
        self.hover_reason = ""
        if target is not None:
            v = self.verdict(start, target)
            ok = v.ok
            target.highlight = "bad" if not ok else ("taken" if v.replaces is not None else "ok")
            target.update()
            if not ok:
                self.hover_reason = v.reason
                self.editor.session.message.emit(f"Can't wire: {v.reason}")
                self.show_refusal(v.reason, target.scenePos(), announce=False)
            elif v.replaces is not None:
                old = v.replaces
                self.hover_reason = (f"{target.node_id}.{target.name} already has a wire from "
                                     f"{old.src}.{old.src_port}; hold Shift while dropping to "
                                     "replace it")
                self.editor.session.message.emit(self.hover_reason)
                self.note.hide()
            else:
                self.note.hide()
            pos = target.scenePos()
        else:
            self.note.hide()
        wire.move_to(pos, ok)
        return target

    def end(self, pos: QPointF, replace: bool = False) -> bool:
        """Drop the dragged wire at ``pos``: wire it to the port there (``replace``: rewire a
        taken single input); on empty canvas, offer the blocks that would take it."""
        start, wire = self._drag[0], self._drag[1]
        target = self.move_to(pos)
        self._drag = None
        self.scene.removeItem(wire)
        self._clear_marks()
        if target is None:
            self.note.hide()
            if start.side == "output" and self.scene.node_at(pos) is None:
                self.dropped.emit(start.node_id, start.name, pos)
            return False
        return self.wire_ports(start, target, replace=replace)

    def cancel(self) -> None:
        if self._drag is not None:
            self.scene.removeItem(self._drag[1])
            self._clear_marks()
            self.note.hide()
        self._drag = None
