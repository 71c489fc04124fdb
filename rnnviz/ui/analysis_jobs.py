"""The analyses the app runs on a finished run, as jobs for the
:class:`~rnnviz.ui.analysis_worker.AnalysisWorker`: each calls the analysis package's functions
(:mod:`rnnviz.analysis`, the same ones ``rnnviz analyze`` uses) on one stream and yields the results
in small pieces.

No arithmetic happens here: the jobs only cut the work into pieces the GUI can take without waiting
(per-step series in blocks of steps), and the core is imported inside them, in the worker thread,
so that the window never pays for importing torch.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from rnnviz.model import Model
from rnnviz.trace import Trace
from rnnviz.ui.analysis_worker import Job, Piece

LYAPUNOV_EXPONENTS = 10
LYAPUNOV_EVERY = 8  # steps between two points of the running estimate
PCA_COMPONENTS = 6
SERIES_CHUNK = 256  # steps per piece of a per-step series: small pieces fill the strips smoothly
# The app's fixed-point search is the analysis package's with a lighter budget than `rnnviz analyze`
# (1024 starts, 5000 Adam steps): it finds the same attractors of a trained network in seconds.
FIXED_POINT_INITS = 256
FIXED_POINT_ITERATIONS = 2000


def _stream(trace: Trace, model: Model, key: tuple[int, str]):
    from rnnviz.analysis.streams import stream

    return stream(trace, model.weights, key[0] + 1, key[1])


def analysis_jobs(trace: Trace, model: Model, keys: list[tuple[int, str]]) -> list[Job]:
    """Every analysis of the streams ``keys``: the cheap per-step series (Jacobian norms, gradient
    flow) of every stream before any stream's slow ones (Lyapunov, PCA and fixed points), so that the
    heatmap strips of the last stream of a deep stack never wait behind the others' fixed-point searches."""
    per_stream = [_stream_jobs(trace, model, key) for key in keys]
    return [job for series, _ in per_stream for job in series] + [job for _, slow in per_stream for job in slow]


def _stream_jobs(trace: Trace, model: Model, key: tuple[int, str]) -> tuple[list[Job], list[Job]]:
    """The analyses of one stream: its cheap per-step series, and its slow ones, each cheapest first."""

    def jacobian() -> Iterator[Piece]:
        from rnnviz.analysis.jacobian import jacobian_stats

        stream = _stream(trace, model, key)
        for start in range(0, stream.steps, SERIES_CHUNK):
            values = jacobian_stats(stream, start, min(start + SERIES_CHUNK, stream.steps))  # as `analyze` has them
            yield Piece("series", key, start, {"spectral_radius": values["spectral_radius"],
                                               "sigma_max": values["sigma_max"]})

    def gradient_flow() -> Iterator[Piece]:
        from rnnviz.analysis.gradients import gradient_flow

        yield Piece("series", key, 0, {"gradient_log10": gradient_flow(_stream(trace, model, key))["log10"]})

    def lyapunov() -> Iterator[Piece]:
        from rnnviz.analysis.lyapunov import lyapunov_running

        done, rows = [], []
        for steps, exponents in lyapunov_running(_stream(trace, model, key), LYAPUNOV_EXPONENTS,
                                                 every=LYAPUNOV_EVERY):
            done.append(steps)
            rows.append(exponents)
            if steps - done[0] >= SERIES_CHUNK:
                yield Piece("lyapunov", key, 0, (np.array(done), np.array(rows)))
                done, rows = [], []
        if done:
            yield Piece("lyapunov", key, 0, (np.array(done), np.array(rows)))

    def pca_and_fixed_points() -> Iterator[Piece]:
        from rnnviz.analysis.fixed_points import find_fixed_points
        from rnnviz.analysis.pca import pca

        stream = _stream(trace, model, key)
        fit = pca(stream.states[:, :stream.units], PCA_COMPONENTS)
        yield Piece("pca", key, 0, fit)
        found = find_fixed_points(stream.cell, np.zeros(stream.inputs.shape[1]), stream.states,
                                  n_inits=FIXED_POINT_INITS, max_iters=FIXED_POINT_ITERATIONS)
        yield Piece("fixed_points", key, 0, found)

    return [jacobian, gradient_flow], [lyapunov, pca_and_fixed_points]


def fork_job(trace: Trace, model: Model, key: tuple[int, str], t: int, epsilon: float) -> Job:
    """Perturb stream ``key`` at input time ``t`` by ``epsilon`` and follow the perturbed run."""

    def job() -> Iterator[Piece]:
        from rnnviz.analysis.perturb import perturb

        step = int(t if key[1] == "forward" else trace.timesteps - 1 - t)
        divergences = perturb(trace, model.weights, step, epsilon, key[0] + 1, key[1])
        yield Piece("fork", key, step, (epsilon, divergences))

    return job
