"""The centre of the app: one heatmap per layer and direction, time on x, units on y.

Colours follow pyqtgraph's MatrixDisplayExample: row-major images, levels fixed at tanh's range
-1…1, the diverging ``CET-D1`` map and one colour bar. Saturation is marked in the colour map itself:
values with ``|h| >= threshold`` leave the blue–white–red scale for vivid yellow (positive) and cyan
(negative), so saturated cells stand out without any extra drawing and the colour bar shows where
the threshold lies.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QScrollArea, QToolTip, QWidget

from rnnviz.ui.run_data import RunData, Stream

PLOT_HEIGHT = 150
SATURATED_POSITIVE = (255, 214, 0)
SATURATED_NEGATIVE = (0, 229, 255)


def state_colormap(threshold: float | None) -> pg.ColorMap:
    """CET-D1 over -1…1; with a threshold, the bands beyond ±threshold take the saturation colours."""
    base = pg.colormap.get("CET-D1")
    if threshold is None or threshold >= 1:
        return base
    inner = np.linspace(-threshold, threshold, 129)
    colors = base.map((inner + 1) / 2, mode="byte")
    edge = 1e-4
    positions = np.concatenate([[-1, -threshold - edge], inner, [threshold + edge, 1]])
    neg, pos = (*SATURATED_NEGATIVE, 255), (*SATURATED_POSITIVE, 255)
    colors = np.concatenate([[neg, neg], colors, [pos, pos]]).astype(np.ubyte)
    return pg.ColorMap((positions + 1) / 2, colors)


class _StreamPlot:
    """The plot, image and cursor of one stream, and how much of it is drawn."""

    def __init__(self, plot: pg.PlotItem, stream: Stream, steps: int) -> None:
        self.plot = plot
        self.stream = stream
        self.image = pg.ImageItem(axisOrder="row-major", autoDownsample=True)
        self.image.setImage(np.full((stream.units, steps), np.nan, np.float32), autoLevels=False, levels=(-1, 1))
        self.image.setRect(-0.5, -0.5, steps, stream.units)  # cell (t, unit) centred on its integer ticks
        plot.addItem(self.image)
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((30, 30, 30), width=2))
        plot.addItem(self.cursor)
        self.buffer = np.full((stream.units, steps), np.nan, np.float32)
        self.version = -1

    def refresh(self) -> bool:
        """Show the revealed columns of the stream, if they changed; returns whether they did."""
        stream = self.stream
        if stream.version == self.version:
            return False
        self.version = stream.version
        steps = self.buffer.shape[1]
        self.buffer[:] = np.nan
        rows = stream.revealed_slice()
        self.buffer[:, rows] = stream.hidden[rows].T
        self.image.setImage(self.buffer, autoLevels=False, levels=(-1, 1))
        edge = stream.revealed if stream.direction == "forward" else steps - stream.revealed
        self.cursor.setPos(edge - 0.5)
        return True


class HeatmapView(QWidget):
    """Heatmaps of every stream, stacked and scrollable, beside one colour bar that stays in view."""

    hovered = Signal(str)
    unit_clicked = Signal(int, str, int)  # layer (0-based), direction, unit

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.graphics)
        self.threshold: float | None = 0.95
        self.colorbar = pg.ColorBarItem(values=(-1, 1), colorMap=state_colormap(self.threshold), interactive=False,
                                        label="hidden state h", width=18, colorMapMenu=False)
        bar_view = pg.GraphicsLayoutWidget()
        bar_view.setBackground("w")
        bar_view.setFixedWidth(90)
        bar_view.addItem(self.colorbar)
        self.bar_view = bar_view
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(bar_view)
        self.plots: list[_StreamPlot] = []
        self.run: RunData | None = None
        self.graphics.scene().sigMouseMoved.connect(self._on_move)
        self.graphics.scene().sigMouseClicked.connect(self._on_click)

    def show_run(self, run: RunData) -> None:
        """Rebuild the plots for a new run (new shapes); contents follow with :meth:`refresh`."""
        self.run = run
        self.graphics.clear()
        self.plots = []
        steps = run.timesteps
        first = None
        for row, stream in enumerate(run.streams):
            plot = self.graphics.addPlot(row=row, col=0)
            plot.setTitle(stream.title, size="10pt", color="#202020")
            plot.setLabel("bottom", "time step t")
            plot.setLabel("left", "unit")
            plot.invertY(True)
            plot.setMouseEnabled(x=True, y=False)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.getViewBox().setLimits(xMin=-0.5, xMax=steps - 0.5, yMin=-0.5, yMax=stream.units - 0.5)
            plot.getViewBox().setRange(xRange=(-0.5, steps - 0.5), yRange=(-0.5, stream.units - 0.5), padding=0)
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            self.plots.append(_StreamPlot(plot, stream, steps))
        self.colorbar.setImageItem([p.image for p in self.plots])
        self.graphics.setMinimumHeight(PLOT_HEIGHT * len(self.plots))
        self.refresh()

    def set_threshold(self, threshold: float | None) -> None:
        """Mark ``|h| >= threshold`` (None: no marking)."""
        self.threshold = threshold
        self.colorbar.setColorMap(state_colormap(threshold))

    def refresh(self) -> int:
        """Redraw the streams whose contents changed; returns how many were redrawn."""
        return sum(p.refresh() for p in self.plots)

    def image_data(self, layer: int, direction: str) -> np.ndarray:
        """What the heatmap of a stream currently shows, (units, T) with NaN where hidden."""
        return next(p.buffer for p in self.plots if p.stream.layer == layer and p.stream.direction == direction)

    def _hit(self, pos: QPointF) -> tuple[_StreamPlot, int, int] | None:
        for p in self.plots:
            box = p.plot.getViewBox()
            if box.sceneBoundingRect().contains(pos):
                point = box.mapSceneToView(pos)
                t, unit = int(np.floor(point.x() + 0.5)), int(np.floor(point.y() + 0.5))
                if 0 <= t < p.buffer.shape[1] and 0 <= unit < p.buffer.shape[0]:
                    return p, t, unit
        return None

    def _on_move(self, pos: QPointF) -> None:
        hit = self._hit(pos)
        if hit is None:
            return
        p, t, unit = hit
        value = p.buffer[unit, t]
        shown = "not computed yet" if np.isnan(value) else f"h = {value:+.6f}"
        text = f"Layer {p.stream.layer + 1} · {p.stream.direction} · t = {t} · unit {unit} · {shown}"
        self.hovered.emit(text)
        view = self.graphics.mapFromScene(pos)
        QToolTip.showText(self.graphics.mapToGlobal(view), text, self.graphics)

    def _on_click(self, event) -> None:  # pyqtgraph's MouseClickEvent
        if event.button() != Qt.MouseButton.LeftButton:
            return
        hit = self._hit(event.scenePos())
        if hit is not None:
            p, _, unit = hit
            self.unit_clicked.emit(p.stream.layer, p.stream.direction, unit)
