"""Per-step Jacobians of a run against autograd, their matrix-free form against the dense one, and
their norms against LAPACK."""

import numpy as np
import pytest
import torch

from rnnviz.analysis import cellmaps, jacobian
from rnnviz.analysis.streams import streams
from tests.analysis.helpers import random_cell, run, spec


def test_stream_jacobians_match_autograd_at_the_previous_state():
    model, trace = run(spec("GRU", units=5, layers=2, bidirectional=True, timesteps=12))
    for s in streams(trace, model.weights):
        jac = jacobian.jacobians(s)
        prev = s.previous()
        for t in (0, 5, s.steps - 1):
            x = torch.as_tensor(s.inputs[t:t + 1], dtype=torch.float64)
            reference = torch.autograd.functional.jacobian(
                lambda h: cellmaps.step(s.cell, x, h[None])[0], torch.as_tensor(prev[t], dtype=torch.float64))
            np.testing.assert_allclose(jac[t].numpy(), reference.numpy(), atol=1e-10)


def linearised(kind, units, batch=48, seed=0):
    cell = cellmaps.torch_cell(random_cell(kind, units, 3, scale=2.0, seed=units + seed))
    gen = torch.Generator().manual_seed(seed)
    states = 0.5 * torch.randn(batch, cell.state_size, dtype=torch.float64, generator=gen)
    return cellmaps.linearise(cell, torch.randn(batch, 3, dtype=torch.float64, generator=gen), states)


@pytest.mark.parametrize("kind", ["SimpleRNN", "GRU", "LSTM"])
def test_matrix_free_products_match_the_dense_jacobian(kind):
    lin = linearised(kind, 7)
    dense = lin.dense()
    rows = torch.randn(dense.shape[0], 3, dense.shape[1], dtype=torch.float64)
    np.testing.assert_allclose(lin.apply(rows).numpy(), (rows @ dense.mT).numpy(), atol=1e-12)
    np.testing.assert_allclose(lin.apply_transpose(rows).numpy(), (rows @ dense).numpy(), atol=1e-12)
    np.testing.assert_allclose(jacobian.norms(lin)["frobenius"].numpy(), np.linalg.norm(dense.numpy(), axis=(1, 2)),
                               rtol=1e-12)


@pytest.mark.parametrize("exact_up_to", [128, 4], ids=["lapack", "iteration"])
@pytest.mark.parametrize("units,kind", [(8, "GRU"), (40, "SimpleRNN"), (48, "GRU"), (24, "LSTM"), (128, "GRU")])
def test_norms_match_lapack(units, kind, exact_up_to, monkeypatch):
    monkeypatch.setattr(jacobian, "EXACT_MAX_STATES", exact_up_to)  # both ways of finding sigma_max
    lin = linearised(kind, units)
    jac = lin.dense().numpy()
    eig = np.abs(np.linalg.eigvals(jac)).max(axis=1)
    svd = np.linalg.svd(jac, compute_uv=False)[:, 0]
    np.testing.assert_allclose(jacobian.sigma_max(lin).numpy(), svd, rtol=1e-5)
    np.testing.assert_allclose(jacobian.spectral_radius(lin).numpy(), eig, rtol=1e-5)  # float32 LAPACK


def _lapack_radius(matrices: torch.Tensor) -> np.ndarray:
    return np.abs(np.linalg.eigvals(matrices.double().numpy())).max(axis=1)


def test_radius_by_powers_matches_lapack_where_the_leading_eigenvalues_crowd_or_tie():
    """Random Jacobians (a circle of eigenvalues), orthogonal matrices (every modulus equal: the Ritz
    residual must send them to LAPACK), a dominant complex pair, a matrix with one eigenvalue per
    modulus band, one whose top half crowds within 1e-4 (long-memory units), and the zero matrix (a
    saturated layer)."""
    gen = torch.Generator().manual_seed(0)
    n = 96
    orthogonal = torch.linalg.qr(torch.randn(8, n, n, dtype=torch.float64, generator=gen)).Q
    pair = torch.diag_embed(0.5 * torch.rand(8, n, dtype=torch.float64, generator=gen))
    pair[:, 0, 1], pair[:, 1, 0] = 0.9, -0.9
    basis = torch.linalg.qr(torch.randn(8, n, n, dtype=torch.float64, generator=gen)).Q
    cluster = torch.cat([1 - 1e-4 * torch.rand(8, n // 2, dtype=torch.float64, generator=gen),
                         0.5 * torch.rand(8, n - n // 2, dtype=torch.float64, generator=gen)], dim=1)
    clustered = basis @ torch.diag_embed(cluster) @ basis.mT  # half the eigenvalues within 1e-4: no gap to use
    graded = basis @ torch.diag_embed(torch.linspace(1.0, 0.01, n, dtype=torch.float64).expand(8, n)) @ basis.mT
    cases = {
        "random GRU": linearised("GRU", n, batch=32).dense(),
        "random LSTM": linearised("LSTM", n // 2, batch=32).dense(),
        "orthogonal": orthogonal,
        "orthogonal, nudged": 0.9 * orthogonal + 1e-3 * torch.randn(8, n, n, dtype=torch.float64, generator=gen),
        "complex pair": pair,
        "graded": graded,
        "clustered": clustered,
        "zero": torch.zeros(2, n, n, dtype=torch.float64),
    }
    for name, matrices in cases.items():
        found = jacobian._radius_by_powers(matrices).numpy()
        np.testing.assert_allclose(found, _lapack_radius(matrices), rtol=1e-5, atol=1e-12, err_msg=name)


def test_radius_by_powers_answers_without_lapack_on_a_typical_run(monkeypatch):
    """The fast path is the one taken: a random GRU's steps are verified by their Ritz residuals, none
    goes to LAPACK's eigenvalues."""
    lin = linearised("GRU", 64, batch=64)
    calls = []
    eigvals = torch.linalg.eigvals

    def counted(matrices, *args, **kwargs):
        if matrices.shape[-1] > jacobian.RITZ_VECTORS:
            calls.append(matrices.shape[0])
        return eigvals(matrices, *args, **kwargs)

    monkeypatch.setattr(torch.linalg, "eigvals", counted)
    radius = jacobian.spectral_radius(lin).numpy()
    monkeypatch.undo()
    assert calls == []
    np.testing.assert_allclose(radius, _lapack_radius(lin.dense()), rtol=1e-5)


@pytest.mark.parametrize("exact_up_to", [128, 4], ids=["lapack", "iteration"])
@pytest.mark.parametrize("kind", ["SimpleRNN", "GRU", "LSTM"])
def test_stream_norms_in_float32_match_float64_and_do_not_depend_on_the_pieces(kind, exact_up_to, monkeypatch):
    """``jacobian_stats`` linearises in float32 (the states' precision): within 1e-5 of float64 LAPACK and
    SVD of the float64 Jacobians; split into pieces of any size (the app's and ``analyze``'s differ),
    with the dense parts and the linearised chunks both cut short, every step's numbers are the same up
    to float32 rounding (a product's rounding depends on how many rows it has)."""
    monkeypatch.setattr(jacobian, "EXACT_MAX_STATES", exact_up_to)
    model, trace = run(spec(kind, units=26, layers=1, bidirectional=False, timesteps=90, gain=1.3))
    s = streams(trace, model.weights)[0]
    jac = jacobian.jacobians(s).numpy()
    whole = jacobian.jacobian_stats(s)
    np.testing.assert_allclose(whole["spectral_radius"], np.abs(np.linalg.eigvals(jac)).max(axis=1), rtol=1e-5)
    np.testing.assert_allclose(whole["sigma_max"], np.linalg.svd(jac, compute_uv=False)[:, 0], rtol=1e-5)
    np.testing.assert_allclose(whole["frobenius"], np.linalg.norm(jac, axis=(1, 2)), rtol=1e-6)
    monkeypatch.setattr(jacobian, "CHUNK", 11)
    monkeypatch.setattr(jacobian, "DENSE_BYTES", 4 * s.state_size ** 2 * 3)  # 3 Jacobians at a time
    pieces = [jacobian.jacobian_stats(s, start, min(start + 17, s.steps)) for start in range(0, s.steps, 17)]
    for name, values in whole.items():
        np.testing.assert_allclose(np.concatenate([p[name] for p in pieces]), values, rtol=1e-5, err_msg=name)
