"""Fixed points of one layer-direction's map under a constant input, as FixedPointFinder finds them
(Sussillo & Barak 2013; Golub & Sussillo 2018).

``q(h) = ½ ‖F(h) − h‖²`` per candidate (FixedPointFinder's normalisation: half the sum of squares over
the state's components, not a mean) is minimised jointly over many candidates with Adam, whose gradient
``(J − I)ᵀ (F(h) − h)`` is applied without building J. The candidates are states sampled along the
recorded trajectory plus Gaussian noise, and also the end states of running the constant-input
dynamics from those samples, so that every attractor the dynamics settle into is among them. Each
candidate is then polished by damped Newton steps on ``F(h) = h``, kept when ``q < tol_q`` afterwards,
and de-duplicated (candidates closer than ``tol_unique`` to a kept one, best q first, are dropped).
Each point is classified by the eigenvalues of the Jacobian there: stable when every |λ| < 1.

Defaults follow FixedPointFinder and its examples: 1024 initial states, noise 0.5, tol_q 1e-12,
tol_dq 1e-20, at most 5000 Adam iterations, tol_unique 1e-3. Unlike it, the search runs in float64,
each candidate's Adam step follows its own q (FixedPointFinder's gradient of the batch mean with
Adam's epsilon at 0.01 crawled: thousands of iterations for a 64-unit GRU), a candidate leaves Adam
for the Newton polish once its q is below :data:`NEWTON_FROM`, and the points kept are fixed points to
about 1e-6 (q < tol_q), typically to 1e-15.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rnnviz.analysis.cancel import CHECK_EVERY, checkpoint
from rnnviz.analysis.cellmaps import TorchCell, drive, linearise_driven, step_driven, torch_cell
from rnnviz.engine.cells import CellWeights

N_INITS = 1024
NOISE = 0.5
TOL_Q = 1e-12
TOL_DQ = 1e-20
TOL_UNIQUE = 1e-3
MAX_ITERS = 5000
LEARNING_RATE = 0.02
SETTLE_STEPS = 1000
NEWTON_STEPS = 30
NEWTON_FROM = 1e-8  # Adam hands a candidate to Newton's method once q is this small (quadratic from there)
UNSTABLE = 1.0
POLISHED = 1e-28  # q at which Newton's method stops: the residual is at float64 rounding


@dataclass(frozen=True)
class FixedPoints:
    """Fixed points of one map, ordered by distance from the origin."""

    states: np.ndarray       # (k, n)
    q: np.ndarray            # (k,)
    eigenvalues: np.ndarray  # (k, n) complex, by |λ| descending
    eigenvectors: np.ndarray  # (k, n, n) complex; column j belongs to eigenvalues[:, j] (unstable directions)

    @property
    def max_abs_eig(self) -> np.ndarray:
        return np.abs(self.eigenvalues[:, 0]) if len(self.states) else np.zeros(0)

    @property
    def unstable_modes(self) -> np.ndarray:
        return (np.abs(self.eigenvalues) >= UNSTABLE).sum(axis=1)

    @property
    def stable(self) -> np.ndarray:
        return self.unstable_modes == 0


def _residual(cell: TorchCell, xw: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return step_driven(cell, xw.expand(h.shape[0], -1), h) - h


def _q(cell: TorchCell, xw: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return 0.5 * _residual(cell, xw, h).square().sum(dim=1)


def _adam(cell: TorchCell, xw: torch.Tensor, h: torch.Tensor, max_iters: int, tol_q: float,
          tol_dq: float) -> torch.Tensor:
    """Minimise q over the batch, each candidate until its q is below :data:`NEWTON_FROM` (or tol_q, if
    larger) or changes less than tol_dq (FixedPointFinder stops the whole batch at once; a finished
    candidate drops out here instead)."""
    result = h.clone()
    active = torch.arange(h.shape[0])
    h = h.clone()
    first, second = torch.zeros_like(h), torch.zeros_like(h)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    previous = torch.full((h.shape[0],), torch.inf, dtype=h.dtype)
    for iteration in range(1, max_iters + 1):
        checkpoint()
        residual = _residual(cell, xw, h)
        q = 0.5 * residual.square().sum(dim=1)
        done = (q < max(tol_q, NEWTON_FROM)) | ((previous - q).abs() < tol_dq)
        if bool(done.any()):
            result[active[done]] = h[done]
            keep = ~done
            active, h, first, second, residual, q = (t[keep] for t in (active, h, first, second, residual, q))
            if active.numel() == 0:
                return result
        previous = q
        lin = linearise_driven(cell, xw.expand(h.shape[0], -1), h)
        grad = lin.apply_transpose(residual.unsqueeze(1)).squeeze(1) - residual
        first.mul_(beta1).add_(grad, alpha=1 - beta1)
        second.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        h -= LEARNING_RATE * (first / (1 - beta1 ** iteration)) / ((second / (1 - beta2 ** iteration)).sqrt() + eps)
    result[active] = h
    return result


def _newton(cell: TorchCell, xw: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """Damped Newton steps on F(h) − h = 0 (a step is halved until q does not grow; a singular
    system leaves its candidate where it is)."""
    eye = torch.eye(h.shape[1], dtype=h.dtype)
    result = h.clone()
    active = torch.arange(h.shape[0])
    for _ in range(NEWTON_STEPS):
        residual = _residual(cell, xw, h)
        q = 0.5 * residual.square().sum(dim=1)
        done = q < POLISHED
        if bool(done.any()):
            result[active[done]] = h[done]
            keep = ~done
            active, h, residual, q = active[keep], h[keep], residual[keep], q[keep]
            if active.numel() == 0:
                return result
        jac = linearise_driven(cell, xw.expand(h.shape[0], -1), h).dense() - eye
        delta, info = torch.linalg.solve_ex(jac, -residual)
        delta = torch.where((info == 0).unsqueeze(1) & torch.isfinite(delta), delta, torch.zeros_like(delta))
        scale = torch.ones(h.shape[0], 1, dtype=h.dtype)
        for _ in range(8):
            trial = h + scale * delta
            worse = ~(_q(cell, xw, trial) <= q)
            if not bool(worse.any()):
                break
            scale[worse] *= 0.5
        h = torch.where(worse.unsqueeze(1), h, trial)
    result[active] = h
    return result


def _unique(states: np.ndarray, q: np.ndarray, tol_unique: float) -> np.ndarray:
    """Indices of the states kept: best q first, each farther than tol_unique from every kept one."""
    kept: list[int] = []
    for index in np.argsort(q, kind="stable"):
        if not kept or np.linalg.norm(states[kept] - states[index], axis=1).min() > tol_unique:
            kept.append(int(index))
    return np.array(kept, dtype=int)


def find_fixed_points(cell: CellWeights | TorchCell, constant_input: np.ndarray, samples: np.ndarray,
                      n_inits: int = N_INITS, noise: float = NOISE, tol_q: float = TOL_Q, tol_dq: float = TOL_DQ,
                      tol_unique: float = TOL_UNIQUE, max_iters: int = MAX_ITERS, settle_steps: int = SETTLE_STEPS,
                      seed: int = 0) -> FixedPoints:
    """Fixed points of ``h -> step(cell, constant_input, h)``, searched from ``samples`` (m, n), the
    trajectory's states ([h, c] for LSTM)."""
    cell = torch_cell(cell, torch.float64)
    xw = drive(cell, torch.as_tensor(np.asarray(constant_input, np.float64)).reshape(1, -1))
    rng = np.random.default_rng(seed)
    picked = np.asarray(samples, np.float64)[rng.integers(0, len(samples), n_inits)]
    starts = torch.as_tensor(picked + noise * rng.standard_normal(picked.shape))
    settled = starts.clone()
    for step in range(settle_steps):
        if step % CHECK_EVERY == 0:
            checkpoint()
        settled = step_driven(cell, xw.expand(settled.shape[0], -1), settled)
    candidates = torch.cat([_adam(cell, xw, starts, max_iters, tol_q, tol_dq), settled])
    candidates = candidates[torch.isfinite(candidates).all(dim=1)]
    # candidates that reached the same point are polished once
    candidates = candidates[_unique(candidates.numpy(), _q(cell, xw, candidates).numpy(), tol_unique)]
    candidates = _newton(cell, xw, candidates)
    q = _q(cell, xw, candidates)
    good = (q < tol_q) & torch.isfinite(candidates).all(dim=1)
    states, q = candidates[good].numpy(), q[good].numpy()
    kept = _unique(states, q, tol_unique)
    states, q = states[kept], q[kept]
    order = np.lexsort((*states.T[::-1], np.round(np.linalg.norm(states, axis=1), 9)))
    states, q = states[order], q[order]
    n = cell.state_size
    if len(states) == 0:
        return FixedPoints(np.zeros((0, n)), np.zeros(0), np.zeros((0, n), complex), np.zeros((0, n, n), complex))
    jac = linearise_driven(cell, xw.expand(len(states), -1), torch.as_tensor(states)).dense().numpy()
    eigenvalues, eigenvectors = np.linalg.eig(jac)
    order = np.argsort(-np.abs(eigenvalues), axis=1, kind="stable")
    eigenvalues = np.take_along_axis(eigenvalues, order, axis=1).astype(complex)  # the npz promises complex
    eigenvectors = np.take_along_axis(eigenvectors, order[:, None, :], axis=2).astype(complex)
    return FixedPoints(states, q, eigenvalues, eigenvectors)
