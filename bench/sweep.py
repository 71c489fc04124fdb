"""Sweep throughput: local workers scale, and the Dask path costs little per point.

The grid is 24 CPU-bound points (6 gains × 4 seeds of a GRU stack, ``--timesteps`` steps, ``--units`` units,
all the sweep's metrics). The script runs it

* on 1 and then 2 local workers (``LocalExecutor``), each pool started and warmed by one point beforehand,
  and prints the speed-up (wall time of 1 worker / wall time of 2; the goal is >= 1.7 on 2 free cores),
  beside the same ratio for 24 pure-Python tasks on the same pools, which shows how many cores were free;
* on a Dask ``LocalCluster`` with one worker process and one thread, warmed the same way, and prints the
  per-point overhead: (wall time - the points' own compute time, as measured inside the worker) / compute
  time (goal: under 5%);
* on a 2-worker Dask ``LocalCluster`` whose first point with seed 1 kills its worker process (a crash, an
  OOM kill): the sweep must complete with every point.

Every run's rows must equal the 1-worker run's, or the script fails. Run from the repository root::

    python bench/sweep.py
    python bench/sweep.py --timesteps 300       # quicker, noisier
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnviz import InitSpec, InputSpec, LayerSpec, ModelSpec  # noqa: E402
from rnnviz.sweep import DaskExecutor, LocalExecutor, Sweep, expand, plan_sweep, read_results, run_sweep  # noqa: E402
from rnnviz.sweep.point import PointTask, evaluate, point_rows  # noqa: E402

GRID = {"init.gain": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0], "init.seed": [0, 1, 2, 3]}


def make_sweep(timesteps: int, units: int) -> Sweep:
    spec = ModelSpec(input=InputSpec(timesteps=timesteps, features=4, source="normal"),
                     layers=[LayerSpec("GRU", units)], init=InitSpec(scheme="normal"))
    return Sweep(spec, GRID)


def warm(executor, sweep: Sweep) -> None:
    """Start the workers and let each import and run once, so start-up is not counted as per-point cost."""
    point = expand(sweep)[0]
    tasks = [PointTask(point.index, point.spec, sweep.metrics)] * 2
    list(executor.imap_unordered(evaluate, tasks))


def timed(sweep: Sweep, executor, out: Path) -> tuple[float, float, list]:
    """(wall seconds, summed compute seconds inside the workers, rows); the up-front checks are not timed."""
    plan = plan_sweep(sweep, out)
    start = time.perf_counter()
    run_sweep(plan, executor=executor)
    wall = time.perf_counter() - start
    rows = read_results(out)
    journal = [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()[1:]]
    return wall, sum(record["seconds"] for record in journal), rows


def busy(count: int) -> int:
    """Pure-Python work with no torch or I/O: the control for how many cores the machine really has free."""
    total = 0
    for i in range(count):
        total += i
    return total


def control_time(executor) -> float:
    start = time.perf_counter()
    list(executor.imap_unordered(busy, [3_000_000] * 24))
    return time.perf_counter() - start


def dies_once(spec, metrics):
    """The sweep's metrics, but the first point with seed 1 kills its worker (sent by value: defined in __main__)."""
    marker = Path(os.environ["RNNVIZ_BENCH_MARKER"])
    if spec.init.seed == 1 and not marker.exists():
        marker.touch()
        os._exit(1)
    return point_rows(spec, metrics)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timesteps", type=int, default=1000)
    parser.add_argument("--units", type=int, default=64)
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    sweep = make_sweep(args.timesteps, args.units)
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        walls, controls = {}, {}
        for workers in (1, 2):
            with LocalExecutor(workers) as executor:
                warm(executor, sweep)
                walls[workers], compute_s, rows = timed(sweep, executor, tmp / f"local{workers}")
                controls[workers] = control_time(executor)
            if workers == 1:
                reference = rows
            elif rows != reference:
                failures.append("2 local workers gave other rows than 1")
            print(f"local, {workers} worker{'s' * (workers > 1)}: {walls[workers]:6.2f} s wall for 24 points "
                  f"({compute_s / 24:.3f} s compute per point)")
        print(f"speed-up of 2 local workers over 1: {walls[1] / walls[2]:.2f}x (goal >= 1.7); control, pure-Python "
              f"tasks on the same pools: {controls[1] / controls[2]:.2f}x (about 2 when 2 cores are free)")

        with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster, set_as_default=False) as client:
            executor = DaskExecutor(client)
            warm(executor, sweep)
            wall, compute_s, rows = timed(sweep, executor, tmp / "dask")
        if rows != reference:
            failures.append("Dask gave other rows than the local run")
        overhead = (wall - compute_s) / compute_s
        print(f"Dask, 1 worker process: {wall:6.2f} s wall, {compute_s:6.2f} s of it computing; per-point overhead "
              f"{100 * overhead:.1f}% of a point's compute ({(wall - compute_s) / 24 * 1000:.1f} ms per point; "
              "goal < 5%)")

        os.environ["RNNVIZ_BENCH_MARKER"] = str(tmp / "died")
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster, set_as_default=False) as client:
            outcome = run_sweep(sweep, tmp / "dies", DaskExecutor(client), compute=dies_once)
        survived = (tmp / "died").exists() and outcome.complete and read_results(tmp / "dies") == reference
        print(f"Dask, a worker killed mid-sweep: {'complete, rows equal to the local run' if survived else 'FAILED'}")
        if not survived:
            failures.append("the sweep did not survive a worker's death")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
