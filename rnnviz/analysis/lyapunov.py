"""Lyapunov spectrum of a stream's input-driven dynamics, by QR re-orthonormalisation (Benettin et al.
1980; Engelken, Wolf & Abbott 2020).

K orthonormal tangent vectors are carried along the recorded trajectory, ``Q <- qr(J_t Q)``, and the
logarithms of the diagonal of R accumulate each direction's growth; after discarding ``burn_in`` steps
(while Q aligns with the dynamics) their means are the exponents, in nats per step, largest first.
The tangent vectors are pushed through the Jacobians without building them (``K`` products with the
recurrent kernel per step), so a 1000-unit layer costs no more memory than its weights.

:func:`lyapunov_running` yields the estimates as they accumulate, for a view of a run that is playing.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from rnnviz.analysis.cancel import CHECK_EVERY, checkpoint
from rnnviz.analysis.jacobian import linearisation
from rnnviz.analysis.streams import Stream

STEPS_PER_BLOCK = 512
TINY = 1e-300  # floor of |R_ii|: a map that kills a direction outright gives a finite, very negative exponent


def default_burn_in(steps: int) -> int:
    return steps // 10


def exponent_count(stream: Stream, k: int) -> int:
    """K capped at the state size."""
    return min(k, stream.state_size)


def lyapunov_running(stream: Stream, k: int = 10, burn_in: int | None = None, every: int = 100,
                     dtype: torch.dtype = torch.float64, seed: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (steps processed, exponents so far, largest first) every ``every`` steps after the burn-in
    and once at the end; before the burn-in has passed nothing is yielded."""
    burn_in = default_burn_in(stream.steps) if burn_in is None else burn_in
    k = exponent_count(stream, k)
    generator = torch.Generator().manual_seed(seed)
    basis = torch.linalg.qr(torch.randn(stream.state_size, k, dtype=dtype, generator=generator)).Q
    rows = basis.mT.contiguous().unsqueeze(0)  # (1, k, n): the tangent vectors as rows
    sums = torch.zeros(k, dtype=dtype)
    for start in range(0, stream.steps, STEPS_PER_BLOCK):
        stop = min(start + STEPS_PER_BLOCK, stream.steps)
        lin = linearisation(stream, start, stop, dtype)
        for offset in range(stop - start):
            if offset % CHECK_EVERY == 0:
                checkpoint()
            moved = lin.take(slice(offset, offset + 1)).apply(rows)
            q, r = torch.linalg.qr(moved[0].mT)
            rows = q.mT.unsqueeze(0)
            step = start + offset
            if step < burn_in:
                continue
            sums += torch.diagonal(r).abs().clamp_min(TINY).log()
            done = step + 1
            if (done - burn_in) % every == 0 or done == stream.steps:
                yield done, np.sort((sums / (done - burn_in)).numpy())[::-1].copy()


def lyapunov_spectrum(stream: Stream, k: int = 10, burn_in: int | None = None, dtype: torch.dtype = torch.float64,
                      seed: int = 0) -> np.ndarray:
    """The top ``k`` exponents (capped at the state size), largest first, nats per step."""
    final = np.zeros(0)
    for _, final in lyapunov_running(stream, k, burn_in, every=stream.steps, dtype=dtype, seed=seed):
        pass
    return final
