"""Gate saturation against direct counts, PCA against numpy's SVD."""

import numpy as np

from rnnviz.analysis.gates import gate_saturation
from rnnviz.analysis.pca import pca
from tests.analysis.helpers import run, spec


def test_gate_fractions_count_the_steps_beyond_the_thresholds():
    _, trace = run(spec("GRU", units=5, layers=1, bidirectional=True, timesteps=50, scheme="uniform01"))
    result = gate_saturation(trace, 1, "backward")
    assert set(result) == {"z", "r"}
    z = trace.gates(1, "backward")["z"]
    for unit in range(5):
        assert result["z"]["left"][unit] == sum(v < 0.1 for v in z[:, unit]) / 50
        assert result["z"]["right"][unit] == sum(v > 0.9 for v in z[:, unit]) / 50
    np.testing.assert_allclose(result["z"]["mean"], z.mean(axis=0), rtol=1e-6)


def test_simple_rnn_saturation_view_is_of_abs_h():
    _, trace = run(spec("SimpleRNN", units=4, layers=1, bidirectional=False, timesteps=30, scheme="uniform01"))
    result = gate_saturation(trace, 1, "forward")
    assert list(result) == ["h_abs"]
    np.testing.assert_allclose(result["h_abs"]["right"], (np.abs(trace.hidden(1)) > 0.9).mean(axis=0))


def test_pca_matches_numpy_svd_with_a_fixed_sign():
    _, trace = run(spec("GRU", units=6, layers=1, bidirectional=False, timesteps=80))
    h = trace.hidden(1).astype(np.float64)
    result = pca(h)
    centred = h - h.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    np.testing.assert_allclose(result["explained_variance_ratio"], s ** 2 / (s ** 2).sum(), rtol=1e-10)
    np.testing.assert_allclose(np.abs(result["scores"]), np.abs(centred @ vt[:3].T), atol=1e-10)
    loadings = result["loadings"]
    assert all(row[np.argmax(np.abs(row))] > 0 for row in loadings)
    # other states are placed with the same fit: the trajectory projected afresh gives its own scores
    np.testing.assert_allclose((h - result["mean"]) @ loadings.T, result["scores"], atol=1e-10)
    two_units = pca(h[:, :2])
    assert np.isnan(two_units["scores"][:, 2]).all() and not np.isnan(two_units["scores"][:, :2]).any()
