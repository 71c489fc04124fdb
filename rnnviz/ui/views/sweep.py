"""The sweep view: a phase diagram of one metric over two grid axes (a panel per value of a third, the cell
type by default), its colour bar, and the metric against the x axis as lines, one per panel.

Every other axis is averaged over; hovering a cell shows the mean with its spread (min–max, n). Clicking a
cell opens that point's spec in the window (``spec_chosen``). Grid positions, not values, place the cells,
so any axis (numbers, cell types, schemes) draws as an even grid labelled with its values. λ_max gets a
diverging map centred on 0, white at the edge of chaos; the other metrics a sequential one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout

from rnnviz.errors import RnnvizError
from rnnviz.ui.state import AppState
from rnnviz.ui.sweep_editor import SweepRunner
from rnnviz.ui.sweep_table import SweepTable, value_text
from rnnviz.ui.views.base import View

METRIC_LABELS = {"lambda_max": "largest Lyapunov exponent λmax", "saturated_fraction": "fraction of units saturated",
                 "mean_tanh_gain": "mean tanh gain 1−h²", "memory_horizon": "memory horizon (steps)",
                 "gradient_decay": "gradient decay (log per step)"}
SHORT_LABELS = {"lambda_max": "λmax", "saturated_fraction": "saturated", "mean_tanh_gain": "1−h²",
                "memory_horizon": "horizon (steps)", "gradient_decay": "log-gradient slope"}
CENTRED = ("lambda_max", "gradient_decay")  # signed metrics whose 0 is the boundary between two regimes
DIVERGING = pg.ColorMap([0.0, 0.25, 0.5, 0.75, 1.0],
                        [(33, 102, 172), (103, 169, 207), (255, 255, 255), (239, 138, 98), (178, 24, 43)])
SEQUENTIAL = pg.colormap.get("viridis")
NO_VALUE = (200, 200, 200)
LINE_COLOURS = [(40, 40, 40), (230, 159, 0), (117, 112, 179), (27, 158, 119), (204, 121, 167), (86, 180, 233)]
MAX_LABELLED_CELLS = 400  # cells get their value written in them up to this many (else the text is noise)
NONE = "(none)"
REDRAW_MS = 250
CELL_POINTS = 8.0
PREFERRED = {"x": "init.gain", "y": "layers.1.units", "facet": "layers.1.type"}


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


class SweepView(View):
    """Choosers (metric, axes, panels, layer direction), the diagram over the line plot, and the sweep's
    progress when the app runs one. ``spec_chosen(ModelSpec, str)``: a clicked point's spec, and the name
    of the edit that opens it."""

    name = "sweep"
    title = "Sweep"
    area = "centre"
    spec_chosen = Signal(object, str)

    def __init__(self, state: AppState) -> None:
        super().__init__(state)
        self.table: SweepTable | None = None
        self.folder: Path | None = None
        self.drawn = False
        self.panels: list[tuple[pg.PlotItem, Any]] = []  # (plot, facet value) per panel
        # points of a fast sweep arrive faster than the diagram redraws: they are drawn together, a few
        # times a second
        self.redraw_timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self.redraw_timer.timeout.connect(self.redraw_all)
        self.runner = SweepRunner(self)
        self.runner.rows_ready.connect(self._add_rows)
        self.runner.message.connect(self._show_progress)
        self.choosers = {part: QComboBox() for part in ("metric", "x", "y", "facet", "stream")}
        controls = QHBoxLayout()
        for part, text in (("metric", "Metric"), ("x", "x"), ("y", "y"), ("facet", "Panels by"),
                           ("stream", "Layer")):
            controls.addWidget(QLabel(text))
            controls.addWidget(self.choosers[part])
            self.choosers[part].currentIndexChanged.connect(self._chosen)
            self.choosers[part].setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        controls.addStretch(1)
        self.new_button = QPushButton("New sweep…")
        self.new_button.setToolTip("Run a sweep of the current model over a grid you type in")
        self.new_button.clicked.connect(self.runner.edit_and_start)
        self.stop_button = QPushButton("Cancel sweep")
        self.stop_button.clicked.connect(self.runner.toggle)
        self.stop_button.hide()
        controls.addWidget(self.new_button)
        controls.addWidget(self.stop_button)
        self.diagram = pg.GraphicsLayoutWidget()
        self.diagram.setBackground("w")
        self.diagram.scene().sigMouseMoved.connect(self._hovered)
        self.diagram.scene().sigMouseClicked.connect(self._clicked)
        self.lines = pg.PlotWidget(background="w")
        self.lines.showGrid(x=True, y=True, alpha=0.3)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.diagram)
        splitter.addWidget(self.lines)
        splitter.setSizes([560, 260])
        self.info = QLabel("Open a sweep's results folder (File > Open folder…, or drop it here), or run a sweep "
                           "of the current model with New sweep…")
        self.info.setWordWrap(True)
        self.info.setStyleSheet("padding: 2px 6px")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(splitter, 1)
        self.progress = QLabel()  # the sweep the app runs, if any
        self.progress.setStyleSheet("padding: 2px 6px")
        bottom = QHBoxLayout()
        bottom.addWidget(self.info, 1)
        bottom.addWidget(self.progress)
        layout.addLayout(bottom)

    # --- what is shown ------------------------------------------------------------------------------
    def open_results(self, folder: str | Path) -> None:
        """Show the results in ``folder``; a folder that holds none raises :class:`RnnvizError`."""
        self.show_table(SweepTable.read(folder), Path(folder))

    def show_table(self, table: SweepTable, folder: Path | None) -> None:
        """Show ``table`` (read from a folder, or filled by a sweep the app runs), choosers reset to it."""
        self.table, self.folder = table, folder
        axes, preferred = table.axes, dict(PREFERRED)
        shown = [m for m in sorted(table.metrics, key=lambda m: m != "lambda_max")
                 if not table.rows or table.has_values(m)]
        self._fill("metric", [(metric_label(m), m) for m in table.metrics], (shown or table.metrics)[0])
        axes = table.varied + [a for a in axes if a not in table.varied]  # defaults: axes that vary first
        x = preferred["x"] if preferred["x"] in axes else axes[0]
        rest = [a for a in axes if a != x]
        y = preferred["y"] if preferred["y"] in rest else (rest[0] if rest else None)
        rest = [a for a in rest if a != y]
        facet = preferred["facet"] if preferred["facet"] in rest else None
        self._fill("x", [(a, a) for a in axes], x)
        self._fill("y", [(a, a) for a in axes] + [(NONE, None)], y)
        self._fill("facet", [(NONE, None)] + [(a, a) for a in axes], facet)
        self._fill_streams()
        self.redraw_all()

    def _fill(self, part: str, entries: list[tuple[str, Any]], current: Any) -> None:
        chooser = self.choosers[part]
        chooser.blockSignals(True)
        chooser.clear()
        for text, data in entries:
            chooser.addItem(text, data)
        chooser.setCurrentIndex(max(chooser.findData(current), 0) if current is not None
                                else chooser.findText(NONE))
        chooser.blockSignals(False)

    def _fill_streams(self) -> None:
        current = self.choosers["stream"].currentData()
        streams = self.table.streams() if self.table is not None else []
        self._fill("stream", [(f"{layer} {direction}", (layer, direction)) for layer, direction in streams],
                   current if current in streams else (streams[0] if streams else None))

    @Slot()
    def _chosen(self) -> None:
        if self.table is not None:
            self.redraw_all()

    def _choice(self) -> tuple[str, tuple[int, str] | None, str, str | None, str | None]:
        data = {part: chooser.currentData() for part, chooser in self.choosers.items()}
        x, y, facet = data["x"], data["y"], data["facet"]
        y = None if y == x else y
        facet = None if facet in (x, y) else facet
        return data["metric"], data["stream"], x, y, facet

    def redraw_all(self) -> None:
        """Draw the diagram and the lines from the table (cheap: a few hundred cells at most)."""
        self.diagram.clear()
        self.lines.clear()
        self.panels = []
        table = self.table
        metric, stream, x, y, facet = self._choice()
        if table is None or stream is None:
            self.drawn = table is not None
            if table is not None:
                self.info.setText(f"no point has finished yet (0 of {table.total})")
            return
        facets = table.grid[facet] if facet else [None]
        panels = [table.cells(metric, stream, x, y, (facet, v) if facet else None) for v in facets]
        finite = np.concatenate([p.mean[p.count > 0] for p in panels])
        low, high = self._levels(metric, finite)
        cmap = DIVERGING if metric in CENTRED else SEQUENTIAL
        layer, direction = stream
        heading = f"{metric_label(metric)} · layer {layer} {direction}" + self._rest(x, y, facet) + \
            ("" if finite.size else " · no values (yet)")
        self.diagram.addLabel(heading, row=0, col=0, colspan=len(facets) + 1, size="11pt", color="#202020")
        images = []
        font = self.font()
        font.setPointSizeF(CELL_POINTS)
        labelled = sum(p.mean.size for p in panels) <= MAX_LABELLED_CELLS
        for column, (value, cells) in enumerate(zip(facets, panels)):
            plot = self.diagram.addPlot(row=1, col=column)
            self._style_panel(plot, x, y, column == 0, f"{facet} = {value_text(value)}" if facet else None)
            rgb = self._coloured(cells.mean, cmap, low, high)
            image = pg.ImageItem(rgb, axisOrder="row-major", levels=(0, 255))  # colours as given, not stretched
            image.setRect(-0.5, -0.5, cells.mean.shape[1], cells.mean.shape[0])
            plot.addItem(image)
            if labelled:
                self._label_cells(plot, cells.mean, rgb, font)
            images.append(image)
            self.panels.append((plot, value))
        bar = pg.ColorBarItem(values=(low, high), colorMap=cmap, interactive=False,
                              width=16)
        bar_axis = bar.getAxis("right")
        bar_axis.setTextPen("#202020")
        bar_axis.setPen("#202020")
        bar_axis.enableAutoSIPrefix(False)  # "(x0.001)" on a fraction's scale reads as a different quantity
        bar_axis.setScale(1.0)
        bar_axis.setLabel(metric_label(metric), color="#202020")
        self.diagram.addItem(bar, row=1, col=len(facets))
        self._draw_lines(metric, stream, x, facet, facets)
        done = table.points_done
        self.info.setText(f"{done} of {table.total} points" + (f" in {self.folder}" if self.folder else "") +
                          " · hover a cell for its spread, click it to open that point")
        self.drawn = True

    def _rest(self, *shown: str | None) -> str:
        """What the axes not drawn do: the varied ones are averaged over, the others fix one value."""
        table = self.table
        varied = [a for a in table.varied if a not in shown]
        fixed = [f"{a} = {value_text(table.grid[a][0])}" for a in table.axes if a not in shown and a not in table.varied]
        return (f" · mean over {', '.join(varied)}" if varied else "") + (f" · {', '.join(fixed)}" if fixed else "")

    @staticmethod
    def _levels(metric: str, finite: np.ndarray) -> tuple[float, float]:
        if not finite.size:
            return (-1.0, 1.0) if metric in CENTRED else (0.0, 1.0)
        if metric in CENTRED:
            reach = float(np.max(np.abs(finite))) or 1.0
            return -reach, reach
        low, high = float(finite.min()), float(finite.max())
        return (low, high) if high > low else (low - 0.5, high + 0.5)

    @staticmethod
    def _coloured(mean: np.ndarray, cmap: pg.ColorMap, low: float, high: float) -> np.ndarray:
        """RGB cells, grey where no point has a value yet (a NaN has no colour of its own)."""
        scaled = np.clip((np.nan_to_num(mean, nan=low) - low) / (high - low), 0, 1)
        rgb = cmap.map(scaled.ravel(), mode="byte")[:, :3].reshape(*mean.shape, 3)
        rgb[np.isnan(mean)] = NO_VALUE
        return np.ascontiguousarray(rgb)

    def _style_panel(self, plot: pg.PlotItem, x: str, y: str | None, first: bool, title: str | None) -> None:
        table = self.table
        if title:
            plot.setTitle(title, color="#202020", size="10pt")
        plot.setMouseEnabled(False, False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.getViewBox().setDefaultPadding(0)
        for side, axis, shown in (("bottom", x, True), ("left", y, first)):
            item = plot.getAxis(side)
            values = table.grid[axis] if axis else [""]
            item.setTicks([[(i, value_text(v) if axis else "") for i, v in enumerate(values)]])
            item.setTextPen("#202020")
            item.setPen("#202020")
            if shown and axis:
                plot.setLabel(side, axis, color="#202020")
        plot.setXRange(-0.5, len(table.grid[x]) - 0.5, padding=0)
        plot.setYRange(-0.5, (len(table.grid[y]) if y else 1) - 0.5, padding=0)

    @staticmethod
    def _label_cells(plot: pg.PlotItem, mean: np.ndarray, rgb: np.ndarray, font) -> None:
        """Each cell's mean written in it, white on dark colours and dark on light ones."""
        luminance = rgb @ np.array([0.299, 0.587, 0.114])
        for (yi, xi), value in np.ndenumerate(mean):
            if np.isfinite(value):
                text = pg.TextItem(f"{value:.2g}", color="w" if luminance[yi, xi] < 140 else "#202020",
                                   anchor=(0.5, 0.5))
                text.setFont(font)
                text.setPos(xi, yi)
                plot.addItem(text)

    def _draw_lines(self, metric: str, stream: tuple[int, str], x: str, facet: str | None, facets: list) -> None:
        """The metric against ``x``, a line per panel. The key is the title, coloured: a legend inside so
        short a plot would cover the lines."""
        table = self.table
        values = table.grid[x]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        positions = np.array(values, float) if numeric else np.arange(len(values), dtype=float)
        plot = self.lines.getPlotItem()
        plot.setLabel("bottom", x, color="#202020")
        plot.setLabel("left", SHORT_LABELS.get(metric, metric), color="#202020")
        plot.getAxis("left").enableAutoSIPrefix(False)
        plot.getAxis("bottom").setTicks(None if numeric else [[(i, value_text(v)) for i, v in enumerate(values)]])
        if metric in CENTRED:
            self.lines.addItem(pg.InfiniteLine(0, angle=0, pen=pg.mkPen("#888888", style=Qt.PenStyle.DashLine)))
        keys = []
        for i, value in enumerate(facets):
            colour = pg.mkColor(LINE_COLOURS[i % len(LINE_COLOURS)])
            curve = table.curve(metric, stream, x, (facet, value) if facet else None)
            if not np.isfinite(curve).any():
                continue  # nothing to draw yet (pyqtgraph warns about an all-NaN curve)
            self.lines.plot(positions, curve, pen=pg.mkPen(colour, width=2), symbol="o", symbolBrush=colour,
                            symbolPen=None, symbolSize=6, connect="finite")
            if facet:
                keys.append(f"<span style='color:{colour.name()}'>━ {value_text(value)}</span>")
        plot.setTitle(f"<span style='color:#202020'>{metric_label(metric)} against {x}{self._rest(x, facet)}</span>"
                      + ("&nbsp;&nbsp;&nbsp;" + "&nbsp;&nbsp;".join(keys) if keys else ""), size="10pt")

    # --- hover and click ----------------------------------------------------------------------------
    def _cell_at(self, scene_pos: QPointF) -> tuple[dict[str, Any], int] | None:
        """The grid values chosen by the cell under ``scene_pos`` (x, y, panel) and the panel's index."""
        if self.table is None:
            return None
        _, _, x, y, facet = self._choice()
        for index, (plot, facet_value) in enumerate(self.panels):
            box = plot.getViewBox()
            if not box.sceneBoundingRect().contains(scene_pos):
                continue
            where = box.mapSceneToView(scene_pos)
            xi, yi = round(where.x()), round(where.y())
            if not (0 <= xi < len(self.table.grid[x]) and 0 <= yi < (len(self.table.grid[y]) if y else 1)):
                return None
            chosen = {x: self.table.grid[x][xi]}
            if y:
                chosen[y] = self.table.grid[y][yi]
            if facet:
                chosen[facet] = facet_value
            return chosen, index
        return None

    def describe_cell(self, scene_pos: QPointF) -> str:
        """What hovering at ``scene_pos`` shows: the cell's values, mean, spread and count."""
        found = self._cell_at(scene_pos)
        if found is None:
            return ""
        chosen, _ = found
        metric, stream, x, y, facet = self._choice()
        cells = self.table.cells(metric, stream, x, y, (facet, chosen[facet]) if facet else None)
        xi = self.table.positions[x][chosen[x]]
        yi = self.table.positions[y][chosen[y]] if y else 0
        where = ", ".join(f"{axis} = {value_text(value)}" for axis, value in chosen.items())
        if not cells.count[yi, xi]:
            return f"{where}: no value yet"
        return (f"{where}: {metric} mean {cells.mean[yi, xi]:.4g} (min {cells.low[yi, xi]:.4g} … "
                f"max {cells.high[yi, xi]:.4g}, n = {cells.count[yi, xi]})")

    @Slot(object)
    def _hovered(self, scene_pos: QPointF) -> None:
        text = self.describe_cell(scene_pos)
        self.diagram.setToolTip(text)
        if text:
            self.info.setText(text)

    @Slot(object)
    def _clicked(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.open_point(event.scenePos())

    def open_point(self, scene_pos: QPointF) -> bool:
        """Open the point under ``scene_pos`` in the window (axes not shown at their first value)."""
        found = self._cell_at(scene_pos)
        if found is None:
            return False
        values = self.table.point_values(found[0])
        described = ", ".join(f"{axis} = {value_text(value)}" for axis, value in values.items())
        try:
            spec = self.table.point_spec(values)
        except RnnvizError as exc:
            self.info.setText(str(exc))
            return False
        self.spec_chosen.emit(spec, f"Open sweep point {self.table.point_index(values)} ({described})")
        return True

    # --- a sweep the app runs -----------------------------------------------------------------------
    @Slot(object)
    def _add_rows(self, rows: list[dict[str, Any]]) -> None:
        if self.table is not None:
            self.table.add(rows)
            if self.choosers["stream"].count() == 0:
                self._fill_streams()
            self.drawn = False
            if not self.redraw_timer.isActive():
                self.redraw_timer.start()

    @Slot(str, bool)
    def _show_progress(self, text: str, running: bool) -> None:
        self.stop_button.setText("Cancel sweep" if running else "Resume sweep")
        self.stop_button.setVisible(running or self.runner.resumable)
        self.new_button.setEnabled(not running)
        self.progress.setText(text)

    def is_complete(self) -> bool:
        """Complete once the results are drawn (no results: nothing to wait for)."""
        return self.table is None or self.drawn
