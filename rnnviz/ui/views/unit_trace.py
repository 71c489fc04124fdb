"""The selected unit over time: h; for a GRU its gates z and r; for an LSTM its cell state c and
gates i, f and o."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout

from rnnviz.ui.run_data import Stream
from rnnviz.ui.state import AppState, Selection
from rnnviz.ui.views.base import View
from rnnviz.ui.views.lines import CURVE, MARKED_STEPS, revealed
from rnnviz.ui.views.scales import cell_range

_H_COLOUR = (20, 20, 20)
_CELL_COLOUR = (148, 103, 189)
_GATE_COLOURS = {"z": (214, 39, 40), "r": (44, 160, 44), "i": (44, 160, 44), "f": (214, 39, 40),
                 "o": (31, 119, 180)}
_TRACED_GATES = {"GRU": ("z", "r"), "LSTM": ("i", "f", "o")}


class UnitTraceView(View):
    """One unit's trace; follows the selection. The curves are reused when only the run changed."""

    name = "unit-trace"
    title = "Unit trace"
    area = "bottom"

    def __init__(self, state: AppState) -> None:
        super().__init__(state)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setLabel("bottom", "time step t")
        self.plot.setDownsampling(auto=True, mode="peak")
        self.plot.setClipToView(True)
        self.plot.setTitle("Click a heatmap row to follow a unit", size="9pt", color="#202020")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.shown: tuple[Stream, int] | None = None
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.version = -1
        self.extent = 1.0  # the y axis' half range: grows with |c|

    def show_selection(self, selection: Selection) -> None:
        stream = self.state.selected_stream()
        if stream is None:
            return
        previous = self.shown
        self.shown = (stream, selection.unit)
        self.version = -1
        if previous is not None and (previous[0].title, previous[1]) == (stream.title, selection.unit) \
                and previous[0].hidden.shape == stream.hidden.shape:
            self.redraw()
            return
        self.plot.clear()
        marks = {"symbol": "o", "symbolSize": 4, "symbolBrush": _H_COLOUR} \
            if stream.hidden.shape[0] <= MARKED_STEPS else {}
        self.curves = {"h": self.plot.plot(pen=pg.mkPen(_H_COLOUR, width=2), **marks, **CURVE)}
        keys = [f"<span style='color:{pg.mkColor(_H_COLOUR).name()}'>━ h</span>"]
        if "c" in stream.gates:
            self.curves["c"] = self.plot.plot(pen=pg.mkPen(_CELL_COLOUR, width=1), **CURVE)
            keys.append(f"<span style='color:{pg.mkColor(_CELL_COLOUR).name()}'>━ cell c</span>")
        for gate in _TRACED_GATES.get(stream.layer_type, ()):
            colour = _GATE_COLOURS[gate]
            pen = pg.mkPen(colour, width=1, style=pg.QtCore.Qt.PenStyle.DashLine)
            self.curves[gate] = self.plot.plot(pen=pen, **CURVE)
            keys.append(f"<span style='color:{pg.mkColor(colour).name()}'>╌ {gate} gate</span>")
        # the key goes under the title: the plot is narrow, and the curves fill all of it (saturated
        # ones run along ±1, where a legend would sit)
        key = "<br>" + "&nbsp;&nbsp;".join(keys) if len(keys) > 1 else ""
        title = f"L{stream.layer + 1} {stream.layer_type} {stream.direction} · unit {selection.unit}"
        self.plot.setTitle(title + key, size="8pt", color="#202020")
        self.plot.setXRange(0, max(stream.hidden.shape[0] - 1, 1))
        self.extent = 1.0
        self.plot.setYRange(-1.05, 1.05)
        self.redraw()

    def redraw(self) -> bool:
        if self.shown is None:
            return False
        stream, unit = self.shown
        if stream.version == self.version:
            return False
        self.version = stream.version
        for quantity, curve in self.curves.items():
            curve.setData(*revealed(stream, stream.values(quantity)[:, unit]))
        if "c" in self.curves:
            _, cell = revealed(stream, stream.gates["c"][:, unit])
            largest = float(np.abs(cell).max(initial=0.0))
            if largest > self.extent:
                self.extent = cell_range(largest)
                self.plot.setYRange(-1.05 * self.extent, 1.05 * self.extent)
        return True
