"""The cell maps are the engine's equations: one step from the engine's own states gives its next state,
LSTM agrees with torch.nn.LSTM, and the analytic Jacobians agree with autograd."""

import numpy as np
import pytest
import torch

from rnnviz.analysis import cellmaps
from rnnviz.analysis.streams import streams
from tests.analysis.helpers import random_cell, run, spec


@pytest.mark.parametrize("kind", ["SimpleRNN", "GRU", "LSTM"])
def test_one_step_from_engine_states_gives_the_engine_state(kind):
    model, trace = run(spec(kind, units=7, layers=2, bidirectional=True, timesteps=60))
    for s in streams(trace, model.weights):
        x, prev = torch.from_numpy(s.inputs), torch.from_numpy(s.previous())
        np.testing.assert_allclose(cellmaps.step(s.cell, x, prev).numpy(), s.states, atol=2e-6, rtol=0)


def test_lstm_step_matches_torch_lstm():
    units, inputs, steps = 5, 3, 20
    cell = random_cell("LSTM", units, inputs, scale=1.5)
    lstm = torch.nn.LSTM(inputs, units, dtype=torch.float64)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.from_numpy(cell.kernel.T.astype(np.float64)))
        lstm.weight_hh_l0.copy_(torch.from_numpy(cell.recurrent_kernel.T.astype(np.float64)))
        lstm.bias_ih_l0.copy_(torch.from_numpy(cell.bias.astype(np.float64)))
        lstm.bias_hh_l0.zero_()
    x = torch.randn(steps, inputs, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out, _ = lstm(x)
    state = torch.zeros(1, 2 * units, dtype=torch.float64)
    for t in range(steps):
        state = cellmaps.step(cell, x[t:t + 1], state)
        np.testing.assert_allclose(state[0, :units].numpy(), out[t].numpy(), atol=1e-12)


@pytest.mark.parametrize("kind", ["SimpleRNN", "GRU", "LSTM"])
def test_analytic_jacobian_matches_autograd(kind):
    units, inputs = 6, 4
    cell = cellmaps.torch_cell(random_cell(kind, units, inputs, scale=1.3, seed=3))
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(5, inputs, dtype=torch.float64, generator=gen)
    states = 0.8 * torch.randn(5, cell.state_size, dtype=torch.float64, generator=gen)
    analytic = cellmaps.jacobian(cell, x, states)
    for b in range(5):
        reference = torch.autograd.functional.jacobian(lambda s: cellmaps.step(cell, x[b:b + 1], s[None])[0], states[b])
        np.testing.assert_allclose(analytic[b].numpy(), reference.numpy(), atol=1e-12)
