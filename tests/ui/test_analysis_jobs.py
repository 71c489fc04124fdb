"""The app's analysis jobs: in which order they run."""

from __future__ import annotations

from rnnviz.ui import analysis_jobs
from tests.analysis.helpers import run, spec


def test_every_streams_series_come_before_any_slow_analysis(monkeypatch):
    monkeypatch.setattr(analysis_jobs, "FIXED_POINT_INITS", 4)
    monkeypatch.setattr(analysis_jobs, "FIXED_POINT_ITERATIONS", 10)
    model, trace = run(spec("GRU", units=4, layers=2, bidirectional=True, timesteps=20))
    keys = [(layer, direction) for layer in range(2) for direction in ("forward", "backward")]
    pieces = [(piece.kind, piece.key) for job in analysis_jobs.analysis_jobs(trace, model, keys) for piece in job()]
    slow = [index for index, (kind, _) in enumerate(pieces) if kind != "series"]
    series = [index for index, (kind, _) in enumerate(pieces) if kind == "series"]
    assert max(series) < min(slow)
    assert {pieces[index][1] for index in series} == set(keys)
    assert [kind for kind, key in pieces if key == keys[-1] and kind != "series"] == ["lyapunov", "pca", "fixed_points"]
    # the slow analyses stream by stream, in the order the streams were asked for
    assert [key for kind, key in pieces if kind == "fixed_points"] == keys
