"""Saturation over time, per stream: the fraction of saturated units and the mean tanh gain 1 - h²."""

from __future__ import annotations

import functools
from typing import Callable

import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout

from rnnviz.ui.run_data import RunData, Stream
from rnnviz.ui.state import AppState
from rnnviz.ui.views.base import View
from rnnviz.ui.views.lines import CURVE, MARKED_STEPS, revealed

_PALETTE = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207),
            (140, 86, 75), (227, 119, 194)]
_PARTS = ("fraction", "gain")
TEXT_COLOUR = "#202020"


class SaturationView(View):
    """Two plots side by side with one key below; each plot is a pane of its own for the frame timer."""

    name = "saturation"
    title = "Saturation"
    area = "bottom"

    def __init__(self, state: AppState) -> None:
        super().__init__(state)
        self.fraction = pg.PlotWidget(background="w")
        self.gain = pg.PlotWidget(background="w")
        for plot, title in ((self.fraction, "fraction saturated"), (self.gain, "mean tanh gain 1−h²")):
            plot.setTitle(title, size="9pt", color=TEXT_COLOUR)  # pyqtgraph's default grey is faint on white
        plots = QHBoxLayout()
        plots.setContentsMargins(0, 0, 0, 0)
        for plot in (self.fraction, self.gain):
            plot.setLabel("bottom", "time step t")
            plot.setYRange(0, 1.02)
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            plots.addWidget(plot)
        self.fraction.setXLink(self.gain)
        # the key is a wrapping label under both plots: a legend inside a plot would hide the curves
        # that matter most (saturated ones run along the top), and one beside it is clipped when narrow
        self.key = QLabel()
        self.key.setWordWrap(True)
        self.key.setStyleSheet("background: white; padding: 1px 6px; font-size: 8pt")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(plots, 1)
        layout.addWidget(self.key)
        self.lines: list[tuple[Stream, pg.PlotDataItem, pg.PlotDataItem]] = []
        self.versions: list[list[int]] = []  # per line: the stream version drawn in each plot

    def show_run(self, run: RunData) -> None:
        """Plot a new run's streams; the curves are reused when the stack's shape did not change."""
        shown = run.shown_streams
        if [(s.title, s.hidden.shape) for s, _, _ in self.lines] == [(s.title, s.hidden.shape) for s in shown]:
            self.lines = [(stream, fraction, gain) for stream, (_, fraction, gain) in zip(shown, self.lines)]
            self.versions = [[-1, -1] for _ in self.lines]
            self.redraw()
            return
        for plot in (self.fraction, self.gain):
            plot.clear()
        self.lines = []
        keys = []
        for i, stream in enumerate(shown):
            color = _PALETTE[i % len(_PALETTE)]
            forward = stream.direction == "forward"
            style = pg.QtCore.Qt.PenStyle.SolidLine if forward else pg.QtCore.Qt.PenStyle.DashLine
            pen = pg.mkPen(color, width=1, style=style)
            marks = {"symbol": "o", "symbolSize": 5, "symbolBrush": color, "symbolPen": None} \
                if run.timesteps <= MARKED_STEPS else {}
            self.lines.append((stream, self.fraction.plot(pen=pen, **marks, **CURVE),
                               self.gain.plot(pen=pen, **marks, **CURVE)))
            keys.append(f"<span style='color:{pg.mkColor(color).name()}; white-space:nowrap'>"
                        f"{'━━' if forward else '╍╍'} L{stream.layer + 1} {stream.direction}</span>")
        more = f"&nbsp;&nbsp; (colours repeat every {len(_PALETTE)})" if len(keys) > len(_PALETTE) else ""
        self.key.setText("&nbsp;&nbsp; ".join(keys[:len(_PALETTE)]) + more)
        self.versions = [[-1, -1] for _ in self.lines]
        self.fraction.setXRange(0, max(run.timesteps - 1, 1))
        self.redraw()

    def panes(self) -> list[Callable[[], object]]:
        return [functools.partial(self.redraw, part) for part in _PARTS]

    def redraw(self, part: str | None = None) -> bool:
        """Redraw the lines of streams that changed: both plots, or only ``fraction`` or ``gain``."""
        changed = False
        for i, (stream, fraction, gain) in enumerate(self.lines):
            for index, (name, curve, values) in enumerate((("fraction", fraction, stream.saturated),
                                                           ("gain", gain, stream.gain))):
                if part in (None, name) and self.versions[i][index] != stream.version:
                    curve.setData(*revealed(stream, values))
                    self.versions[i][index] = stream.version
                    changed = True
        return changed
