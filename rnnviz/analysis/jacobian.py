"""Per-step Jacobians ``J_t = d h_t / d h_prev`` of a stream, and their spectral radius and largest singular value.

``h_prev`` is the state the step started from in the stream's processing order (zeros before the first
step; for a backward direction the state at t+1). The Jacobians come analytically from
:mod:`rnnviz.analysis.cellmaps`, batched over t.

The spectral radius is O(n³) per step and most of the cost of the analysis. LAPACK's eigenvalues
(``geev``, 2.5 ms for 128 states in float32) are the reference; above :data:`POWERS_MIN_STATES` states
it is found as follows, about 5x faster (0.50 ms against 2.48 ms on one thread, side by side in
``bench/analysis.py``), and every step whose answer is not verified goes to LAPACK:

1. ``J`` is squared :data:`SQUARINGS` times (``J^256``, renormalised after each product: batched matrix
   products, the fastest thing a CPU does), and ``J^256 Ω`` for a fixed random ``Ω`` of
   :data:`RITZ_VECTORS` columns spans the dominant invariant subspace: an eigenvalue 10% below the
   largest in modulus is damped by 0.9^256 ≈ 2e-12. Plain power or subspace iteration on J itself
   (tried before) stayed 0.2-2% off on random 128-unit GRUs, whose leading eigenvalues crowd a circle.
2. The eigenvalues of ``Qᵀ J Q`` (Rayleigh-Ritz, ``Q`` an orthonormal basis of that subspace) give the
   candidate ``θ`` of largest modulus, with its Ritz vector ``y``.
3. It is accepted when ``‖J y − θ y‖ ≤`` :data:`RITZ_TOL` ``· |θ|``. The residual is small only for a
   true eigenpair; where the subspace is not yet invariant (several eigenvalues of nearly the same
   modulus, as an orthogonal matrix has) it is large, and that step is computed by LAPACK.

Either way it runs in float32 (the states themselves are float32), within 1e-5 of float64's LAPACK
(tested on random, orthogonal, saturated and trained networks of every cell type) but for rare steps
whose leading eigenvalue is ill-conditioned: over 1000 steps of Keras-initialised 128-unit layers,
one SimpleRNN step is 1.05e-5 off (float32 LAPACK's own error there) and one LSTM step 1.16e-5 (a
verified Ritz value; the residual bound times the eigenvalue's condition). J is built
:data:`DENSE_BYTES` at a time (32 steps at 128 states), so that the squarings work in cache.

``sigma_max`` is cheaper: up to :data:`EXACT_MAX_STATES` the largest eigenvalue of ``JᵀJ`` by LAPACK
(float32, within 1e-6); above it power iteration on ``JᵀJ`` that applies J and Jᵀ without building them
(one matrix product with the recurrent kernel for all steps at once); a step is done when its residual
``‖Jᵀu − σv‖`` is at most ``tol`` times σ, and the few that do not settle within :data:`MAX_ITERATIONS`
go to LAPACK. Each step's starting vector is seeded by its own index, so the pieces a stream is split
into (``analyze``'s and the app's differ) change its numbers by no more than float32 rounding.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from rnnviz.analysis.cellmaps import Linearisation, drive, linearise_driven, torch_cell
from rnnviz.analysis.streams import Stream

# At or below this state size LAPACK beats the iteration (measured side by side, one thread: 7x faster
# for 24 states, 2.6x for 64, 2.3x for 128); the dense J is built for the spectral radius anyway.
EXACT_MAX_STATES = 128
CHUNK = 512            # steps linearised at once (their factors: 0.8 MiB at 128 GRU states)
DENSE_BYTES = 2 * 2**20  # dense Jacobians built at once: they stay in cache through the squarings
TOL = 1e-6
MAX_ITERATIONS = 300
CHECK_EVERY = 5
# The spectral radius by powers of J (see the module docstring). Below POWERS_MIN_STATES LAPACK is as fast.
POWERS_MIN_STATES = 48
SQUARINGS = 8
RITZ_VECTORS = 16
# The accepted Ritz residual, relative: float32 pairs settle at 1e-6 to 3e-6; at 2e-5 a cluster of 64
# eigenvalues within 1e-4 of each other was accepted 3e-5 off, at 5e-6 it goes to LAPACK.
RITZ_TOL = 5e-6
_TINY = 1e-30


def linearisation(stream: Stream, start: int = 0, stop: int | None = None,
                  dtype: torch.dtype = torch.float64) -> Linearisation:
    """The Jacobians of processing steps ``start … stop-1``, as factors (see :class:`Linearisation`)."""
    cell = torch_cell(stream.cell, dtype)
    stop = stream.steps if stop is None else stop
    x = torch.as_tensor(stream.inputs[start:stop], dtype=dtype)
    previous = torch.as_tensor(stream.previous()[start:stop], dtype=dtype)
    return linearise_driven(cell, drive(cell, x), previous)


def jacobians(stream: Stream, start: int = 0, stop: int | None = None,
              dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``J`` of processing steps ``start … stop-1``, (steps, n, n)."""
    return linearisation(stream, start, stop, dtype).dense()


def _unit_rows(rows: torch.Tensor) -> torch.Tensor:
    return rows / torch.linalg.vector_norm(rows, dim=-1, keepdim=True).clamp_min(1e-300)


def _iterate(lin: Linearisation, rows: torch.Tensor, advance: Callable, settle: Callable,
             exact: Callable[[torch.Tensor], torch.Tensor], tol: float) -> torch.Tensor:
    """Run ``advance`` on every step not yet settled; every :data:`CHECK_EVERY` iterations ``settle``
    gives (estimate, residual), and steps whose residual is at most ``tol`` times the estimate are done."""
    result = torch.empty(rows.shape[0], dtype=rows.dtype)
    active = torch.arange(rows.shape[0])
    for iteration in range(1, MAX_ITERATIONS + 1):
        rows = advance(lin, rows)
        if iteration % CHECK_EVERY:
            continue
        estimate, residual = settle(lin, rows)
        done = residual <= tol * estimate.clamp_min(1e-30)
        result[active[done]] = estimate[done]
        keep = ~done
        active, rows = active[keep], rows[keep]
        lin = lin.take(keep)
        if active.numel() == 0:
            return result
    result[active] = exact(lin.dense())
    return result


def _power_step(lin: Linearisation, v: torch.Tensor) -> torch.Tensor:
    return _unit_rows(lin.apply_transpose(lin.apply(v)))


def _singular_residual(lin: Linearisation, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """σ = ‖J v‖ and ‖Jᵀ u − σ v‖ with u = J v / σ: zero exactly when (σ, v) is a singular pair."""
    w = lin.apply(v)
    sigma = torch.linalg.vector_norm(w, dim=(1, 2))
    back = lin.apply_transpose(w) / sigma.clamp_min(1e-300)[:, None, None]
    return sigma, torch.linalg.vector_norm(back - sigma[:, None, None] * v, dim=(1, 2))


def _exact_sigma(jac: torch.Tensor) -> torch.Tensor:
    """sqrt of the largest eigenvalue of JᵀJ, in float32: 2x faster than float64's SVD, the same to 1e-6."""
    single = jac.to(torch.float32)
    return torch.linalg.eigvalsh(single.mT @ single)[..., -1].clamp_min(0).sqrt().to(jac.dtype)


def _exact_radius(jac: torch.Tensor) -> torch.Tensor:
    return torch.linalg.eigvals(jac.to(torch.float32)).abs().amax(dim=-1).to(jac.dtype)


def _normalise_(matrices: torch.Tensor) -> torch.Tensor:
    """Each matrix divided by its Frobenius norm, in place (a zero matrix stays zero)."""
    return matrices.div_(torch.linalg.matrix_norm(matrices).clamp_min(_TINY)[:, None, None])


def _radius_by_powers(jac: torch.Tensor) -> torch.Tensor:
    """max |eigenvalue| of each of ``jac`` (batch, n, n): Rayleigh-Ritz on the range of ``J^256 Ω``,
    verified by the residual of its leading Ritz pair, LAPACK for the steps that fail (module docstring)."""
    single = jac.to(torch.float32)
    batch, n, _ = single.shape
    power = _normalise_(single.clone())
    spare = torch.empty_like(power)
    for _ in range(SQUARINGS):  # in place: a fresh (batch, n, n) tensor per product cost as much as the product
        torch.bmm(power, power, out=spare)
        power, spare = _normalise_(spare), power
    omega = torch.randn(n, min(RITZ_VECTORS, n), generator=torch.Generator().manual_seed(0))
    basis = torch.linalg.qr(power @ omega).Q  # (batch, n, p), orthonormal columns
    moved = torch.bmm(single, basis)
    values, vectors = torch.linalg.eig(basis.mT @ moved)
    top = values.abs().argmax(dim=-1)
    rows = torch.arange(batch)
    theta, y = values[rows, top], vectors[rows, :, top]  # y: unit norm, so ‖Q y‖ = 1
    residual = torch.linalg.vector_norm((moved.to(values.dtype) @ y[..., None])[..., 0]
                                        - theta[:, None] * (basis.to(values.dtype) @ y[..., None])[..., 0], dim=-1)
    radius = theta.abs()
    unverified = ~(residual <= RITZ_TOL * radius)  # NaN (a diverged run's J) goes to LAPACK too
    if bool(unverified.any()):
        radius[unverified] = torch.linalg.eigvals(single[unverified]).abs().amax(dim=-1)
    return radius.to(jac.dtype)


def _random_rows(lin: Linearisation, first_step: int, seed: int) -> torch.Tensor:
    """One random unit row per step, seeded by the step's own index, so that any split of a stream's
    steps into pieces starts every step's iteration from the same vector."""
    batch, n = lin.diag.shape[0], lin.cell.state_size
    generator = torch.Generator()
    rows = torch.stack([torch.randn(1, n, dtype=lin.diag.dtype, generator=generator.manual_seed(seed + first_step + i))
                        for i in range(batch)]) if batch else torch.zeros(0, 1, n, dtype=lin.diag.dtype)
    return _unit_rows(rows)


def sigma_max(lin: Linearisation, tol: float = TOL, first_step: int = 0, seed: int = 0,
              dense: torch.Tensor | None = None) -> torch.Tensor:
    """The largest singular value of each step's Jacobian (``dense``: J, when the caller has built it;
    ``first_step``: the stream step of the first Jacobian, which seeds the iteration of large layers)."""
    if lin.cell.state_size <= EXACT_MAX_STATES:
        return _exact_sigma(lin.dense() if dense is None else dense)
    return _iterate(lin, _random_rows(lin, first_step, seed), _power_step, _singular_residual, _exact_sigma, tol)


def spectral_radius(lin: Linearisation, dense: torch.Tensor | None = None) -> torch.Tensor:
    """max |eigenvalue| of each step's Jacobian (see the module docstring)."""
    jac = lin.dense() if dense is None else dense
    if lin.cell.state_size < POWERS_MIN_STATES:
        return _exact_radius(jac)
    return _radius_by_powers(jac)


def steps_within(budget: int, states: int, element_size: int) -> int:
    """How many n×n Jacobians of ``element_size`` bytes fit in ``budget`` bytes (at least one)."""
    return max(1, budget // (states * states * element_size))


def norms(lin: Linearisation, tol: float = TOL, first_step: int = 0, seed: int = 0) -> dict[str, torch.Tensor]:
    """``spectral_radius``, ``sigma_max`` and ``frobenius`` (‖J‖_F) of each step's Jacobian.

    J is built :data:`DENSE_BYTES` at a time, once for all three, so that the squarings of the spectral
    radius work in cache: 32 steps at a time at 128 states took 0.82 of the time of 512 at a time."""
    batch, n = lin.diag.shape[0], lin.cell.state_size
    per_part = steps_within(DENSE_BYTES, n, lin.diag.element_size())
    exact_sigma = n <= EXACT_MAX_STATES
    columns: dict[str, list[torch.Tensor]] = {"spectral_radius": [], "sigma_max": [], "frobenius": []}
    for first in range(0, batch, per_part):
        part = lin.take(slice(first, first + per_part))
        dense = part.dense()
        single = dense.to(torch.float32)  # what both spectra are computed in, converted once
        columns["spectral_radius"].append(spectral_radius(part, single).to(dense.dtype))
        columns["frobenius"].append(torch.linalg.matrix_norm(dense))
        if exact_sigma:  # from the part's J, as built
            columns["sigma_max"].append(sigma_max(part, dense=single).to(dense.dtype))
    if not exact_sigma:  # matrix-free, over the whole batch at once
        columns["sigma_max"].append(sigma_max(lin, tol, first_step, seed))
    empty = torch.zeros(0, dtype=lin.diag.dtype)
    return {name: torch.cat(parts) if parts else empty for name, parts in columns.items()}


def jacobian_stats(stream: Stream, start: int = 0, stop: int | None = None, dtype: torch.dtype = torch.float32,
                   tol: float = TOL, seed: int = 0) -> dict[str, np.ndarray]:
    """Per processing step ``start … stop-1``: :func:`norms` of the stream's Jacobians, as float64 arrays.

    Linearised in float32 by default, the precision of the states themselves, at half the cost of
    building J: that moves the eigenvalues by about 1e-7 (relative), far below the float32 spectra's own
    error (module docstring). How the steps are split into pieces (the app's strips and ``analyze``
    split them differently) changes a step's numbers by float32 rounding only."""
    stop = stream.steps if stop is None else stop
    columns: dict[str, list[np.ndarray]] = {"spectral_radius": [], "sigma_max": [], "frobenius": []}
    for first in range(start, stop, CHUNK):
        lin = linearisation(stream, first, min(first + CHUNK, stop), dtype)
        for name, values in norms(lin, tol, first, seed).items():
            columns[name].append(values.to(torch.float64).numpy())
    return {name: np.concatenate(parts) if parts else np.zeros(0) for name, parts in columns.items()}
