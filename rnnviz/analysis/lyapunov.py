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
# Up to this state size each block's Jacobians are built and a step is one product and one QR: 0.65 of
# the time of applying J's factors, whose dozen small operations per step also fought the other analysis
# threads for the GIL. Above it J is applied without being built (memory stays at the
# weights': one J of 4000 states is 128 MB).
DENSE_MAX_STATES = 512
BLOCK_BYTES = 8 * 2**20  # Jacobians built at once on the dense path (64 steps of 128 states: fastest)
SUMMED_TOGETHER = 256  # steps whose log |R_ii| are summed at once (one numpy call, not one per step)


def default_burn_in(steps: int) -> int:
    return steps // 10


def exponent_count(stream: Stream, k: int) -> int:
    """K capped at the state size."""
    return min(k, stream.state_size)


def _tangent_maps(stream: Stream, dtype: torch.dtype) -> Iterator[Callable[[torch.Tensor], torch.Tensor]]:
    """For each processing step, the map carrying tangent vectors (the rows of a (k, n) tensor) one
    step forward: ``v -> J_t v``. Rows, because torch multiplies a (k, n) by a transposed (n, n) about
    twice as fast as an (n, n) by an (n, k)."""
    n = stream.state_size
    dense = n <= DENSE_MAX_STATES
    block = steps_within(BLOCK_BYTES, n, dtype.itemsize) if dense else STEPS_PER_BLOCK
    for start in range(0, stream.steps, block):
        lin = linearisation(stream, start, min(start + block, stream.steps), dtype)
        if dense:
            yield from (jac.mT.__rmatmul__ for jac in lin.dense())
        else:
            for offset in range(lin.diag.shape[0]):
                step = lin.take(slice(offset, offset + 1))
                yield lambda rows, step=step: step.apply(rows[None])[0]


def lyapunov_running(stream: Stream, k: int = 10, burn_in: int | None = None, every: int = 100,
                     dtype: torch.dtype = torch.float64, seed: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (steps processed, exponents so far, largest first) every ``every`` steps after the burn-in
    and once at the end; before the burn-in has passed nothing is yielded.

    Each step is torch's (whose threads the analysis holds to one per piece), not numpy's: numpy's
    BLAS starts threads of its own for the products of large layers."""
    burn_in = default_burn_in(stream.steps) if burn_in is None else burn_in
    k = exponent_count(stream, k)
    generator = torch.Generator().manual_seed(seed)
    rows = torch.linalg.qr(torch.randn(stream.state_size, k, dtype=dtype, generator=generator)).Q.mT
    # |R_ii| of the steps not yet summed. They are summed a whole buffer at a time, whatever ``every``
    # is, so that the app's running estimates and ``analyze`` end at the same bits.
    growth = torch.zeros(SUMMED_TOGETHER, k, dtype=dtype)
    sums, pending = np.zeros(k), 0

    def summed(part: torch.Tensor) -> np.ndarray:
        return np.log(np.maximum(part.abs().numpy(), TINY)).sum(axis=0)

    for step, move in enumerate(_tangent_maps(stream, dtype)):
        if step % CHECK_EVERY == 0:
            checkpoint()
        q, r = torch.linalg.qr(move(rows).mT)
        rows = q.mT
        if step < burn_in:
            continue
        growth[pending] = r.diagonal()
        pending += 1
        if pending == SUMMED_TOGETHER:
            sums += summed(growth)
            pending = 0
        done = step + 1
        if (done - burn_in) % every == 0 or done == stream.steps:
            yield done, np.sort((sums + summed(growth[:pending])) / (done - burn_in))[::-1].copy()


def lyapunov_spectrum(stream: Stream, k: int = 10, burn_in: int | None = None, dtype: torch.dtype = torch.float64,
                      seed: int = 0) -> np.ndarray:
    """The top ``k`` exponents (capped at the state size), largest first, nats per step."""
    final = np.zeros(0)
    for _, final in lyapunov_running(stream, k, burn_in, every=stream.steps, dtype=dtype, seed=seed):
        pass
    return final
