"""Fork-and-perturb against the linearisation (Jacobian products) and against the engine's own states."""

import numpy as np
import pytest
import torch

from rnnviz.analysis import jacobian
from rnnviz.analysis.perturb import _continue, perturb
from rnnviz.analysis.streams import stream
from tests.analysis.helpers import run, spec


def test_unperturbed_continuation_is_the_engine_run():
    model, trace = run(spec("GRU", units=6, layers=1, bidirectional=True, timesteps=80))
    for d in ("forward", "backward"):
        s = stream(trace, model.weights, 1, d)
        states = _continue(s.cell, s.inputs[None], torch.zeros(1, s.state_size, dtype=torch.float64), 0)[0].numpy()
        np.testing.assert_allclose(states, s.states, atol=1e-5)


def test_tiny_perturbation_grows_like_the_jacobian_product():
    model, trace = run(spec("SimpleRNN", units=5, layers=1, bidirectional=True, timesteps=40, scheme="normal",
                            gain=1.5))
    epsilon, at = 1e-7, 10
    result = perturb(trace, model.weights, at=at, epsilon=epsilon, layer=1, direction="backward")
    assert [(r.layer, r.direction) for r in result] == [(1, "backward")]  # the forward direction is unaffected
    divergence = result[0]
    np.testing.assert_array_equal(divergence.times, np.arange(40)[::-1][at:])
    assert divergence.distance[0] == pytest.approx(epsilon, rel=1e-8)
    assert divergence.difference_h.shape == (len(divergence.times), 5)
    np.testing.assert_allclose(np.linalg.norm(divergence.difference_h, axis=1), divergence.distance_h, rtol=1e-12)
    s = stream(trace, model.weights, 1, "backward")
    jac = jacobian.jacobians(s).numpy()
    nudge = torch.randn(s.state_size, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).numpy()
    tangent = epsilon * nudge / np.linalg.norm(nudge)
    for k in range(1, 8):
        tangent = jac[at + k] @ tangent
        np.testing.assert_allclose(divergence.distance[k], np.linalg.norm(tangent), rtol=1e-3)


def test_layers_above_are_recomputed_and_horizons_reported():
    model, trace = run(spec("GRU", units=4, layers=3, bidirectional=True, timesteps=60, scheme="normal", gain=0.5))
    result = perturb(trace, model.weights, at=20, epsilon=1e-4, layer=2, direction="forward")
    assert [(r.layer, r.direction) for r in result] == [(2, "forward"), (3, "forward"), (3, "backward")]
    forward_above, backward_above = result[1], result[2]
    assert forward_above.times[0] == 20 and backward_above.times[0] == 59  # backward reads t = 59 first
    assert result[0].memory_horizon is not None and result[0].divergence_time is None
    horizon = result[0].memory_horizon
    assert result[0].distance[horizon] < 1e-6 <= result[0].distance[:horizon].min()
