"""The scene of one graph: node and wire items mirrored from the document.

The scene never changes the project. Mouse gestures become editor calls (which push commands),
and the items follow the document's change events: ``apply_change`` adds, removes and refreshes
items; ``show_analysis`` puts shapes, costs and problem badges on them; ``show_health`` puts
training health indicators on them; ``show_diff`` marks what differs from another project.
The wire items, their routes and labels are the ``WireRouter``'s (wire_router.py); a wire being
dragged from a port is the ``WireDrag``'s (wire_drag.py).
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QGraphicsScene

from studio.core.project import INSTANCE
from studio.ui.canvas.ghost_item import GhostItem
from studio.ui.canvas.node_item import BOX_ZOOM, LOD_SLACK, NodeItem
from studio.ui.canvas.port_item import DRAWN_FROM, PortItem
from studio.ui.canvas.wire_drag import WireDrag
from studio.ui.canvas.wire_item import WireItem
from studio.ui.canvas.wire_overview import WireOverview
from studio.ui.canvas.wire_router import WireRouter

GRID = 10.0
DRAG_START = 4.0  # pixels the mouse moves before a press becomes a drag


class GraphScene(QGraphicsScene):
    open_network = Signal(str)  # double-click on a network instance
    quick_add = Signal(QPointF)  # double-click on empty canvas: add a block there
    refused = Signal(str)  # a wiring was refused, with the reason
    wire_dropped = Signal(str, str, QPointF)  # a wire from (node, output) let go on empty canvas

    def __init__(self, editor, graph_key: str, parent=None):
        super().__init__(parent)
        self.editor = editor
        self.graph_key = graph_key
        self.nodes: dict[str, NodeItem] = {}
        # Qt's index of items (a BSP tree) finds what a paint or a query needs among thousands
        # of items; an item that moves is indexed again by itself. Routing and label placement
        # ask the router's grids: the node rectangles and the wire labels, each kept up to date
        # rectangle by rectangle.
        self.router = WireRouter(self.nodes)
        self.healths: dict = {}  # node id -> Health shown, kept for items made later
        self.diff_marks: dict = {}  # node id -> diff_marks.Mark shown, kept for items made later
        self.ghosts: dict[str, GhostItem] = {}  # node id -> a removed node's ghost
        self._ghost_list: tuple = ()  # the diff_marks.Ghost records the ghosts show
        self.snap = True
        self.wiring = WireDrag(self, editor, graph_key)
        self.wiring.refused.connect(self.refused)
        self.wiring.dropped.connect(self.wire_dropped)
        self._moving = None  # nodes dragged: (press pos, {id: pos at the press}, started)
        self._shown = None  # the serial of the analysis the items show
        self._ports_drawn = True
        self.selectionChanged.connect(self._selection_drawn)
        self.rebuild()

    @property
    def session(self):
        return self.editor.session

    @property
    def graph(self):
        return self.session.doc.graph(self.graph_key)

    @property
    def wires(self) -> list[WireItem]:
        """The wire items, one per edge, in the graph's order."""
        return self.router.wires

    @property
    def _overview(self) -> WireOverview | None:
        return self.router.overview

    # building from the document ---------------------------------------------------------------
    def rebuild(self) -> None:
        """Drop every item and build the graph again (a new document, a replaced graph)."""
        self._moving = None
        self.wiring.forget()
        self.clear()
        self.nodes.clear()
        self.ghosts = {}
        self.addItem(self.router.reset())
        graph = self.graph
        for node in graph.nodes.values():
            self._add_node(node, graph)
        self._sync_wires()
        self.show_analysis(self.session.analysis)
        self.fit_scene_rect()
        self._add_ghosts()

    def apply_change(self, change) -> None:
        if self.graph_key not in change.graphs:
            return
        graph = self.graph
        moved_rects, moved = [], set()
        touched = [n for g, n in change.nodes if g == self.graph_key]
        grid = self.router.node_grid()
        for node_id in touched:
            node = graph.nodes.get(node_id)
            item = self.nodes.get(node_id)
            if node is None:
                if item is not None:
                    moved_rects.append(item.scene_rect())
                    self.removeItem(item)
                    del self.nodes[node_id]
                    grid.drop(node_id)
                continue
            if item is None:
                item = self._add_node(node, graph)
                moved_rects.append(item.scene_rect())
                grid.put(node_id, item.scene_rect())
                continue
            old = item.scene_rect()
            item.sync(node, graph)
            if old != item.scene_rect():
                moved_rects += [old, item.scene_rect()]
                moved.add(node_id)
                grid.put(node_id, item.scene_rect())
        ports_replaced = any(w.src_port.parentItem() is None or w.dst_port.parentItem() is None
                             for w in self.router.wires_of(touched))
        if change.wires or ports_replaced or any(n not in self.nodes for n in touched) or \
                self.nodes.keys() != graph.nodes.keys():
            self._sync_wires()
            self.grow_scene_rect()
            return
        if not moved_rects:
            return  # nothing moved nor changed size (a parameter): every wire's route holds
        rerouted = self.router.reroute(moved, [
            it for r in moved_rects for it in self.items(r.adjusted(-20, -20, 20, 20))
            if isinstance(it, WireItem)])  # the wires passing where nodes were or are now
        area = QRectF()
        for r in moved_rects:
            area = area.united(r)
        for w in rerouted:
            area = area.united(w.sceneBoundingRect())
        self.grow_scene_rect(area)

    def _add_node(self, node, graph) -> NodeItem:
        item = NodeItem(self.graph_key, node, graph)
        item.set_health(self.healths.get(node.id))
        item.set_diff_mark(self.diff_marks.get(node.id))
        item.show_ports(self._ports_drawn)
        self.addItem(item)
        self.nodes[node.id] = item
        return item

    def _selection_drawn(self) -> None:
        """A selected wire is drawn in the selection's colour, zoomed out too."""
        if self._overview is not None and shiboken6.isValid(self._overview):
            self._overview.invalidate()

    def set_view_zoom(self, zoom: float) -> None:
        """The view's zoom changed: ports draw themselves only from ``DRAWN_FROM`` up, wires
        from ``BOX_ZOOM`` up (below it the ``WireOverview`` draws them all at once)."""
        drawn = zoom >= DRAWN_FROM - LOD_SLACK
        if drawn != self._ports_drawn:
            self._ports_drawn = drawn
            for item in self.nodes.values():
                item.show_ports(drawn)
        self.router.set_drawn(zoom >= BOX_ZOOM)

    def _sync_wires(self) -> None:
        """Make the node and wire items match the graph (one wire item per edge, in order)."""
        graph = self.graph
        for node_id in [n for n in self.nodes if n not in graph.nodes]:
            self.removeItem(self.nodes.pop(node_id))
        for node_id, node in graph.nodes.items():
            if node_id not in self.nodes:
                self._add_node(node, graph)
        new, dropped = self.router.sync(graph, self._rows(self.session.analysis))
        for w in dropped:
            self.removeItem(w)
        for w in new:
            self.addItem(w)

    def _rows(self, analysis, ids=None) -> dict:
        """Node id -> the analysis row of this graph's node (``ids``: of those nodes only)."""
        rows = {}
        for row in analysis.rows:
            if row.graph == self.graph_key and row.node.id not in rows and (
                    ids is None or row.node.id in ids):
                rows[row.node.id] = row
        return rows

    def show_analysis(self, analysis) -> None:
        """Shapes, costs and problem badges from the latest analysis: on the nodes it names as
        changed when it follows the analysis shown last (an edit), else on every node."""
        follows = analysis.changed is not None and analysis.follows == self._shown
        self._shown = analysis.serial
        ids = {n for g, n in analysis.changed if g == self.graph_key} if follows else None
        if ids is not None and not ids:
            return
        problems: dict = {}
        for p in analysis.problems:
            if p.graph == self.graph_key and p.node and (ids is None or p.node in ids):
                problems.setdefault(p.node, []).append(p)
        rows = self._rows(analysis, ids)
        for node_id in self.nodes if ids is None else ids:
            item = self.nodes.get(node_id)
            if item is not None:
                item.set_result(rows.get(node_id), problems.get(node_id, []))
        self.router.label(rows, sources=ids)

    def show_health(self, healths: dict | None) -> int:
        """Training health per node id (None or {}: clear every indicator). Cheap enough for a
        few calls a second: only items whose health changed repaint. Returns how many changed."""
        self.healths = dict(healths) if healths else {}
        changed = 0
        for node_id, item in self.nodes.items():
            changed += item.set_health(self.healths.get(node_id))
        return changed

    def show_diff(self, marks: dict, ghosts=()) -> int:
        """Mark nodes added or changed since another project (node id -> ``diff_marks.Mark``)
        and show ``ghosts`` (``diff_marks.Ghost``) where removed nodes stood; {} and () clear
        them. Only the items whose mark changed repaint. Returns how many changed."""
        self.diff_marks = dict(marks)
        changed = 0
        for node_id, item in self.nodes.items():
            changed += item.set_diff_mark(self.diff_marks.get(node_id))
        ghosts = tuple(ghosts)
        if ghosts != self._ghost_list:
            for item in self.ghosts.values():
                self.removeItem(item)
            self.ghosts = {}
            self._ghost_list = ghosts
            self._add_ghosts()
            changed += 1
        return changed

    def _add_ghosts(self) -> None:
        for ghost in self._ghost_list:
            item = GhostItem(ghost)
            self.addItem(item)
            self.ghosts[ghost.node_id] = item
            self.grow_scene_rect(item.scene_rect())  # the view can scroll to it

    def fit_scene_rect(self) -> None:
        r = self.content_rect()
        if r.isNull():
            r = QRectF(-400, -300, 800, 600)
        self.setSceneRect(r.adjusted(-1500, -1000, 1500, 1000))
        self._overview.cover(self.sceneRect())

    def content_rect(self) -> QRectF:
        """What the graph covers: its nodes and wires (not a note or a wire being dragged)."""
        rect = QRectF()
        for item in self.nodes.values():
            rect = rect.united(item.scene_rect())
        for w in self.wires:
            rect = rect.united(w.boundingRect())
        return rect

    def render_overview(self, painter, target: QRectF, source: QRectF) -> None:
        """Draw the graph for the minimap, without the notes shown beside the pointer."""
        with self.wiring.note.hidden():
            self.render(painter, target, source)

    def grow_scene_rect(self, area: QRectF | None = None) -> None:
        """Make room around the items (``area``: only around that part, which changed)."""
        r = (self.content_rect() if area is None else area).adjusted(-600, -400, 600, 400)
        if not self.sceneRect().contains(r):
            self.setSceneRect(self.sceneRect().united(r))
            self._overview.cover(self.sceneRect())

    # lookups --------------------------------------------------------------------------------------
    def selected_ids(self) -> list[str]:
        return [i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)]

    def selected_wires(self) -> list[WireItem]:
        return [i for i in self.selectedItems() if isinstance(i, WireItem)]

    def select_nodes(self, ids) -> None:
        ids = set(ids)
        self.blockSignals(True)
        try:
            self.clearSelection()
            for node_id in ids:
                item = self.nodes.get(node_id)
                if item is not None:
                    item.setSelected(True)
        finally:
            self.blockSignals(False)
        self.selectionChanged.emit()

    def wire_at(self, pos: QPointF) -> WireItem | None:
        for it in self.items(QRectF(pos.x() - 6, pos.y() - 6, 12, 12)):
            if isinstance(it, WireItem) and it.shape().intersects(
                    QRectF(pos.x() - 6, pos.y() - 6, 12, 12)):
                return it
        return None

    def node_at(self, pos: QPointF) -> NodeItem | None:
        for it in self.items(pos):
            if isinstance(it, NodeItem):
                return it
            if isinstance(it, PortItem):
                return it.node_item
        return None

    def port_at(self, pos: QPointF, side: str | None = None) -> PortItem | None:
        """The port nearest to ``pos`` within grabbing distance."""
        best, best_d = None, 11.0 ** 2
        for it in self.items(QRectF(pos.x() - 10, pos.y() - 10, 20, 20)):
            if isinstance(it, PortItem) and (side is None or it.side == side):
                d = it.scenePos() - pos
                dist = d.x() ** 2 + d.y() ** 2
                if dist < best_d:
                    best, best_d = it, dist
        return best

    def snapped(self, pos) -> tuple[float, float]:
        x, y = pos
        if self.snap:
            x, y = round(x / GRID) * GRID, round(y / GRID) * GRID
        return (float(x), float(y))

    # wiring gestures (the mouse handlers below and tests call these) ------------------------------
    @property
    def last_refusal(self) -> str:
        """The reason the last refused wiring was given."""
        return self.wiring.last_refusal

    @property
    def hover_reason(self) -> str:
        """Why the port under a dragged wire would not take it."""
        return self.wiring.hover_reason

    def begin_wire(self, port: PortItem) -> None:
        self._moving = None
        self.wiring.begin(port)

    def drag_wire_to(self, pos: QPointF) -> PortItem | None:
        return self.wiring.move_to(pos)

    def end_wire(self, pos: QPointF, replace: bool = False) -> bool:
        return self.wiring.end(pos, replace)

    def cancel_drag(self) -> None:
        self.wiring.cancel()
        self._moving = None

    # mouse ------------------------------------------------------------------------------------------
    def mousePressEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton:
            port = self.port_at(event.scenePos())
            if port is not None:
                self.begin_wire(port)
                event.accept()
                return
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            node = self.node_at(event.scenePos())
            if node is not None:
                ids = self.selected_ids()
                graph = self.graph
                self._moving = (event.scenePos(), {n: graph.nodes[n].pos for n in ids
                                                   if n in graph.nodes}, False)

    def mouseMoveEvent(self, event):
        if self.wiring.active:
            self.wiring.move_to(event.scenePos())
            event.accept()
            return
        if self._moving and event.buttons() & Qt.MouseButton.LeftButton:
            press, start, started = self._moving
            delta = event.scenePos() - press
            if not started and abs(delta.x()) + abs(delta.y()) < DRAG_START:
                return
            self._moving = (press, start, True)
            self.drag_nodes(start, (delta.x(), delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def drag_nodes(self, start: dict, delta) -> None:
        """Move nodes from their ``start`` positions by ``delta`` (one merged command per drag)."""
        if not start:
            return
        anchor = next(iter(start))
        ax, ay = start[anchor]
        nx, ny = self.snapped((ax + delta[0], ay + delta[1]))
        dx, dy = nx - ax, ny - ay
        positions = {n: (x + dx, y + dy) for n, (x, y) in start.items()}
        graph = self.graph
        if all(graph.nodes[n].pos == p for n, p in positions.items() if n in graph.nodes):
            return
        self.editor.move(self.graph_key, positions, merge=True)

    def mouseReleaseEvent(self, event):
        if self.wiring.active:
            self.wiring.end(event.scenePos(), replace=bool(
                event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
            event.accept()
            return
        if self._moving:
            self._moving = None
            self.session.end_merge()
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event):
        node = self.node_at(event.scenePos())
        if node is not None and node.block == INSTANCE:
            network = self.graph.nodes[node.node_id].params.get("network")
            if network:
                self.open_network.emit(str(network))
                event.accept()
                return
        if node is None and self.wire_at(event.scenePos()) is None:
            self.quick_add.emit(event.scenePos())
            event.accept()
            return
        super().mouseDoubleClickEvent(event)
