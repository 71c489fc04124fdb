"""One point's computation, the same wherever it runs (a local process, a Dask worker, a thread).

An executor only ever calls :func:`evaluate` on a :class:`PointTask`; the task carries the function that
computes the rows (:func:`point_rows` unless a test or the app injects another), so nothing here knows
who runs it. Torch is held to one thread and to the CPU inside a point: its numbers then depend neither on
how many points share the machine nor on the machine's accelerator.
"""

from __future__ import annotations

import math
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
    """The sweep's metrics of one spec, a row per layer direction; metrics the analysis cannot give yet are NaN."""
    from rnnviz.headless import run

    trace = run(spec, device="cpu")
    rows = []
    for layer, direction, saturated, gain in trace.saturation():
        known = {"saturated_fraction": float(saturated.mean(dtype="float64")),
                 "mean_tanh_gain": float(gain.mean(dtype="float64"))}
        rows.append({"layer": layer, "direction": direction, **{m: known.get(m, math.nan) for m in metrics}})
    return rows


def evaluate(task: PointTask) -> PointResult:
    """Compute one point on one CPU thread; what every executor runs."""
    import torch

    torch.set_num_threads(1)
    compute = task.compute or point_rows
    start = time.perf_counter()
    rows = compute(task.spec, task.metrics)
    return PointResult(task.index, rows, time.perf_counter() - start)
