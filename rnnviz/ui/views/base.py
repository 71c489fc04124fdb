"""What a view is: a widget that the window places (a tab of the centre, or a dock) and that
redraws itself from the shared :class:`~rnnviz.ui.state.AppState`.

A view declares where it goes and how it is redrawn with class attributes, connects to the state's
signals here, and is listed in ``rnnviz.ui.views.VIEWS``; the window then builds its dock or tab,
its View-menu entry and its ``--view`` name for screenshots, and the frame timer redraws it.
"""

from __future__ import annotations

from typing import Callable, ClassVar, Literal

from PySide6.QtWidgets import QWidget

from rnnviz.trace import Trace
from rnnviz.ui.run_data import RunData
from rnnviz.ui.state import AppState, Selection

Area = Literal["centre", "bottom", "right", "left"]


class View(QWidget):
    """Base of every view. Subclasses set ``name``, ``title`` and ``area`` and override the hooks.

    ``name``: the view's id (``--view NAME``, the dock's saved layout). ``title``: its dock or tab
    title and View-menu entry. ``area``: ``"centre"`` (a tab of the central area) or a dock area;
    docks of one area sit side by side in the order of ``VIEWS``. ``live``: redrawn every frame while
    playing (the heatmaps); other views are redrawn in turn, a few times a second, so that no frame
    pays for all of them.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    area: ClassVar[Area] = "bottom"
    live: ClassVar[bool] = False

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        state.run_started.connect(self.show_run)
        state.run_finished.connect(self.show_trace)
        state.selection_changed.connect(self.show_selection)
        state.threshold_changed.connect(self.show_threshold)

    def show_run(self, run: RunData) -> None:
        """A new run: set up for its streams (nothing is revealed yet)."""

    def redraw(self) -> bool:
        """Draw what playback has revealed since the last call; returns whether anything changed.
        Called from the frame timer, so it must cost little when nothing changed."""
        return False

    def panes(self) -> list[Callable[[], object]]:
        """The parts redrawn in turn while playing (a view with several plots may list each)."""
        return [self.redraw]

    def show_trace(self, trace: Trace) -> None:
        """Every state of the run is computed (a view may start background work on it here)."""

    def show_selection(self, selection: Selection) -> None:
        """The selected unit changed (in this view or any other)."""

    def show_threshold(self, threshold: float | None) -> None:
        """The saturation threshold changed (None: saturation is not marked)."""

    def is_complete(self) -> bool:
        """Whether the view shows everything it will for this run (a screenshot waits for it):
        by default once the run is computed and played to the end."""
        run = self.state.run
        return self.state.trace is not None and run is not None and all(
            s.revealed == run.timesteps for s in run.streams)
