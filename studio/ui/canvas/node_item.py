"""A node on the canvas: title, block, ports, output shape, parameter count and a problem badge.

Everything drawn is computed when the node or the analysis changes (``sync``, ``set_result``), so
painting only draws prepared text. Zoomed out, the node draws less: below half size no port names
or footer, below a quarter a coloured box.

While training, ``set_health`` adds a small dot at the header's right end coloured by the node's
gradient and dead-unit health (a ring around the node where the run failed), and a short note in
the footer when the node is sick: the user sees where a network is unwell without a plot.

While the graph is compared with another project, ``set_diff_mark`` rings the node added or
changed since (``diff_marks.py`` draws it). After a run that loaded weights (Continue after an
edit, Load Weights), ``set_fresh_mark`` puts a small "\u21ba" badge on the bottom left corner of
each node that started afresh, with the reason in its tooltip, until the next edit or run.
The marks over the content (health, badges) are drawn by ``node_marks.py``.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from studio.core.inference import node_ports
from studio.core.layout import NODE_WIDTH
from studio.core.project import INSTANCE
from studio.core.registry import Port, get_block
from studio.ui import theme
from studio.ui.canvas import diff_marks, node_marks
from studio.ui.canvas.node_marks import DOT, DOT_RIGHT, FRESH_SYMBOL  # noqa: F401 (DOT: with the geometry)
from studio.ui.canvas.port_item import PortItem

WIDTH = 150.0  # a node's width, at least
HEADER = 24.0
ROW = 16.0
PAD = 4.0
FOOTER = 20.0
RADIUS = 6.0
QUIET_PORT_NAMES = {"x", "out"}
DOT_X = WIDTH - DOT_RIGHT  # the health dot's centre, clear of the problem badge
DOT_ROOM = 16.0  # header width the dot takes from the title and block name
HEAD_PAD = 18.0  # header width left of the title and right of the block's name
HEAD_GAP = 4.0  # between the title and the block's name (in another font and colour)


def node_height(n_in: int, n_out: int) -> float:
    return HEADER + PAD + max(1, n_in, n_out) * ROW + FOOTER


def port_y(index: int) -> float:
    return HEADER + PAD / 2 + ROW * index + ROW / 2


MIN_TEXT_PX = 8.0  # the smallest text drawn on screen, in pixels; smaller text is not drawn
MAX_WIDTH = NODE_WIDTH  # a node widens up to the size the layout leaves room for


class Fonts:
    """The canvas's fonts, sized in scene pixels (so what a zoom shows does not depend on the
    screen's dots per inch): text is ``px * zoom`` pixels tall on screen."""

    _made = None
    TITLE_PX, SMALL_PX, BODY_PX, LABEL_PX = 13.5, 12.0, 12.0, 12.0

    @classmethod
    def get(cls):
        if cls._made is None:
            def font(px, bold=False, condensed=False):
                f = QFont()
                f.setPixelSize(round(px))
                f.setBold(bold)
                if condensed:
                    f.setStretch(QFont.Stretch.SemiCondensed)
                return f

            title, small, body = font(cls.TITLE_PX, True), font(cls.SMALL_PX), font(cls.BODY_PX)
            label = font(cls.LABEL_PX, condensed=True)
            far = font(28, True)
            cls._made = {"title": title, "small": small, "body": body, "far": far,
                         "m_title": QFontMetricsF(title), "m_small": QFontMetricsF(small),
                         "m_body": QFontMetricsF(body), "m_far": QFontMetricsF(far),
                         "label": label, "m_label": QFontMetricsF(label)}
        return cls._made

    _far: dict = {}

    @classmethod
    def far(cls, lod: float) -> tuple[QFont, QFontMetricsF]:
        """The title's font (and its metrics) when zoomed out: at least ``MIN_TEXT_PX`` on
        screen."""
        px = max(28, round(MIN_TEXT_PX / max(lod, 0.01)) + 1)
        if px not in cls._far:
            f = QFont(cls.get()["far"])
            f.setPixelSize(px)
            cls._far[px] = (f, QFontMetricsF(f))
        return cls._far[px]


def detail_zoom() -> float:
    """The zoom from which a node's small text (block name, ports, shape, cost) and the wires'
    shape labels are at least ``MIN_TEXT_PX`` on screen: below it they are not drawn."""
    return MIN_TEXT_PX / min(Fonts.SMALL_PX, Fonts.BODY_PX, Fonts.LABEL_PX)


LOD_SLACK = 1e-3  # the level of detail varies in its last digits from item to item
BOX_ZOOM = 0.22  # below it a node is a coloured box: its title would not fit at a readable size


def detail_mode(lod: float) -> str:
    """How much a node shows at a level of detail (the zoom): "detail" (everything), "far" (the
    title in a font big enough to read) or "box" (a coloured box)."""
    if lod < BOX_ZOOM:
        return "box"
    return "far" if lod < detail_zoom() - LOD_SLACK else "detail"


def compact(n: int) -> str:
    """1234 -> '1.2k', 11689512 -> '11.7M'."""
    if n < 1000:
        return str(n)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            v = n / div
            return f"{v:.1f}{suffix}" if v < 100 else f"{v:.0f}{suffix}"
    return str(n)


@lru_cache(maxsize=4096)
def shape_text(t) -> str:
    """Hundreds of wires and nodes show the same few shapes: each is written once."""
    return t.describe().replace(" x ", "\u00d7")


def _value_text(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, tuple):
        return "\u00d7".join(_value_text(x) for x in v) if v else "()"
    if isinstance(v, dict):
        return ", ".join(f"{k}={_value_text(x)}" for k, x in v.items())
    if v is None:
        return "none"
    return str(v)


@lru_cache(maxsize=4096)
def _footer_layout(width: float, summary: str, note: str, shape: str, params_label: str) -> tuple:
    """(summary text, note width, right text, left text) of a node's footer: worked out once
    for each of the few distinct combinations that hundreds of nodes show."""
    f = Fonts.get()
    m = f["m_small"]
    summary_text = f["m_body"].elidedText(summary, Qt.TextElideMode.ElideRight, width - 20) \
        if summary else ""
    room = width - 16
    note_w = m.horizontalAdvance(note) + 8 if note else 0
    shape_w = m.horizontalAdvance(shape)
    right = f"{params_label} params" if params_label else ""
    if right and shape_w + m.horizontalAdvance(right) + note_w + 8 > room:
        right = params_label
    if right and note and shape_w + m.horizontalAdvance(right) + note_w + 8 > room:
        right = ""  # a sick node's note wins the room; the tooltip keeps the count
    right_w = m.horizontalAdvance(right) + 8 if right else 0
    left = m.elidedText(shape, Qt.TextElideMode.ElideRight, room - right_w - note_w)
    return summary_text, note_w, right, left


class NodeItem(QGraphicsItem):
    def __init__(self, graph_key: str, node, graph):
        super().__init__()
        self.graph_key = graph_key
        self.node_id = node.id
        self.inputs: dict[str, PortItem] = {}
        self.outputs: dict[str, PortItem] = {}
        self.problems: list = []
        self.shape_label = ""
        self.params_label = ""
        self.row = None
        self.health = None
        self._health_look = None  # (level, note): what the drawing depends on
        self.diff_mark = None  # diff_marks.Mark while the graph is compared with another
        self.fresh_mark: str | None = None  # why the last run re-initialized this node
        self.height = node_height(0, 0)
        self.width = WIDTH
        self.ports_drawn = True
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        # drawn once per zoom into a pixmap, which panning and dragging only move: a frame
        # repaints a node only after it changed or the zoom did
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)
        self.sync(node, graph)

    # content ------------------------------------------------------------------------------------
    def sync(self, node, graph) -> None:
        """Take title, block, parameters, ports and position from the document's node."""
        self.prepareGeometryChange()
        self.block = node.block
        self.shares = node.shares
        self.frozen = node.frozen
        if node.block == INSTANCE:
            self.category = "network"
            self.block_label = str(node.params.get("network", "?"))
            self.help = f"An instance of the network {self.block_label}; double-click to open it."
        else:
            try:
                spec = get_block(node.block)
                self.category, self.help = spec.category, spec.help
            except KeyError:
                self.category, self.help = "structure", "unknown block"
            self.block_label = node.block
        self.title = node.title or node.id
        if node.shares:
            self.block_label = f"\u2194 {node.shares}"
        self.params_summary = self._summary(node)
        self.width = self._needed_width()
        self._sync_ports(graph, node.id)
        self._bounds = self._outer_bounds()
        self.setPos(QPointF(*node.pos))
        self._layout_text()
        self._tooltip_stale = True
        self.update()

    def _summary(self, node) -> str:
        if node.block == INSTANCE:
            args = node.params.get("args") or {}
            return _value_text(args) if args else ""
        for name, value in node.params.items():
            if name in ("updates",):
                continue
            return f"{name} {_value_text(value)}"
        return ""

    def _sync_ports(self, graph, node_id) -> None:
        try:
            ins = node_ports(graph, node_id, "input")
            outs = node_ports(graph, node_id, "output")
        except KeyError:
            ins, outs = (), ()
        # an output a wire still starts from though the node has it no more (a Dataset switched
        # to csv): drawn in the error colour, so the kept wire shows where it hangs
        have = {p.name for p in outs}
        gone = dict.fromkeys(e.src_port for e in graph.edges
                             if e.src == node_id and e.src_port not in have)
        outs = tuple(outs) + tuple(Port(n, kind="gone", help="this output is gone; its wire is kept "
                                        "until you rewire or delete it") for n in gone)
        for side, ports, store in (("input", ins, self.inputs), ("output", outs, self.outputs)):
            names = [p.name for p in ports]
            if list(store) != names or any(store[p.name].kind != p.kind for p in ports):
                for item in store.values():
                    item.setParentItem(None)
                    if item.scene() is not None:
                        item.scene().removeItem(item)
                store.clear()
                for p in ports:
                    store[p.name] = PortItem(self, p.name, side, p.kind, p.multi, p.optional,
                                             p.help)
                    store[p.name].set_drawn(self.ports_drawn)
        for i, item in enumerate(self.inputs.values()):
            item.setPos(0.0, port_y(i))
        for i, item in enumerate(self.outputs.values()):
            item.setPos(self.width, port_y(i))
        self.height = node_height(len(self.inputs), len(self.outputs))
        self.named_inputs = len(self.inputs) > 1 or any(n not in QUIET_PORT_NAMES for n in self.inputs)
        self.named_outputs = len(self.outputs) > 1 or any(n not in QUIET_PORT_NAMES
                                                          for n in self.outputs)

    def _needed_width(self) -> float:
        """Wide enough for the title and the block's name side by side (up to ``MAX_WIDTH``;
        beyond it the block's name is elided and the tooltip has it in full)."""
        f = Fonts.get()
        need = HEAD_PAD + f["m_title"].horizontalAdvance(self.title) + HEAD_GAP + \
            (f["m_small"].horizontalAdvance(self.block_label) + 1
             if self.block_label != self.title else 0)
        return float(min(MAX_WIDTH, max(WIDTH, round(need / 2 + 0.5) * 2)))

    def _layout_text(self) -> None:
        f = Fonts.get()
        room = self.width - HEAD_PAD - (DOT_ROOM if self.health is not None else 0)
        self.head_room = room
        title_w = f["m_title"].horizontalAdvance(self.title)
        sub_w = f["m_small"].horizontalAdvance(self.block_label) + 1 \
            if self.block_label != self.title else 0.0
        # both side by side; when they do not fit (the node is as wide as the layout allows),
        # the block's name keeps up to 40% of the room and the title is elided (the tooltip
        # has both in full)
        sub_room = min(sub_w, max(36.0, room * 0.4)) if title_w + HEAD_GAP + sub_w > room \
            else sub_w
        title_room = room - (sub_room + HEAD_GAP if sub_room else 0)
        self.title_text = f["m_title"].elidedText(self.title, Qt.TextElideMode.ElideRight,
                                                  max(title_room, room * 0.6))
        left = room - f["m_title"].horizontalAdvance(self.title_text) - HEAD_GAP
        self.sub_text = f["m_small"].elidedText(self.block_label, Qt.TextElideMode.ElideRight,
                                                left) if sub_w and left > 24 else ""
        if self.sub_text in ("\u2026", ""):
            self.sub_text = ""
        self.show_sub = bool(self.sub_text) and self.block_label != self.title
        self._footer()

    def _footer(self) -> None:
        """The output shape at the bottom left, the parameter count at the bottom right (just the
        number when the shape needs the room); the parameter summary on the free body row."""
        summary = self.params_summary if not self.named_inputs and not self.named_outputs else ""
        note = self.health.note if self.health is not None else ""
        self.row_right = ""
        self.footer_note = note
        self.summary_text, self.footer_note_w, self.footer_right, self.footer_left = \
            _footer_layout(self.width, summary, note, self.shape_label, self.params_label)

    def set_result(self, row, problems) -> bool:
        """Show an analysis row (shapes, cost) and this node's problems; True if anything changed."""
        shape = ", ".join(shape_text(t) for t in row.outputs.values()) if row and row.outputs else ""
        if row is not None and not row.outputs and not self.outputs and row.ok:
            shape = ""
        params = compact(row.params) if row is not None and row.params else ""
        texts = [str(p) for p in problems]
        drawn_same = (shape, params, texts) == (self.shape_label, self.params_label,
                                                [str(p) for p in self.problems])
        if drawn_same and row is self.row:
            return False
        self.row = row
        self.shape_label, self.params_label, self.problems = shape, params, list(problems)
        self._tooltip_stale = True  # the tooltip has the row's costs in full
        if not drawn_same:  # a new row that reads the same (an edit upstream) is not repainted
            self._footer()
            self.update()
        return True

    def set_health(self, health) -> bool:
        """Show training health (a ``studio.ui.dashboard.health.Health``; None: no indicator).
        Repaints only when the colour or footer note changes; True if anything changed."""
        if health == self.health:
            return False
        had = self.health is not None
        self.health = health
        look = (health.level, health.note) if health is not None else None
        if look != self._health_look:
            self._health_look = look
            if had != (health is not None):
                self._layout_text()  # the dot takes room from the header text
            else:
                self._footer()
            self.update()
        self._tooltip_stale = True
        return True

    def set_diff_mark(self, mark) -> bool:
        """Mark the node as added or changed (a ``diff_marks.Mark``; None: unmarked). Repaints
        only when the mark changes; True if it did."""
        if mark == self.diff_mark:
            return False
        self.prepareGeometryChange()  # a mark takes room around the node
        self.diff_mark = mark
        self._bounds = self._outer_bounds()
        self._tooltip_stale = True
        self.update()
        return True

    def set_fresh_mark(self, note: str | None) -> bool:
        """Mark the node as re-initialized by the last run (``note`` says why; None: unmarked).
        Repaints only when the mark changes; True if it did."""
        if note == self.fresh_mark:
            return False
        self.fresh_mark = note
        self._tooltip_stale = True
        self.update()
        return True

    def toolTip(self) -> str:  # noqa: N802 (Qt's name)
        self._refresh_tooltip()
        return super().toolTip()

    def hoverEnterEvent(self, event):
        self._refresh_tooltip()  # before the view asks for the tooltip
        super().hoverEnterEvent(event)

    def _refresh_tooltip(self) -> None:
        """The tooltip is written when it may be read (hovering, or asked), not on each edit
        of hundreds of nodes."""
        if self._tooltip_stale:
            self._tooltip_stale = False
            self._update_tooltip()

    def _update_tooltip(self) -> None:
        kind = self.block if self.block != INSTANCE else f"network {self.block_label}"
        lines = [f"<b>{_html(self.title)}</b> &nbsp;<i>{_html(kind)}</i>", _html(self.help)]
        if self.shares:
            lines.append(f"Linked duplicate of <b>{_html(self.shares)}</b>: shares its weights.")
        if self.frozen:
            lines.append(f"{node_marks.FROZEN_SYMBOL} Frozen: its weights do not train.")
        row = self.row
        if row is not None and row.outputs:
            outs = ", ".join(f"{k}: {_html(t.describe())}" for k, t in row.outputs.items())
            lines.append(f"output {outs}")
            lines.append(f"{row.params:,} parameters, {row.macs:,} multiply-adds per sample"
                         + (f", receptive field {row.rf_text}" if row.rf_text else ""))
        for p in self.problems:
            fix = f"<b>{_html(p.field)}</b>: " if p.field else ""
            lines.append(f"<span style='color:#d93025'>\u26a0 {fix}{_html(p.message)}</span>")
        if self.health is not None:
            colour = theme.current().health_colour(self.health.level).name()
            lines.append(f"<span style='color:{colour}'>\u25cf</span> training: "
                         f"{_html(self.health.text)}")
        if self.diff_mark is not None:
            colour = theme.current().diff_colour(self.diff_mark.status).name()
            lines.append(f"<span style='color:{colour}'>"
                         f"{diff_marks.SYMBOLS[self.diff_mark.status]}</span> "
                         f"{_html(self.diff_mark.note)}")
        if self.fresh_mark is not None:
            lines.append(f"{FRESH_SYMBOL} started afresh in the last run: "
                         f"{_html(self.fresh_mark)}")
        self.setToolTip("<br>".join(lines))

    def show_ports(self, drawn: bool) -> None:
        """Whether the ports draw themselves (``port_item.DRAWN_FROM``)."""
        if drawn != self.ports_drawn:
            self.ports_drawn = drawn
            for p in list(self.inputs.values()) + list(self.outputs.values()):
                p.set_drawn(drawn)

    # geometry ---------------------------------------------------------------------------------
    def rect(self) -> QRectF:
        return QRectF(0, 0, self.width, self.height)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def _outer_bounds(self) -> QRectF:
        """Room for the badge and error ring, and a diff mark's (asked for thousands of times
        a frame: kept)."""
        if self.diff_mark is not None:
            m = diff_marks.MARGIN
            return QRectF(-m, -m, self.width + 2 * m, self.height + 2 * m)
        return QRectF(-5, -8, self.width + 13, self.height + 13)

    def shape(self):
        path = QPainterPath()
        path.addRoundedRect(self.rect(), RADIUS, RADIUS)
        return path

    def scene_rect(self) -> QRectF:
        return self.rect().translated(self.pos())

    def port(self, side: str, name: str) -> PortItem | None:
        return (self.inputs if side == "input" else self.outputs).get(name)

    # painting ----------------------------------------------------------------------------------
    def paint(self, painter, option: QStyleOptionGraphicsItem, widget=None):
        t = theme.current()
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        rect = self.rect()
        cat = t.category(self.category)
        selected = self.isSelected()
        mode = detail_mode(lod)
        if mode == "box":
            painter.setPen(QPen(t.selected, 4) if selected else Qt.PenStyle.NoPen)
            painter.setBrush(cat if not self.problems else t.error)
            painter.drawRect(rect)
            self._paint_marks(painter, t, lod, box=True)
            return
        border = QPen(t.selected, 2.2) if selected else QPen(t.node_border, 1.0)
        if self.shares:
            border.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(border)
        painter.setBrush(t.node)
        painter.drawRoundedRect(rect, RADIUS, RADIUS)
        # header: a band tinted with the category colour
        head = QColor(cat)
        head.setAlpha(70 if t.dark else 46)
        hp = QPainterPath()
        hp.addRoundedRect(QRectF(0.5, 0.5, self.width - 1, HEADER + RADIUS), RADIUS, RADIUS)
        cut = QPainterPath()
        cut.addRect(QRectF(0, HEADER, self.width, RADIUS + 1))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(head)
        painter.drawPath(hp.subtracted(cut))
        painter.setBrush(cat)
        painter.drawRect(QRectF(0.5, 3, 3.5, HEADER - 6))
        f = Fonts.get()
        if mode == "far":
            # zoomed out: the title alone, at least MIN_TEXT_PX tall on screen
            font, metrics = Fonts.far(lod)
            painter.setPen(t.text)
            painter.setFont(font)
            dot = 2 * node_marks.dot_radius(lod, self.height, HEADER) + 4 \
                if self.health is not None else 0
            painter.drawText(rect.adjusted(6, 0, -6 - dot, 0), Qt.AlignmentFlag.AlignCenter,
                             metrics.elidedText(self.title, Qt.TextElideMode.ElideRight,
                                                self.width - 12 - dot))
            self._paint_marks(painter, t, lod)
            return
        painter.setFont(f["title"])
        painter.setPen(t.text)
        painter.drawText(QRectF(9, 0, self.head_room, HEADER), Qt.AlignmentFlag.AlignVCenter |
                         Qt.AlignmentFlag.AlignLeft, self.title_text)
        if self.show_sub:
            painter.setFont(f["small"])
            painter.setPen(t.text_dim)
            painter.drawText(QRectF(9, 0, self.head_room + 1, HEADER),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             self.sub_text)
        # body: port names, or a one-line summary of the parameters
        painter.setFont(f["body"])
        painter.setPen(t.text_dim)
        if self.named_inputs:
            for i, name in enumerate(self.inputs):
                painter.drawText(QRectF(10, port_y(i) - ROW / 2, self.width / 2 - 10, ROW),
                                 Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, name)
        if self.named_outputs:
            for i, name in enumerate(self.outputs):
                painter.drawText(QRectF(self.width / 2, port_y(i) - ROW / 2, self.width / 2 - 10, ROW),
                                 Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, name)
        if self.summary_text:
            painter.drawText(QRectF(10, port_y(0) - ROW / 2, self.width - 20, ROW),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             self.summary_text)
        if self.row_right:
            painter.setFont(f["small"])
            painter.drawText(QRectF(10, port_y(0) - ROW / 2, self.width - 20, ROW),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             self.row_right)
        # footer: output shape and parameter count
        top = self.height - FOOTER
        line = QColor(t.node_border)
        line.setAlpha(110)
        painter.setPen(QPen(line, 1))
        painter.drawLine(QPointF(6, top), QPointF(self.width - 6, top))
        painter.setFont(f["small"])
        painter.setPen(t.error if self.problems else t.text)
        footer = QRectF(8, top, self.width - 16, FOOTER)
        left = self.footer_left if not self.problems or self.footer_left else "needs attention"
        painter.drawText(footer, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, left)
        if self.footer_note:
            painter.setPen(t.health_colour(self.health.level))
            painter.drawText(footer, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             self.footer_note)
        if self.footer_right:
            painter.setPen(t.text_dim)
            painter.drawText(footer.adjusted(0, 0, -self.footer_note_w, 0),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             self.footer_right)
        self._paint_marks(painter, t, lod)

    def fonts_drawn(self, lod: float) -> list:
        """The fonts ``paint`` draws text in at this level of detail (tests check each is at
        least ``MIN_TEXT_PX`` on screen)."""
        mode = detail_mode(lod)
        if mode == "box":
            return []
        f = Fonts.get()
        return [Fonts.far(lod)[0]] if mode == "far" else [f["title"], f["small"], f["body"]]

    def _paint_marks(self, painter, t, lod: float, box: bool = False) -> None:
        """Health, diff mark, then (but as a box) the problem, re-initialized and frozen badges."""
        node_marks.paint_health(painter, t, lod, self.health, self.rect(), HEADER, RADIUS)
        if self.diff_mark is not None:
            diff_marks.paint_mark(painter, self.rect(), self.diff_mark.status, lod, RADIUS, box)
        if box:
            return
        if self.problems:
            node_marks.paint_problem_badge(painter, t, self.width, Fonts.get()["title"])
        if self.fresh_mark is not None:
            node_marks.paint_fresh_badge(painter, t, self.height, Fonts.get()["title"])
        if self.frozen:
            node_marks.paint_frozen_badge(painter, t, self.width, self.height,
                                          Fonts.get()["title"])


def _html(text) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
