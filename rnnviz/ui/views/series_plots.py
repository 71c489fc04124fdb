"""The Jacobian series of one stream over time, drawn alike in the Jacobian tab and in the strips under
each heatmap: the spectral radius ρ(J_t) and the largest singular value σmax(J_t) of each step's
Jacobian with the line at 1 (above it, a step expands some direction), and the gradient flow
‖∂h_last/∂h_t‖_F on a log axis (where gradients die).

The flow is plotted from its logarithm (:func:`rnnviz.analysis.gradients.gradient_flow`'s ``log10``)
under an axis whose ticks are powers of 10, so a flow far below float range is still drawn where it
is. Curves are peak-downsampled (per pixel column min and max) and clipped to view, so T = 5000
costs what the plot's width costs and no spike averages away.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from rnnviz.ui.run_data import Stream
from rnnviz.ui.views.analysis_common import in_time
from rnnviz.ui.views.lines import CURVE

RADIUS_COLOUR = (31, 119, 180)
SIGMA_COLOUR = (214, 39, 40)
FLOW_COLOUR = (44, 120, 44)
UNIT_COLOUR = (90, 90, 90)
CURSOR_PEN = pg.mkPen((30, 30, 30), width=1)
UNIT_PEN = pg.mkPen(UNIT_COLOUR, width=1, style=Qt.PenStyle.DashLine)
LEFT_AXIS_WIDTH = 72  # wide enough for 10⁻¹⁴: plots stacked on one time axis need one width to line up
SERIES = ("spectral_radius", "sigma_max", "gradient_log10")
SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def decade(value: float) -> str:
    """A tick of a log axis whose values are log10 already: 10ⁿ at whole decades, written from n, so
    that 10⁻⁴⁷⁰ (beyond float range) still reads; between decades (a short range), the number."""
    whole = round(value)
    if abs(value - whole) > 1e-9:
        return f"{10.0 ** value:.1g}"
    return {0: "1", 1: "10"}.get(whole, "10" + str(whole).translate(SUPERSCRIPTS))


class DecadeAxis(pg.AxisItem):
    """A left axis with ticks at powers of 10 for a curve plotted as its log10.

    pyqtgraph's own log axis (``setLogMode``) also puts the view box in log mode, which clamps its
    range to 10^±307.6: the gradient flow of a SimpleRNN over 5000 steps (down to 10⁻⁴⁷⁰) ran off the
    bottom of the plot. Here only the ticks are logarithmic; the view's range is the log10 values'.
    """

    def __init__(self) -> None:
        super().__init__("left")
        self.logMode = True  # the ticks' placement; the linked view is left linear on purpose
        self.enableAutoSIPrefix(False)

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        return [decade(value) for value in values]


def key(colour: tuple[int, int, int], mark: str, text: str) -> str:
    """One entry of a legend written as coloured text (a legend box would hide the curves)."""
    return f"<span style='color:{pg.mkColor(colour).name()}'>{mark} {text}</span>"


def cursor_time(stream: Stream) -> float:
    """Where the time cursor is on the input-time axis: between the last revealed step and the next."""
    edge = stream.revealed if stream.direction == "forward" else stream.hidden.shape[0] - stream.revealed
    return edge - 0.5


def prepare_time_plot(plot: pg.PlotItem) -> None:
    """A plot of curves over time: peak-downsampled, clipped to view, left axis of the shared width."""
    plot.setDownsampling(auto=True, mode="peak")
    plot.setClipToView(True)
    plot.setMenuEnabled(False)
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)


class JacobianCurves:
    """ρ and σmax (with the line at 1) on ``norms``, the gradient flow on ``flow`` (its left axis made
    logarithmic), each with a cursor line; :meth:`show` draws a stream's revealed part."""

    def __init__(self, norms: pg.PlotItem, flow: pg.PlotItem) -> None:
        self.norms, self.flow = norms, flow
        label = flow.getAxis("left").labelText
        flow.setAxisItems({"left": DecadeAxis()})  # the curve is log10 already: only the ticks are powers of 10
        flow.setLabel("left", label)
        flow.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
        self.radius = norms.plot(pen=pg.mkPen(RADIUS_COLOUR, width=1), connect="finite", **CURVE)
        self.sigma = norms.plot(pen=pg.mkPen(SIGMA_COLOUR, width=1, style=Qt.PenStyle.DashLine),
                                connect="finite", **CURVE)
        self.gradient = flow.plot(pen=pg.mkPen(FLOW_COLOUR, width=1), connect="finite", **CURVE)
        norms.addItem(pg.InfiniteLine(1.0, angle=0, pen=UNIT_PEN), ignoreBounds=True)
        # ignoreBounds: a moving cursor must not make the view box recompute its range every frame
        self.cursors = [pg.InfiniteLine(-0.5, angle=90, pen=CURSOR_PEN) for _ in range(2)]
        for plot, cursor in zip((norms, flow), self.cursors):
            plot.addItem(cursor, ignoreBounds=True)
        for plot in (norms, flow):
            plot.enableAutoRange(y=False)

    def show(self, stream: Stream, series: dict[str, np.ndarray]) -> None:
        """Draw the revealed part of ``series`` (processing order, NaN where not computed yet) on the
        input-time axis; the y ranges hold the whole run's values, so they do not jump as it plays."""
        for curve, name in zip((self.radius, self.sigma, self.gradient), SERIES):
            if name in series:
                t, values = in_time(stream, series[name])
                if name == "gradient_log10":  # a flow of exactly 0 (log -inf) is not drawn
                    values = np.where(np.isfinite(values), values, np.nan)
                curve.setData(t, values)
            else:
                curve.setData([], [])
        radius, sigma = series.get("spectral_radius"), series.get("sigma_max")
        top = max((float(np.nanmax(s)) for s in (radius, sigma) if s is not None and np.isfinite(s).any()),
                  default=1.0)
        self.norms.setYRange(0, max(1.1, 1.05 * top), padding=0)
        flow = series.get("gradient_log10")
        finite = flow[np.isfinite(flow)] if flow is not None else np.empty(0)
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
        self.flow.setYRange(low - 0.5, high + 0.5, padding=0)  # half a decade beyond either end
        self.move_cursor(cursor_time(stream))

    def move_cursor(self, t: float) -> None:
        for cursor in self.cursors:
            if cursor.value() != t:
                cursor.setValue(t)
