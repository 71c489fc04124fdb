"""One point's computation, the same wherever it runs (a local process, a Dask worker, a thread).

An executor only ever calls :func:`evaluate` on a :class:`PointTask`; the task carries the function that
computes the rows (:func:`point_rows` unless a test or the app injects another), so nothing here knows
who runs it. Torch is held to one thread and to the CPU inside a point: its numbers then depend neither on
how many points share the machine nor on the machine's accelerator.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from rnnviz.spec import ModelSpec

Row = dict[str, Any]


@dataclass(frozen=True)
class PointTask:
    """What a worker needs for one point: its index, spec and metrics, and the function that computes them."""

    index: int
    spec: ModelSpec
    metrics: tuple[str, ...]
    compute: Callable[[ModelSpec, tuple[str, ...]], list[Row]] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class PointResult:
    """One finished point: a row per layer direction (``layer``, ``direction``, the metrics) and the seconds
    its computation took on the worker (scheduling and transfer excluded)."""

    index: int
    rows: list[Row]
    seconds: float


def point_rows(spec: ModelSpec, metrics: tuple[str, ...]) -> list[Row]:
    """The sweep's metrics of one spec, a row per layer direction, as the core's analysis defines them
    (:func:`rnnviz.analysis.metrics.point_metrics`: λ_max from the Lyapunov QR, memory horizon from
    fork-and-perturb, gradient decay from the gradient flow); a metric it cannot give is None."""
    from rnnviz.analysis.metrics import point_metrics

    return [{"layer": row["layer"], "direction": row["direction"], **{m: row[m] for m in metrics}}
            for row in point_metrics(spec, device="cpu")]


def evaluate(task: PointTask) -> PointResult:
    """Compute one point on one CPU thread; what every executor runs."""
    import torch

    torch.set_num_threads(1)
    compute = task.compute or point_rows
    start = time.perf_counter()
    rows = compute(task.spec, task.metrics)
    return PointResult(task.index, rows, time.perf_counter() - start)
