"""A sweep's results: the table of trials (values, metric, parameters, multiply-adds, status,
Pareto marks, run) with the best trial highlighted, and the scatter of the metric against
multiply-adds or parameters with the Pareto front (``core.sweep.pareto_front``) marked and
joined, cheapest first, so each extra multiply's worth shows. A row and a point select each
other.

Both draw an ``engine.sweep.SweepResult`` (its best trial and fronts), which grows as trials
end; only finished trials with a metric have a point.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.core.sweep import describe
from studio.ui import theme

COSTS = {"macs": "multiply-adds", "params": "parameters"}
PARETO_MARKS = {"macs": "M", "params": "P"}  # as studio sweep prints them


def _count(n) -> str:
    return f"{n:,}" if n is not None else "?"


def _value(value) -> str:
    return "-" if value is None else describe({"": value})[1:]


class TrialTable(QTableWidget):
    """One row per trial, in the order they ended."""

    trial_chosen = Signal(int)  # a trial's number, when the user selects its row

    def __init__(self, parent=None):
        super().__init__(0, 0, parent)
        self.setObjectName("sweep_table")
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().hide()
        self.setAlternatingRowColors(True)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.numbers: list[int] = []  # the trial number of each row
        self.itemSelectionChanged.connect(self._selected)

    def show_headers(self, names: list[str], metric: str) -> None:
        """No trials yet: the columns a sweep of ``names`` will fill."""
        self.clear()
        headers = ["trial", *names, metric, "params", "mult-adds", "status", "pareto", "run"]
        self.setColumnCount(len(headers))
        self.setHorizontalHeaderLabels(headers)
        self.setRowCount(0)
        self.numbers = []

    def show_result(self, names: list[str], result) -> None:
        metric, trials = result.metric, result.trials
        selected = self.selected_trial()
        self.blockSignals(True)
        self.show_headers(names, metric)
        self.setRowCount(len(trials))
        fronts = {cost: set(result.pareto(cost)) for cost in PARETO_MARKS}
        best = result.best
        self.numbers = [t.number for t in trials]
        bold = QFont(self.font())
        bold.setBold(True)
        highlight = QBrush(theme.current().selected.lighter(170) if not theme.current().dark
                           else theme.current().selected.darker(250))
        for row, t in enumerate(trials):
            marks = "".join(m for cost, m in PARETO_MARKS.items() if t.number in fronts[cost])
            cells = [str(t.number), *[_value(t.values.get(n)) for n in names],
                     f"{t.metric:.4g}" if t.metric is not None else "-", _count(t.params),
                     _count(t.macs), t.status, marks, str(t.run or "")]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if t.message:
                    item.setToolTip(t.message)
                if column == 0 or column > len(names):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight |
                                          Qt.AlignmentFlag.AlignVCenter)
                if best is not None and t.number == best.number:
                    item.setFont(bold)
                    item.setBackground(highlight)
                    item.setToolTip(f"The best trial ({metric} {t.metric:.4g})")
                self.setItem(row, column, item)
        self.blockSignals(False)
        if selected is not None:
            self.select_trial(selected)

    def selected_trial(self) -> int | None:
        rows = {i.row() for i in self.selectedItems()}
        return self.numbers[rows.pop()] if len(rows) == 1 else None

    def select_trial(self, number: int) -> None:
        if number in self.numbers:
            self.selectRow(self.numbers.index(number))

    def _selected(self) -> None:
        number = self.selected_trial()
        if number is not None:
            self.trial_chosen.emit(number)


class ParetoScatter(QWidget):
    """The metric against multiply-adds (or parameters), the front joined, a trial selectable."""

    trial_chosen = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        import pyqtgraph as pg  # only when the dialog opens: the editor starts without it

        from studio.ui.dashboard.curves import new_plot

        self.pg = pg
        self.cost = "macs"
        self.result = None
        self.chosen: int | None = None
        self.cost_box = QComboBox()
        self.cost_box.setObjectName("sweep_cost")
        for cost, text in COSTS.items():
            self.cost_box.addItem(f"against {text}", cost)
        self.cost_box.setToolTip("What each trial's metric is plotted against")
        self.cost_box.currentIndexChanged.connect(self._cost_chosen)
        self.plot = new_plot("sweep_scatter", self.palette(), legend_offset=(-8, 8),
                             long_curves=False)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        t = theme.current()
        self.points = pg.ScatterPlotItem(size=10, pen=pg.mkPen(t.text_dim),
                                         brush=pg.mkBrush(t.text_dim), name="trials")
        self.points.sigClicked.connect(self._clicked)
        colour = t.category("optimizer")
        self.front = pg.PlotDataItem([], [], pen=pg.mkPen(colour, width=2), symbol="o",
                                     symbolSize=12, symbolBrush=pg.mkBrush(colour),
                                     symbolPen=pg.mkPen(colour), name="Pareto front")
        self.mark = pg.ScatterPlotItem(size=18, pen=pg.mkPen(t.selected, width=2.5),
                                       brush=pg.mkBrush(None))
        for item in (self.points, self.front, self.mark):  # the front's marks over the trials
            self.plot.addItem(item)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.caption = QLabel()
        self.caption.setObjectName("sweep_scatter_caption")
        self.caption.setWordWrap(True)  # a narrow plot wraps it rather than widening the dialog
        self.caption.setMinimumWidth(120)
        top.addWidget(self.caption, 1)
        top.addWidget(self.cost_box)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)

    def show_result(self, result) -> None:
        self.result = result
        self._draw()

    def select_trial(self, number: int | None) -> None:
        self.chosen = number
        self._draw_mark()

    @property
    def front_trials(self) -> list[int]:
        return self.result.pareto(self.cost) if self.result is not None else []

    def _finished(self) -> list:
        done = self.result.finished if self.result is not None else []
        return [t for t in done if getattr(t, self.cost) is not None]

    def _cost_chosen(self) -> None:
        self.cost = self.cost_box.currentData()
        self._draw()

    def _draw(self) -> None:
        done = self._finished()
        self.points.setData([getattr(t, self.cost) for t in done], [t.metric for t in done],
                            data=[t.number for t in done])
        by_number = {t.number: t for t in done}
        front = [by_number[n] for n in self.front_trials]
        self.front.setData([getattr(t, self.cost) for t in front], [t.metric for t in front])
        self.plot.setLabel("bottom", COSTS[self.cost])
        if self.result is None or not done:
            self.caption.setText("No finished trial yet")
        else:
            metric = self.result.metric
            self.plot.setLabel("left", metric)
            better = "higher" if self.result.maximize else "lower"
            self.caption.setText(f"{metric} ({better} is better) against {COSTS[self.cost]}: "
                                 f"{len(front)} of {len(done)} finished trials on the Pareto "
                                 "front")
        self._draw_mark()

    def _draw_mark(self) -> None:
        hit = [t for t in self._finished() if t.number == self.chosen]
        self.mark.setData([getattr(t, self.cost) for t in hit], [t.metric for t in hit])

    def _clicked(self, _item, points, *_) -> None:
        if len(points):
            self.trial_chosen.emit(int(points[0].data()))
