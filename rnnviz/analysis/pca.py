"""PCA of a layer-direction's hidden states over time (for LSTM, of h, the part the next layer sees).

The states are centred over time and decomposed by SVD. An SVD fixes each component only up to sign,
so each is flipped to make its largest-magnitude loading positive: the same run always gives the same
trajectory picture.
"""

from __future__ import annotations

import numpy as np
import torch

COMPONENTS = 3


def pca(hidden: np.ndarray, components: int = COMPONENTS) -> dict[str, np.ndarray]:
    """``scores`` (T, components) of the centred states on the leading components (NaN where the
    states have fewer), ``explained_variance_ratio`` of every component, the ``loadings``
    (components, units) and the ``mean`` (units,) the states were centred by, so that other states
    (fixed points) can be placed in the same picture: ``(states - mean) @ loadings.T``."""
    values = np.asarray(hidden, np.float64)
    mean = values.mean(axis=0)
    centred = values - mean
    # torch's SVD: numpy's took seconds for a (2000, 128) matrix while other processes held the cores
    _, singular, vt = (t.numpy() for t in torch.linalg.svd(torch.from_numpy(centred), full_matrices=False))
    largest = np.argmax(np.abs(vt), axis=1)
    vt = vt * np.sign(vt[np.arange(vt.shape[0]), largest])[:, None]
    power = singular ** 2
    total = power.sum()
    ratio = power / total if total > 0 else np.zeros_like(power)
    scores = np.full((values.shape[0], components), np.nan)
    kept = min(components, vt.shape[0])
    scores[:, :kept] = centred @ vt[:kept].T
    return {"scores": scores, "explained_variance_ratio": ratio, "loadings": vt[:kept], "mean": mean}
