"""Fixed points of the chosen layer-direction under zero input: a table (q, stability, largest |λ|),
and the eigenvalues of the chosen one against the unit circle (outside it, a direction that grows).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QHeaderView, QTableWidget, QTableWidgetItem

from rnnviz.ui.analysis_results import StreamResults
from rnnviz.ui.run_data import Stream
from rnnviz.ui.state import AppState
from rnnviz.ui.views.analysis_common import AnalysisView, plot_widget

STABLE_COLOUR = (31, 119, 180)
UNSTABLE_COLOUR = (214, 39, 40)
CIRCLE = np.exp(1j * np.linspace(0, 2 * np.pi, 361))


class FixedPointsView(AnalysisView):
    name = "fixed-points"
    title = "Fixed points"
    area = "centre"

    def __init__(self, state: AppState) -> None:
        super().__init__(state)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["#", "q = ½‖F(h)−h‖²", "stability", "max |λ|"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.currentCellChanged.connect(self._row_chosen)
        self.eigen_plot = plot_widget("eigenvalues of the Jacobian at the chosen fixed point", "Re λ", "Im λ")
        self.eigen_plot.setAspectLocked(True)
        self.eigen_plot.plot(CIRCLE.real, CIRCLE.imag, pen=pg.mkPen((90, 90, 90), width=1, style=Qt.PenStyle.DashLine))
        label = pg.TextItem("unit circle", color=(90, 90, 90), anchor=(0, 1))
        label.setPos(0.72, 0.72)  # on the circle's upper right, away from the eigenvalues near 0 and 1
        self.eigen_plot.addItem(label)
        self.eigenvalues = pg.ScatterPlotItem(size=9, hoverable=True, tip=self._tip)
        self.eigen_plot.addItem(self.eigenvalues)
        layout = QHBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 2)
        layout.addWidget(self.eigen_plot, 3)
        self.shown_points: object | None = None  # the FixedPoints the table shows
        self.analysis.fixed_point_chosen.connect(self._show_chosen)

    def draw(self, stream: Stream, results: StreamResults | None) -> None:
        found = results.fixed_points if results is not None else None
        if found is not self.shown_points:
            self.shown_points = found
            self._fill_table(found)
        chosen = self.analysis.chosen_fixed_point
        index = chosen[1] if chosen is not None and chosen[0] == self.key else 0
        if found is not None and index < len(found.q):
            values = found.eigenvalues[index]
            colours = [pg.mkBrush(UNSTABLE_COLOUR if abs(v) >= 1 else STABLE_COLOUR) for v in values]
            self.eigenvalues.setData(x=values.real, y=values.imag, brush=colours, pen=None, data=values)
            self.eigen_plot.setTitle(f"eigenvalues at fixed point {index} ({stream.title}); "
                                     "red: outside the unit circle", size="9pt", color="#202020")
            extent = max(1.1, float(np.abs(values).max()) * 1.1)
            self.eigen_plot.setRange(xRange=(-extent, extent), yRange=(-extent, extent))
        else:
            self.eigenvalues.setData([])
            self.eigen_plot.setTitle("no fixed point found (under zero input)" if found is not None
                                     else "searching for fixed points…", size="9pt", color="#202020")

    def _fill_table(self, found) -> None:
        """One row per fixed point of ``found`` (a FixedPoints, or None while searching)."""
        self.table.blockSignals(True)
        count = 0 if found is None else len(found.q)
        self.table.setRowCount(count)
        for row in range(count):
            cells = (str(row), f"{found.q[row]:.2e}", "stable" if found.stable[row] else
                     f"unstable ({int(found.unstable_modes[row])} direction{'s' if found.unstable_modes[row] > 1 else ''})", f"{found.max_abs_eig[row]:.4f}")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        self.table.blockSignals(False)

    @Slot(int, int, int, int)
    def _row_chosen(self, row: int, *_rest) -> None:
        if row >= 0:
            self.analysis.choose_fixed_point(self.key, row)

    @Slot(object, int)
    def _show_chosen(self, key, index: int) -> None:
        if key == self.key and index < self.table.rowCount() and self.table.currentRow() != index:
            self.table.blockSignals(True)
            self.table.selectRow(index)
            self.table.blockSignals(False)
        self.redraw()

    def _tip(self, x: float, y: float, data) -> str:
        return f"λ = {x:+.4f} {y:+.4f}i, |λ| = {abs(complex(x, y)):.4f}"
