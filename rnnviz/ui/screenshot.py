"""A picture of the window once the run has finished and every view is complete (``--screenshot``).

The window is a fixed size, with its own empty settings, so that the same model gives the same
picture on any machine; a run that fails or does not finish in time ends it with one line, not a hang.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QTimer, Signal, Slot

from rnnviz.errors import RnnvizError, printable
from rnnviz.export import atomic_write
from rnnviz.ui.main_window import MainWindow

WINDOW_SIZE = (1400, 860)
ANALYSIS_VIEWS = ("jacobian", "gates", "lyapunov", "pca", "fixed-points", "perturbation")
POLL_MS = 50
SETTLE_MS = 200  # after the last view is complete: for the last repaints (and text layout) to land


class Screenshot(QObject):
    """Waits for ``window``'s run and views, then saves ``window.grab()`` to ``path`` as PNG.

    ``finished(str)`` fires once: with "" on success, else with the one-line reason.
    """

    finished = Signal(str)

    def __init__(self, window: MainWindow, path: Path, view: str, timeout_s: float) -> None:
        super().__init__(window)
        self.window, self.path, self.view = window, path, view
        self.poll = QTimer(self, interval=POLL_MS)
        self.poll.timeout.connect(self._check)
        self.deadline = QTimer(self, singleShot=True, interval=round(timeout_s * 1000))
        self.deadline.timeout.connect(self._timed_out)
        self.timeout_s = timeout_s
        self.ended = False
        self.gated_chosen = False
        window.runner.failed.connect(self._fail)
        window.runner.set_speed(None, chosen=True)
        window.setFixedSize(*WINDOW_SIZE)

    def start(self) -> None:
        # An exception in any slot (a view's redraw, an analysis result arriving) ends the screenshot at
        # once with one line, rather than leaving it to wait for a view that will never be complete.
        self._previous_hook = sys.excepthook
        sys.excepthook = self._internal_error
        self.window.show_view(self.view)
        if self.view in ANALYSIS_VIEWS:  # their plots need the width and height the docks would take
            for dock in self.window.docks.values():
                dock.hide()
        self.poll.start()
        self.deadline.start()

    def _internal_error(self, kind: type, error: BaseException, _traceback: object) -> None:
        self._end(f"--screenshot: internal error while drawing ({kind.__name__}: {printable(str(error), 200)}); "
                  "no screenshot written (please report it)")

    def _pictured(self) -> list:
        """The views the picture shows: the one asked for and the docks left open beside it. Tabs
        behind it are not waited for (their analyses may take minutes and would not be seen)."""
        window = self.window
        return [view for name, view in window.views.items()
                if name == self.view or (name in window.docks and window.docks[name].isVisible())]

    def _complete(self) -> bool:
        window = self.window
        return window.state.trace is not None and not window.runner.restart_timer.isActive() \
            and all(view.is_complete() for view in self._pictured())

    def _choose_gated(self) -> None:
        """The gates picture of a stack whose first layer has no gates (SimpleRNN) shows the first
        layer-direction that has them, rather than a note."""
        state = self.window.state
        if self.view != "gates" or state.run is None or self.gated_chosen:
            return
        self.gated_chosen = True
        selected = state.selection.layer, state.selection.direction
        gated = [stream for stream in state.run.shown_streams if stream.gates]
        if gated and selected not in [(stream.layer, stream.direction) for stream in gated]:
            state.select(gated[0].layer, gated[0].direction, 0)

    @Slot()
    def _check(self) -> None:
        self._choose_gated()
        if self._complete():
            self.poll.stop()
            for view in self._pictured():  # whatever the frame timer has not drawn yet
                view.redraw()
                for pane in view.panes():
                    pane()
            QTimer.singleShot(SETTLE_MS, self._save)

    @Slot()
    def _save(self) -> None:
        self.deadline.stop()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        if not self.window.grab().save(buffer, "PNG"):
            self._fail(f"{self.path}: could not encode the picture")
            return
        try:
            with atomic_write(self.path, "wb") as fh:
                fh.write(bytes(data))
        except RnnvizError as exc:
            self._end(str(exc))
            return
        self._end("")

    @Slot(str)
    def _fail(self, message: str) -> None:
        self._end(f"{message} (no screenshot written)")

    @Slot()
    def _timed_out(self) -> None:
        self._end(f"--screenshot: the run and its views were not complete after {self.timeout_s:g} s "
                  "(raise --screenshot-timeout for a larger model); no screenshot written")

    def _end(self, message: str) -> None:
        if not self.ended:
            self.ended = True
            sys.excepthook = getattr(self, "_previous_hook", sys.excepthook)
            self.poll.stop()
            self.deadline.stop()
            self.finished.emit(message)
