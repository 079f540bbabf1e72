"""The inspector's plot of an activation (a block whose declaration gives an ``InspectorPlot``):
the function and its derivative on [-4, 4], redrawn as its parameters change. Imported only
when such a block is selected, so the editor starts without pyqtgraph's plotting.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from studio.core.params import ParamError
from studio.core.registry import Values, get_block
from studio.ui import theme

PLOT_RANGE = 4.0


class ActivationPlot(pg.PlotWidget):
    def __init__(self, spec):
        super().__init__()
        t = theme.current()
        self.setObjectName("activation_plot")
        self.setBackground(t.node)
        self.setMinimumHeight(170)
        self.setMaximumHeight(200)
        self.showGrid(x=True, y=True, alpha=0.25)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.addLegend(offset=(8, 8), labelTextColor=t.text, labelTextSize="8pt")
        for axis in ("left", "bottom"):
            self.getAxis(axis).setTextPen(t.text_dim)
            self.getAxis(axis).setPen(t.node_border)
        color = t.category("activation")
        f = self.plot([], [], pen=pg.mkPen(color, width=2.2), name=f"{spec.id}(x)")
        d = self.plot([], [], pen=pg.mkPen(t.text_dim, width=1.6, style=Qt.PenStyle.DashLine),
                      name="derivative")
        self.setToolTip(f"{spec.title} (solid) and its derivative (dashed) on "
                        f"[{-PLOT_RANGE:g}, {PLOT_RANGE:g}]")
        self.curves, self.function = (f, d), spec.plot.curve

    def show_node(self, node) -> None:
        """Draw the curves for the node's current parameters (a value the function refuses
        leaves the last curves drawn)."""
        x = np.linspace(-PLOT_RANGE, PLOT_RANGE, 801)
        try:
            spec = get_block(node.block)
            values = Values({p.name: node.params.get(p.name, p.default) for p in spec.params})
            with np.errstate(all="ignore"):
                y = np.asarray(self.function(x, values), dtype=float)
                dy = np.gradient(y, x)
        except (ValueError, TypeError, ArithmeticError, ParamError, AttributeError):
            return
        ok = np.isfinite(y) & np.isfinite(dy)
        self.curves[0].setData(x[ok], y[ok])
        self.curves[1].setData(x[ok], dy[ok])

    def drawn(self):
        """(x, f(x)) and (x, f'(x)) as drawn (tests read them)."""
        return self.curves[0].getData(), self.curves[1].getData()
