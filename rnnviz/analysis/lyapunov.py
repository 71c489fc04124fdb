"""Lyapunov spectrum of a stream's input-driven dynamics, by QR re-orthonormalisation (Benettin et al.
1980; Engelken, Wolf & Abbott 2020).

K orthonormal tangent vectors are carried along the recorded trajectory, ``Q <- qr(J_t Q)``, and the
logarithms of the diagonal of R accumulate each direction's growth; after discarding ``burn_in`` steps
(while Q aligns with the dynamics) their means are the exponents, in nats per step, largest first.
Up to :data:`DENSE_MAX_STATES` the Jacobians are built a block at a time and multiply the tangent
vectors; above it they are pushed through without being built (``K`` products with the recurrent kernel
per step), so a 2000-unit LSTM costs no more memory than its weights.

:func:`lyapunov_running` yields the estimates as they accumulate, for a view of a run that is playing.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import torch

from rnnviz.analysis.cancel import CHECK_EVERY, checkpoint
from rnnviz.analysis.jacobian import linearisation, steps_within
from rnnviz.analysis.streams import Stream

STEPS_PER_BLOCK = 512
TINY = 1e-300  # floor of |R_ii|: a map that kills a direction outright gives a finite, very negative exponent
# Up to this state size each block's Jacobians are built and the step is one numpy product and QR: 0.57
# of the time of applying J's factors with torch, whose dozen small operations per step also fought the
# other analysis threads for the GIL. Above it J is applied without being built (memory stays at the
# weights': one J of 4000 states is 128 MB).
DENSE_MAX_STATES = 512
BLOCK_BYTES = 8 * 2**20  # Jacobians built at once on the dense path (64 steps of 128 states: fastest)


def default_burn_in(steps: int) -> int:
    return steps // 10


def exponent_count(stream: Stream, k: int) -> int:
    """K capped at the state size."""
    return min(k, stream.state_size)


def _tangent_maps(stream: Stream, dtype: torch.dtype) -> Iterator[Callable[[np.ndarray], np.ndarray]]:
    """For each processing step, the map carrying tangent vectors (the columns of an (n, k) array) one
    step forward: ``v -> J_t v``."""
    n = stream.state_size
    dense = n <= DENSE_MAX_STATES
    block = steps_within(BLOCK_BYTES, n, dtype.itemsize) if dense else STEPS_PER_BLOCK
    for start in range(0, stream.steps, block):
        lin = linearisation(stream, start, min(start + block, stream.steps), dtype)
        if dense:
            jac = lin.dense().numpy()
            yield from (jac[offset].__matmul__ for offset in range(jac.shape[0]))
        else:
            for offset in range(lin.diag.shape[0]):
                step = lin.take(slice(offset, offset + 1))
                yield lambda vectors, step=step: step.apply(torch.from_numpy(vectors.T)[None])[0].T.numpy()


def lyapunov_running(stream: Stream, k: int = 10, burn_in: int | None = None, every: int = 100,
                     dtype: torch.dtype = torch.float64, seed: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (steps processed, exponents so far, largest first) every ``every`` steps after the burn-in
    and once at the end; before the burn-in has passed nothing is yielded."""
    burn_in = default_burn_in(stream.steps) if burn_in is None else burn_in
    k = exponent_count(stream, k)
    generator = torch.Generator().manual_seed(seed)
    basis = torch.linalg.qr(torch.randn(stream.state_size, k, dtype=dtype, generator=generator)).Q.numpy()
    sums = np.zeros(k)
    for step, move in enumerate(_tangent_maps(stream, dtype)):
        if step % CHECK_EVERY == 0:
            checkpoint()
        basis, r = np.linalg.qr(move(basis))
        if step < burn_in:
            continue
        sums += np.log(np.maximum(np.abs(np.diagonal(r)), TINY))
        done = step + 1
        if (done - burn_in) % every == 0 or done == stream.steps:
            yield done, np.sort(sums / (done - burn_in))[::-1].copy()


def lyapunov_spectrum(stream: Stream, k: int = 10, burn_in: int | None = None, dtype: torch.dtype = torch.float64,
                      seed: int = 0) -> np.ndarray:
    """The top ``k`` exponents (capped at the state size), largest first, nats per step."""
    final = np.zeros(0)
    for _, final in lyapunov_running(stream, k, burn_in, every=stream.steps, dtype=dtype, seed=seed):
        pass
    return final
