"""Fixed points of maps whose fixed points are known, and of GRU/LSTM cells."""

import numpy as np
import pytest
import torch

from rnnviz.analysis import cellmaps
from rnnviz.analysis.fixed_points import find_fixed_points
from rnnviz.engine.cells import CellWeights
from tests.analysis.helpers import random_cell


def diagonal_cell(weights):
    n = len(weights)
    return CellWeights(np.zeros((1, n), np.float32), np.diag(weights).astype(np.float32), np.zeros(n, np.float32))


def test_all_three_per_unit_fixed_points_of_a_diagonal_map():
    """tanh(2h) = h has solutions 0 and ±0.957504 per unit: 27 points for 3 units, 8 of them stable."""
    root = 0.9575040240772687  # solves tanh(2 x) = x
    samples = np.random.default_rng(0).uniform(-1, 1, (200, 3))
    found = find_fixed_points(diagonal_cell([2, 2, 2]), np.zeros(1), samples, n_inits=512, seed=1)
    expected = {tuple(p) for p in np.array(np.meshgrid(*[[-root, 0, root]] * 3)).reshape(3, -1).T.round(6)}
    assert {tuple(p) for p in found.states.round(6)} == expected
    zeros = (np.abs(found.states) < 1e-9).sum(axis=1)
    np.testing.assert_array_equal(found.unstable_modes, zeros)  # each unit at 0 has slope 2 > 1
    assert found.stable.sum() == 8 and (found.q < 1e-12).all()
    np.testing.assert_allclose(found.max_abs_eig[found.stable], 2 * (1 - root ** 2), rtol=1e-9)


def test_contracting_map_has_only_the_origin():
    q, _ = np.linalg.qr(np.random.default_rng(2).standard_normal((6, 6)))
    cell = CellWeights(np.zeros((1, 6), np.float32), (0.5 * q).astype(np.float32), np.zeros(6, np.float32))
    found = find_fixed_points(cell, np.zeros(1), np.random.default_rng(3).uniform(-1, 1, (50, 6)), n_inits=128)
    assert found.states.shape == (1, 6) and np.abs(found.states).max() < 1e-12
    assert found.stable.tolist() == [True]
    np.testing.assert_allclose(found.max_abs_eig, 0.5, rtol=1e-6)


@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_gated_cells_fixed_points_are_fixed(kind):
    cell = random_cell(kind, 8, 2, scale=3.0, seed=5)
    x = np.array([0.3, -0.2])
    samples = np.random.default_rng(4).uniform(-1, 1, (100, 16 if kind == "LSTM" else 8))
    found = find_fixed_points(cell, x, samples, n_inits=128)
    assert len(found.states) >= 1
    states = torch.as_tensor(found.states)
    image = cellmaps.step(cell, torch.as_tensor(x).expand(len(states), -1), states)
    assert torch.linalg.vector_norm(image - states, dim=1).max() < np.sqrt(2e-12)  # q < tol_q, verified afresh
    jac = cellmaps.jacobian(cell, torch.as_tensor(x).expand(len(states), -1), states).numpy()
    np.testing.assert_allclose(np.abs(found.eigenvalues), -np.sort(-np.abs(np.linalg.eigvals(jac)), axis=1), atol=1e-9)
    # each eigenvector column belongs to its eigenvalue: J v = λ v
    for j, values, vectors in zip(jac, found.eigenvalues, found.eigenvectors):
        np.testing.assert_allclose(j @ vectors, vectors * values[None, :], atol=1e-6)
