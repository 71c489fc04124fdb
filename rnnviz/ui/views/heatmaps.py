"""The centre of the app: one heatmap per layer and direction, time on x, units on y, each with its
colour bar and, for GRU and LSTM layers, a chooser of the quantity it shows (h, a gate, or c).

Under each heatmap, on its time axis, two strips show the Jacobian analysis of that layer-direction
(ρ and σmax, the gradient flow; :mod:`rnnviz.ui.views.heatmap_strips`), filled in as the analysis
pieces arrive and as playback reveals the steps; a check box in the view's bar hides them.
"""

from __future__ import annotations

import functools

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import (QCheckBox, QComboBox, QGraphicsProxyWidget, QHBoxLayout, QLabel, QScrollArea, QToolTip,
                               QVBoxLayout)

from rnnviz.ui.analysis_results import analysis_of
from rnnviz.ui.run_data import RunData, Stream
from rnnviz.ui.state import AppState, Selection
from rnnviz.ui.views.base import View
from rnnviz.ui.views.colour_bar import ColourBar
from rnnviz.ui.views.heatmap_image import StreamImage
from rnnviz.ui.views.heatmap_strips import COMPACT_STRIP_HEIGHT, STRIP_HEIGHT, Strips, strips_height
from rnnviz.ui.views.scales import Scale
from rnnviz.ui.views.series_plots import LEFT_AXIS_WIDTH, SERIES

PLOT_HEIGHT = 160
# From this many layer-directions on, heatmaps and strips are drawn shorter: at 1400x860 an 8-direction stack
# shows two whole rows with their strips instead of one and a half (32 units stay over 2 px tall).
COMPACT_FROM = 5
COMPACT_PLOT_HEIGHT = 112
ROWS_PER_STREAM = 4  # layout rows: the heatmap's two (chooser, colour bar), then one per strip
STRIP_REDRAW_MS = 100  # strips follow playback and arriving pieces at most ten times a second
SIDE_WIDTH = 118  # the column of choosers and colour bars beside the heatmaps
TEXT_COLOUR = "#202020"


class _Row:
    """One heatmap with its side column: the quantity chooser (GRU, LSTM) above the colour bar."""

    def __init__(self, view: HeatmapsView, row: int, stream: Stream, steps: int, first: pg.PlotItem | None) -> None:
        graphics = view.graphics
        base = ROWS_PER_STREAM * row
        plot = graphics.addPlot(row=base, col=0, rowspan=2)
        plot.setTitle(stream.title, size="10pt", color=TEXT_COLOUR)
        plot.setLabel("bottom", "time step t")
        plot.setLabel("left", "unit")
        plot.invertY(True)
        plot.setMouseEnabled(x=True, y=False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)  # as the strips', so that their time axes line up
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
            graphics.addItem(proxy, row=base, col=1)
        self.bar = ColourBar(SIDE_WIDTH)
        if self.chooser is None:
            graphics.addItem(self.bar, row=base, col=1, rowspan=2)
        else:
            graphics.addItem(self.bar, row=base + 1, col=1)
        self.strips = Strips(graphics, base + 2, plot, steps, view.strip_height) if view.strips_check.isChecked() \
            else None
        self.shown_scale: tuple[Scale, float | None] | None = None
        self.show_scale()

    @property
    def key(self) -> tuple[int, str]:
        return self.image.stream.layer, self.image.stream.direction

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
        self.strips_check = QCheckBox("Jacobian strips (ρ, σmax, gradient flow)")
        self.strips_check.setChecked(True)
        self.strips_check.setToolTip("Under each heatmap: the spectral radius and largest singular value of each "
                                     "step's Jacobian, and the gradient flow from the last step")
        self.strips_check.toggled.connect(self._strips_toggled)
        self.status = QLabel()  # the analysis' progress or failure, which the strips wait for
        self.status.setStyleSheet(f"color: {TEXT_COLOUR}; font-size: 8pt")
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 2, 6, 0)
        bar.addWidget(self.strips_check)
        bar.addStretch(1)
        bar.addWidget(self.status)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.scroll)
        self.rows: list[_Row] = []
        self.note: pg.LabelItem | None = None  # says how many streams are shown, when not all are
        self.compact = False  # a deep stack's shorter rows (see COMPACT_FROM)
        self.run: RunData | None = None
        self.analysis = analysis_of(state)
        self.stale: set[tuple[int, str]] = set()  # streams whose strips are behind their data or cursor
        self.strip_timer = QTimer(self, singleShot=True, interval=STRIP_REDRAW_MS)
        self.strip_timer.timeout.connect(self.draw_strips)
        self.analysis.updated.connect(self._results_changed)
        self.analysis.progress.connect(self._show_progress)
        self.analysis.failed.connect(self._show_failure)
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
        self.status.setText("")
        if self.run is not None and layout == [(p.stream.title, p.stream.units, p.steps) for p in self.plots]:
            self.run = run
            for row, stream in zip(self.rows, shown):
                row.image.rebind(stream, self.quantity_of(stream))
                row.show_scale()
            self._strips_stale(None)
            return
        self.run = run
        self._build()

    @property
    def strip_height(self) -> int:
        return COMPACT_STRIP_HEIGHT if self.compact else STRIP_HEIGHT

    def _build(self) -> None:
        run = self.run
        shown = run.shown_streams
        self.graphics.clear()
        self.rows, self.note = [], None
        self.compact = len(shown) >= COMPACT_FROM
        first = None
        for index, stream in enumerate(shown):
            row = _Row(self, index, stream, run.timesteps, first)
            first = first or row.image.plot
            self.rows.append(row)
        if len(shown) < len(run.streams):
            last = shown[-1]
            self.note = self.graphics.addLabel(
                f"Shown: the first {len(shown)} of {len(run.streams)} layer directions (up to layer {last.layer + 1}). "
                "Every state is computed: export them, or use rnnviz run.", row=ROWS_PER_STREAM * len(shown), col=0,
                color=TEXT_COLOUR)
        strips = strips_height(self.strip_height) * self.strips_check.isChecked()
        height = (COMPACT_PLOT_HEIGHT if self.compact else PLOT_HEIGHT) + strips
        self.graphics.setMinimumHeight(height * len(self.rows) + 40 * (len(shown) < len(run.streams)))
        self.redraw()
        self._strips_stale(None)

    @Slot(bool)
    def _strips_toggled(self, shown: bool) -> None:
        """Shown or hidden strips change the layout's rows: the stack is built again (what playback has
        revealed is redrawn at once)."""
        if self.run is not None:
            self._build()

    def show_selection(self, selection: Selection) -> None:
        """Scroll the chosen layer-direction's heatmap into view: of eight, two fit the window, and
        choosing one in another view (or its chooser) should show it here too."""
        row = next((r for r in self.rows if r.key == (selection.layer, selection.direction)), None)
        if row is None:
            return
        lowest = row.strips.flow if row.strips is not None else row.image.plot
        top = self.graphics.mapFromScene(row.image.plot.sceneBoundingRect().topLeft()).y()
        bottom = self.graphics.mapFromScene(lowest.sceneBoundingRect().bottomLeft()).y()
        bar = self.scroll.verticalScrollBar()
        if top < bar.value() or bottom > bar.value() + self.scroll.viewport().height():
            bar.setValue(top)  # its title at the top, its strips below

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
                if row.strips is not None:  # the cursor every frame, the curves in a moment
                    row.strips.curves.move_cursor(row.image.cursor_t)
                    self.stale.add(row.key)
        if changed and self.stale and not self.strip_timer.isActive():
            self.strip_timer.start()
        return changed

    # --- the strips -------------------------------------------------------------------------------
    def _strips_stale(self, key: tuple[int, str] | None) -> None:
        """The strips of stream ``key`` (None: all) are to be drawn again, soon: within STRIP_REDRAW_MS,
        however many pieces or frames come meanwhile (while paused, no frame timer would draw them)."""
        self.stale |= {row.key for row in self.rows if row.strips is not None and key in (None, row.key)}
        if self.stale and not self.strip_timer.isActive():
            self.strip_timer.start()

    @Slot(object)
    def _results_changed(self, key) -> None:
        self._strips_stale(key)

    @Slot()
    def draw_strips(self) -> None:
        """Draw the stale strips: their revealed part of the analysis pieces arrived so far. A view
        behind another tab waits until it is shown."""
        if not self.isVisible():
            return
        for row in self.rows:
            if row.key in self.stale and row.strips is not None:
                row.strips.show(row.image.stream, self.analysis.results.get(row.key))
        self.stale.clear()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self.stale:
            self.strip_timer.start()

    @Slot(int, int)
    def _show_progress(self, done: int, total: int) -> None:
        if not self.analysis.problem:
            self.status.setText(f"analysing… {done}/{total}" if total and done < total else "")

    @Slot(str)
    def _show_failure(self, message: str) -> None:
        self.status.setText(f"<span style='color:#b00020'>{message}</span>")

    def strips_complete(self) -> bool:
        """Whether every strip has its whole series (or the analysis failed, so none will come)."""
        if self.analysis.problem:
            return True
        for row in self.rows:
            results = self.analysis.results.get(row.key)
            if row.strips is not None and (results is None or any(
                    name not in results.series or np.isnan(results.series[name]).any() for name in SERIES)):
                return False
        return True

    def is_complete(self) -> bool:
        """Played to the end and, with the strips shown, their series arrived and drawn."""
        if not (super().is_complete() and self.strips_complete()):
            return False
        self.draw_strips()
        return not self.stale

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
        if hit is not None:
            p, t, unit = hit
            value = p.value(t, unit)
            shown = "not computed yet" if np.isnan(value) else f"{p.quantity} = {value:+.6f}"
            text = f"Layer {p.stream.layer + 1} · {p.stream.direction} · t = {t} · unit {unit} · {shown}"
        else:
            text = next((said for row in self.rows if row.strips is not None and (said := row.strips.describe(
                pos, row.image.stream, self.analysis.results.get(row.key))) is not None), None)
            if text is None:
                return
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
