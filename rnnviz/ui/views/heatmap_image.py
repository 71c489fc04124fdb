"""One heatmap's image: a stream's quantity (h, a gate, c), time across, units down.

Each heatmap colours its own RGBA image through its scale's lookup table, one changed column at a
time, so a frame costs what changed rather than a full image render.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QTransform

from rnnviz.ui.run_data import Stream
from rnnviz.ui.views.scales import LUT_SIZE, cell_range, scale_for

MAX_COLUMNS = 1200  # beyond this many time steps (or MAX_ROWS units) a heatmap shows groups of cells
MAX_ROWS = 400
CURSOR_PEN = QPen(QColor(30, 30, 30), 2)
CURSOR_PEN.setCosmetic(True)  # two screen pixels wide at any zoom


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


class StreamImage:
    """The image of one stream's quantity, with its cursor, added to ``plot``.

    The image is the quantity's values, downsampled by largest magnitude to at most MAX_COLUMNS ×
    MAX_ROWS cells, so that a long or wide stream stays cheap to draw; each frame only recomputes the
    columns whose revealed time steps changed. For c the scale's range grows with the largest |c|
    revealed (never shrinking until the next run), which recolours the whole image.
    """

    def __init__(self, plot: pg.PlotItem, stream: Stream, steps: int, quantity: str, threshold: float | None) -> None:
        self.plot = plot
        self.steps = steps
        self.fx = -(-steps // MAX_COLUMNS)
        self.fy = -(-stream.units // MAX_ROWS)
        self.buffer = np.full((-(-stream.units // self.fy), -(-steps // self.fx)), np.nan, np.float32)
        self.threshold = threshold
        self.stream = stream
        self.quantity = quantity
        self.scale = scale_for(quantity)
        self.lut = self.scale.lut(threshold)
        self.rgba = np.ascontiguousarray(self.scale.colour(self.buffer, self.lut))
        # cell (t, unit) centred on its integer ticks
        self.image = ColumnImage(self.rgba, QRectF(-0.5, -0.5, steps, stream.units))
        plot.addItem(self.image)
        self.image.cursor = self._column(0 if stream.direction == "forward" else steps)
        self.shown = 0  # revealed steps drawn into the buffer

    def rebind(self, stream: Stream, quantity: str) -> None:
        """Show another stream of the same shape (a new run of the same stack), or another quantity:
        start blank, and draw what is revealed at the next :meth:`refresh`."""
        self.stream = stream
        self.quantity = quantity
        self.scale = scale_for(quantity)
        self.lut = self.scale.lut(self.threshold)
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
            block[visible.start - t0:visible.stop - t0] = stream.values(self.quantity)[visible]
        reduced = maxabs_reduce(maxabs_reduce(block, self.fx, 0), self.fy, 1)
        self.buffer[:, columns.start:columns.stop] = reduced.T
        if not self._grow_cell_range(reduced):
            self.rgba[:, columns.start:columns.stop] = self.scale.colour(reduced.T, self.lut)
            self.image.columns_changed(columns.start, columns.stop)
        self.shown = stream.revealed
        edge = stream.revealed if stream.direction == "forward" else self.steps - stream.revealed
        self.image.set_cursor(self._column(edge))
        return True

    def _grow_cell_range(self, values: np.ndarray) -> bool:
        """Widen a c scale to hold ``values``; returns whether it did (and recoloured everything)."""
        if self.quantity != "c" or not values.size:
            return False
        largest = float(np.nanmax(np.abs(values), initial=0.0))
        if largest <= self.scale.high:
            return False
        self.scale = scale_for("c", cell_range(largest))
        self.set_threshold(self.threshold)
        return True

    def set_threshold(self, threshold: float | None) -> None:
        """Recolour with ``threshold``'s saturation marks (None: none)."""
        self.threshold = threshold
        self.lut = self.scale.lut(threshold)
        self.rgba[:] = self.scale.colour(self.buffer, self.lut)
        self.image.update()

    def _column(self, edge: int) -> float:
        """Where the boundary before time step ``edge`` lies, in image columns."""
        return edge * self.rgba.shape[1] / self.steps

    @property
    def cursor_t(self) -> float:
        """The cursor's position on the time axis: between the last revealed step and the next."""
        return self.image.cursor * self.steps / self.rgba.shape[1] - 0.5

    def value(self, t: int, unit: int) -> float:
        """The shown quantity at (t, unit) if it is revealed, else NaN."""
        rows = self.stream.revealed_slice()
        values = self.stream.values(self.quantity)
        return float(values[t, unit]) if rows.start <= t < rows.stop else float("nan")
