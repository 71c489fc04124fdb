"""Gradient flow: how strongly the last state of a stream depends on each earlier one.

``G_t = d h_last / d h_t = J_last … J_{t+1}`` in processing order (the identity at the last step), the
factor by which backpropagation through time scales a gradient arriving at the end. Its Frobenius
norm over long runs spans hundreds of orders of magnitude, so the product is accumulated backwards
and renormalised every step, its scale kept as a logarithm: ``log10`` stays exact where the norm
itself underflows to 0.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from rnnviz.analysis.cancel import checkpoint
from rnnviz.analysis.jacobian import linearisation
from rnnviz.analysis.streams import Stream

VALUES_PER_BLOCK = 2**22  # Jacobian entries built at once (32 MiB in float64)


def gradient_flow(stream: Stream, dtype: torch.dtype = torch.float64) -> dict[str, np.ndarray]:
    """Per processing step: ``log10`` of ‖d h_last / d h_t‖_F and the norm itself (``frobenius``)."""
    steps, n = stream.steps, stream.state_size
    log10 = np.zeros(steps)
    if steps == 0:
        return {"frobenius": log10, "log10": log10}
    product = torch.eye(n, dtype=dtype)
    log_scale = 0.0
    log10[steps - 1] = math.log10(math.sqrt(n))
    block = max(1, VALUES_PER_BLOCK // (n * n))
    # G_t = G_{t+1} J_{t+1}: the Jacobians of steps 1 … last, from the last block down
    for stop in range(steps, 1, -block):
        start = max(1, stop - block)
        checkpoint()
        jac = linearisation(stream, start, stop, dtype).dense()
        for offset in range(stop - start - 1, -1, -1):
            product = product @ jac[offset]
            norm = float(torch.linalg.matrix_norm(product))
            if norm == 0.0:
                log10[:start + offset] = -math.inf
                return {"frobenius": 10.0 ** log10, "log10": log10}
            log_scale += math.log10(norm)
            product /= norm
            log10[start + offset - 1] = log_scale
    return {"frobenius": 10.0 ** log10, "log10": log10}
