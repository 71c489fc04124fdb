"""Jacobian strips, on the heatmaps' time axis: how strongly each step stretches the state.

Top: the spectral radius ρ(J_t) and the largest singular value σmax(J_t) of each step's Jacobian,
with the line at 1 (above it, a step expands some direction; ρ stays below 1 in a contracting
network). Bottom: the gradient flow ‖∂h_last/∂h_t‖_F on a log axis, where gradients die. The flow is
plotted from its logarithm (:func:`rnnviz.analysis.gradients.gradient_flow`'s ``log10``), so a flow
far below float range is still drawn where it is.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout

from rnnviz.ui.analysis_results import StreamResults
from rnnviz.ui.run_data import RunData, Stream
from rnnviz.ui.state import AppState
from rnnviz.ui.views.analysis_common import TEXT_COLOUR, AnalysisView, in_time, plot_widget
from rnnviz.ui.views.lines import CURVE

RADIUS_COLOUR = (31, 119, 180)
SIGMA_COLOUR = (214, 39, 40)
FLOW_COLOUR = (44, 120, 44)
CURSOR_PEN = pg.mkPen((30, 30, 30), width=1)
UNIT_PEN = pg.mkPen((90, 90, 90), width=1, style=Qt.PenStyle.DashLine)


def _key(colour: tuple[int, int, int], mark: str, text: str) -> str:
    return f"<span style='color:{pg.mkColor(colour).name()}'>{mark} {text}</span>"


class JacobianView(AnalysisView):
    name = "jacobian"
    title = "Jacobian"
    area = "centre"

    def __init__(self, state: AppState) -> None:
        super().__init__(state)
        self.norms = plot_widget(y="‖J_t‖", curves=True)
        self.norms.setTitle(_key(RADIUS_COLOUR, "━", "spectral radius ρ(J_t)") + "&nbsp;&nbsp;"
                            + _key(SIGMA_COLOUR, "╍", "largest singular value σmax(J_t)") + "&nbsp;&nbsp;"
                            + _key((90, 90, 90), "╌", "1"), size="8pt", color=TEXT_COLOUR)
        self.flow = plot_widget(x="time step t", y="‖∂h_last/∂h_t‖_F", curves=True)
        self.flow.setTitle(_key(FLOW_COLOUR, "━", "gradient flow from the last step (log scale)"),
                           size="8pt", color=TEXT_COLOUR)
        self.flow.getAxis("left").setLogMode(True)  # the curve is log10 already: only the ticks are powers of 10
        self.flow.getAxis("left").enableAutoSIPrefix(False)
        self.flow.setXLink(self.norms)
        self.norms.getAxis("left").setWidth(72)
        self.flow.getAxis("left").setWidth(72)
        self.radius = self.norms.plot(pen=pg.mkPen(RADIUS_COLOUR, width=1), connect="finite", **CURVE)
        self.sigma = self.norms.plot(pen=pg.mkPen(SIGMA_COLOUR, width=1, style=Qt.PenStyle.DashLine),
                                     connect="finite", **CURVE)
        self.gradient = self.flow.plot(pen=pg.mkPen(FLOW_COLOUR, width=1), connect="finite", **CURVE)
        self.norms.addItem(pg.InfiniteLine(1.0, angle=0, pen=UNIT_PEN))
        self.cursors = [pg.InfiniteLine(0, angle=90, pen=CURSOR_PEN) for _ in range(2)]
        for plot, cursor in zip((self.norms, self.flow), self.cursors):
            plot.addItem(cursor)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.norms, 1)
        layout.addWidget(self.flow, 1)

    def new_run(self, run: RunData) -> None:
        self.norms.setXRange(0, max(run.timesteps - 1, 1), padding=0.01)

    def draw(self, stream: Stream, results: StreamResults | None) -> None:
        series = results.series if results is not None else {}
        for curve, name in ((self.radius, "spectral_radius"), (self.sigma, "sigma_max"), (self.gradient, "gradient_log10")):
            if name in series:
                t, values = in_time(stream, series[name])
                if name == "gradient_log10":  # a flow of exactly 0 (log -inf) is not drawn
                    values = np.where(np.isfinite(values), values, np.nan)
                curve.setData(t, values)
            else:
                curve.setData([], [])
        radius = series.get("spectral_radius")
        if radius is not None and np.isfinite(radius).any():
            top = float(np.nanmax(np.concatenate([radius, series["sigma_max"]])))
            self.norms.setYRange(0, max(1.1, 1.05 * top), padding=0)
        edge = stream.revealed - 0.5 if stream.direction == "forward" else stream.hidden.shape[0] - stream.revealed - 0.5
        for cursor in self.cursors:
            cursor.setValue(edge)
