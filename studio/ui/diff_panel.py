"""The Diff panel: what differs between the current graph and another project, change by change.

It shows a ``core.diff.ProjectDiff`` taken from the other project to the current one, so the
direction reads the same everywhere: "+ added" is in the current graph only, "− removed" in the
other project only, and a change reads "other → current". On top: which two are compared and
the totals; below, one group per graph (the training graph, then each network) with a row per
node: what changed, and its effect on shapes, parameters and multiply-adds; then the nodes only
moved by those changes, the training settings and the project's name. A click on a node's row
asks to show that node (``go_to``); ``ui/comparison.py`` keeps the panel up to date.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QFont, QFontMetrics
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.diff import (
    ADDED,
    REMOVED,
    ProjectDiff,
    cost_summary,
    edits_text,
    value_text,
)
from studio.ui import theme
from studio.ui.canvas.diff_marks import SYMBOLS

TRAINING = "training"
MOVED = "moved"  # a row for a node no one edited whose shapes or costs moved
NODE_ROLE = Qt.ItemDataRole.UserRole  # (graph, node id, status) on a node's row


def arrows(text: str) -> str:
    """core.diff writes 'a -> b' for the terminal; the panel shows 'a → b'."""
    return text.replace(" -> ", " \u2192 ").replace("->", "\u2192")


def effect_text(change) -> str:
    """Its effect on parameters, multiply-adds and shapes, one a line (the panel shares the
    bottom with Problems), the shapes written as on the canvas (16×28×28)."""
    text = arrows(cost_summary(change.before, change.after)).replace(" x ", "\u00d7")
    return text.replace(", ", "\n")


def _signed(n: int) -> str:
    return f"{n:+,}" if n else "no change"


class DiffPanel(QWidget):
    go_to = Signal(str, str, str)  # graph key, node id, status: a node's row was clicked
    stop_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("diff_panel")
        self.title = ""
        self._shown = None  # the rows last built, to leave the tree alone when they hold
        self.heading = QLabel()
        self.heading.setObjectName("diff_heading")
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.totals = QLabel()
        self.totals.setObjectName("diff_totals")
        self.totals.setWordWrap(True)
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.totals.setToolTip("The whole project's parameters and multiply-adds per sample, "
                               "in the other project and in the current one")
        self.stop = QPushButton("Stop Comparing")
        self.stop.setObjectName("diff_stop")
        self.stop.setToolTip("Stop comparing: close the Diff panel and clear the marks on the "
                             "canvas")
        self.stop.clicked.connect(self.stop_requested)
        self.tree = QTreeWidget()
        self.tree.setObjectName("diff_tree")
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Node", "What changed", "Effect"])
        self.tree.setAlternatingRowColors(True)
        self.tree.setMinimumSize(120, 60)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemClicked.connect(self._clicked)
        self.tree.itemActivated.connect(self._clicked)
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.stop, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.totals)
        layout.addWidget(self.tree, 1)

    # showing a diff ---------------------------------------------------------------------------
    def show_diff(self, diff: ProjectDiff, title: str) -> None:
        """The changes from ``title`` (the other project) to the current graph."""
        self.title = title
        self.heading.setText(self._heading(title))
        self.totals.setText(self._totals(diff))
        groups = self._groups(diff)
        if groups == self._shown:
            return  # an edit that changed nothing listed: keep the user's place in the tree
        self._shown = groups
        self.tree.clear()
        if not groups:
            empty = QTreeWidgetItem(["No differences", "node positions are not compared", ""])
            self.tree.addTopLevelItem(empty)
            return
        bold = QFont(self.tree.font())
        bold.setBold(True)
        for group_title, rows in groups:
            group = QTreeWidgetItem([group_title, "", ""])
            group.setFont(0, bold)
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.tree.addTopLevelItem(group)
            group.setFirstColumnSpanned(True)  # only once in the tree
            for cells, key in rows:
                group.addChild(self._row(cells, key))
            group.setExpanded(True)
        self._fit_node_column(bold, [cells[0] for _, rows in groups for cells, _ in rows])

    def _fit_node_column(self, font: QFont, names: list) -> None:
        """As wide as the longest node's name (the group titles span the row and do not
        count), within reason."""
        widest = max(QFontMetrics(font).horizontalAdvance(name) for name in names)
        self.tree.header().resizeSection(0, min(widest + 2 * self.tree.indentation() + 16, 240))

    def _row(self, cells: tuple, key) -> QTreeWidgetItem:
        item = QTreeWidgetItem(list(cells))
        t = theme.current()
        if key is not None:
            item.setData(0, NODE_ROLE, key)
            status = key[2]
            if status == MOVED:
                for column in range(3):
                    item.setForeground(column, QBrush(t.text_dim))
            else:
                item.setForeground(0, QBrush(t.diff_colour(status)))
                font = QFont(self.tree.font())
                font.setBold(True)
                item.setFont(0, font)
        for column in range(3):  # a name beside the first line of a several-line effect
            item.setTextAlignment(column, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        item.setToolTip(1, cells[1])
        item.setToolTip(2, cells[2])
        return item

    def _heading(self, title: str) -> str:
        t = theme.current()

        def sign(status):
            return f"<b style='color:{t.diff_colour(status).name()}'>{SYMBOLS[status]}</b>"

        other = escape(title, quote=False)
        return (f"<b>Current graph vs {other}</b>: {sign(ADDED)} only in current, "
                f"{sign(REMOVED)} only in {other}, {sign('changed')} changed ({other} \u2192 "
                "current)")

    def _totals(self, diff: ProjectDiff) -> str:
        before, after = diff.totals
        return (f"Parameters {before.params:,} \u2192 {after.params:,} "
                f"({_signed(after.params - before.params)}) \u00b7 multiply-adds "
                f"{before.macs:,} \u2192 {after.macs:,} ({_signed(after.macs - before.macs)})")

    def _groups(self, diff: ProjectDiff) -> list:
        """[(group title, [(cells, (graph, node, status) or None)])], graph by graph."""
        networks = {n.name: n for n in diff.networks}
        by_graph: dict = {}
        for change in diff.nodes:
            by_graph.setdefault(change.graph, []).append(
                ((f"{SYMBOLS[change.status]}\u00a0{change.node}", arrows(edits_text(change)),
                  effect_text(change)),
                 (change.graph, change.node, change.status)))
        for change in diff.affected:
            by_graph.setdefault(change.graph, []).append(
                ((f"\u00b7\u00a0{change.node}", "moved by the changes above",
                  effect_text(change)),
                 (change.graph, change.node, MOVED)))
        for name, net in networks.items():
            rows = by_graph.setdefault(name, [])
            if net.args:
                args = "; ".join(f"{v.name}: {v.before or 'none'} \u2192 {v.after or 'none'}"
                                 for v in net.args)
                rows.insert(0, (("arguments", args, ""), None))
        training_first = sorted(by_graph, key=lambda key: key != TRAINING)
        groups = [(self._graph_title(key, networks.get(key)), by_graph[key])
                  for key in training_first]
        rest = [((f"setting {v.name}", f"{value_text(v.before)} \u2192 {value_text(v.after)}",
                  ""), None) for v in diff.settings]
        if diff.name:
            rest.append((("project name", f"{diff.name.before} \u2192 {diff.name.after}", ""),
                         None))
        if rest:
            groups.append(("Training settings and name", rest))
        return groups

    def _graph_title(self, key: str, network) -> str:
        name = "Training graph" if key == TRAINING else f"Network {key}"
        if network is not None and network.status == ADDED:
            return f"{name} (only in the current graph)"
        if network is not None and network.status == REMOVED:
            return f"{name} (only in {self.title})"
        return name

    # reading it -------------------------------------------------------------------------------
    def node_rows(self) -> list[QTreeWidgetItem]:
        """Every row that names a node, in order."""
        rows = []
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            rows += [group.child(j) for j in range(group.childCount())
                     if group.child(j).data(0, NODE_ROLE) is not None]
        return rows

    def row_for(self, graph: str, node_id: str) -> QTreeWidgetItem | None:
        for row in self.node_rows():
            if tuple(row.data(0, NODE_ROLE))[:2] == (graph, node_id):
                return row
        return None

    def clear(self) -> None:
        self._shown = None
        self.tree.clear()
        self.heading.setText("")
        self.totals.setText("")

    def _clicked(self, item, _column=0) -> None:
        key = item.data(0, NODE_ROLE)
        if key is not None:
            self.go_to.emit(*key)

