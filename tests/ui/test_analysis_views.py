"""The analysis views driven like a user: open a trained flip-flop GRU, play, link the views, fork."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rnnviz.analysis.gradients import gradient_flow
from rnnviz.analysis.streams import stream as analysis_stream
from rnnviz.spec import InitSpec, InputSpec, LayerSpec, ModelSpec
from rnnviz.ui import analysis_jobs
from rnnviz.ui.analysis_results import analysis_of
from rnnviz.ui.views import heatmap_strips
from rnnviz.ui.views import view_names
from tests.ui.conftest import play_to_end

ASSET = Path(__file__).resolve().parents[2] / "assets" / "flipflop_gru24"
ANALYSIS_VIEWS = ("jacobian", "gates", "lyapunov", "pca", "fixed-points", "perturbation")
TIMESTEPS = 80  # the first steps of the asset's input: a few flips, fast to analyse


@pytest.fixture
def flipflop(qtbot, make_window, tmp_path, monkeypatch):
    # the same search as the app's, with a budget for a test (the stable points of the first flips)
    monkeypatch.setattr(analysis_jobs, "FIXED_POINT_INITS", 16)
    monkeypatch.setattr(analysis_jobs, "FIXED_POINT_ITERATIONS", 300)
    window = make_window(autoplay=False)
    short = tmp_path / "input.npy"
    np.save(short, np.load(ASSET / "input.npy")[:TIMESTEPS])
    assert window.files.open_file(str(ASSET / "model.pt")) and window.files.open_file(str(short))
    return window


def wait_analysed(qtbot, window, timeout: int = 60_000) -> None:
    play_to_end(qtbot, window, timeout)
    qtbot.waitUntil(lambda: all(window.views[name].is_complete() for name in ANALYSIS_VIEWS), timeout=timeout)


def test_views_are_registered():
    assert set(ANALYSIS_VIEWS) <= set(view_names())


def test_every_view_fills_in_and_is_complete(qtbot, flipflop):
    window = flipflop
    wait_analysed(qtbot, window)
    results = analysis_of(window.state).results[0, "forward"]
    assert not analysis_of(window.state).problem
    for name in ("spectral_radius", "sigma_max", "gradient_log10"):
        assert np.isfinite(results.series[name]).all(), name
    # the strips show what the app computed, and the gradient flow is the core's
    model, trace = window.state.model, window.state.trace
    expected = gradient_flow(analysis_stream(trace, model.weights, 1, "forward"))["log10"]
    t, shown = window.views["jacobian"].gradient.getOriginalDataset()
    assert np.array_equal(shown, expected) and t[0] == 0 and len(t) == TIMESTEPS
    lyapunov = window.views["lyapunov"]
    assert "λ" in lyapunov.headline.text() and any(word in lyapunov.headline.text()
                                                     for word in ("chaotic", "stable", "edge of chaos"))
    assert results.spectrum is not None and results.spectrum.max() < 0  # a trained flip-flop holds its memory
    assert results.pca["scores"].shape == (TIMESTEPS, 6)
    assert "of variance" in window.views["pca"].plot.getAxis("bottom").labelText
    found = results.fixed_points
    assert len(found.q) and (found.q < 1e-12).all() and found.stable.any()
    assert window.views["fixed-points"].table.rowCount() == len(found.q)
    assert len(window.views["pca"].fixed.data) == len(found.q)
    gates = window.views["gates"]
    assert len(gates.images) == 4 and len(gates.scatter.data) == 2 * 24  # h, z, r, hh; z and r dots
    fork = analysis_of(window.state).fork
    assert fork is not None and fork.step == TIMESTEPS // 4 and np.isnan(fork.distance[:fork.step]).all()
    assert fork.distance[fork.step] == pytest.approx(fork.epsilon)


def test_selecting_in_one_view_selects_everywhere(qtbot, flipflop):
    window = flipflop
    wait_analysed(qtbot, window)
    window.show_view("gates")  # a tab behind another is drawn when it is shown
    gates = window.views["gates"]
    spot = next(s for s in gates.scatter.points() if s.data() == ("z", 7))
    gates._clicked(gates.scatter, [spot], None)  # what a click on the dot does
    assert window.state.selection.unit == 7
    qtbot.waitUntil(lambda: "unit 7" in window.views["unit-trace"].plot.plotItem.titleLabel.text)
    # the chosen unit is ringed in the scatter
    ringed = [s.data() for s in gates.scatter.points() if s.size() > 8]
    assert set(ringed) == {("z", 7), ("r", 7)}
    # a fixed point chosen in the PCA is chosen in the table
    window.show_view("pca")
    pca, table = window.views["pca"], window.views["fixed-points"].table
    index = len(analysis_of(window.state).results[0, "forward"].fixed_points.q) - 1
    spot = next(s for s in pca.fixed.points() if s.data() == index)
    pca._clicked(pca.fixed, [spot], None)
    assert table.currentRow() == index and f"Fixed point {index}" in pca.info.text()


def test_fork_at_the_cursor_and_an_edit_restarts(qtbot, flipflop):
    window = flipflop
    wait_analysed(qtbot, window)
    window.runner.seek(30)
    qtbot.waitUntil(lambda: window.state.run.streams[0].revealed == 30)
    view = window.views["perturbation"]
    view.fork_button.click()
    analysis = analysis_of(window.state)
    qtbot.waitUntil(lambda: analysis.fork is not None and analysis.fork.step == 29 and view.redraw_done())
    assert "t = 29" in view.distance_plot.titleLabel.text
    levels = view.image.getLevels()
    assert levels[0] == -levels[1] > -1  # symmetric, and scaled to the (small) difference
    # an edit (undoing the short input) cancels the analyses and clears them for the new run
    old_worker = analysis.worker
    window.session.undo_stack.undo()
    qtbot.waitUntil(lambda: window.state.run.timesteps != TIMESTEPS, timeout=20_000)
    assert old_worker.cancelled and analysis.fork is None
    assert analysis.results[0, "forward"].steps == window.state.run.timesteps


EIGHT = ModelSpec(InputSpec(timesteps=60, features=3, source="sine", seed=1),
                  [LayerSpec(kind, 4, True) for kind in ("SimpleRNN", "GRU", "LSTM", "GRU")], InitSpec("keras", seed=2))


def test_eight_layer_directions_each_labelled_and_chosen_everywhere(qtbot, make_window, monkeypatch):
    """A 4-layer bidirectional stack: eight labelled heatmaps, a chooser of eight in every analysis view,
    and choosing the last one there scrolls the heatmaps to it and shows it in every view."""
    monkeypatch.setattr(analysis_jobs, "FIXED_POINT_INITS", 8)
    monkeypatch.setattr(analysis_jobs, "FIXED_POINT_ITERATIONS", 50)
    window = make_window(EIGHT)
    window.resize(1400, 860)
    play_to_end(qtbot, window)
    titles = [f"Layer {layer} · {kind}(4) · {direction}" for layer, kind in
              enumerate(("SimpleRNN", "GRU", "LSTM", "GRU"), 1) for direction in ("forward", "backward")]
    heatmaps = window.heatmaps
    assert [row.image.plot.titleLabel.text for row in heatmaps.rows] == titles
    # eight rows are drawn compact: shorter heatmaps and strips than a shallow stack's, so more fit
    assert heatmaps.compact and heatmaps.graphics.minimumHeight() < 8 * 300
    assert heatmaps.rows[0].strips.norms.maximumHeight() < heatmap_strips.STRIP_HEIGHT + 6
    for plot in heatmaps.rows[0].strips.plots:  # at most three value labels, not one per 0.2 of ρ
        low, high = plot.getViewBox().viewRange()[1]
        (major, _), _ = plot.getAxis("left").tickSpacing(low, high, 40)
        assert 1 <= np.floor(high / major) - np.ceil(low / major) + 1 <= 3
    for name in ANALYSIS_VIEWS:
        chooser = window.views[name].chooser
        assert [chooser.itemText(i) for i in range(chooser.count())] == titles, name
    qtbot.waitUntil(lambda: all(window.views[name].is_complete() for name in ANALYSIS_VIEWS), timeout=60_000)
    # the first layer has no gates: the gates view links to the six that have
    window.show_view("gates")
    gates = window.views["gates"]
    assert gates.note.isVisible() and gates.note.text().count("<a href=") == 6
    gates._link_chosen("1,backward")  # what a click on the link does
    assert (window.state.selection.layer, window.state.selection.direction) == (1, "backward")
    qtbot.waitUntil(lambda: len(gates.images) == 4 and len(gates.bars) == 4)  # h, z, r, hh, each with its bar
    assert gates.bars[1].caption == gates.images[1].scale.label
    # choosing the last layer-direction in the Lyapunov view shows it everywhere
    window.show_view("lyapunov")
    lyapunov = window.views["lyapunov"]
    lyapunov.chooser.activated.emit(7)
    assert (window.state.selection.layer, window.state.selection.direction) == (3, "backward")
    assert all(window.views[name].chooser.currentIndex() == 7 for name in ANALYSIS_VIEWS)
    qtbot.waitUntil(lambda: titles[7] in lyapunov.headline.text())
    exponents = analysis_of(window.state).results[3, "backward"].lyapunov.shape[1]
    assert len(lyapunov.curves) == exponents  # one colour per exponent, as its dot in the spectrum
    assert len({curve.opts["pen"].color().name() for curve in lyapunov.curves}) == exponents
    window.show_view("heatmaps")
    bar = heatmaps.scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    heatmaps.show_selection(window.state.selection)
    top = heatmaps.graphics.mapFromScene(heatmaps.rows[7].image.plot.sceneBoundingRect().topLeft()).y()
    assert bar.value() == min(top, bar.maximum()) > 0
