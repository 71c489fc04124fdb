"""``rnnviz sweep SWEEP.toml --out DIR``: one analysis over a grid of specs, on local processes or Dask.

Every point is checked before the first runs. Finished points are journalled as they arrive, so Ctrl+C
(or SIGTERM) leaves a valid partial result and the same command resumes it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from rnnviz.cli.common import add_progress_flag, wants_progress

NAME = "sweep"


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {value}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("sweep", help="run an analysis over a grid of specs (local processes or Dask)",
                       description="Compute the sweep's metrics for every point of its grid; resumable.")
    s.add_argument("sweep", help="a sweep file (.toml): spec or [model], [grid], optional [analysis]")
    s.add_argument("--out", metavar="DIR", required=True,
                   help="results folder (results.csv, results.parquet, sweep.json; resumed if it holds this sweep)")
    where = s.add_mutually_exclusive_group()
    where.add_argument("--workers", metavar="N", type=_workers, help="local worker processes (default: CPU count)")
    where.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://HOST:8786")
    add_progress_flag(s)


class _Interrupted(KeyboardInterrupt):
    """SIGTERM, unwound like Ctrl+C so that the finished points are written out as results."""


def _terminate(signum: int, frame: object) -> None:
    raise _Interrupted


def execute(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from rnnviz.sweep import DaskExecutor, LocalExecutor, load_sweep_file, plan_sweep, run_sweep

    plan = plan_sweep(load_sweep_file(args.sweep), args.out)  # every check, before any work
    executor = DaskExecutor.connect(args.scheduler) if args.scheduler else LocalExecutor(args.workers)
    total = len(plan.points)
    if plan.done == total:
        print(f"sweep: all {total} points are already done in {args.out}; rewriting its result files", file=sys.stderr)
    else:
        print(f"sweep: {total} points, {plan.done} already done in {args.out}; computing {total - plan.done} on "
              f"{executor.describe()}", file=sys.stderr)
    bar = tqdm(total=total, initial=plan.done, unit="point", disable=not wants_progress(args), file=sys.stderr,
               dynamic_ncols=True)

    def progress(done: int, _total: int, result: object) -> None:
        bar.update(done - bar.n)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)  # the caller restores its own handler afterwards
    try:
        with executor:
            outcome = run_sweep(plan, executor=executor, progress=progress)
    except KeyboardInterrupt as exc:
        bar.close()
        from rnnviz.sweep.store import read_journal  # the truth, even if the signal came between two updates

        saved = len(read_journal(plan.out_dir)[1])
        print(f"\nrnnviz: interrupted; {saved} of {total} points are saved in {args.out} (results.csv, "
              "results.parquet); run the same command again to compute the rest", file=sys.stderr)
        raise SystemExit(143 if isinstance(exc, _Interrupted) else 130) from None
    bar.close()
    print(f"{outcome.computed} points computed, {outcome.done} of {outcome.total} in {args.out}: "
          f"{', '.join(p.name for p in outcome.written)}")
