"""Gradient flow against explicit Jacobian products, Lyapunov exponents against mean-field theory and
against the eigenvalues of a linear map."""

import numpy as np
import pytest
import torch

import rnnviz
from rnnviz.analysis import jacobian
from rnnviz.analysis.gradients import gradient_flow
from rnnviz.analysis.lyapunov import lyapunov_running, lyapunov_spectrum
from rnnviz.analysis.streams import streams
from tests.analysis.helpers import run, spec


@pytest.mark.parametrize("kind", ["SimpleRNN", "GRU", "LSTM"])
@pytest.mark.parametrize("jacobian_dtype,atol", [(torch.float64, 1e-9), (torch.float32, 1e-6)])  # float64: default
def test_gradient_flow_is_the_norm_of_the_jacobian_product(kind, jacobian_dtype, atol):
    """Against float64 products of the float64 Jacobians, which the default matches to rounding, and
    which float32 Jacobians (the states' precision) leave within 1e-6."""
    model, trace = run(spec(kind, units=6, layers=1, bidirectional=True, timesteps=300, gain=1.0))
    for s in streams(trace, model.weights):
        jac = jacobian.jacobians(s).numpy()
        flow = gradient_flow(s, jacobian_dtype=jacobian_dtype)
        product = np.eye(s.state_size)
        expected = np.zeros(s.steps)
        for t in range(s.steps - 1, -1, -1):
            expected[t] = np.log10(np.linalg.norm(product))
            if t > 0:
                product = product @ jac[t]
        np.testing.assert_allclose(flow["log10"], expected, atol=atol)
        np.testing.assert_allclose(flow["frobenius"], 10 ** flow["log10"])


def test_gradient_flow_keeps_its_logarithm_where_the_norm_underflows():
    model, trace = run(spec("SimpleRNN", units=4, layers=1, bidirectional=False, timesteps=3000, scheme="normal",
                            gain=0.3))
    flow = gradient_flow(streams(trace, model.weights)[0])
    assert flow["log10"][0] < -400 and flow["frobenius"][0] == 0 and np.isfinite(flow["log10"]).all()


def chaotic_stream(gain, units, steps, seed=1):
    model_spec = rnnviz.ModelSpec(input=rnnviz.InputSpec(timesteps=steps, features=1),
                                  layers=[rnnviz.LayerSpec("SimpleRNN", units)],
                                  init=rnnviz.InitSpec(scheme="normal", gain=gain, seed=seed))
    tiny = 1e-3 * np.random.default_rng(seed).standard_normal((steps, 1)).astype(np.float32)
    model, inputs = rnnviz.prepare(model_spec, inputs=tiny)
    trace = rnnviz.headless.stepper(model, inputs, "cpu").run()
    return streams(trace, model.weights)[0]


# Mean-field theory (Engelken, Wolf & Abbott 2020; discrete time h' = tanh(W h), W ~ N(0, g²/N)):
# lambda_max = ln(g² <tanh'(a)²>)/2 with a ~ N(0, D), D = g² <tanh(a)²>; 0.1547 at g = 2, 0.3102 at g = 3
# (Gauss-Hermite quadrature; README). 500 units sit about 0.006 below the large-N limit.
@pytest.mark.parametrize("gain,theory", [(2.0, 0.1547), (3.0, 0.3102)])
def test_largest_exponent_matches_mean_field_theory(gain, theory):
    exponents = lyapunov_spectrum(chaotic_stream(gain, 500, 1200), k=2, burn_in=200)
    assert exponents[0] == pytest.approx(theory, abs=0.015)
    assert exponents[0] >= exponents[1]


def test_subcritical_exponent_is_log_of_the_spectral_radius():
    s = chaotic_stream(0.5, 200, 600)
    recurrent = s.cell.recurrent_kernel.astype(np.float64)
    radius = np.abs(np.linalg.eigvals(recurrent)).max()
    exponents = lyapunov_spectrum(s, k=1, burn_in=100)
    assert exponents[0] == pytest.approx(np.log(radius), abs=0.01)
    assert exponents[0] == pytest.approx(np.log(0.5), abs=0.06)  # ln g, up to the finite-N radius


def test_spectrum_of_a_linear_map_is_log_of_its_eigenvalue_moduli():
    """Tiny inputs keep a contracting SimpleRNN in tanh's linear range: J = U throughout."""
    s = chaotic_stream(0.9, 12, 3000)
    moduli = np.sort(np.abs(np.linalg.eigvals(s.cell.recurrent_kernel.astype(np.float64))))[::-1]
    exponents = lyapunov_spectrum(s, k=12, burn_in=300)
    distinct = np.unique(np.round(moduli, 8))[::-1]  # complex pairs share a modulus: compare the top distinct one
    assert exponents[0] == pytest.approx(np.log(distinct[0]), abs=2e-3)
    assert exponents.sum() == pytest.approx(np.log(moduli).sum(), abs=2e-3)


def test_running_estimates_end_at_the_spectrum():
    s = chaotic_stream(2.0, 40, 500)
    running = list(lyapunov_running(s, k=3, burn_in=50, every=100))
    assert [steps for steps, _ in running] == [150, 250, 350, 450, 500]
    # the same bits: the app shows the running estimates, analyze writes the spectrum
    np.testing.assert_array_equal(running[-1][1], lyapunov_spectrum(s, k=3, burn_in=50))


@pytest.mark.parametrize("kind", ["SimpleRNN", "GRU", "LSTM"])
def test_built_and_applied_jacobians_give_the_same_spectrum(kind, monkeypatch):
    """Small layers multiply built Jacobians, large ones apply J's factors: the same exponents."""
    from rnnviz.analysis import lyapunov

    model, trace = run(spec(kind, units=9, layers=1, bidirectional=False, timesteps=200, gain=1.5))
    s = streams(trace, model.weights)[0]
    built = list(lyapunov_running(s, k=4, burn_in=20, every=50))
    monkeypatch.setattr(lyapunov, "DENSE_MAX_STATES", 0)
    monkeypatch.setattr(lyapunov, "STEPS_PER_BLOCK", 7)  # several blocks, the last one short
    applied = list(lyapunov_running(s, k=4, burn_in=20, every=50))
    assert [steps for steps, _ in built] == [steps for steps, _ in applied] == [70, 120, 170, 200]
    for (_, a), (_, b) in zip(built, applied):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
