"""The analyses the app runs on a finished run, as jobs for the
:class:`~rnnviz.ui.analysis_worker.AnalysisWorker`: each calls the core's functions
(:mod:`rnnviz.analysis`) on one stream and yields its results in small pieces.

No arithmetic happens here: the jobs only cut the work into pieces the GUI can take without waiting
(per-step series in blocks of steps), and the core is imported inside them, in the worker thread,
so that the window never pays for importing torch.
"""

from __future__ import annotations

from typing import Iterator

from rnnviz.model import Model
from rnnviz.trace import Trace
from rnnviz.ui.analysis_worker import Job, Piece

LYAPUNOV_EXPONENTS = 10
PCA_COMPONENTS = 6
SERIES_CHUNK = 128  # steps per piece of a per-step series: small pieces fill the strips smoothly


def _stream(trace: Trace, model: Model, key: tuple[int, str]):
    from rnnviz.analysis.streams import stream

    return stream(trace, model.weights, key[0] + 1, key[1])


def stream_jobs(trace: Trace, model: Model, key: tuple[int, str]) -> list[Job]:
    """Every analysis of one stream, cheapest first, so each view has something to show soon."""

    def jacobian() -> Iterator[Piece]:
        from rnnviz.analysis.ui_support import step_norms

        stream = _stream(trace, model, key)
        for start in range(0, stream.steps, SERIES_CHUNK):
            yield Piece("series", key, start, step_norms(stream, start, min(start + SERIES_CHUNK, stream.steps)))

    def gradient_flow() -> Iterator[Piece]:
        from rnnviz.analysis.ui_support import gradient_flow

        yield Piece("series", key, 0, {"gradient_flow": gradient_flow(_stream(trace, model, key))})

    def lyapunov() -> Iterator[Piece]:
        from rnnviz.analysis.ui_support import running_blocks

        stream = _stream(trace, model, key)
        k = min(LYAPUNOV_EXPONENTS, stream.state_size)
        for start, rows in running_blocks(stream, k, chunk=SERIES_CHUNK):
            yield Piece("lyapunov", key, start, rows)

    def pca_and_fixed_points() -> Iterator[Piece]:
        from rnnviz.analysis.ui_support import find, fit, project, project_directions

        stream = _stream(trace, model, key)
        states = stream.states
        pca = fit(states, min(PCA_COMPONENTS, *states.shape))
        yield Piece("pca", key, 0, (pca, project(pca, states)))
        points = find(stream)
        positions = project(pca, [p.state for p in points]) if points else None
        yield Piece("fixed_points", key, 0, (points, positions,
                                             [project_directions(pca, p.unstable_directions) for p in points]))

    return [jacobian, gradient_flow, lyapunov, pca_and_fixed_points]


def fork_job(trace: Trace, model: Model, key: tuple[int, str], t: int, epsilon: float) -> Job:
    """Perturb stream ``key`` at input time ``t`` by ``epsilon`` and follow the perturbed run."""

    def job() -> Iterator[Piece]:
        from rnnviz.analysis.ui_support import fork

        stream = _stream(trace, model, key)
        step = int(t if key[1] == "forward" else stream.steps - 1 - t)
        yield Piece("fork", key, step, (epsilon, fork(stream, step, epsilon)))

    return job
