"""Gates: a heatmap per gate beside h, and the saturation scatter of Karpathy et al. (2015).

The scatter has one dot per unit and sigmoid gate: x the fraction of steps the gate is left-saturated
(< 0.1, shut), y the fraction right-saturated (> 0.9, open). Dots sit inside the triangle x + y ≤ 1;
a unit near its top-left corner is always open, bottom-right always shut (an integrator or a reset),
the hypotenuse switches hard. It follows playback (the steps revealed so far).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel

from rnnviz.ui.analysis_results import StreamResults
from rnnviz.ui.run_data import RunData, Stream
from rnnviz.ui.state import AppState
from rnnviz.ui.views.analysis_common import PALETTE, TEXT_COLOUR, AnalysisView, plot_widget
from rnnviz.ui.views.colour_bar import ColourBar
from rnnviz.ui.views.heatmap_image import StreamImage

SIGMOID_GATES = ("z", "r", "i", "f", "o")
GATE_NAMES = {"z": "update gate z", "r": "reset gate r", "hh": "candidate hh", "i": "input gate i",
              "f": "forget gate f", "g": "candidate g", "o": "output gate o", "c": "cell state c", "h": "hidden state h"}
DOT_SIZE = 8
BAR_WIDTH = 110  # each map's colour bar, with its caption


class GatesView(AnalysisView):
    name = "gates"
    title = "Gates"
    area = "centre"

    def __init__(self, state: AppState) -> None:
        super().__init__(state)
        self.maps = pg.GraphicsLayoutWidget()
        self.maps.setBackground("w")
        self.scatter_plot = plot_widget("fraction of steps each unit's gate is shut / open",
                                        "shut (&lt; 0.1)", "open (&gt; 0.9)")  # axis labels are HTML
        self.scatter_plot.setXRange(-0.02, 1.02, padding=0)
        self.scatter_plot.setYRange(-0.02, 1.02, padding=0)
        self.scatter_plot.setAspectLocked(True)
        self.scatter_plot.setMouseEnabled(x=False, y=False)
        self.scatter_plot.getPlotItem().setContentsMargins(0, 0, 14, 0)  # room for the last tick label, 1.0
        self.scatter_plot.plot([0, 1, 0, 0], [0, 0, 1, 0], pen=pg.mkPen((120, 120, 120), width=1))
        self.scatter = pg.ScatterPlotItem(size=DOT_SIZE, hoverable=True, tip=self._tip,
                                          hoverPen=pg.mkPen("k", width=2))
        self.scatter.sigClicked.connect(self._clicked)
        self.scatter_plot.addItem(self.scatter)
        self.legend = self.scatter_plot.addLegend(offset=(-10, 10), labelTextColor=TEXT_COLOUR)
        self.note = QLabel()  # for a layer without gates: links to those with gates
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note.setWordWrap(True)
        self.note.linkActivated.connect(self._link_chosen)
        layout = QHBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.maps, 3)
        layout.addWidget(self.scatter_plot, 2)
        layout.addWidget(self.note)
        self.images: list[StreamImage] = []
        self.bars: list[ColourBar] = []  # each map's colour bar, beside it
        self.shown_scales: list[object] = []  # the (scale, threshold) each bar shows
        self.shown_key: tuple[int, str] | None = None

    def new_run(self, run: RunData) -> None:
        self.shown_key = None

    def token(self) -> object:
        """The gates come with the run, not from the analyses: their arrival redraws nothing here."""
        stream = self.stream
        return self.key, stream.version if stream is not None else -1, self.state.selection.unit

    def _build(self, stream: Stream) -> None:
        """One heatmap per quantity of the stream (h first), stacked, sharing the time axis."""
        self.maps.clear()
        self.images, self.bars = [], []
        self.legend.clear()
        gated = bool(stream.gates)
        for widget in (self.maps, self.scatter_plot):
            widget.setVisible(gated)
        self.note.setVisible(not gated)
        if not gated:
            links = [f"<a href='{s.layer},{s.direction}'>{s.title}</a>" for s in self.state.run.shown_streams if s.gates]
            self.note.setText(f"{stream.title} has no gates (SimpleRNN). "
                              + ("Gated layer-directions: " + " · ".join(links) if links else "No layer has gates."))
        first = None
        steps = stream.hidden.shape[0]
        for row, quantity in enumerate(stream.quantities if gated else ()):
            plot = self.maps.addPlot(row=row, col=0)
            plot.setTitle(f"{GATE_NAMES.get(quantity, quantity)} · L{stream.layer + 1} {stream.direction}",
                          size="8pt", color=TEXT_COLOUR)
            plot.invertY(True)
            plot.setMouseEnabled(x=True, y=False)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setLabel("left", "unit")
            plot.getAxis("left").setWidth(40)
            plot.getViewBox().setRange(xRange=(-0.5, steps - 0.5), yRange=(-0.5, stream.units - 0.5), padding=0)
            if first is not None:
                plot.setXLink(first)
            first = first or plot
            last = row == len(stream.quantities) - 1
            plot.getAxis("bottom").setStyle(showValues=last)  # one time axis, under the last map
            if last:
                plot.setLabel("bottom", "time step t")
            self.images.append(StreamImage(plot, stream, steps, quantity, self.state.mark_threshold))
            self.bars.append(ColourBar(BAR_WIDTH))
            self.maps.addItem(self.bars[-1], row=row, col=1)
        self.shown_scales = [None] * len(self.images)
        self._show_scales()
        for gate in stream.gates:
            if gate in SIGMOID_GATES:
                colour = PALETTE[SIGMOID_GATES.index(gate) % len(PALETTE)]
                self.legend.addItem(pg.ScatterPlotItem(size=DOT_SIZE, brush=colour, pen=None), GATE_NAMES[gate])
        self.shown_key = (stream.layer, stream.direction)

    def draw(self, stream: Stream, results: StreamResults | None) -> None:
        from rnnviz.analysis.gates import saturation

        if self.shown_key != (stream.layer, stream.direction) or (self.images and self.images[0].stream is not stream):
            self._build(stream)
        for image in self.images:
            image.refresh()
        self._show_scales()
        rows = stream.revealed_slice()
        spots = []
        unit = self.state.selection.unit
        for gate in (g for g in stream.gates if g in SIGMOID_GATES):
            values = stream.gates[gate][rows]
            fractions = saturation(values) if len(values) else {"left": np.zeros(stream.units), "right": np.zeros(stream.units)}
            left, right = fractions["left"], fractions["right"]
            colour = PALETTE[SIGMOID_GATES.index(gate) % len(PALETTE)]
            for u in range(stream.units):
                chosen = u == unit
                spots.append({"pos": (left[u], right[u]), "data": (gate, u), "brush": pg.mkBrush(colour),
                              "pen": pg.mkPen("k", width=2) if chosen else pg.mkPen("w", width=0.5),
                              "size": DOT_SIZE + 4 * chosen})
        self.scatter.setData(spots)

    def _tip(self, x: float, y: float, data) -> str:
        gate, unit = data
        return f"unit {unit} · {GATE_NAMES[gate]}\nshut (< 0.1) {x:.0%} of steps · open (> 0.9) {y:.0%}"

    def _clicked(self, _item, points, _event) -> None:
        if len(points):
            _, unit = points[0].data()
            self.state.select(*self.key, unit)

    def show_threshold(self, threshold: float | None) -> None:
        for image in self.images:
            image.set_threshold(threshold)
        self._show_scales()

    def _show_scales(self) -> None:
        """Each colour bar shows its map's scale (a c scale widens as larger |c| is revealed)."""
        for index, (image, bar) in enumerate(zip(self.images, self.bars)):
            if self.shown_scales[index] != (image.scale, image.threshold):
                self.shown_scales[index] = (image.scale, image.threshold)
                bar.show_scale(image.scale.label, image.lut, image.scale.low, image.scale.high)

    @Slot(str)
    def _link_chosen(self, link: str) -> None:
        layer, direction = link.split(",")
        self.state.select(int(layer), direction, 0)
