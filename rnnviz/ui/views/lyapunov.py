"""Lyapunov exponents: the spectrum (exponent against index, per step, natural log) of the chosen
layer-direction with its largest exponent written large and the verdict, and the running estimate
of each exponent over the steps played so far, converging as the run plays.

λ_max > 0: nearby trajectories separate (chaotic); < 0: they merge (stable); near 0: the edge of chaos,
where a network keeps information longest.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel

from rnnviz.ui.analysis_results import StreamResults
from rnnviz.ui.run_data import RunData, Stream
from rnnviz.ui.state import AppState
from rnnviz.ui.views.analysis_common import TEXT_COLOUR, AnalysisView, plot_widget
from rnnviz.ui.views.lines import CURVE

ZERO_PEN = pg.mkPen((90, 90, 90), width=1, style=Qt.PenStyle.DashLine)
VERDICT_COLOURS = {"chaotic": "#b00020", "stable": "#1f5fa0", "edge of chaos": "#2c8a2c"}
EXPONENT_MAP = "plasma"
EDGE_TOLERANCE = 0.01  # |λ_max| per step below this reads as the edge of chaos


def verdict(lambda_max: float) -> str:
    """The word the headline gives a largest exponent (per step)."""
    if lambda_max > EDGE_TOLERANCE:
        return "chaotic"
    return "stable" if lambda_max < -EDGE_TOLERANCE else "edge of chaos"


def exponent_colours(count: int) -> list[tuple[int, int, int]]:
    """One colour per exponent, dark (λ_1, the largest) to light: ten exponents in a palette of eight
    repeated colours, so λ_9 and λ_1 could not be told apart."""
    table = pg.colormap.get(EXPONENT_MAP).getLookupTable(0.0, 0.85, max(count, 2))
    return [tuple(int(v) for v in row[:3]) for row in table[:count]]


def _shown(results: StreamResults | None, count: int) -> int:
    """How many points of the running estimate were made within the first ``count`` steps."""
    if results is None or results.lyapunov is None:
        return 0
    return int(np.searchsorted(results.lyapunov_steps, count, side="right"))


def _estimate(results: StreamResults | None, count: int) -> np.ndarray | None:
    """The spectrum as estimated after ``count`` steps (None before any estimate, during the burn-in)."""
    shown = _shown(results, count)
    return results.lyapunov[shown - 1] if shown else None


class LyapunovView(AnalysisView):
    name = "lyapunov"
    title = "Lyapunov"
    area = "centre"

    def __init__(self, state: AppState) -> None:
        super().__init__(state)
        self.headline = QLabel()
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.headline.setStyleSheet(f"color: {TEXT_COLOUR}; background: white; padding: 6px")
        self.others = QLabel()
        self.others.setWordWrap(True)
        self.others.setStyleSheet(f"color: {TEXT_COLOUR}; background: white; padding: 2px 6px; font-size: 8pt")
        self.spectrum_plot = plot_widget("Lyapunov spectrum (so far)", "index i", "exponent λ_i (per step)")
        self.spectrum_plot.addItem(pg.InfiniteLine(0.0, angle=0, pen=ZERO_PEN))
        self.spectrum = self.spectrum_plot.plot(pen=pg.mkPen((150, 150, 150), width=1), symbol="o", symbolSize=8,
                                                symbolPen=None)
        self.running_plot = plot_widget("running estimate of each exponent (colours as in the spectrum)",
                                        "steps processed", "estimate of λ_i", curves=True)
        for plot in (self.spectrum_plot, self.running_plot):  # exponents read as -0.22, not -220 (x0.001)
            plot.getAxis("left").enableAutoSIPrefix(False)
        self.running_plot.addItem(pg.InfiniteLine(0.0, angle=0, pen=ZERO_PEN))
        self.curves: list[pg.PlotDataItem] = []
        layout = QGridLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.headline, 0, 0, 1, 2)
        layout.addWidget(self.spectrum_plot, 1, 0)
        layout.addWidget(self.running_plot, 1, 1)
        layout.addWidget(self.others, 2, 0, 1, 2)
        layout.setColumnStretch(0, 2)
        layout.setColumnStretch(1, 3)
        layout.setRowStretch(1, 1)

    def new_run(self, run: RunData) -> None:
        self.running_plot.setXRange(0, max(run.timesteps - 1, 1), padding=0.01)

    def draw(self, stream: Stream, results: StreamResults | None) -> None:
        estimate = _estimate(results, stream.revealed)
        self._draw_running(stream, results)
        if estimate is None:
            self.spectrum.setData([], [])
            waiting = "not played yet" if not stream.revealed else "computing…"
            self.headline.setText(f"<span style='font-size:16pt'>λ<sub>max</sub> = …</span>&nbsp;&nbsp; {waiting}")
        else:
            self.spectrum.setData(np.arange(1, estimate.size + 1), estimate,
                                  symbolBrush=[pg.mkBrush(colour) for colour in exponent_colours(estimate.size)])
            lam = float(estimate[0])
            word = verdict(lam)
            final = "" if stream.revealed < stream.hidden.shape[0] else " (whole run)"
            self.headline.setText(
                f"<span style='font-size:20pt'>λ<sub>max</sub> = {lam:+.4f}</span>&nbsp;&nbsp;"
                f"<span style='font-size:16pt; color:{VERDICT_COLOURS[word]}'><b>{word}</b></span>"
                f"&nbsp;&nbsp;<span style='font-size:9pt'>{stream.title}, after {stream.revealed} steps{final}"
                f"; per step, natural log</span>")
        self.others.setText(self._summary())

    def _draw_running(self, stream: Stream, results: StreamResults | None) -> None:
        running = results.lyapunov if results is not None else None
        count = 0 if running is None else running.shape[1]
        shown = _shown(results, stream.revealed)
        if len(self.curves) != count:  # one curve per exponent, coloured as its dot in the spectrum
            for curve in self.curves:
                self.running_plot.removeItem(curve)
            self.curves = [self.running_plot.plot(pen=pg.mkPen(colour, width=1), **CURVE)
                           for colour in exponent_colours(count)]
        for index, curve in enumerate(self.curves):
            curve.setData(results.lyapunov_steps[:shown], running[:shown, index])

    def _summary(self) -> str:
        """λ_max of every layer-direction, as far as each has played (with eight streams, this line
        says what eight plots would)."""
        run = self.state.run
        parts = []
        for key in self.keys:
            stream = run.stream(*key)
            estimate = _estimate(self.analysis.results.get(key), stream.revealed)
            if estimate is not None:
                lam = float(estimate[0])
                parts.append(f"L{key[0] + 1} {key[1]}: λ<sub>max</sub> {lam:+.3f} "
                             f"<span style='color:{VERDICT_COLOURS[verdict(lam)]}'>{verdict(lam)}</span>")
        return "every layer-direction: " + " · ".join(parts) if parts else ""
