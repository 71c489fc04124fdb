"""The Jacobian tab: how strongly each step of the chosen layer-direction stretches the state, large.

Top: the spectral radius ρ(J_t) and the largest singular value σmax(J_t) of each step's Jacobian,
with the line at 1 (ρ stays below 1 in a contracting network). Bottom: the gradient flow
‖∂h_last/∂h_t‖_F on a log axis. The same curves, small, run under each heatmap
(:mod:`rnnviz.ui.views.heatmap_strips`); both are drawn by :mod:`rnnviz.ui.views.series_plots`.
"""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout

from rnnviz.ui.analysis_results import StreamResults
from rnnviz.ui.run_data import RunData, Stream
from rnnviz.ui.state import AppState
from rnnviz.ui.views.analysis_common import TEXT_COLOUR, AnalysisView, plot_widget
from rnnviz.ui.views.series_plots import (FLOW_COLOUR, RADIUS_COLOUR, SIGMA_COLOUR, UNIT_COLOUR, JacobianCurves,
                                          key, prepare_time_plot)


class JacobianView(AnalysisView):
    name = "jacobian"
    title = "Jacobian"
    area = "centre"

    def __init__(self, state: AppState) -> None:
        super().__init__(state)
        self.norms = plot_widget(y="‖J_t‖")
        self.norms.setTitle(key(RADIUS_COLOUR, "━", "spectral radius ρ(J_t)") + "&nbsp;&nbsp;"
                            + key(SIGMA_COLOUR, "╍", "largest singular value σmax(J_t)") + "&nbsp;&nbsp;"
                            + key(UNIT_COLOUR, "╌", "1"), size="8pt", color=TEXT_COLOUR)
        self.flow = plot_widget(x="time step t", y="‖∂h_last/∂h_t‖_F")
        self.flow.setTitle(key(FLOW_COLOUR, "━", "gradient flow from the last step (log scale)"),
                           size="8pt", color=TEXT_COLOUR)
        for plot in (self.norms, self.flow):
            prepare_time_plot(plot.getPlotItem())
        self.flow.setXLink(self.norms)
        self.curves = JacobianCurves(self.norms.getPlotItem(), self.flow.getPlotItem())
        self.gradient = self.curves.gradient
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.norms, 1)
        layout.addWidget(self.flow, 1)

    def new_run(self, run: RunData) -> None:
        self.norms.setXRange(0, max(run.timesteps - 1, 1), padding=0.01)

    def draw(self, stream: Stream, results: StreamResults | None) -> None:
        self.curves.show(stream, results.series if results is not None else {})
