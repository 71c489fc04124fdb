"""Time `rnnviz analyze` against the plain run it analyses, side by side, and the fixed-point search.

1. A 2-layer bidirectional GRU(128), T = 2000: the plain run (prepare + Stepper, as `rnnviz run`) and
   every analysis but fixed points (goal: at most 3x the run), and each quantity on its own.
2. Fixed points of a GRU(64) (keras init, T = 2000 uniform input) with the default search (goal: 30 s).

    python bench/analysis.py [--repeats N] [--threads N]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import time

# numpy's OpenBLAS threads spin while other processes hold the cores: a 128x384 QR in init_weights took
# 1.6 s on a shared 2-core machine. One thread, set before numpy loads, for the run and the analysis alike.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import torch  # noqa: E402

import rnnviz  # noqa: E402
from rnnviz.analysis import QUANTITIES, analyze  # noqa: E402
from rnnviz.headless import prepare, stepper  # noqa: E402

print = functools.partial(print, flush=True)  # noqa: A001 - lines appear as each part finishes


def gru(units: int, layers: int, bidirectional: bool, steps: int) -> rnnviz.ModelSpec:
    return rnnviz.ModelSpec(input=rnnviz.InputSpec(timesteps=steps, features=8, source="uniform", seed=1),
                            layers=[rnnviz.LayerSpec("GRU", units, bidirectional) for _ in range(layers)],
                            init=rnnviz.InitSpec(scheme="keras", seed=1))


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = gru(128, 2, True, 2000)
    everything = [q for q in QUANTITIES if q != "fixed_points"]

    def plain_run() -> None:
        model, inputs = prepare(spec)
        stepper(model, inputs, "cpu").run()

    plain_run()  # warm-up: imports, thread pools
    runs, analyses = [], []
    for _ in range(args.repeats):
        runs.append(timed(plain_run))
        analyses.append(timed(lambda: analyze(spec, only=everything, device="cpu")))
    ratios = [a / r for a, r in zip(analyses, runs)]
    print(f"2-layer bidirectional GRU(128), T=2000: run {statistics.median(runs):.2f} s, analysis without fixed "
          f"points {statistics.median(analyses):.2f} s (includes its own run)")
    print(f"  analysis / run: {statistics.median(ratios):.1f} (range {min(ratios):.1f}-{max(ratios):.1f}); goal <= 3")
    trace = rnnviz.run(spec, device="cpu")
    for quantity in everything:
        seconds = timed(lambda: analyze(trace, only=[quantity]))
        print(f"  {quantity:14s} {seconds:6.2f} s  ({seconds / statistics.median(runs):.1f}x the run)")

    small = gru(64, 1, False, 2000)
    trace = rnnviz.run(small, device="cpu")
    seconds = timed(lambda: analyze(trace, only=["fixed_points"]))
    found = analyze(trace, only=["fixed_points"]).tables["fixed_points"]
    print(f"fixed points of GRU(64), T=2000: {seconds:.1f} s ({len(found)} found, "
          f"{sum(r['stable'] for r in found)} stable); goal <= 30 s")


if __name__ == "__main__":
    main()
