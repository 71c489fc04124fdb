"""The panels below the heatmaps: one unit's trace over time, and saturation over time."""

from __future__ import annotations

import functools

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from rnnviz.ui.run_data import RunData, Stream

MARKED_STEPS = 60  # shorter series get a dot per timestep, so a single step is visible
# Lines are one pixel wide except the followed unit's h: Qt strokes wider pens through a general
# path stroker, about seven times slower, and eight such curves cost a frame.
# Curves keep the largest and smallest sample per pixel column (peak downsampling) and no more:
# pyqtgraph's default of five per pixel made the saturation plots cost a frame to draw.
_CURVE = {"autoDownsampleFactor": 1.0}
_H_COLOUR = (20, 20, 20)
_GATE_COLOURS = {"z": (214, 39, 40), "r": (44, 160, 44)}
_PALETTE = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207),
            (140, 86, 75), (227, 119, 194)]


@functools.lru_cache(maxsize=4)
def _times(steps: int) -> np.ndarray:
    """0 … steps-1 as float32, shared by every curve of a run (read-only)."""
    times = np.arange(steps, dtype=np.float32)
    times.flags.writeable = False
    return times


def _revealed(stream: Stream, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y of the revealed part of a per-timestep series."""
    rows = stream.revealed_slice()
    return _times(values.shape[0])[rows], values[rows]


class UnitTracePlot(pg.PlotWidget):
    """h of the clicked unit over time; for a GRU also its update gate z and reset gate r."""

    def __init__(self) -> None:
        super().__init__(background="w")
        self.setLabel("bottom", "time step t")
        self.setYRange(-1.05, 1.05)
        self.setDownsampling(auto=True, mode="peak")
        self.setClipToView(True)
        self.setTitle("Click a heatmap row to follow a unit", size="9pt", color="#202020")
        self.selection: tuple[Stream, int] | None = None
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.version = -1

    def select(self, stream: Stream, unit: int) -> None:
        """Follow ``unit`` of ``stream``; the curves are reused when only the run changed."""
        previous = self.selection
        self.selection = (stream, unit)
        self.version = -1
        if previous is not None and (previous[0].title, previous[1]) == (stream.title, unit) \
                and previous[0].hidden.shape == stream.hidden.shape:
            self.refresh()
            return
        self.clear()
        marks = {"symbol": "o", "symbolSize": 4, "symbolBrush": _H_COLOUR} \
            if stream.hidden.shape[0] <= MARKED_STEPS else {}
        self.curves = {"h": self.plot(pen=pg.mkPen(_H_COLOUR, width=2), **marks, **_CURVE)}
        keys = []
        for gate, colour in _GATE_COLOURS.items():
            if gate in stream.gates:
                pen = pg.mkPen(colour, width=1, style=pg.QtCore.Qt.PenStyle.DashLine)
                self.curves[gate] = self.plot(pen=pen, **_CURVE)
                keys.append(f"<span style='color:{pg.mkColor(colour).name()}'>╌ {gate} gate</span>")
        # the key goes under the title: the plot is narrow, and the curves fill all of it (saturated
        # ones run along ±1, where a legend would sit)
        key = "<br>" + "&nbsp;&nbsp;".join([f"<span style='color:{pg.mkColor(_H_COLOUR).name()}'>━ h</span>", *keys]) \
            if keys else ""
        title = f"L{stream.layer + 1} {stream.layer_type} {stream.direction} · unit {unit}"
        self.setTitle(title + key, size="8pt", color="#202020")
        self.setXRange(0, max(stream.hidden.shape[0] - 1, 1))
        self.version = -1
        self.refresh()

    def refresh(self) -> None:
        if self.selection is None:
            return
        stream, unit = self.selection
        if stream.version == self.version:
            return
        self.version = stream.version
        self.curves["h"].setData(*_revealed(stream, stream.hidden[:, unit]))
        for gate in ("z", "r"):
            if gate in self.curves:
                self.curves[gate].setData(*_revealed(stream, stream.gates[gate][:, unit]))


class SaturationPlots(QWidget):
    """Per stream, over time: the fraction of saturated units and the mean tanh gain 1 - h²."""

    def __init__(self) -> None:
        super().__init__()
        self.fraction = pg.PlotWidget(background="w", title="fraction saturated")
        self.gain = pg.PlotWidget(background="w", title="mean tanh gain 1−h²")
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
            self.refresh()
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
            self.lines.append((stream, self.fraction.plot(pen=pen, **marks, **_CURVE),
                               self.gain.plot(pen=pen, **marks, **_CURVE)))
            keys.append(f"<span style='color:{pg.mkColor(color).name()}; white-space:nowrap'>"
                        f"{'━━' if forward else '╍╍'} L{stream.layer + 1} {stream.direction}</span>")
        more = f"&nbsp;&nbsp; (colours repeat every {len(_PALETTE)})" if len(keys) > len(_PALETTE) else ""
        self.key.setText("&nbsp;&nbsp; ".join(keys[:len(_PALETTE)]) + more)
        self.versions = [[-1, -1] for _ in self.lines]
        self.fraction.setXRange(0, max(run.timesteps - 1, 1))
        self.refresh()

    def refresh(self, part: str | None = None) -> None:
        """Redraw the lines of streams that changed: both plots, or only ``fraction`` or ``gain``."""
        for i, (stream, fraction, gain) in enumerate(self.lines):
            if part in (None, "fraction") and self.versions[i][0] != stream.version:
                fraction.setData(*_revealed(stream, stream.saturated))
                self.versions[i][0] = stream.version
            if part in (None, "gain") and self.versions[i][1] != stream.version:
                gain.setData(*_revealed(stream, stream.gain))
                self.versions[i][1] = stream.version
