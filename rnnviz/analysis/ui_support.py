"""Minimal versions of the per-stream analyses the app shows, written by the app's engineer while the
analysis package's own modules (gradients, lyapunov, gates, pca, fixed_points, perturb) were not yet
there. Each works on one :class:`~rnnviz.analysis.streams.Stream` (processing order) and is built on
:mod:`rnnviz.analysis.cellmaps`, so the equations are the ones every analysis shares. Replace them by
the analysis package's functions when those land (the app imports them from here only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from rnnviz.analysis.cellmaps import drive, jacobian_driven, step_driven, torch_cell
from rnnviz.analysis.jacobian import jacobians, linearisation, sigma_max, spectral_radius
from rnnviz.analysis.streams import Stream

CHUNK = 256  # steps whose dense Jacobians are held at once
DENSE_MAX_STATES = 256  # up to this state size batched LAPACK beats the iterations (0.13 s vs 16 s, 128 steps of 24 units)
EDGE_TOLERANCE = 0.01  # |lambda_max| per step below this: the edge of chaos
NEWTON_STEPS = 6
SATURATED_LOW, SATURATED_HIGH = 0.1, 0.9  # Karpathy et al. 2015's left / right saturation


def _jacobian_blocks(stream: Stream, reverse: bool = False, chunk: int = CHUNK) -> Iterator[tuple[int, torch.Tensor]]:
    """(first step, dense Jacobians) over the whole stream, ``chunk`` steps at a time, last first if ``reverse``."""
    starts = range(0, stream.steps, chunk)
    for start in reversed(starts) if reverse else starts:
        yield start, jacobians(stream, start, min(start + chunk, stream.steps))


def step_norms(stream: Stream, start: int, stop: int) -> dict[str, np.ndarray]:
    """``spectral_radius`` and ``sigma_max`` of the Jacobians of processing steps ``start … stop-1``."""
    if stream.state_size > DENSE_MAX_STATES:
        lin = linearisation(stream, start, stop)
        return {"spectral_radius": spectral_radius(lin).numpy(), "sigma_max": sigma_max(lin).numpy()}
    jac = jacobians(stream, start, stop)
    return {"spectral_radius": torch.linalg.eigvals(jac).abs().amax(dim=-1).numpy(),
            "sigma_max": torch.linalg.matrix_norm(jac, ord=2).numpy()}


# --- gradient flow ----------------------------------------------------------------------------------
def gradient_flow(stream: Stream) -> np.ndarray:
    """‖∂h_last/∂h_s‖₂ per processing step s (1 at the last step): how much of a gradient at the end of
    the sequence reaches step s. The product of Jacobians is renormalised as it grows, its scale kept
    as a logarithm, so that flows far below float range come out as 0 rather than NaN."""
    flow = np.zeros(stream.steps)
    if not stream.steps:
        return flow
    product = torch.eye(stream.state_size, dtype=torch.float64)  # ∂h_last/∂h_s divided by exp(log_scale)
    log_scale = 0.0
    flow[-1] = 1.0
    for start, jac in _jacobian_blocks(stream, reverse=True):
        rows, products, scales = [], [], []
        for offset in range(jac.shape[0] - 1, 0 if start == 0 else -1, -1):
            product = product @ jac[offset]  # the J of step start+offset carries h_{s} to h_{s+1}
            norm = float(torch.linalg.matrix_norm(product))
            if norm == 0.0:
                break  # the flow died exactly: every earlier step stays 0
            product /= norm
            log_scale += np.log(norm)
            rows.append(start + offset - 1)
            products.append(product.clone())
            scales.append(log_scale)
        if rows:  # one batched SVD per block, not one per step
            spectral = torch.linalg.matrix_norm(torch.stack(products), ord=2).numpy()
            flow[rows] = np.exp(np.asarray(scales) + np.log(spectral))
        if len(rows) < jac.shape[0] - (start == 0):
            break
    return flow


# --- Lyapunov exponents -----------------------------------------------------------------------------
def running_blocks(stream: Stream, k: int, burn_in: int | None = None,
                   chunk: int = CHUNK, seed: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """(first step, rows) of the running estimate of the ``k`` largest Lyapunov exponents (per step, natural
    log), by QR re-orthonormalisation of ``k`` tangent vectors (Benettin et al.). Row s is the estimate after
    step s; rows during ``burn_in`` (default a tenth of the run) are NaN, the vectors aligning meanwhile."""
    steps = stream.steps
    burn_in = steps // 10 if burn_in is None else min(burn_in, max(steps - 1, 0))
    generator = torch.Generator().manual_seed(seed)
    basis = torch.linalg.qr(torch.randn(stream.state_size, k, dtype=torch.float64, generator=generator)).Q
    sums = torch.zeros(k, dtype=torch.float64)
    for start, jac in _jacobian_blocks(stream, chunk=chunk):
        rows = np.full((jac.shape[0], k), np.nan)
        for offset in range(jac.shape[0]):
            basis, r = torch.linalg.qr(jac[offset] @ basis)
            s = start + offset
            if s >= burn_in:
                sums += torch.log(torch.diagonal(r).abs().clamp_min(1e-300))
                rows[offset] = (sums / (s - burn_in + 1)).numpy()
        yield start, rows


def verdict(lambda_max: float, tolerance: float = EDGE_TOLERANCE) -> str:
    """'chaotic', 'stable' or 'edge of chaos' for a largest exponent (per step)."""
    if lambda_max > tolerance:
        return "chaotic"
    return "stable" if lambda_max < -tolerance else "edge of chaos"


# --- gates --------------------------------------------------------------------------------------------
def saturation_fractions(values: np.ndarray, low: float = SATURATED_LOW,
                         high: float = SATURATED_HIGH) -> tuple[np.ndarray, np.ndarray]:
    """Per unit, the fraction of steps a gate is left-saturated (< low) and right-saturated (> high)."""
    if not len(values):
        return np.zeros(values.shape[1]), np.zeros(values.shape[1])
    return (values < low).mean(axis=0), (values > high).mean(axis=0)


# --- PCA ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PCA:
    mean: np.ndarray  # (n,)
    components: np.ndarray  # (k, n), orthonormal rows
    explained_ratio: np.ndarray  # (k,) fraction of the variance along each component


def fit(states: np.ndarray, components: int) -> PCA:
    """Principal components of the rows of ``states`` (by SVD of the centred data)."""
    data = np.asarray(states, np.float64)
    mean = data.mean(axis=0)
    _, singular, vt = np.linalg.svd(data - mean, full_matrices=False)
    variance = singular ** 2
    total = variance.sum()
    ratio = variance / total if total > 0 else np.zeros_like(variance)
    return PCA(mean, vt[:components], ratio[:components])


def project(pca: PCA, states: np.ndarray) -> np.ndarray:
    return (np.asarray(states, np.float64) - pca.mean) @ pca.components.T


def project_directions(pca: PCA, vectors: np.ndarray) -> np.ndarray:
    """Directions (m, n) in PC coordinates (m, k), each scaled to unit length in the full state space."""
    vectors = np.asarray(vectors, np.float64).reshape(-1, pca.mean.size)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1)) @ pca.components.T


# --- fixed points ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FixedPoint:
    state: np.ndarray  # (n,)
    q: float  # ½‖F(h) - h‖²: 0 at a fixed point, small at a slow point
    eigenvalues: np.ndarray  # (n,) complex, of the Jacobian there, largest |λ| first
    unstable_directions: np.ndarray  # (m, n) real parts of the eigenvectors with |λ| > 1

    @property
    def stable(self) -> bool:
        return bool(np.abs(self.eigenvalues).max(initial=0.0) < 1)


def find(stream: Stream, x: np.ndarray | None = None, starts: int = 32, iterations: int = 50,
         q_tolerance: float = 1e-10, seed: int = 0) -> list[FixedPoint]:
    """Fixed points h = F(h, x) of the stream's cell under a constant input ``x`` (default zero), by
    minimising q from ``starts`` states of the trajectory (Sussillo & Barak 2013), batched with L-BFGS and
    polished by Newton steps;
    duplicates (closer than 1e-3) are merged. Strongest (largest |λ|) first."""
    if not stream.steps:
        return []
    cell = torch_cell(stream.cell)
    x = np.zeros(cell.input_dim) if x is None else x
    xw = drive(cell, torch.as_tensor(np.asarray(x, np.float64)).reshape(1, -1))
    rng = np.random.default_rng(seed)
    picks = rng.choice(stream.steps, size=min(starts, stream.steps), replace=False)
    points = torch.tensor(stream.states[picks], dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([points], max_iter=iterations, tolerance_grad=1e-12, tolerance_change=1e-15,
                                  line_search_fn="strong_wolfe")

    def total_q() -> torch.Tensor:
        optimiser.zero_grad()
        loss = 0.5 * ((step_driven(cell, xw, points) - points) ** 2).sum()
        loss.backward()
        return loss

    optimiser.step(total_q)
    with torch.no_grad():
        points = points.detach()
        eye = torch.eye(points.shape[1], dtype=torch.float64)
        for _ in range(NEWTON_STEPS):  # L-BFGS over the whole batch stalls near q ~ 1e-6: Newton polishes
            residual = step_driven(cell, xw, points) - points
            jac = jacobian_driven(cell, xw.expand(points.shape[0], -1), points) - eye
            update = torch.linalg.lstsq(jac, residual.unsqueeze(-1)).solution.squeeze(-1)
            points = points - update
        q = 0.5 * ((step_driven(cell, xw, points) - points) ** 2).sum(dim=1).numpy()
        found = points.numpy()
        kept: list[int] = []
        for index in np.argsort(q):
            if q[index] <= q_tolerance and all(np.linalg.norm(found[index] - found[j]) > 1e-3 for j in kept):
                kept.append(index)
        jacobians = jacobian_driven(cell, xw.expand(len(kept), -1), torch.as_tensor(found[kept])).numpy() \
            if kept else []
    result = []
    for index, jac in zip(kept, jacobians):
        eigenvalues, vectors = np.linalg.eig(jac)
        order = np.argsort(-np.abs(eigenvalues))
        eigenvalues, vectors = eigenvalues[order], vectors[:, order]
        unstable = vectors[:, np.abs(eigenvalues) > 1].real.T
        result.append(FixedPoint(found[index].copy(), float(q[index]), eigenvalues, unstable))
    return sorted(result, key=lambda p: -np.abs(p.eigenvalues).max(initial=0.0))


# --- perturbation -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ForkResult:
    distance: np.ndarray  # (steps,) ‖state' - state‖ from the fork on, NaN before it
    difference: np.ndarray  # (steps, units) h' - h (0 before the fork)
    memory_horizon: int | None  # steps after the fork until the distance fell below epsilon / 100
    divergence_time: int | None  # steps after the fork until it grew above 1000 epsilon


def fork(stream: Stream, step: int, epsilon: float = 1e-4, seed: int = 0) -> ForkResult:
    """Nudge the state after processing step ``step`` by ``epsilon`` in a random direction and run the cell
    on from there with the same inputs: how the difference decays (memory) or grows (chaos)."""
    cell = torch_cell(stream.cell)
    states = torch.as_tensor(stream.states, dtype=torch.float64)
    xw = drive(cell, torch.as_tensor(stream.inputs, dtype=torch.float64))
    direction = torch.randn(stream.state_size, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    perturbed = (states[step] + epsilon * direction / torch.linalg.vector_norm(direction)).unsqueeze(0)
    distance = np.full(stream.steps, np.nan)
    difference = np.zeros((stream.steps, stream.units))
    with torch.no_grad():
        for s in range(step, stream.steps):
            if s > step:
                perturbed = step_driven(cell, xw[s:s + 1], perturbed)
            delta = perturbed[0] - states[s]
            distance[s] = float(torch.linalg.vector_norm(delta))
            difference[s] = delta[:stream.units].numpy()
    after = distance[step:]
    return ForkResult(distance, difference, _first(after < epsilon / 100), _first(after > 1000 * epsilon))


def _first(condition: np.ndarray) -> int | None:
    hits = np.flatnonzero(condition)
    return int(hits[0]) if hits.size else None
