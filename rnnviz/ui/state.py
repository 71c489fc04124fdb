"""What every view shows and links to: the run in progress, its finished trace, the playback step,
the selected unit, the saturation threshold, and which quantity each heatmap shows.

The views keep none of this themselves (napari style): they read it here and redraw when told. So a
click in one view selects the unit in all of them, and a view added later follows the same signals.
"""

from __future__ import annotations

from typing import NamedTuple

from PySide6.QtCore import QObject, Signal

from rnnviz.model import Model
from rnnviz.trace import SATURATION_THRESHOLD, Trace
from rnnviz.ui.run_data import RunData, Stream


class Selection(NamedTuple):
    """One unit of one layer direction (layer from 0, as in :class:`~rnnviz.ui.run_data.Stream`)."""

    layer: int
    direction: str
    unit: int


class AppState(QObject):
    """The shared state of the views, with a signal for each part that changes.

    ``run_started(RunData)``: a new run, nothing revealed yet; its arrays fill as blocks arrive, and
    the frame timer asks each view to redraw what playback revealed (:meth:`View.redraw`).
    ``run_finished(Trace)``: every state is computed. ``step_changed(int)``: the playback cursor, in
    sweep steps. ``selection_changed(Selection)``, ``threshold_changed(object)`` (float, or None when
    saturation is not marked) and ``quantity_changed(int, str, str)`` (layer, direction, name).
    """

    run_started = Signal(object)
    run_finished = Signal(object)
    step_changed = Signal(int)
    selection_changed = Signal(object)
    threshold_changed = Signal(object)
    quantity_changed = Signal(int, str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run: RunData | None = None
        self.model: Model | None = None  # the weights of the run (the analyses need them)
        self.trace: Trace | None = None
        self.step = 0
        self.selection = Selection(0, "forward", 0)
        self.threshold = SATURATION_THRESHOLD
        self.marking = True
        # what each heatmap shows besides h (z, c, f ...), by (layer, direction); kept across runs
        self.quantities: dict[tuple[int, str], str] = {}

    @property
    def mark_threshold(self) -> float | None:
        """The threshold saturation is marked at in the views, or None when it is not marked."""
        return self.threshold if self.marking else None

    def start(self, run: RunData, model: Model | None = None) -> None:
        """Show a new run; the selection moves to unit 0 of layer 1 where the run has no such unit."""
        self.run, self.model, self.trace, self.step = run, model, None, 0
        run.set_threshold(self.threshold)
        layer, direction, unit = self.selection
        if not any((s.layer, s.direction) == (layer, direction) and unit < s.units for s in run.streams):
            first = run.streams[0]
            self.selection = Selection(first.layer, first.direction, 0)
        self.run_started.emit(run)
        self.selection_changed.emit(self.selection)

    def finish(self, trace: Trace) -> None:
        self.trace = trace
        self.run_finished.emit(trace)

    def invalidate(self) -> None:
        """The model changed: the finished trace no longer matches it (nothing to export until rerun)."""
        self.trace = None

    def move_to(self, step: int) -> None:
        if step != self.step:
            self.step = step
            self.step_changed.emit(step)

    def select(self, layer: int, direction: str, unit: int) -> None:
        if self.run is not None and Selection(layer, direction, unit) != self.selection:
            self.selection = Selection(layer, direction, unit)
            self.selection_changed.emit(self.selection)

    def selected_stream(self) -> Stream | None:
        if self.run is None:
            return None
        return self.run.stream(self.selection.layer, self.selection.direction)

    def set_threshold(self, threshold: float, marking: bool) -> None:
        self.threshold, self.marking = threshold, marking
        if self.run is not None:
            self.run.set_threshold(threshold)
        self.threshold_changed.emit(self.mark_threshold)

    def quantity(self, layer: int, direction: str) -> str:
        return self.quantities.get((layer, direction), "h")

    def set_quantity(self, layer: int, direction: str, name: str) -> None:
        if name != self.quantity(layer, direction):
            self.quantities[layer, direction] = name
            self.quantity_changed.emit(layer, direction, name)
