"""The inspector's plot of a block whose declaration gives an ``InspectorPlot``: an activation's
function, or a loss against one prediction with its target fixed, each curve with its derivative
(dashed: the gradient the block passes back), redrawn as its parameters change. Imported only
when such a block is selected, so the editor starts without pyqtgraph's plotting.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from studio.core.params import ParamError
from studio.core.registry import Values, get_block
from studio.ui import theme

POINTS = 801
EXTRA_COLOURS = ("#e3a53a", "#5aa9e6", "#c774e8", "#62c370")  # second and later curves


class ActivationPlot(pg.PlotWidget):
    """Named for its first users; draws any block's ``InspectorPlot``."""

    def __init__(self, spec):
        super().__init__()
        t = theme.current()
        declared = spec.plot
        self.setObjectName(f"{spec.category}_plot")
        self.setBackground(t.node)
        self.setMinimumHeight(170)
        self.setMaximumHeight(230)
        self.showGrid(x=True, y=True, alpha=0.25)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.legend = self.addLegend(offset=(8, 8), labelTextColor=t.text, labelTextSize="8pt")
        for axis in ("left", "bottom"):
            self.getAxis(axis).setTextPen(t.text_dim)
            self.getAxis(axis).setPen(t.node_border)
        if declared.x_label:
            self.setLabel("bottom", declared.x_label, color=t.text_dim, size="8pt")
        self._colours = (t.category(spec.category),) + EXTRA_COLOURS
        self._dim = t.text_dim
        self._names = (f"{spec.id}(x)", "derivative")
        self.x_range, self.function = declared.x_range, declared.curve
        self.curves: list = []  # (function item, derivative item) per curve
        low, high = self.x_range
        what = f"{declared.y_label or spec.title} against {declared.x_label or 'x'}"
        self.setToolTip(f"{what} (solid) and its derivative (dashed) on [{low:g}, {high:g}]")

    def _items(self, labels) -> list:
        """One solid and one dashed line per label; remade only when the labels change."""
        if [name for name, _ in self.curves] == labels:
            return [items for _, items in self.curves]
        self.clear()
        self.legend.clear()
        made = []
        for i, label in enumerate(labels):
            colour = self._colours[i % len(self._colours)]
            single = len(labels) == 1
            f = self.plot([], [], pen=pg.mkPen(colour, width=2.2),
                          name=self._names[0] if label is None else label)
            d = self.plot([], [], pen=pg.mkPen(self._dim if single else colour, width=1.4,
                                               style=Qt.PenStyle.DashLine),
                          name="derivative" if single else None)
            made.append((label, (f, d)))
        self.curves = made
        return [items for _, items in made]

    def show_node(self, node) -> None:
        """Draw the curves for the node's current parameters (a value the function refuses
        leaves the last curves drawn)."""
        x = np.linspace(*self.x_range, POINTS)
        try:
            spec = get_block(node.block)
            values = Values({p.name: node.params.get(p.name, p.default) for p in spec.params})
            with np.errstate(all="ignore"):
                result = self.function(x, values)
                named = result if isinstance(result, dict) else {None: result}
                ys = {k: np.broadcast_to(np.asarray(v, dtype=float), x.shape)
                      for k, v in named.items()}
                dys = {k: np.gradient(y, x) for k, y in ys.items()}
        except (ValueError, TypeError, ArithmeticError, ParamError, AttributeError):
            return
        for (f, d), label in zip(self._items(list(ys)), ys, strict=True):
            ok = np.isfinite(ys[label]) & np.isfinite(dys[label])
            f.setData(x[ok], ys[label][ok])
            d.setData(x[ok], dys[label][ok])

    def drawn(self):
        """(x, f(x)) and (x, f'(x)) of the first curve as drawn (tests read them)."""
        f, d = self.curves[0][1]
        return f.getData(), d.getData()

    def drawn_all(self) -> dict:
        """{label: ((x, f(x)), (x, f'(x)))} for every curve drawn."""
        return {label: (f.getData(), d.getData()) for label, (f, d) in self.curves}
