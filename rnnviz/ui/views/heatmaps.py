"""The centre of the app: one heatmap per layer and direction, time on x, units on y, each with its
colour bar and, for GRU and LSTM layers, a chooser of the quantity it shows (h, a gate, or c).
"""

from __future__ import annotations

import functools

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import QComboBox, QGraphicsProxyWidget, QScrollArea, QToolTip, QVBoxLayout

from rnnviz.ui.analysis_results import analysis_of
from rnnviz.ui.run_data import RunData, Stream
from rnnviz.ui.state import AppState
from rnnviz.ui.views.base import View
from rnnviz.ui.views.colour_bar import ColourBar
from rnnviz.ui.views.heatmap_image import StreamImage
from rnnviz.ui.views.scales import Scale

PLOT_HEIGHT = 160
SIDE_WIDTH = 118  # the column of choosers and colour bars beside the heatmaps
TEXT_COLOUR = "#202020"


class _Row:
    """One heatmap with its side column: the quantity chooser (GRU, LSTM) above the colour bar."""

    def __init__(self, view: HeatmapsView, row: int, stream: Stream, steps: int, first: pg.PlotItem | None) -> None:
        graphics = view.graphics
        plot = graphics.addPlot(row=2 * row, col=0, rowspan=2)
        plot.setTitle(stream.title, size="10pt", color=TEXT_COLOUR)
        plot.setLabel("bottom", "time step t")
        plot.setLabel("left", "unit")
        plot.invertY(True)
        plot.setMouseEnabled(x=True, y=False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.getViewBox().setLimits(xMin=-0.5, xMax=steps - 0.5, yMin=-0.5, yMax=stream.units - 0.5)
        plot.getViewBox().setRange(xRange=(-0.5, steps - 0.5), yRange=(-0.5, stream.units - 0.5), padding=0)
        if first is not None:
            plot.setXLink(first)
        state = view.state
        self.image = StreamImage(plot, stream, steps, view.quantity_of(stream), state.mark_threshold)
        self.chooser: QComboBox | None = None
        if stream.gates:
            self.chooser = QComboBox()
            self.chooser.addItems(stream.quantities)
            self.chooser.setToolTip("What this heatmap shows: the hidden state h or a recorded gate / cell state")
            self.chooser.setCurrentText(self.image.quantity)
            self.chooser.textActivated.connect(functools.partial(view.choose, self))
            proxy = QGraphicsProxyWidget()
            proxy.setWidget(self.chooser)
            proxy.setMaximumWidth(SIDE_WIDTH)
            graphics.addItem(proxy, row=2 * row, col=1)
        self.bar = ColourBar(SIDE_WIDTH)
        if self.chooser is None:
            graphics.addItem(self.bar, row=2 * row, col=1, rowspan=2)
        else:
            graphics.addItem(self.bar, row=2 * row + 1, col=1)
        self.shown_scale: tuple[Scale, float | None] | None = None
        self.show_scale()

    def show_scale(self) -> None:
        """Show the image's scale on the colour bar, when it changed."""
        scale, threshold = self.image.scale, self.image.threshold
        if (scale, threshold) != self.shown_scale:
            self.shown_scale = (scale, threshold)
            self.bar.show_scale(scale.label, self.image.lut, scale.low, scale.high)


class HeatmapsView(View):
    """Heatmaps of every shown stream, stacked and scrollable."""

    name = "heatmaps"
    title = "Heatmaps"
    area = "centre"
    live = True

    hovered = Signal(str)

    def __init__(self, state: AppState) -> None:
        super().__init__(state)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.graphics)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll)
        self.rows: list[_Row] = []
        self.note: pg.LabelItem | None = None  # says how many streams are shown, when not all are
        self.run: RunData | None = None
        self.graphics.scene().sigMouseMoved.connect(self._on_move)
        self.graphics.scene().sigMouseClicked.connect(self._on_click)
        state.quantity_changed.connect(self._quantity_changed)

    @property
    def plots(self) -> list[StreamImage]:
        return [row.image for row in self.rows]

    def quantity_of(self, stream: Stream) -> str:
        """The quantity chosen for ``stream``, or h where its layer does not record it."""
        chosen = self.state.quantity(stream.layer, stream.direction)
        return chosen if chosen in stream.quantities else "h"

    def show_run(self, run: RunData) -> None:
        """Set up the plots for a new run; contents follow with :meth:`redraw`. Plots are reused when
        the stack's shape did not change (a new seed, gain or input), which keeps restarts instant."""
        shown = run.shown_streams
        layout = [(s.title, s.units, run.timesteps) for s in shown]
        if self.run is not None and layout == [(p.stream.title, p.stream.units, p.steps) for p in self.plots]:
            self.run = run
            for row, stream in zip(self.rows, shown):
                row.image.rebind(stream, self.quantity_of(stream))
                row.show_scale()
            return
        self.run = run
        self.graphics.clear()
        self.rows, self.note = [], None
        first = None
        for index, stream in enumerate(shown):
            row = _Row(self, index, stream, run.timesteps, first)
            first = first or row.image.plot
            self.rows.append(row)
        if len(shown) < len(run.streams):
            last = shown[-1]
            self.note = self.graphics.addLabel(
                f"Shown: the first {len(shown)} of {len(run.streams)} layer directions (up to layer {last.layer + 1}). "
                "Every state is computed: export them, or use rnnviz run.", row=2 * len(shown), col=0, color=TEXT_COLOUR)
        self.graphics.setMinimumHeight(PLOT_HEIGHT * len(self.rows) + 40 * (len(shown) < len(run.streams)))
        self.redraw()

    def show_threshold(self, threshold: float | None) -> None:
        for row in self.rows:
            row.image.set_threshold(threshold)
            row.show_scale()

    def redraw(self) -> bool:
        changed = False
        for row in self.rows:
            if row.image.refresh():
                changed = True
                row.show_scale()
        return changed

    def choose(self, row: _Row, quantity: str) -> None:
        """The user picked ``quantity`` in a heatmap's chooser."""
        stream = row.image.stream
        self.state.set_quantity(stream.layer, stream.direction, quantity)

    def _quantity_changed(self, layer: int, direction: str, quantity: str) -> None:
        for row in self.rows:
            stream = row.image.stream
            if (stream.layer, stream.direction) == (layer, direction) and quantity in stream.quantities:
                row.image.rebind(stream, quantity)
                row.image.refresh()
                row.show_scale()
                if row.chooser is not None:
                    row.chooser.setCurrentText(quantity)

    def render_image(self) -> QPixmap:
        """Every heatmap with its colour bar, also those scrolled out of view."""
        return self.graphics.grab()

    def render_bar(self, layer: int, direction: str) -> QImage:
        """The colour bar (with its label) of a stream's heatmap, as drawn."""
        row = self._row(layer, direction)
        rect = row.bar.sceneBoundingRect()
        image = QImage(rect.size().toSize(), QImage.Format.Format_RGB32)
        image.fill(Qt.GlobalColor.white)
        painter = QPainter(image)
        self.graphics.scene().render(painter, QRectF(image.rect()), rect)
        painter.end()
        return image

    def _row(self, layer: int, direction: str) -> _Row:
        return next(r for r in self.rows if (r.image.stream.layer, r.image.stream.direction) == (layer, direction))

    def image_data(self, layer: int, direction: str) -> np.ndarray:
        """What the heatmap of a stream currently shows: (units, T) with NaN where not revealed, or its
        largest-magnitude downsampling for more than MAX_COLUMNS steps / MAX_ROWS units."""
        return self._row(layer, direction).image.buffer

    def scale_label(self, layer: int, direction: str) -> str:
        """What the colour bar of a stream's heatmap says (plain text)."""
        return self._row(layer, direction).bar.caption.replace("\n", " ")

    def _hit(self, pos: QPointF) -> tuple[StreamImage, int, int] | None:
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
        shown = "not computed yet" if np.isnan(value) else f"{p.quantity} = {value:+.6f}"
        text = f"Layer {p.stream.layer + 1} · {p.stream.direction} · t = {t} · unit {unit} · {shown}"
        self.hovered.emit(text)
        view = self.graphics.mapFromScene(pos)
        QToolTip.showText(self.graphics.mapToGlobal(view), text, self.graphics)

    def _on_click(self, event) -> None:  # pyqtgraph's MouseClickEvent
        if event.button() != Qt.MouseButton.LeftButton:
            return
        hit = self._hit(event.scenePos())
        if hit is not None:
            p, t, unit = hit
            self.state.select(p.stream.layer, p.stream.direction, unit)
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:  # fork a perturbed run there
                analysis_of(self.state).request_fork((p.stream.layer, p.stream.direction), t)
