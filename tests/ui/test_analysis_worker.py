"""The analysis workers' effect on the process: the GIL switch interval is shortened only while one runs."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QObject, Slot

from rnnviz.ui import analysis_jobs
from rnnviz.ui.analysis_results import GIL_SWITCH_S, analysis_of
from tests.ui.conftest import play_to_end

BEFORE = 0.004  # a switch interval of the user's own, not CPython's default


class IntervalSeen(QObject):
    """The switch interval each time an analysis piece arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.intervals: list[float] = []

    @Slot(object)
    def record(self, _key) -> None:
        self.intervals.append(sys.getswitchinterval())


@pytest.fixture
def own_interval(monkeypatch):
    monkeypatch.setattr(analysis_jobs, "FIXED_POINT_INITS", 8)
    monkeypatch.setattr(analysis_jobs, "FIXED_POINT_ITERATIONS", 50)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(BEFORE)
    yield
    sys.setswitchinterval(previous)


def test_switch_interval_is_short_while_analysing_and_restored_when_done(qtbot, make_window, small_spec,
                                                                         own_interval):
    window = make_window(small_spec)
    analysis = analysis_of(window.state)
    seen = IntervalSeen()
    analysis.updated.connect(seen.record)
    play_to_end(qtbot, window)
    qtbot.waitUntil(lambda: analysis.complete and analysis.fork is not None, timeout=60_000)
    qtbot.waitUntil(lambda: sys.getswitchinterval() == pytest.approx(BEFORE))
    assert seen.intervals and GIL_SWITCH_S in [pytest.approx(i) for i in seen.intervals[1:]]


def test_switch_interval_restored_after_an_edit_and_after_shutdown(qtbot, make_window, small_spec, own_interval):
    window = make_window(small_spec)
    analysis = analysis_of(window.state)
    play_to_end(qtbot, window)
    qtbot.waitUntil(lambda: analysis.worker is not None)
    window.runner.start_run()  # what an edit does after its debounce: cancel, restart
    play_to_end(qtbot, window)
    qtbot.waitUntil(lambda: analysis.worker is not None)
    analysis.shutdown()  # what closing the window does, with the new run's analyses in progress
    assert sys.getswitchinterval() == pytest.approx(BEFORE)


def test_a_cancel_stops_a_long_piece_within_its_loop(qtbot):
    """A piece that would run for hours (a fixed-point search's settling) ends soon after a cancel, and
    the worker reports neither a result nor a failure."""
    import numpy as np

    from rnnviz.analysis.fixed_points import find_fixed_points
    from rnnviz.ui.analysis_worker import AnalysisWorker, Piece
    from tests.analysis.helpers import random_cell

    cell = random_cell("GRU", 32, 4, seed=1)
    samples = np.random.default_rng(0).uniform(-1, 1, (50, 32))

    def endless():
        yield Piece("fixed_points", (0, "forward"), 0,
                    find_fixed_points(cell, np.zeros(4), samples, n_inits=16, settle_steps=10_000_000))

    worker = AnalysisWorker([endless])
    seen = IntervalSeen()  # any piece or failure would be recorded
    worker.piece.connect(seen.record)
    worker.failed.connect(seen.record)
    worker.start()
    qtbot.waitUntil(worker.isRunning)
    worker.cancel()
    qtbot.waitUntil(worker.isFinished, timeout=5_000)
    assert seen.intervals == []
