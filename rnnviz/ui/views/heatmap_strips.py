"""The two strips under a heatmap, on its time axis: ρ(J_t) and σmax(J_t) with the line at 1, and the
gradient flow ‖∂h_last/∂h_t‖_F on a log axis, with their legends in the heatmap's side column.

They are small (STRIP_HEIGHT each) so that the heatmaps stay the main thing; their x axis is the
heatmap's (linked, same limits), so zooming either zooms both, and the time ticks move under the
lower strip. What they draw comes from :mod:`rnnviz.ui.views.series_plots`, as in the Jacobian tab.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF

from rnnviz.ui.analysis_results import StreamResults
from rnnviz.ui.run_data import Stream
from rnnviz.ui.views.series_plots import (FLOW_COLOUR, RADIUS_COLOUR, SIGMA_COLOUR, UNIT_COLOUR, JacobianCurves,
                                          key, prepare_time_plot)

STRIP_HEIGHT = 58  # each strip's plot area, in pixels
COMPACT_STRIP_HEIGHT = 40  # the same in a deep stack's compact layout (see heatmaps.COMPACT_FROM)
COMPACT_TICKS = 2.2  # at least this many value ticks' spacing fits in a compact strip's range
BARE_AXIS_HEIGHT = 4  # a time axis without values, between a heatmap and its strips
TIME_AXIS_HEIGHT = 38  # the tick values and "time step t" under the lower strip
TEXT_COLOUR = "#202020"
NORMS_LEGEND = "<br>".join((key(RADIUS_COLOUR, "━", "ρ(J_t)"), key(SIGMA_COLOUR, "╍", "σmax(J_t)"),
                            key(UNIT_COLOUR, "╌", "1")))
FLOW_LEGEND = key(FLOW_COLOUR, "━", "‖∂h_last/∂h_t‖_F<br>&nbsp;&nbsp;&nbsp;(log scale)")


def _sparse_ticks(box: pg.ViewBox, y_range: tuple[float, float]) -> None:
    """Label a compact strip's value axis at the smallest round spacing with at most three labels (0.5
    for ρ up to 1.1, whose 0 and 1 sit on the edges; 1 and 10^-20 for a flow over 30 decades), not at
    pyqtgraph's minimum of 2.25 intervals (every 0.2 of ρ: five labels in 40 pixels, touching)."""
    span = (y_range[1] - y_range[0]) / COMPACT_TICKS
    if not math.isfinite(span) or span <= 0:
        return
    unit = 10.0 ** math.floor(math.log10(span))
    major = next(factor * unit for factor in (1, 2, 2.5, 5, 10) if factor * unit >= span)
    box.parentItem().getAxis("left").setTickSpacing(major, major / 5)


def _plot_heights(strip_height: int) -> tuple[int, int]:
    """The heights of the two strip plots: the lower one carries the time axis."""
    return strip_height + 6, strip_height + TIME_AXIS_HEIGHT


def strips_height(strip_height: int) -> int:
    """What the strips under one heatmap take, in pixels."""
    return sum(_plot_heights(strip_height))


class Strips:
    """The strips of one heatmap, in rows ``row`` and ``row + 1`` of ``graphics`` (the legends in
    column 1). ``heatmap`` gives its time axis away: its tick values and label move under the strips."""

    def __init__(self, graphics: pg.GraphicsLayoutWidget, row: int, heatmap: pg.PlotItem, steps: int,
                 strip_height: int = STRIP_HEIGHT) -> None:
        self.norms = graphics.addPlot(row=row, col=0)
        self.flow = graphics.addPlot(row=row + 1, col=0)
        for plot, height in zip((self.norms, self.flow), _plot_heights(strip_height)):
            prepare_time_plot(plot)
            plot.hideButtons()
            plot.setMouseEnabled(x=True, y=False)
            plot.getViewBox().setLimits(xMin=-0.5, xMax=steps - 0.5)
            plot.setXLink(heatmap)
            plot.setMinimumHeight(height)
            plot.setMaximumHeight(height)
        heatmap.setLabel("bottom", "")
        heatmap.getAxis("bottom").showLabel(False)
        for axis in (heatmap.getAxis("bottom"), self.norms.getAxis("bottom")):
            axis.setStyle(showValues=False)
            axis.setHeight(BARE_AXIS_HEIGHT)  # its ticks only: the room of the values goes to the plots
        if strip_height < STRIP_HEIGHT:  # at 40 px pyqtgraph labelled every 0.2 of ρ, the labels touching
            for plot in self.plots:
                plot.getViewBox().sigYRangeChanged.connect(_sparse_ticks)
        self.norms.setLabel("left", "‖J_t‖")
        self.flow.setLabel("left", "grad")
        self.flow.setLabel("bottom", "time step t")
        self.curves = JacobianCurves(self.norms, self.flow)
        grid = graphics.ci.layout
        for at in (row, row + 1):
            grid.setRowStretchFactor(at, 0)  # the heatmap above takes what room there is to spare
            grid.setRowStretchFactor(at - 2, 1)
        for text, at in ((NORMS_LEGEND, row), (FLOW_LEGEND, row + 1)):
            graphics.addLabel(text, row=at, col=1, size="8pt", color=TEXT_COLOUR, justify="left")

    @property
    def plots(self) -> tuple[pg.PlotItem, pg.PlotItem]:
        return self.norms, self.flow

    def show(self, stream: Stream, results: StreamResults | None) -> None:
        self.curves.show(stream, results.series if results is not None else {})

    def describe(self, pos: QPointF, stream: Stream, results: StreamResults | None) -> str | None:
        """What the strips say at scene position ``pos`` (None: not over them): the step's ρ, σmax and
        flow once they are computed and revealed."""
        box = next((p.getViewBox() for p in self.plots if p.getViewBox().sceneBoundingRect().contains(pos)), None)
        if box is None:
            return None
        steps = stream.hidden.shape[0]
        t = int(np.floor(box.mapSceneToView(pos).x() + 0.5))
        rows = stream.revealed_slice()
        if not 0 <= t < steps:
            return None
        head = f"Layer {stream.layer + 1} · {stream.direction} · t = {t}"
        series = results.series if results is not None else {}
        step = t if stream.direction == "forward" else steps - 1 - t  # the series are in processing order
        values = {name: float(series[name][step]) for name in series}
        if not rows.start <= t < rows.stop or np.isnan(values.get("spectral_radius", np.nan)):
            return f"{head} · Jacobian not computed yet"
        text = f"{head} · ρ = {values['spectral_radius']:.4f} · σmax = {values['sigma_max']:.4f}"
        flow = values.get("gradient_log10", np.nan)
        return text if np.isnan(flow) else f"{text} · ‖∂h_last/∂h_t‖ = {10.0 ** flow:.3e}"
