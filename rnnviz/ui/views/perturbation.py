"""Perturbation: fork the run at one step with a tiny nudge (ε) of one layer-direction's state and
follow both copies (:func:`rnnviz.analysis.perturb.perturb`, in float64). Top: their distance on a log
axis, with the memory horizon (the nudge has decayed below ε/100) and the divergence time (it has
grown past 0.1) marked, and the distance in each layer above, which reads the nudged layer's
output (one colour each); below, the perturbed run's h as a difference from the original (diverging map, symmetric range).

Fork with Shift+click on a heatmap cell, or at the playback cursor with the button here; each run
starts with a fork of layer 1 at T/4, so the view always has something to show.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Slot
from PySide6.QtWidgets import QPushButton, QVBoxLayout

from rnnviz.ui.analysis_results import Fork, StreamResults
from rnnviz.ui.run_data import Stream
from rnnviz.ui.state import AppState
from rnnviz.ui.views.analysis_common import PALETTE, TEXT_COLOUR, AnalysisView, in_time
from rnnviz.ui.views.heatmap_image import maxabs_reduce
from rnnviz.ui.views.lines import CURVE

DISTANCE_COLOUR = PALETTE[0]
# The horizon and divergence are the nudged stream's, so they take its colour (told apart by their
# labels and dashes): in green and red they read as the marks of the 2nd and 3rd curves above it.
MARKS = {"fork": ((30, 30, 30), Qt.PenStyle.DashLine), "memory horizon": (DISTANCE_COLOUR, Qt.PenStyle.DashLine),
         "divergence": (DISTANCE_COLOUR, Qt.PenStyle.DotLine)}
# of the plot's height, one per mark: the fork's label at the top, the others low, clear of the legend
MARK_HEIGHTS = (0.95, 0.1, 0.2)
SHOWN_MARGIN = 0.25  # the time axis shows where the nudge lives, and this fraction of that span either side
MIN_SHOWN_STEPS = 40
# Distances below this are float64 rounding between the two runs (states are O(1)), not the nudge: a
# deep stack's layers sit at ~1e-15 for the whole run once the nudge has died out.
ROUNDING_FLOOR = 1e-12
DIFFERENCE_DELAY_MS = 40
# Cells of the difference image drawn at most; beyond, groups of steps by largest magnitude. The view
# zooms to a few dozen steps of the fork, where the heatmaps' 1200 columns showed 5000 steps as 5-step
# blocks; a million cells cost the GUI thread a few milliseconds, drawn once per fork.
DIFFERENCE_CELLS = 1_000_000


class PerturbationView(AnalysisView):
    name = "perturbation"
    title = "Perturbation"
    area = "centre"

    def __init__(self, state: AppState) -> None:
        super().__init__(state)
        self.fork_button = QPushButton("Fork at cursor")
        self.fork_button.setToolTip("Perturb the chosen layer-direction at the playback cursor "
                                    "(or Shift+click a heatmap cell)")
        self.fork_button.clicked.connect(self._fork_at_cursor)
        self.bar.insertWidget(2, self.fork_button)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.distance_plot = self.graphics.addPlot(row=0, col=0)
        self.distance_plot.setLogMode(False, True)
        self.distance_plot.getAxis("left").enableAutoSIPrefix(False)
        self.distance_plot.getAxis("bottom").enableAutoSIPrefix(False)  # steps, never "x0.001" (T = 1)
        self.distance_plot.setLabels(left="‖s′ − s‖ (s = h, or [h, c])", bottom="time step t")
        self.distance_plot.setDownsampling(auto=True, mode="peak")
        self.distance_plot.setClipToView(True)
        self.distance_plot.showGrid(x=True, y=True, alpha=0.15)
        # a backing, so that the curves of a deep stack do not run through its labels
        self.legend = self.distance_plot.addLegend(offset=(-10, 10), labelTextColor=TEXT_COLOUR,
                                                   brush=pg.mkBrush(255, 255, 255, 215))
        self.distance = self.distance_plot.plot(pen=pg.mkPen(DISTANCE_COLOUR, width=1), connect="finite", **CURVE)
        self.above: list[pg.PlotDataItem] = []  # one curve per layer-direction above the perturbed one
        # labels at three heights: the fork and the memory horizon may be a few steps apart in 5000
        self.marks = {name: pg.InfiniteLine(angle=90, pen=pg.mkPen(colour, width=1, style=style),
                                            label=name, labelOpts={"position": height, "color": colour,
                                                                   "anchors": [(0, 0.5), (0, 0.5)]})
                      for (name, (colour, style)), height in zip(MARKS.items(), MARK_HEIGHTS)}
        for mark in self.marks.values():
            self.distance_plot.addItem(mark)
        self.difference_plot = self.graphics.addPlot(row=1, col=0)
        self.difference_plot.setLabels(left="unit", bottom="time step t")
        self.difference_plot.invertY(True)
        self.difference_plot.setXLink(self.distance_plot)
        self.difference_plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.difference_plot.getAxis("left").setWidth(self.distance_plot.getAxis("left").width())
        self.image = pg.ImageItem(axisOrder="row-major")
        self.difference_plot.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(values=(-1, 1), colorMap=pg.colormap.get("CET-D1"), interactive=False,
                                          width=14, colorMapMenu=False, label="h′ − h")
        self.colour_bar.setImageItem(self.image)
        self.graphics.addItem(self.colour_bar, row=1, col=1)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)
        self.analysis.forked.connect(self._forked)
        # The difference image and the zoom are drawn a moment after the curves, so that the window paints
        # the two apart and handles input in between: drawn and painted together they kept the GUI thread
        # 35-50 ms at a stretch while the analyses ran (bench/gui_analysis.py).
        self._difference_due: tuple[Stream, Fork] | None = None
        self.difference_timer = QTimer(self, singleShot=True, interval=DIFFERENCE_DELAY_MS)
        self.difference_timer.timeout.connect(self._draw_difference_due)

    def token(self) -> object:
        """Only a new fork (or one starting) redraws this view, not the other analyses' pieces."""
        return id(self.analysis.fork), self.analysis.fork_pending

    @Slot()
    def _fork_at_cursor(self) -> None:
        stream = self.stream
        if stream is not None:
            steps = stream.hidden.shape[0]
            t = max(stream.revealed - 1, 0) if stream.direction == "forward" else min(steps - stream.revealed, steps - 1)
            self.analysis.request_fork(self.key, t)

    @Slot(object)
    def _forked(self, _fork) -> None:
        """Drawn a moment later, not inside the piece's delivery: the two together stalled the loop."""
        if self.isVisible() and not self.piece_timer.isActive():
            self.piece_timer.start()

    def redraw(self) -> bool:
        token = self.token()
        if token == self.drawn or self.state.run is None:
            return False
        self.drawn = token
        fork = self.analysis.fork
        if fork is None:
            self.distance_plot.setTitle("forking…" if self.analysis.fork_pending else "no fork yet",
                                        size="9pt", color=TEXT_COLOUR)
            self.distance.setData([], [])
            for curve in self.above:
                curve.setData([], [])
            self.image.clear()
            self._difference_due = None
            return True
        self.draw(self.state.run.stream(*fork.key), None)
        return True

    def draw(self, stream: Stream, results: StreamResults | None) -> None:
        fork: Fork = self.analysis.fork
        steps = stream.hidden.shape[0]
        t, distance = in_time(stream, fork.distance, steps)
        # a fork at the last steps leaves a point or two, which a line alone would not show
        self.distance.setData(t, np.where(distance > 0, distance, np.nan), symbol="o" if len(t) < 3 else None,
                              symbolSize=6, symbolPen=None, symbolBrush=DISTANCE_COLOUR)
        self._draw_above(fork)
        fork_t = fork.step if stream.direction == "forward" else steps - 1 - fork.step
        sign = 1 if stream.direction == "forward" else -1
        for name, after in (("fork", 0), ("memory horizon", fork.memory_horizon), ("divergence", fork.divergence_time)):
            mark = self.marks[name]
            mark.setVisible(after is not None)
            if after is not None:
                mark.setValue(fork_t + sign * after)
        horizon = "not reached" if fork.memory_horizon is None else f"{fork.memory_horizon} steps"
        divergence = "never" if fork.divergence_time is None else f"after {fork.divergence_time} steps"
        self.distance_plot.setTitle(
            f"{stream.title}: nudged by ε = {fork.epsilon:g} at t = {fork_t}; memory horizon {horizon}, "
            f"divergence {divergence}", size="9pt", color=TEXT_COLOUR)
        self._difference_due = (stream, fork)
        self.difference_timer.start()

    @Slot()
    def _draw_difference_due(self) -> None:
        if self._difference_due is None:
            return
        stream, fork = self._difference_due
        self._difference_due = None
        self._draw_difference(stream, fork)
        self._show_where_it_lives(stream.hidden.shape[0])

    def _show_where_it_lives(self, steps: int) -> None:
        """Zoom the time axis to the steps where any drawn distance is above the rounding floor (in a run
        of 5000 steps a nudge that dies within 30 was a one-pixel line, and a deep stack's layers sit at
        the floor for the whole run); else where any is above zero. The whole run is a zoom out away."""
        drawn = [curve.getOriginalDataset() for curve in (self.distance, *self.above)]
        drawn = [(t, d) for t, d in drawn if t is not None]
        times = np.concatenate([t[d >= ROUNDING_FLOOR] for t, d in drawn] or [np.zeros(0)])
        if not times.size:
            times = np.concatenate([t[np.isfinite(d)] for t, d in drawn] or [np.zeros(0)])
        if not times.size:
            self.distance_plot.setXRange(-0.5, steps - 0.5, padding=0)
            return
        first, last = float(times.min()), float(times.max())
        margin = max(SHOWN_MARGIN * (last - first), (MIN_SHOWN_STEPS - (last - first)) / 2, 0)
        self.distance_plot.setXRange(max(first - margin, -0.5), min(last + margin, steps - 0.5), padding=0)

    def _draw_above(self, fork: Fork) -> None:
        while len(self.above) < len(fork.above):
            colour = PALETTE[(len(self.above) + 1) % len(PALETTE)]
            self.above.append(self.distance_plot.plot(pen=pg.mkPen(colour, width=1), connect="finite", **CURVE))
        for index, curve in enumerate(self.above):
            if index < len(fork.above):
                above = fork.above[index]
                order = np.argsort(above.times)
                curve.setData(above.times[order].astype(np.float64),
                              np.where(above.distance[order] > 0, above.distance[order], np.nan))
            else:
                curve.setData([], [])
        self.legend.clear()
        self.legend.addItem(self.distance, f"layer {fork.key[0] + 1} {fork.key[1]} (nudged)")
        for curve, above in zip(self.above, fork.above):
            self.legend.addItem(curve, f"layer {above.layer} {above.direction}")

    def _draw_difference(self, stream: Stream, fork: Fork) -> None:
        steps = stream.hidden.shape[0]
        difference = fork.difference if stream.direction == "forward" else fork.difference[::-1]
        factor = max(1, -(-steps * stream.units // DIFFERENCE_CELLS))
        shown = maxabs_reduce(difference, factor, 0).T  # units down, time across
        extent = float(np.abs(shown).max(initial=0.0)) or 1e-12
        self.image.setImage(shown, levels=(-extent, extent))
        self.image.setRect(QRectF(-0.5, -0.5, steps, stream.units))
        self.colour_bar.setLevels((-extent, extent))
        self.difference_plot.setTitle(f"perturbed − original states, symmetric range ±{extent:.2g}",
                                      size="9pt", color=TEXT_COLOUR)

    def is_complete(self) -> bool:
        if not (super().is_complete() and self.analysis.fork is not None and not self.analysis.fork_pending):
            return False
        self._draw_difference_due()  # a screenshot asking now gets the whole view
        return True
