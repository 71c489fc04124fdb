"""Running a sweep: check everything first, then compute the missing points, recording each as it finishes.

:func:`plan_sweep` does every check a sweep can fail (each point's spec, its files, the output folder, a
journal left by another sweep) and writes nothing; :func:`run_sweep` then computes only the points the
folder lacks. The command line and the app's background thread both drive it.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from rnnviz.errors import RnnvizError
from rnnviz.spec import ModelSpec
from rnnviz.sweep.executors import Executor, LocalExecutor
from rnnviz.sweep.grid import Point, Sweep, expand, sweep_hash
from rnnviz.sweep.point import PointResult, PointTask, Row, evaluate
from rnnviz.sweep.store import (Journal, check_journal, point_seconds, read_journal, tidy_rows, write_info,
                               write_results)

Progress = Callable[[int, int, "PointResult | None"], None]
_VERSIONS = ("rnnviz", "torch", "numpy", "dask", "distributed", "pyarrow")


@dataclass(frozen=True)
class SweepPlan:
    """A checked sweep and the folder it fills: ``done`` points of ``points`` are there already."""

    sweep: Sweep
    points: list[Point] = field(repr=False)
    fingerprint: str
    out_dir: Path
    done: int

    @property
    def columns(self) -> list[str]:
        """The results' columns, in order."""
        return ["point", *self.sweep.grid, "layer", "direction", *self.sweep.metrics]


@dataclass(frozen=True)
class SweepOutcome:
    """How a run ended: ``done`` of ``total`` points are in the folder (``complete`` when all), ``computed``
    of them by this run, and the files written."""

    total: int
    done: int
    computed: int
    complete: bool
    written: list[Path]


def _check_files(points: list[Point]) -> None:
    """Points that read files (trained weights, an input file) are prepared once each here, so a missing
    or mismatched file stops the sweep before it starts; the others cannot fail beyond their spec."""
    from rnnviz.headless import prepare
    from rnnviz.trace import check_memory

    prepared: set[str] = set()
    for point in points:
        check_memory(point.spec, f"point {point.index}")
        if point.spec.weights is None and point.spec.input.source != "file":
            continue
        key = repr(point.spec.to_dict()) if point.spec.weights else repr((point.spec.input.path,))
        if key in prepared:
            continue
        try:
            prepare(point.spec)
        except RnnvizError as exc:
            raise type(exc)(f"{point.spec.weights or point.spec.input.path} (point {point.index}): {exc}") from None
        prepared.add(key)


def plan_sweep(sweep: Sweep, out_dir: str | Path) -> SweepPlan:
    """Check a sweep and its output folder without writing anything; every problem is a one-line error."""
    from rnnviz.export import check_out_dir

    out_dir = Path(out_dir)
    points = expand(sweep)
    check_out_dir(out_dir)
    fingerprint = sweep_hash(sweep, points)
    done = check_journal(out_dir, fingerprint)
    _check_files(points)
    return SweepPlan(sweep, points, fingerprint, out_dir, done)


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _VERSIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _info(plan: SweepPlan, finished: dict[int, Any], executor: str, started: datetime, wall_s: float,
          computed: int) -> dict[str, Any]:
    return {
        "grid": plan.sweep.grid, "metrics": list(plan.sweep.metrics), "base_spec": plan.sweep.base.to_dict(),
        "columns": plan.columns, "points": len(plan.points), "done": len(finished),
        "complete": len(finished) == len(plan.points), "fingerprint": plan.fingerprint,
        "executor": executor, "versions": _versions(),
        "timings": {"started": started.isoformat(timespec="seconds"), "wall_s": wall_s, "points_computed": computed,
                    "point_s": point_seconds(finished.values())},
    }


def run_sweep(sweep: Sweep | SweepPlan, out_dir: str | Path | None = None, executor: Executor | None = None, *,
              progress: Progress | None = None, should_stop: Callable[[], bool] | None = None,
              compute: Callable[[ModelSpec, tuple[str, ...]], list[Row]] | None = None) -> SweepOutcome:
    """Compute the points ``out_dir`` lacks and rebuild its result files (also when stopped or interrupted).

    ``executor`` defaults to a :class:`LocalExecutor` with one worker per CPU, closed at the end; one that is
    passed in stays open. ``progress(done, total, result)`` is called once before the first point (``result``
    None) and after each finished one; ``should_stop()`` is asked after each and ends the run early, leaving
    a valid partial result that the same call completes later. ``compute(spec, metrics) -> rows`` replaces
    the metrics (tests inject cheap ones; it must be importable by the workers).
    """
    plan = sweep if isinstance(sweep, SweepPlan) else plan_sweep(sweep, out_dir if out_dir is not None else ".")
    owns_executor = executor is None
    executor = executor or LocalExecutor()
    started, clock = datetime.now(timezone.utc), time.monotonic()
    computed = 0
    total = len(plan.points)
    journal = Journal(plan.out_dir, plan.fingerprint, total)
    try:
        # Written first, so that the app can open the folder while the points arrive (``read_results``).
        write_info(plan.out_dir, _info(plan, journal.finished, executor.describe(), started, 0.0, 0))
        if progress is not None:
            progress(len(journal.finished), total, None)
        todo = [p for p in plan.points if p.index not in journal.finished]
        if todo and not (should_stop is not None and should_stop()):
            values = {p.index: p.values for p in todo}
            tasks = (PointTask(p.index, p.spec, plan.sweep.metrics, compute) for p in todo)
            results = executor.imap_unordered(evaluate, tasks)
            try:
                for result in results:
                    journal.append(result, values[result.index])
                    computed += 1
                    if progress is not None:
                        progress(len(journal.finished), total, result)
                    if should_stop is not None and should_stop():
                        break
            finally:
                results.close()
    finally:
        try:
            # From the file, not from memory: an interrupt may fall between a point's line and its bookkeeping.
            finished = read_journal(plan.out_dir)[1]
            written = write_results(plan.out_dir, plan.columns, tidy_rows(finished),
                                    _info(plan, finished, executor.describe(), started, time.monotonic() - clock,
                                          computed))
        finally:
            journal.close()
            if owns_executor:
                executor.close()
    return SweepOutcome(total, len(finished), computed, len(finished) == total, written)
