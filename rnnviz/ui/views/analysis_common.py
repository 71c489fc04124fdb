"""What the analysis views share: the run's analyses, a chooser of the layer-direction they show
(the selection's, so every view shows the same one), a status line, and when to redraw.

A view of eight layer-directions side by side would be unreadable, so each shows one at a time, the
selected one; choosing another here selects it everywhere. Results arrive while the run is paused
too, when the frame timer sleeps, so each view also redraws itself shortly after a piece arrives.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from rnnviz.ui.analysis_results import AnalysisResults, StreamResults, analysis_of
from rnnviz.ui.run_data import RunData, Stream
from rnnviz.ui.state import AppState, Selection
from rnnviz.ui.views.base import View

TEXT_COLOUR = "#202020"
PIECE_REDRAW_MS = 80  # results arriving while paused: one redraw per this interval, however many pieces
PALETTE = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207),
           (140, 86, 75), (227, 119, 194)]


def plot_widget(title: str = "", x: str = "", y: str = "", curves: bool = False) -> pg.PlotWidget:
    """A white plot with labelled axes; for ``curves`` over time, peak-downsampled (per pixel column
    min and max) and clipped to view, so that long runs stay cheap and no spike averages away."""
    plot = pg.PlotWidget(background="w")
    if curves:
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
    if title:
        plot.setTitle(title, size="9pt", color=TEXT_COLOUR)
    if x:
        plot.setLabel("bottom", x)
    if y:
        plot.setLabel("left", y)
    plot.setMenuEnabled(False)
    plot.showGrid(x=True, y=True, alpha=0.15)
    return plot


def in_time(stream: Stream, values: np.ndarray, count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """x (input time, increasing) and y of the first ``count`` (default: revealed) processing steps of a
    per-step series in processing order."""
    count = stream.revealed if count is None else count
    steps = values.shape[0]
    if stream.direction == "forward":
        return np.arange(count, dtype=np.float64), values[:count]
    return np.arange(steps - count, steps, dtype=np.float64), values[:count][::-1]


class AnalysisView(View):
    """Base of the analysis views: ``self.body`` holds the view's own widgets, under a bar with the
    layer-direction chooser (``self.bar``, where a view adds its controls) and the status line."""

    def __init__(self, state: AppState) -> None:
        super().__init__(state)
        self.analysis: AnalysisResults = analysis_of(self.state)
        self.chooser = QComboBox()
        self.chooser.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.chooser.setToolTip("The layer-direction shown (selecting a unit elsewhere also chooses it)")
        self.chooser.activated.connect(self._chosen)
        self.status = QLabel()
        self.status.setStyleSheet(f"color: {TEXT_COLOUR}; font-size: 8pt")
        self.bar = QHBoxLayout()
        self.bar.setContentsMargins(6, 2, 6, 0)
        self.bar.addWidget(QLabel("layer-direction:"))
        self.bar.addWidget(self.chooser)
        self.bar.addStretch(1)
        self.bar.addWidget(self.status)
        self.body = QWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(self.bar)
        layout.addWidget(self.body, 1)
        self.keys: list[tuple[int, str]] = []
        self.drawn: object = None  # what the last redraw showed (see token)
        self.piece_timer = QTimer(self, singleShot=True, interval=PIECE_REDRAW_MS)
        self.piece_timer.timeout.connect(self.redraw)
        self.analysis.updated.connect(self._results_changed)
        self.analysis.progress.connect(self._show_progress)
        self.analysis.failed.connect(self._show_failure)

    # --- what is shown ------------------------------------------------------------------------------
    @property
    def key(self) -> tuple[int, str]:
        selection = self.state.selection
        return selection.layer, selection.direction

    @property
    def stream(self) -> Stream | None:
        run = self.state.run
        return run.stream(*self.key) if run is not None and self.key in self.keys else None

    @property
    def results(self) -> StreamResults | None:
        return self.analysis.results.get(self.key)

    def token(self) -> object:
        """What a redraw depends on; nothing is redrawn while it stays the same."""
        stream = self.stream
        return self.key, stream.version if stream is not None else -1, self.analysis.version

    def redraw(self) -> bool:
        # A tab behind another is drawn when it is shown (showEvent): drawing hidden tabs on every pane turn
        # while a run streams painted 49 frames a second instead of 62 and stalled 134 ms (bench/gui.py).
        return self.isVisible() and self._draw_if_changed()

    def _draw_if_changed(self) -> bool:
        token = self.token()
        if token == self.drawn or self.stream is None:
            return False
        self.drawn = token
        self.draw(self.stream, self.results)
        return True

    def draw(self, stream: Stream, results: StreamResults | None) -> None:
        """Draw the chosen stream's revealed part and its analyses (override)."""

    # --- signals ------------------------------------------------------------------------------------
    def show_run(self, run: RunData) -> None:
        self.keys = [(s.layer, s.direction) for s in run.shown_streams]
        titles = [s.title for s in run.shown_streams]
        if [self.chooser.itemText(i) for i in range(self.chooser.count())] != titles:
            self.chooser.clear()
            self.chooser.addItems(titles)
        self.drawn = None
        self.status.setStyleSheet(f"color: {TEXT_COLOUR}; font-size: 8pt")
        self.status.setText("")
        self.new_run(run)

    def new_run(self, run: RunData) -> None:
        """Set up for a new run's streams (override)."""

    def show_selection(self, selection: Selection) -> None:
        if self.key in self.keys:
            self.chooser.setCurrentIndex(self.keys.index(self.key))
        self.redraw()

    @Slot(int)
    def _chosen(self, index: int) -> None:
        if 0 <= index < len(self.keys) and self.keys[index] != self.key:
            layer, direction = self.keys[index]
            self.state.select(layer, direction, 0)

    @Slot(object)
    def _results_changed(self, key) -> None:
        """A hidden tab waits until it is shown: while the analyses run, every draw the GUI thread
        makes waits for the worker to hand back the GIL, and six views drawing each piece stalled it."""
        if (key is None or key == self.key) and self.isVisible() and not self.piece_timer.isActive():
            self.piece_timer.start()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.redraw()

    @Slot(int, int)
    def _show_progress(self, done: int, total: int) -> None:
        if self.analysis.problem:
            return
        self.status.setText(f"analysing… {done}/{total}" if total and done < total else "")

    @Slot(str)
    def _show_failure(self, message: str) -> None:
        self.status.setText(message)
        self.status.setStyleSheet("color: #b00020; font-size: 8pt")

    def is_complete(self) -> bool:
        return super().is_complete() and self.analysis.complete and self.redraw_done()

    def redraw_done(self) -> bool:
        """Whether the last redraw showed the latest results (a screenshot waits for it)."""
        self._draw_if_changed()
        return self.drawn == self.token()
