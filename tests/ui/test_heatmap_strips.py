"""The Jacobian strips under each heatmap, driven like a user: open a small model, play, let the
analysis pieces arrive, move the cursor, hide the strips."""

from __future__ import annotations

import numpy as np

from rnnviz.spec import InitSpec, InputSpec, LayerSpec, ModelSpec
from rnnviz.ui import analysis_jobs
from rnnviz.ui.analysis_results import analysis_of
from rnnviz.ui.views.series_plots import decade
from tests.ui.conftest import play_to_end

SPEC = ModelSpec(InputSpec(timesteps=40, features=3, source="normal", seed=3),
                 [LayerSpec("GRU", 6, True), LayerSpec("LSTM", 4, True)], InitSpec("keras", seed=4))


def test_strips_per_stream_fill_in_follow_the_cursor_and_hide(qtbot, make_window, monkeypatch):
    monkeypatch.setattr(analysis_jobs, "FIXED_POINT_INITS", 8)
    monkeypatch.setattr(analysis_jobs, "FIXED_POINT_ITERATIONS", 50)
    window = make_window(SPEC)
    heatmaps = window.heatmaps
    play_to_end(qtbot, window)
    assert len(heatmaps.rows) == 4 and all(row.strips is not None for row in heatmaps.rows)
    qtbot.waitUntil(heatmaps.is_complete, timeout=60_000)
    results = analysis_of(window.state).results
    for row in heatmaps.rows:
        strips, series = row.strips, results[row.key].series
        assert strips.flow.getAxis("left").logMode  # ticks are powers of 10 of the log10 curve
        assert strips.norms.getViewBox().linkedView(0) is row.image.plot.getViewBox()  # one time axis
        t, radius = strips.curves.radius.getOriginalDataset()
        expected = series["spectral_radius"] if row.key[1] == "forward" else series["spectral_radius"][::-1]
        assert len(t) == 40 and t[0] == 0 and np.array_equal(radius, expected)
        _, flow = strips.curves.gradient.getOriginalDataset()
        expected = series["gradient_log10"] if row.key[1] == "forward" else series["gradient_log10"][::-1]
        np.testing.assert_array_equal(flow, expected)
        assert all(cursor.value() == row.image.cursor_t for cursor in strips.curves.cursors)
    window.runner.seek(10)  # layer 1 has revealed ten steps: its strips show them and their cursor moves there
    qtbot.waitUntil(lambda: window.state.run.streams[0].revealed == 10)
    heatmaps.redraw()
    forward, backward = heatmaps.rows[0].strips, heatmaps.rows[1].strips
    assert forward.curves.cursors[0].value() == 9.5 and backward.curves.cursors[1].value() == 40 - 10 - 0.5
    heatmaps.draw_strips()
    assert len(forward.curves.radius.getOriginalDataset()[0]) == 10
    heatmaps.strips_check.setChecked(False)
    assert all(row.strips is None for row in heatmaps.rows) and len(heatmaps.rows) == 4
    heatmaps.strips_check.setChecked(True)
    assert all(row.strips is not None for row in heatmaps.rows)


def test_a_flow_below_float_range_stays_on_its_log_axis(qtbot, make_window, monkeypatch):
    """A SimpleRNN over 5000 steps has a gradient flow of 10⁻⁴⁷⁰: pyqtgraph's log view clamped the
    range at 10⁻³⁰⁷·⁶ and the curve ran off the bottom; here the range and the ticks reach it."""
    assert (decade(-470), decade(0), decade(1), decade(2), decade(np.log10(3))) == ("10⁻⁴⁷⁰", "1", "10", "10²", "3")
    monkeypatch.setattr(analysis_jobs, "FIXED_POINT_INITS", 8)
    monkeypatch.setattr(analysis_jobs, "FIXED_POINT_ITERATIONS", 50)
    window = make_window(SPEC)
    play_to_end(qtbot, window)
    row = window.heatmaps.rows[0]
    steps = row.image.steps
    row.strips.curves.show(row.image.stream, {"gradient_log10": np.linspace(-470.0, 0.0, steps)})
    low, high = row.strips.flow.getViewBox().viewRange()[1]
    assert low == -470.5 and high == 0.5
    axis = row.strips.flow.getAxis("left")
    assert axis.tickStrings([-400.0, -200.0, 0.0], 1.0, 200.0) == ["10⁻⁴⁰⁰", "10⁻²⁰⁰", "1"]
