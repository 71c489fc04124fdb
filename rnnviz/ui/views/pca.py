"""The trajectory in principal-component space, coloured by time, with the fixed points on top.

The PCs are those of the chosen layer-direction's whole run (the axes say how much of the variance
each explains); the curve grows as the run plays, the current step is the black-ringed dot. Fixed
points (under zero input): filled = stable, hollow = unstable, with their unstable directions as
short lines; click one to read its eigenvalues (and choose it in the Fixed points view).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QSpinBox, QVBoxLayout

from rnnviz.ui.analysis_results import StreamResults
from rnnviz.ui.run_data import RunData, Stream
from rnnviz.ui.state import AppState
from rnnviz.ui.views.analysis_common import TEXT_COLOUR, AnalysisView

SEGMENTS = 64  # the curve is cut into this many pieces, each a colour of the time map
TIME_MAP = "viridis"
FIXED_COLOUR = (214, 39, 40)
DIRECTION_LENGTH = 0.08  # unstable directions, as a fraction of the plot's span
AXIS_LABEL_GAP = 10  # pixels before each axis chooser's label


def eigenvalue_text(found, index: int, limit: int = 8) -> str:
    """The leading eigenvalues of fixed point ``index`` of ``found`` (a FixedPoints), for a label."""
    eigenvalues = found.eigenvalues[index]
    shown = ", ".join(f"{abs(v):.3f}∠{np.degrees(np.angle(v)):.0f}°" if abs(v.imag) > 1e-9 else f"{v.real:+.3f}"
                      for v in eigenvalues[:limit])
    more = f" … ({len(eigenvalues)} in all)" if len(eigenvalues) > limit else ""
    return (f"q = {found.q[index]:.2e}, {'stable' if found.stable[index] else 'unstable'}; "
            f"eigenvalues λ: {shown}{more}")


def fixed_point_geometry(fit: dict, found, units: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Where the fixed points lie in the trajectory's PCs (points, k), and per point its unstable
    directions there (m, k), each of unit length in the full state space (only h is seen by the PCs)."""
    loadings = fit["loadings"]
    positions = (found.states[:, :units] - fit["mean"]) @ loadings.T
    directions = []
    for eigenvalues, vectors in zip(found.eigenvalues, found.eigenvectors):
        unstable = vectors[:, np.abs(eigenvalues) >= 1].real.T
        norms = np.linalg.norm(unstable, axis=1, keepdims=True)
        directions.append((unstable / np.where(norms > 0, norms, 1))[:, :units] @ loadings.T)
    return positions, directions


class PcaView(AnalysisView):
    name = "pca"
    title = "PCA"
    area = "centre"

    def __init__(self, state: AppState) -> None:
        super().__init__(state)
        self.axes = []
        for label, value in (("x: PC", 1), ("y: PC", 2)):
            spin = QSpinBox(minimum=1, maximum=2, value=value)
            spin.setToolTip("Which principal component this axis shows")
            spin.valueChanged.connect(self._axes_changed)
            name = QLabel(label)
            name.setContentsMargins(AXIS_LABEL_GAP, 0, 0, 0)  # "y: PC" kept clear of the x spin box
            self.bar.insertWidget(2 + len(self.axes) * 2, name)
            self.bar.insertWidget(3 + len(self.axes) * 2, spin)
            self.axes.append(spin)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.plot = self.graphics.addPlot(row=0, col=0)
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setAspectLocked(True)
        colormap = pg.colormap.get(TIME_MAP)
        self.bar_item = pg.ColorBarItem(values=(0, 1), colorMap=colormap, interactive=False, width=14,
                                        colorMapMenu=False, label="time step t")
        self.graphics.addItem(self.bar_item, row=0, col=1)
        self.colours = colormap.getLookupTable(0.0, 1.0, SEGMENTS)
        self.segments = [self.plot.plot(pen=pg.mkPen(tuple(c[:3]), width=1.5)) for c in self.colours]
        self.start = pg.ScatterPlotItem(size=7, brush=pg.mkBrush(tuple(self.colours[0][:3])), pen=pg.mkPen("k"))
        self.current = pg.ScatterPlotItem(size=12, brush=pg.mkBrush(255, 255, 255, 0), pen=pg.mkPen("k", width=2))
        self.directions = self.plot.plot(pen=pg.mkPen(FIXED_COLOUR, width=2), connect="pairs")
        self.fixed = pg.ScatterPlotItem(size=13, symbol="o", hoverable=True, tip=self._tip)
        self.fixed.sigClicked.connect(self._clicked)
        for item in (self.start, self.current, self.fixed):
            self.plot.addItem(item)
        self.info = QLabel("Fixed points (zero input): filled = stable, hollow = unstable; click one for its eigenvalues")
        self.info.setWordWrap(True)
        self.info.setStyleSheet(f"color: {TEXT_COLOUR}; background: white; padding: 3px 6px; font-size: 8pt")
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.info)
        self.fitted: tuple[int, int] | None = None  # the PCs the plot's range was fitted to
        self.analysis.fixed_point_chosen.connect(self._show_chosen)

    def new_run(self, run: RunData) -> None:
        self.bar_item.setLevels((0, max(run.timesteps - 1, 1)))
        self.fitted = None

    def token(self) -> object:
        return super().token(), tuple(spin.value() for spin in self.axes)

    def _axes_changed(self) -> None:
        self.fitted = None
        self.redraw()

    def draw(self, stream: Stream, results: StreamResults | None) -> None:
        if results is None or results.pca is None:
            for curve in self.segments:
                curve.setData([], [])
            for item in (self.start, self.current, self.fixed):
                item.setData([])
            self.directions.setData([], [])
            self.plot.setLabels(bottom="PC 1", left="PC 2")
            return
        pcs = results.pca["loadings"].shape[0]
        for spin in self.axes:
            spin.setMaximum(pcs)
        a, b = (min(spin.value(), pcs) - 1 for spin in self.axes)
        ratio = results.pca["explained_variance_ratio"]
        self.plot.setLabels(bottom=f"PC {a + 1} ({ratio[a]:.1%} of variance)",
                            left=f"PC {b + 1} ({ratio[b]:.1%} of variance)")
        self.plot.setTitle(f"{stream.title}: the state trajectory in PC {a + 1}–PC {b + 1}",
                           size="9pt", color=TEXT_COLOUR)
        xy = results.pca["scores"][:, [a, b]]
        if self.fitted != (a, b):  # the whole trajectory's extent, so the view does not jump while playing
            self.fitted = (a, b)
            self.plot.setRange(xRange=(xy[:, 0].min(), xy[:, 0].max()), yRange=(xy[:, 1].min(), xy[:, 1].max()))
        self._draw_trajectory(stream, xy)
        self._draw_fixed_points(stream, results, a, b, xy)

    def _draw_trajectory(self, stream: Stream, xy: np.ndarray) -> None:
        """Segments in processing order; a segment's colour is the input time at its middle."""
        steps, count = xy.shape[0], stream.revealed
        edges = np.linspace(0, steps, SEGMENTS + 1).astype(int)
        forward = stream.direction == "forward"
        for index, curve in enumerate(self.segments):
            first, stop = edges[index], min(edges[index + 1] + 1, count)
            middle_t = (first + edges[index + 1]) / 2 if forward else steps - 1 - (first + edges[index + 1]) / 2
            colour = self.colours[min(int(middle_t / max(steps, 1) * SEGMENTS), SEGMENTS - 1)]
            curve.setPen(pg.mkPen(tuple(colour[:3]), width=1.5))
            shown = slice(first, max(stop, first))
            curve.setData(xy[shown, 0], xy[shown, 1])
        self.start.setData(pos=xy[:1] if count else [])
        self.current.setData(pos=xy[count - 1:count] if count else [])

    def _draw_fixed_points(self, stream: Stream, results: StreamResults, a: int, b: int, xy: np.ndarray) -> None:
        found = results.fixed_points
        if found is None or not len(found.states):
            self.fixed.setData([])
            self.directions.setData([], [])
            return
        positions, directions = fixed_point_geometry(results.pca, found, stream.units)
        span = float(max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1]), 1e-9))
        chosen = self.analysis.chosen_fixed_point
        spots, lines = [], []
        for index, (stable, position) in enumerate(zip(found.stable, positions[:, [a, b]])):
            selected = chosen == (self.key, index)
            spots.append({"pos": tuple(position), "data": index,
                          "brush": pg.mkBrush(FIXED_COLOUR) if stable else pg.mkBrush(255, 255, 255, 220),
                          "pen": pg.mkPen("k" if selected else FIXED_COLOUR, width=3 if selected else 2)})
            for direction in directions[index][:, [a, b]]:
                length = np.hypot(*direction)
                if length > 1e-9:  # seen edge-on in these PCs: nothing to draw
                    step = direction / length * DIRECTION_LENGTH * span
                    lines += [position - step, position + step]
        self.fixed.setData(spots)
        lines_xy = np.array(lines) if lines else np.zeros((0, 2))
        self.directions.setData(lines_xy[:, 0], lines_xy[:, 1])

    def _tip(self, x: float, y: float, data) -> str:
        found = self.results.fixed_points if self.results is not None else None
        return f"fixed point {data}: " + eigenvalue_text(found, data) if found is not None and data < len(found.q) else ""

    def _clicked(self, _item, spots, _event) -> None:
        if len(spots):
            self.analysis.choose_fixed_point(self.key, int(spots[0].data()))

    def _show_chosen(self, key, index: int) -> None:
        results = self.analysis.results.get(key)
        found = results.fixed_points if results is not None else None
        if found is not None and index < len(found.q):
            self.info.setText(f"Fixed point {index} of {len(found.q)} "
                              f"(L{key[0] + 1} {key[1]}): " + eigenvalue_text(found, index))
        self.redraw()
