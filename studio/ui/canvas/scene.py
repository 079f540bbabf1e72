"""The scene of one graph: node and wire items mirrored from the document.

The scene never changes the project. Mouse gestures become editor calls (which push commands),
and the items follow the document's change events: ``apply_change`` adds, removes and refreshes
items; ``show_analysis`` puts shapes, costs and problem badges on them; ``show_health`` puts
training health indicators on them; ``show_diff`` marks what differs from another project.
"""

from __future__ import annotations

import textwrap

import shiboken6
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPen, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsSimpleTextItem

from studio.core import wiring
from studio.core.project import INSTANCE
from studio.ui import theme
from studio.ui.canvas.ghost_item import GhostItem
from studio.ui.canvas.node_item import BOX_ZOOM, LOD_SLACK, Fonts, NodeItem, shape_text
from studio.ui.canvas.port_item import DRAWN_FROM, PortItem
from studio.ui.canvas.rect_grid import RectGrid
from studio.ui.canvas.wire_item import DragWire, WireItem, route
from studio.ui.canvas.wire_overview import WireOverview

GRID = 10.0
DRAG_START = 4.0  # pixels the mouse moves before a press becomes a drag


class RefusalBubble(QGraphicsSimpleTextItem):
    """A short-lived note on the canvas saying why a wire was refused: drawn at the screen's
    size whatever the zoom, wrapped into lines, and kept inside the view."""

    WRAP = 64  # characters a line

    def __init__(self):
        super().__init__()
        self._message = ""
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)

    def set_message(self, message: str) -> None:
        self._message = message
        self.setText(textwrap.fill(message, self.WRAP))

    def text(self) -> str:
        """The whole message (the lines it is drawn in joined again)."""
        return self._message

    def boundingRect(self) -> QRectF:
        return super().boundingRect().adjusted(-7, -5, 7, 5)  # the frame painted around the text

    def place(self, view, at: QPointF) -> None:
        """Beside the scene point ``at``, moved left or above it where it would leave the view."""
        from PySide6.QtCore import QRect

        r = self.boundingRect().adjusted(-6, -4, 6, 4)
        w, h = round(r.width()), round(r.height())
        vp = view.viewport().rect()
        p = view.mapFromScene(at)
        minimap = getattr(view, "minimap", None)
        covered = minimap.geometry() if minimap is not None and minimap.isVisible() else QRect()
        best = None
        for x, y in ((p.x() + 16, p.y() + 12), (p.x() + 16, p.y() - 12 - h),
                     (p.x() - 16 - w, p.y() + 12), (p.x() - 16 - w, p.y() - 12 - h)):
            x = max(8, min(x, vp.right() - w - 8))
            y = max(8, min(y, vp.bottom() - h - 8))
            if not QRect(x - 6, y - 4, w, h).intersects(covered):
                best = (x, y)
                break
            best = best or (x, y)
        self.setPos(view.mapToScene(QPoint(*best)))

    def paint(self, painter, option, widget=None):
        t = theme.current()
        bg = QColor(t.node)
        painter.setPen(QPen(t.error, 1.2))
        painter.setBrush(bg)
        painter.drawRoundedRect(super().boundingRect().adjusted(-6, -4, 6, 4), 5, 5)
        super().paint(painter, option, widget)


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
        self.wires: list[WireItem] = []
        self._wires_at: dict = {}  # node id -> its wires (in and out), in self.wires's order
        self._position: dict = {}  # id(wire) -> its place in self.wires
        self.healths: dict = {}  # node id -> Health shown, kept for items made later
        self.diff_marks: dict = {}  # node id -> diff_marks.Mark shown, kept for items made later
        self.ghosts: dict[str, GhostItem] = {}  # node id -> a removed node's ghost
        self._ghost_list: tuple = ()  # the diff_marks.Ghost records the ghosts show
        self.snap = True
        self.last_refusal = ""
        self.hover_reason = ""  # why the port under a dragged wire would not take it
        self._drag = None  # ("wire", port, DragWire) or ("nodes", press pos, {id: pos}, started)
        self._bubble = None
        self._bubble_timer = QTimer(self)
        self._bubble_timer.setSingleShot(True)
        self._bubble_timer.timeout.connect(self._hide_bubble)
        # Qt's index of items (a BSP tree) finds what a paint or a query needs among thousands
        # of items; an item that moves is indexed again by itself. Routing and label placement
        # ask grids of their own: the node rectangles and the wire labels, each kept up to date
        # rectangle by rectangle.
        self._grid: RectGrid | None = None  # node id -> its rectangle
        self._label_grid: RectGrid | None = None  # id(wire) -> its label's rectangle
        self._shown = None  # the serial of the analysis the items show
        self._ports_drawn = True
        self._wires_drawn = True  # False zoomed out: the WireOverview draws them
        self._overview: WireOverview | None = None
        self.selectionChanged.connect(self._selection_drawn)
        self.rebuild()

    @property
    def session(self):
        return self.editor.session

    @property
    def graph(self):
        return self.session.doc.graph(self.graph_key)

    # building from the document ---------------------------------------------------------------
    def rebuild(self) -> None:
        """Drop every item and build the graph again (a new document, a replaced graph)."""
        self._drag = None
        self._bubble = None
        self._label_grid = None
        self.clear()
        self.nodes.clear()
        self.wires.clear()
        self.ghosts = {}
        self._index_wires()
        self._overview = WireOverview(lambda: self.wires)
        self._overview.set_items_draw(self._wires_drawn)
        self.addItem(self._overview)
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
        grid = self._node_grid()
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
                             for w in self._wires_of(touched))
        if change.wires or ports_replaced or any(n not in self.nodes for n in touched) or \
                self.nodes.keys() != graph.nodes.keys():
            self._sync_wires()
            self.grow_scene_rect()
            return
        if not moved_rects:
            return  # nothing moved nor changed size (a parameter): every wire's route holds
        rerouted = self._reroute(moved, moved_rects)
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
        drawn = zoom >= BOX_ZOOM
        if drawn != self._wires_drawn:
            self._wires_drawn = drawn
            for w in self.wires:
                w.set_drawn(drawn)
            self._overview.set_items_draw(drawn)
            self._overview.invalidate()

    def _sync_wires(self) -> None:
        """Make the wire items match the graph's edges (one item per edge, in order)."""
        graph = self.graph
        for node_id in [n for n in self.nodes if n not in graph.nodes]:
            self.removeItem(self.nodes.pop(node_id))
        for node_id, node in graph.nodes.items():
            if node_id not in self.nodes:
                self._add_node(node, graph)
        self._grid = None
        pool: dict = {}
        for w in self.wires:
            pool.setdefault(w.edge, []).append(w)
        wires, new = [], []
        for edge in graph.edges:
            src, dst = self.nodes.get(edge.src), self.nodes.get(edge.dst)
            sp = src.port("output", edge.src_port) if src else None
            dp = dst.port("input", edge.dst_port) if dst else None
            if sp is None or dp is None:
                continue  # a wire to a port that does not exist: the problems list says so
            reuse = pool.get(edge)
            if reuse and reuse[0].src_port is sp and reuse[0].dst_port is dp:
                w = reuse.pop(0)
            else:
                w = WireItem(edge, sp, dp)
                w.set_drawn(self._wires_drawn)
                new.append(w)
            wires.append(w)
        for rest in pool.values():
            for w in rest:
                self.removeItem(w)
        self.wires = wires
        self._index_wires()
        for item in self.nodes.values():
            for p in list(item.inputs.values()) + list(item.outputs.values()):
                p.connected = False
        for w in wires:
            w.src_port.connected = w.dst_port.connected = True
            w.lane = None
        self._label_wires(self.session.analysis, place=False)
        self._route_wires(wires)
        for w in new:  # added once laid out: cheaper than moving items already in the scene
            self.addItem(w)

    def _index_wires(self) -> None:
        self._position = {id(w): i for i, w in enumerate(self.wires)}
        self._wires_at = {}
        for w in self.wires:
            self._wires_at.setdefault(w.edge.src, []).append(w)
            if w.edge.dst != w.edge.src:
                self._wires_at.setdefault(w.edge.dst, []).append(w)

    def _wires_of(self, node_ids, outgoing_only: bool = False) -> list[WireItem]:
        """The wires of ``node_ids`` (``outgoing_only``: those leaving them), in the order of
        ``self.wires``: looked up, not searched for among thousands."""
        found = {id(w): w for n in node_ids for w in self._wires_at.get(n, ())
                 if not outgoing_only or w.edge.src == n}
        return sorted(found.values(), key=lambda w: self._position[id(w)])

    CELL = 256.0

    def _node_grid(self) -> RectGrid:
        if self._grid is None:
            self._grid = RectGrid(self.CELL)
            for node_id, item in self.nodes.items():
                self._grid.put(node_id, item.scene_rect())
        return self._grid

    def _obstacles(self, area: QRectF, exclude=()) -> list[QRectF]:
        """Rectangles of the nodes meeting ``area`` (but those in ``exclude``)."""
        return self._node_grid().meeting(area, exclude)

    def _route(self, wire: WireItem, lanes) -> None:
        p0, p1 = wire.endpoints()
        src, dst = wire.src_port.node_item, wire.dst_port.node_item
        lo_y, hi_y = min(p0.y(), p1.y()), max(p0.y(), p1.y())
        area = QRectF(QPointF(min(p0.x(), p1.x()) - 50, lo_y - 200),
                      QPointF(max(p0.x(), p1.x()) + 50, hi_y + 200))
        obstacles = []
        if abs(p1.x() - p0.x()) > 60 or p1.x() < p0.x():
            obstacles = self._obstacles(area, (src.node_id, dst.node_id))
        wire.set_route(route(p0, p1, obstacles, (src.scene_rect(), dst.scene_rect()), lanes))

    def _route_wires(self, wires) -> None:
        """Route ``wires`` (keeping clear of the other wires' lanes), then place their labels."""
        todo = set(map(id, wires))
        lanes = [w.lane for w in self.wires if w.lane is not None and id(w) not in todo]
        for w in wires:
            self._route(w, lanes)
            if w.lane is not None:
                lanes.append(w.lane)
        self._place_labels(wires)
        self._overview.invalidate()

    def _place_labels(self, wires) -> None:
        """Put each label of ``wires`` where it covers no node and no other label (the other
        wires' labels stay where they are)."""
        labels = self._label_grid
        if labels is None or len(wires) == len(self.wires):
            labels = self._label_grid = RectGrid(200.0)
            moving = set(map(id, wires))
            for w in self.wires:
                if id(w) not in moving and w.label:
                    labels.put(id(w), w.label_rect())
        for w in wires:
            labels.drop(id(w))
        nodes = self._node_grid()

        def taken(rect):
            return labels.meets(rect) or nodes.meets(rect.adjusted(-2, -2, 2, 2))

        for w in wires:
            if w.label:
                labels.put(id(w), w.place_label(taken))

    def _reroute(self, node_ids: set, rects) -> list:
        """Route again the wires of ``node_ids`` and those passing where nodes were or are now
        (``rects``); returns them."""
        todo = {id(w): w for w in self._wires_of(node_ids)}
        for r in rects:
            for it in self.items(r.adjusted(-20, -20, 20, 20)):
                if isinstance(it, WireItem):
                    todo[id(it)] = it
        wires = list(todo.values())
        self._route_wires(wires)
        return wires

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
        rows = {}
        for row in analysis.rows:
            if row.graph == self.graph_key and row.node.id not in rows and (
                    ids is None or row.node.id in ids):
                rows[row.node.id] = row
        for node_id in self.nodes if ids is None else ids:
            item = self.nodes.get(node_id)
            if item is not None:
                item.set_result(rows.get(node_id), problems.get(node_id, []))
        self._label_wires(analysis, rows, sources=ids)

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

    def _label_wires(self, analysis, rows=None, place: bool = True, sources=None) -> None:
        """Label the wires with the shapes they carry (``sources``: only the wires from those
        nodes; their labels are then placed among the others, which stay where they are)."""
        if rows is None:
            rows = {}
            for row in analysis.rows:
                if row.graph == self.graph_key and row.node.id not in rows:
                    rows[row.node.id] = row
        changed = []
        for w in self.wires if sources is None else self._wires_of(sources, outgoing_only=True):
            row = rows.get(w.edge.src)
            t = row.outputs.get(w.edge.src_port) if row is not None else None
            if w.set_label(shape_text(t) if t is not None else "",
                           t is not None and t.kind == "loss", placed_next=place):
                changed.append(w)
        if changed:
            self._overview.invalidate()  # a wire may have become a loss's, or stopped being
        if place and changed:
            self._place_labels(self.wires if sources is None else changed)

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
        bubble = self._bubble if self._bubble is not None and self._bubble.scene() is self else None
        shown = bubble is not None and bubble.isVisible()
        if shown:
            bubble.hide()
        self.render(painter, target, source)
        if shown:
            bubble.show()

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
    def target_port(self, start: PortItem, pos: QPointF) -> PortItem | None:
        """The port a wire dragged from ``start`` would end on at ``pos``: a port of the other
        side under the mouse, else of the node under the mouse the first one that would take
        the wire (a free one first)."""
        want = "input" if start.side == "output" else "output"
        port = self.port_at(pos, want)
        if port is not None:
            return port
        node = self.node_at(pos)
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

    def _ends(self, a: PortItem, b: PortItem):
        src, dst = (a, b) if a.side == "output" else (b, a)
        return src, dst

    def verdict(self, a: PortItem, b: PortItem) -> wiring.Verdict:
        """Whether a wire between two ports can work (asked once per port and drag)."""
        cache = self._drag[3] if self._drag and self._drag[0] == "wire" and \
            self._drag[1] is a else {}
        if b in cache:
            return cache[b]
        if a.side == b.side:
            v = wiring.Verdict(False, f"both ports are {a.side}s; wire an output to an input")
        else:
            src, dst = self._ends(a, b)
            v = self.editor.check_wire(self.graph_key, src.node_id, src.name, dst.node_id,
                                       dst.name)
        cache[b] = v
        return v

    def _check(self, a: PortItem, b: PortItem) -> tuple[bool, str]:
        v = self.verdict(a, b)
        return v.ok, v.reason

    def wire_ports(self, a: PortItem, b: PortItem, replace: bool = False) -> bool:
        """Connect two ports (either order), or show why not. A taken single input is rewired
        only with ``replace`` (Shift held on the drop)."""
        if a.side == b.side:
            ok, reason = False, f"both ports are {a.side}s; wire an output to an input"
        else:
            src, dst = self._ends(a, b)
            ok, reason = self.editor.connect(self.graph_key, src.node_id, src.name, dst.node_id,
                                             dst.name, replace=replace)
        if not ok:
            self.show_refusal(reason, b.scenePos())
        return ok

    def show_refusal(self, reason: str, at: QPointF, announce: bool = True) -> None:
        """The reason beside the port; ``announce``: a refused drop (not a hover)."""
        if announce:
            self.last_refusal = reason
        text = f"Can't wire: {reason}"
        if self._bubble is None or self._bubble.scene() is not self:
            self._bubble = RefusalBubble()
            self._bubble.setZValue(10)
            self._bubble.setFont(Fonts.get()["body"])
            self.addItem(self._bubble)
        self._bubble.setBrush(theme.current().error)
        self._bubble.set_message(text)
        views = self.views()
        if views:
            self._bubble.place(views[0], at)
        else:
            self._bubble.setPos(at + QPointF(14, 10))
        self._bubble.show()
        self._bubble_timer.start(5000)
        if announce:
            self.refused.emit(reason)

    def _hide_bubble(self) -> None:
        if self._bubble is not None and self._bubble.scene() is self:
            self._bubble.hide()

    # mouse ------------------------------------------------------------------------------------------
    def _view_transform(self) -> QTransform:
        views = self.views()
        return views[0].transform() if views else QTransform()

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
                self._drag = ("nodes", event.scenePos(), {n: graph.nodes[n].pos for n in ids
                                                          if n in graph.nodes}, False)

    def begin_wire(self, port: PortItem) -> None:
        """Start dragging a wire from ``port``: every port that would not take it is dimmed."""
        wire = DragWire(port.scenePos(), port.side == "output")
        self.addItem(wire)
        self._drag = ("wire", port, wire, {})
        want = "input" if port.side == "output" else "output"
        for item in self.nodes.values():
            for p in (item.inputs if want == "input" else item.outputs).values():
                v = self.verdict(port, p) if item is not port.node_item else None
                p.set_drag_state("open" if v is not None and v.ok else "refused")

    def _clear_marks(self) -> None:
        for item in self.nodes.values():
            for p in list(item.inputs.values()) + list(item.outputs.values()):
                p.set_drag_state(None)
                if p.highlight:
                    p.highlight = None
                    p.update()

    def drag_wire_to(self, pos: QPointF) -> PortItem | None:
        """Move the dragged wire's loose end; marks the port it would connect to, and says why
        a refused one would not take it (in the status bar and beside the pointer)."""
        start, wire = self._drag[1], self._drag[2]
        for item in self.nodes.values():
            for p in list(item.inputs.values()) + list(item.outputs.values()):
                if p.highlight:
                    p.highlight = None
                    p.update()
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
                self.session.message.emit(f"Can't wire: {v.reason}")
                self.show_refusal(v.reason, target.scenePos(), announce=False)
            elif v.replaces is not None:
                old = v.replaces
                self.hover_reason = (f"{target.node_id}.{target.name} already has a wire from "
                                     f"{old.src}.{old.src_port}; hold Shift while dropping to "
                                     "replace it")
                self.session.message.emit(self.hover_reason)
                self._hide_bubble()
            else:
                self._hide_bubble()
            pos = target.scenePos()
        else:
            self._hide_bubble()
        wire.move_to(pos, ok)
        return target

    def end_wire(self, pos: QPointF, replace: bool = False) -> bool:
        """Drop the dragged wire at ``pos``: wire it to the port there (``replace``: rewire a
        taken single input); on empty canvas, offer the blocks that would take it."""
        start, wire = self._drag[1], self._drag[2]
        target = self.drag_wire_to(pos)
        self._drag = None
        self.removeItem(wire)
        self._clear_marks()
        if target is None:
            self._hide_bubble()
            if start.side == "output" and self.node_at(pos) is None:
                self.wire_dropped.emit(start.node_id, start.name, pos)
            return False
        return self.wire_ports(start, target, replace=replace)

    def mouseMoveEvent(self, event):
        if self._drag and self._drag[0] == "wire":
            self.drag_wire_to(event.scenePos())
            event.accept()
            return
        if self._drag and self._drag[0] == "nodes" and event.buttons() & Qt.MouseButton.LeftButton:
            _, press, start, started = self._drag
            delta = event.scenePos() - press
            if not started and abs(delta.x()) + abs(delta.y()) < DRAG_START:
                return
            self._drag = ("nodes", press, start, True)
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
        if self._drag and self._drag[0] == "wire":
            self.end_wire(event.scenePos(), replace=bool(
                event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
            event.accept()
            return
        if self._drag and self._drag[0] == "nodes":
            self._drag = None
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

    def cancel_drag(self) -> None:
        if self._drag and self._drag[0] == "wire":
            self.removeItem(self._drag[2])
            self._clear_marks()
            self._hide_bubble()
        self._drag = None
