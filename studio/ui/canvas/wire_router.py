"""The wire items of one scene: which item shows which edge, their routes around the nodes and
where their labels go.

Kept apart from the scene so that a change of the graph asks for exactly the wires it can move:
the router keeps each node's wires, a grid of the node rectangles and one of the labels, so
that a moved node reroutes its own wires and those passing where it was or is, not every wire.
It adds and removes no item itself: ``sync`` says which items are new and which are gone, and
the scene puts them in or takes them out.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF

from studio.ui.canvas.node_item import NodeItem, shape_text
from studio.ui.canvas.rect_grid import RectGrid
from studio.ui.canvas.wire_item import WireItem, route
from studio.ui.canvas.wire_overview import WireOverview

CELL = 256.0  # the node grid's cell
LABEL_CELL = 200.0  # the label grid's cell


class WireRouter:
    def __init__(self, nodes: dict[str, NodeItem]):
        self.nodes = nodes  # the scene's node items by id (read, never changed here)
        self.wires: list[WireItem] = []
        self.drawn = True  # False zoomed out: the overview draws the wires
        self.overview: WireOverview | None = None
        self._wires_at: dict = {}  # node id -> its wires (in and out), in self.wires's order
        self._position: dict = {}  # id(wire) -> its place in self.wires
        self._grid: RectGrid | None = None  # node id -> its rectangle
        self._label_grid: RectGrid | None = None  # id(wire) -> its label's rectangle

    def reset(self) -> WireOverview:
        """Forget every wire (the scene dropped its items); returns the new overview that
        draws the wires zoomed out, for the scene to add."""
        self.wires = []
        self._label_grid = None
        self._index()
        self.overview = WireOverview(lambda: self.wires)
        self.overview.set_items_draw(self.drawn)
        return self.overview

    def set_drawn(self, drawn: bool) -> None:
        """Whether each wire draws itself (zoomed in) or the overview draws them all."""
        if drawn != self.drawn:
            self.drawn = drawn
            for w in self.wires:
                w.set_drawn(drawn)
            self.overview.set_items_draw(drawn)
            self.overview.invalidate()

    def sync(self, graph, rows: dict) -> tuple[list[WireItem], list[WireItem]]:
        """Make the wire items match the graph's edges (one item per edge, in order), labelled
        from the analysis ``rows`` (node id -> row), routed and their labels placed. Returns
        (new items, dropped items): new ones are added once laid out, cheaper than moving
        items already in the scene."""
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
                w.set_drawn(self.drawn)
                new.append(w)
            wires.append(w)
        self.wires = wires
        self._index()
        for item in self.nodes.values():
            for p in list(item.inputs.values()) + list(item.outputs.values()):
                p.connected = False
        for w in wires:
            w.src_port.connected = w.dst_port.connected = True
            w.lane = None
        self.label(rows, place=False)
        self._route_wires(wires)
        return new, [w for rest in pool.values() for w in rest]

    def _index(self) -> None:
        self._position = {id(w): i for i, w in enumerate(self.wires)}
        self._wires_at = {}
        for w in self.wires:
            self._wires_at.setdefault(w.edge.src, []).append(w)
            if w.edge.dst != w.edge.src:
                self._wires_at.setdefault(w.edge.dst, []).append(w)

    def wires_of(self, node_ids, outgoing_only: bool = False) -> list[WireItem]:
        """The wires of ``node_ids`` (``outgoing_only``: those leaving them), in the order of
        ``self.wires``: looked up, not searched for among thousands."""
        found = {id(w): w for n in node_ids for w in self._wires_at.get(n, ())
                 if not outgoing_only or w.edge.src == n}
        return sorted(found.values(), key=lambda w: self._position[id(w)])

    def node_grid(self) -> RectGrid:
        """The node rectangles by id; the scene puts a node again when it moves."""
        if self._grid is None:
            self._grid = RectGrid(CELL)
            for node_id, item in self.nodes.items():
                self._grid.put(node_id, item.scene_rect())
        return self._grid

    def _route(self, wire: WireItem, lanes) -> None:
        p0, p1 = wire.endpoints()
        src, dst = wire.src_port.node_item, wire.dst_port.node_item
        lo_y, hi_y = min(p0.y(), p1.y()), max(p0.y(), p1.y())
        area = QRectF(QPointF(min(p0.x(), p1.x()) - 50, lo_y - 200),
                      QPointF(max(p0.x(), p1.x()) + 50, hi_y + 200))
        obstacles = []
        if abs(p1.x() - p0.x()) > 60 or p1.x() < p0.x():
            obstacles = self.node_grid().meeting(area, (src.node_id, dst.node_id))
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
        self.overview.invalidate()

    def _place_labels(self, wires, keep: bool = False) -> None:
        """Put each label of ``wires`` where it covers no node and no other label (the other
        wires' labels stay where they are). ``keep`` (the labels' texts changed, their wires
        did not move): a label whose new text fits in the room it held stays there, and a
        label taken away (an error upstream) keeps its room, so it comes back where it was
        rather than jumping, and an edit that relabels a long branch checks only what grew."""
        labels = self._label_grid
        if labels is None or len(wires) == len(self.wires):
            keep = False
            labels = self._label_grid = RectGrid(LABEL_CELL)
            moving = set(map(id, wires))
            for w in self.wires:
                if id(w) not in moving and w.label:
                    labels.put(id(w), w.label_rect())
        nodes = self.node_grid()

        def clear_of_nodes(rect):
            return not nodes.meets(rect.adjusted(-2, -2, 2, 2))

        if keep:
            moved = []
            for w in wires:
                if w.label:
                    held = labels.rect_of(id(w))
                    if held is not None and w.keep_label(held, clear_of_nodes):
                        if w.label_rect() != held:
                            labels.put(id(w), w.label_rect())
                    else:
                        moved.append(w)
            wires = moved
        for w in wires:
            labels.drop(id(w))

        def taken(rect):
            return labels.meets(rect) or not clear_of_nodes(rect)

        for w in wires:
            if w.label:
                labels.put(id(w), w.place_label(taken))

    def reroute(self, node_ids, passing) -> list[WireItem]:
        """Route again the wires of ``node_ids`` and the ``passing`` ones (found where nodes
        were or are now); returns them."""
        todo = {id(w): w for w in self.wires_of(node_ids)}
        for w in passing:
            todo[id(w)] = w
        wires = list(todo.values())
        self._route_wires(wires)
        return wires

    def label(self, rows: dict, place: bool = True, sources=None) -> None:
        """Label the wires with the shapes they carry (``rows``: node id -> analysis row;
        ``sources``: only the wires from those nodes; their labels are then placed among the
        others, which stay where they are)."""
        changed = []
        for w in self.wires if sources is None else self.wires_of(sources, outgoing_only=True):
            row = rows.get(w.edge.src)
            t = row.outputs.get(w.edge.src_port) if row is not None else None
            if w.set_label(shape_text(t) if t is not None else "",
                           t is not None and t.kind == "loss", placed_next=place):
                changed.append(w)
        if changed:
            self.overview.invalidate()  # a wire may have become a loss's, or stopped being
        if place and changed:
            self._place_labels(self.wires if sources is None else changed, keep=True)
