"""The centre of the app: one heatmap per layer and direction, time on x, units on y.

Colours follow pyqtgraph's MatrixDisplayExample: row-major images, levels fixed at tanh's range
-1…1, the diverging ``CET-D1`` map and one colour bar. Saturation is marked in the colour map itself:
values with ``|h| >= threshold`` leave the blue–white–red scale for vivid yellow (positive) and cyan
(negative), so saturated cells stand out without any extra drawing and the colour bar shows where
the threshold lies.

Each heatmap colours its own RGBA image through the colour map's lookup table, one changed column at
a time, so a frame costs what changed rather than a full image render.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap, QTransform
from PySide6.QtWidgets import QHBoxLayout, QScrollArea, QToolTip, QWidget

from rnnviz.ui.run_data import RunData, Stream

PLOT_HEIGHT = 150
MAX_COLUMNS = 1200  # beyond this many time steps (or MAX_ROWS units) a heatmap shows groups of cells
MAX_ROWS = 400
LUT_SIZE = 512
SATURATED_POSITIVE = (255, 214, 0)
SATURATED_NEGATIVE = (0, 229, 255)
CURSOR_PEN = QPen(QColor(30, 30, 30), 2)
CURSOR_PEN.setCosmetic(True)  # two screen pixels wide at any zoom


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


def state_lut(threshold: float | None) -> np.ndarray:
    """RGBA colours of -1…1 in LUT_SIZE steps, then one transparent entry for NaN (not revealed)."""
    lut = state_colormap(threshold).getLookupTable(0.0, 1.0, LUT_SIZE, alpha=True)
    return np.concatenate([lut, np.zeros((1, 4), np.ubyte)])


def colour(values: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Map states in -1…1 (NaN: not revealed) to RGBA through ``lut``."""
    index = np.rint((np.clip(values, -1, 1) + 1) * ((LUT_SIZE - 1) / 2))
    index[np.isnan(values)] = LUT_SIZE
    return lut[index.astype(np.intp)]


def maxabs_reduce(values: np.ndarray, factor: int, axis: int) -> np.ndarray:
    """Reduce groups of ``factor`` entries along ``axis`` to the entry of largest magnitude (sign kept).

    Unlike a mean, this keeps a saturated state visible however far a long run is zoomed out.
    """
    if factor == 1:
        return values
    values = np.moveaxis(values, axis, 0)
    groups = -(-values.shape[0] // factor)
    padded = np.zeros((groups * factor, *values.shape[1:]), values.dtype)
    padded[:values.shape[0]] = values
    grouped = padded.reshape(groups, factor, *values.shape[1:])
    pick = np.abs(grouped).argmax(axis=1)[:, None]
    return np.moveaxis(np.take_along_axis(grouped, pick, axis=1)[:, 0], 0, axis)


class ColumnImage(pg.GraphicsObject):
    """An RGBA image drawn straight from a numpy array, with a cursor line, that repaints only the
    columns that changed.

    pyqtgraph's ImageItem re-renders and repaints the whole image on every ``setImage``; a heatmap that
    fills in a few columns per frame would pay for all of them. Here the QImage shares the array's
    memory: edit ``rgba`` in place, then call :meth:`columns_changed`. The cursor is drawn by the
    image itself (a separate line item spans the plot, so moving it repainted the axes too).

    ``rgba`` is (rows, columns, 4) uint8 whose alpha is 0 or 255, so it is valid premultiplied RGBA
    (Qt's fastest format to draw). The item spans ``rect`` in its parent's (data) coordinates.
    """

    def __init__(self, rgba: np.ndarray, rect: QRectF) -> None:
        super().__init__()
        self.rgba = rgba
        rows, columns = rgba.shape[:2]
        self.qimage = QImage(rgba.data, columns, rows, rgba.strides[0], QImage.Format.Format_RGBA8888_Premultiplied)
        self.setTransform(QTransform.fromScale(rect.width() / columns, rect.height() / rows))
        self.setPos(rect.topLeft())
        self.cursor = 0.0  # in columns; fractional where columns are groups of time steps

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return QRectF(0, 0, self.qimage.width(), self.qimage.height())

    def paint(self, painter: QPainter, *args) -> None:
        painter.drawImage(self.boundingRect(), self.qimage)
        painter.setPen(CURSOR_PEN)
        painter.drawLine(QPointF(self.cursor, 0), QPointF(self.cursor, self.qimage.height()))

    def columns_changed(self, first: float, stop: float) -> None:
        """Repaint columns ``first … stop`` (all of them: :meth:`update`)."""
        self.update(QRectF(first, 0, stop - first, self.qimage.height()))

    def set_cursor(self, column: float) -> None:
        """Move the cursor line to ``column``, repainting where it was and where it goes."""
        old, self.cursor = self.cursor, column
        margin = CURSOR_PEN.widthF() * (self.pixelWidth() or 1.0)  # the pen's width, in columns
        self.columns_changed(min(old, column) - margin, max(old, column) + margin)


class _StreamPlot:
    """The plot, image and cursor of one stream.

    The image is the stream's states, downsampled by largest magnitude to at most MAX_COLUMNS × MAX_ROWS
    cells, so that a long or wide stream stays cheap to draw; each frame only recomputes the columns
    whose revealed time steps changed.
    """

    def __init__(self, plot: pg.PlotItem, stream: Stream, steps: int, lut: np.ndarray) -> None:
        self.plot = plot
        self.stream = stream
        self.steps = steps
        self.lut = lut
        self.fx = -(-steps // MAX_COLUMNS)
        self.fy = -(-stream.units // MAX_ROWS)
        self.buffer = np.full((-(-stream.units // self.fy), -(-steps // self.fx)), np.nan, np.float32)
        self.rgba = np.ascontiguousarray(colour(self.buffer, lut))
        # cell (t, unit) centred on its integer ticks
        self.image = ColumnImage(self.rgba, QRectF(-0.5, -0.5, steps, stream.units))
        plot.addItem(self.image)
        self.image.cursor = self._column(0 if stream.direction == "forward" else steps)
        self.shown = 0  # revealed steps drawn into the buffer

    def rebind(self, stream: Stream) -> None:
        """Show another stream of the same shape (a new run of the same stack): start blank."""
        self.stream = stream
        self.buffer.fill(np.nan)
        self.rgba.view(np.uint32).fill(self.lut[LUT_SIZE].view(np.uint32)[0])  # one word per pixel: fast
        self.image.cursor = self._column(0 if stream.direction == "forward" else self.steps)
        self.image.update()
        self.shown = 0

    def refresh(self) -> bool:
        """Draw the columns whose revealed steps changed; returns whether any did."""
        stream = self.stream
        if stream.revealed == self.shown:
            return False
        low, high = sorted((self.shown, stream.revealed))
        if stream.direction == "forward":
            first, last = low, high  # input-time rows whose visibility changed
        else:
            first, last = self.steps - high, self.steps - low
        columns = range(first // self.fx, -(-last // self.fx))
        rows = stream.revealed_slice()
        t0, t1 = columns.start * self.fx, min(columns.stop * self.fx, self.steps)
        block = np.full((t1 - t0, stream.units), np.nan, np.float32)
        visible = slice(max(t0, rows.start), min(t1, rows.stop))
        if visible.start < visible.stop:
            block[visible.start - t0:visible.stop - t0] = stream.hidden[visible]
        reduced = maxabs_reduce(maxabs_reduce(block, self.fx, 0), self.fy, 1)
        self.buffer[:, columns.start:columns.stop] = reduced.T
        self.rgba[:, columns.start:columns.stop] = colour(reduced.T, self.lut)
        self.image.columns_changed(columns.start, columns.stop)
        self.shown = stream.revealed
        edge = stream.revealed if stream.direction == "forward" else self.steps - stream.revealed
        self.image.set_cursor(self._column(edge))
        return True

    def _column(self, edge: int) -> float:
        """Where the boundary before time step ``edge`` lies, in image columns."""
        return edge * self.rgba.shape[1] / self.steps

    @property
    def cursor_t(self) -> float:
        """The cursor's position on the time axis: between the last revealed step and the next."""
        return self.image.cursor * self.steps / self.rgba.shape[1] - 0.5

    def set_lut(self, lut: np.ndarray) -> None:
        self.lut = lut
        self.rgba[:] = colour(self.buffer, lut)
        self.image.update()

    def value(self, t: int, unit: int) -> float:
        """The state at (t, unit) if it is revealed, else NaN."""
        rows = self.stream.revealed_slice()
        return float(self.stream.hidden[t, unit]) if rows.start <= t < rows.stop else float("nan")


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
        self.lut = state_lut(self.threshold)
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
        """Set up the plots for a new run; contents follow with :meth:`refresh`. Plots are reused when
        the stack's shape did not change (a new seed, gain or input), which keeps restarts instant."""
        shown = run.shown_streams
        layout = [(s.title, s.units, run.timesteps) for s in shown]
        if self.run is not None and layout == [(p.stream.title, p.stream.units, p.steps) for p in self.plots]:
            self.run = run
            for plot, stream in zip(self.plots, shown):
                plot.rebind(stream)
            return
        self.run = run
        self.graphics.clear()
        self.plots = []
        steps = run.timesteps
        first = None
        for row, stream in enumerate(shown):
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
            self.plots.append(_StreamPlot(plot, stream, steps, self.lut))
        if len(shown) < len(run.streams):
            last = shown[-1]
            self.graphics.addLabel(
                f"Shown: the first {len(shown)} of {len(run.streams)} layer directions (up to layer {last.layer + 1}). "
                "Every state is computed: export them, or use rnnviz run.", row=len(shown), col=0, color="#202020")
        self.graphics.setMinimumHeight(PLOT_HEIGHT * len(self.plots) + 40 * (len(shown) < len(run.streams)))
        self.refresh()

    def set_threshold(self, threshold: float | None) -> None:
        """Mark ``|h| >= threshold`` (None: no marking)."""
        self.threshold = threshold
        self.lut = state_lut(threshold)
        self.colorbar.setColorMap(state_colormap(threshold))
        for plot in self.plots:
            plot.set_lut(self.lut)

    def refresh(self) -> int:
        """Redraw the streams whose contents changed; returns how many were redrawn."""
        return sum(p.refresh() for p in self.plots)

    def render_image(self) -> QPixmap:
        """Every heatmap (also those scrolled out of view) with the colour bar on the right."""
        plots = self.graphics.grab()
        bar = self.bar_view.grab(QRect(0, 0, self.bar_view.width(), min(self.bar_view.height(), plots.height())))
        image = QPixmap(plots.width() + bar.width(), plots.height())
        image.fill(Qt.GlobalColor.white)
        painter = QPainter(image)
        painter.drawPixmap(0, 0, plots)
        painter.drawPixmap(plots.width(), 0, bar)
        painter.end()
        return image

    def image_data(self, layer: int, direction: str) -> np.ndarray:
        """What the heatmap of a stream currently shows: (units, T) with NaN where not revealed, or its
        largest-magnitude downsampling for more than MAX_COLUMNS steps / MAX_ROWS units."""
        return next(p.buffer for p in self.plots if p.stream.layer == layer and p.stream.direction == direction)

    def _hit(self, pos: QPointF) -> tuple[_StreamPlot, int, int] | None:
        for p in self.plots:
            box = p.plot.getViewBox()
            if box.sceneBoundingRect().contains(pos):
                point = box.mapSceneToView(pos)
                t, unit = int(np.floor(point.x() + 0.5)), int(np.floor(point.y() + 0.5))
                if 0 <= t < p.steps and 0 <= unit < p.stream.units:
                    return p, t, unit
        return None

    def _on_move(self, pos: QPointF) -> None:
        hit = self._hit(pos)
        if hit is None:
            return
        p, t, unit = hit
        value = p.value(t, unit)
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
