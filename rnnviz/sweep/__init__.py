"""Sweeps: one analysis over a grid of specs (gain, width, cell type, seeds ...), on local processes or Dask.

>>> from rnnviz.sweep import load_sweep_file, expand, run_sweep, read_results   # doctest: +SKIP
>>> sweep = load_sweep_file("sweep.toml")                                       # doctest: +SKIP
>>> outcome = run_sweep(sweep, "out/", LocalExecutor(2), progress=print)        # doctest: +SKIP
>>> rows = read_results("out/")   # one dict per point and layer direction      # doctest: +SKIP
"""

from rnnviz.sweep.executors import DaskExecutor, Executor, LocalExecutor
from rnnviz.sweep.grid import METRICS, Point, Sweep, expand, load_sweep_file, sweep_from_dict
from rnnviz.sweep.point import PointResult, PointTask, evaluate, point_rows
from rnnviz.sweep.runner import SweepOutcome, SweepPlan, plan_sweep, run_sweep
from rnnviz.sweep.store import read_results

__all__ = ["METRICS", "DaskExecutor", "Executor", "LocalExecutor", "Point", "PointResult", "PointTask", "Sweep",
           "SweepOutcome", "SweepPlan", "evaluate", "expand", "load_sweep_file", "plan_sweep", "point_rows",
           "read_results", "run_sweep", "sweep_from_dict"]
