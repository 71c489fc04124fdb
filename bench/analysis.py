"""Time `rnnviz analyze` against the plain run it analyses, side by side, and the fixed-point search.

1. A 2-layer bidirectional GRU(128), T = 2000, whole process as a user runs them, alternating: the plain
   `rnnviz run SPEC --out DIR` (its CSV export) against `rnnviz analyze SPEC --out DIR --only <everything
   but fixed points>` (goal: at most 3x), with peak memory; then in-process, each quantity on its own.
2. The spectral radius of one chunk of its Jacobians, by LAPACK (the baseline) and by powers of J.
3. Fixed points of a GRU(64) (keras init, T = 2000 uniform input) with the default search (goal: 30 s).

    python bench/analysis.py [--repeats N] [--threads N]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


SPEC_TOML = """[input]
timesteps = 2000
features = 8
source = "uniform"
seed = 1

[init]
scheme = "keras"
seed = 1
""" + "\n[[layers]]\ntype = \"GRU\"\nunits = 128\nbidirectional = true\n" * 2


def whole_process(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``python main.py ARGS`` in a fresh process."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, str(Path(__file__).parents[1] / "main.py"), *args, "--no-progress"],
                             stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"main.py {' '.join(args)} exited with {child.returncode}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def radius_by_powers_against_lapack(spec: rnnviz.ModelSpec) -> None:
    """The spectral radius of 512 steps' Jacobians of layer 2 forward, one torch thread, side by side, in the
    parts `jacobian.norms` builds: LAPACK's eigenvalues (the baseline) against Rayleigh-Ritz on J^256
    (rnnviz.analysis.jacobian)."""
    from rnnviz.analysis import jacobian
    from rnnviz.analysis.streams import stream

    model, inputs = prepare(spec)
    trace = stepper(model, inputs, "cpu").run()
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        dense = jacobian.jacobians(stream(trace, model.weights, 2, "forward"), 0, 512).to(torch.float32)
        parts = dense.split(jacobian.steps_within(jacobian.DENSE_BYTES, dense.shape[1], dense.element_size()))
        lapack, powers = [], []
        for _ in range(2):
            lapack.append(timed(lambda: [jacobian._exact_radius(part) for part in parts]))
            powers.append(timed(lambda: [jacobian._radius_by_powers(part) for part in parts]))
        worst = float(((jacobian._radius_by_powers(dense) - jacobian._exact_radius(dense.double())).abs()
                       / jacobian._exact_radius(dense.double())).max())
    finally:
        torch.set_num_threads(saved)
    per_step = 1000 / dense.shape[0]
    print(f"spectral radius of a 128-state Jacobian, one thread: LAPACK {min(lapack) * per_step:.2f} ms, "
          f"by powers {min(powers) * per_step:.2f} ms ({min(lapack) / min(powers):.1f}x faster), "
          f"largest difference from float64 LAPACK {worst:.1e} (relative)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = gru(128, 2, True, 2000)
    everything = [q for q in QUANTITIES if q != "fixed_points"]
    folder = Path(tempfile.mkdtemp(prefix="rnnviz-bench-analysis-"))
    (folder / "gru.toml").write_text(SPEC_TOML)
    runs, analyses, run_rss, analysis_rss = [], [], [], []
    whole_process(["run", str(folder / "gru.toml"), "--out", str(folder / "warm")])  # page cache, pyc files
    for repeat in range(args.repeats):
        seconds, rss = whole_process(["run", str(folder / "gru.toml"), "--out", str(folder / f"run{repeat}")])
        runs.append(seconds)
        run_rss.append(rss)
        seconds, rss = whole_process(["analyze", str(folder / "gru.toml"), "--out", str(folder / f"an{repeat}"),
                                      "--only", ",".join(everything)])
        analyses.append(seconds)
        analysis_rss.append(rss)
    ratios = [a / r for a, r in zip(analyses, runs)]
    print(f"2-layer bidirectional GRU(128), T=2000, whole process: `run --out` {statistics.median(runs):.2f} s, "
          f"`analyze` without fixed points {statistics.median(analyses):.2f} s")
    print(f"  analyze / run: {statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f}); goal <= 3")
    print(f"  peak RSS: run {statistics.median(run_rss):.0f} MB, analyze {statistics.median(analysis_rss):.0f} MB")

    def plain_run() -> None:
        model, inputs = prepare(spec)
        stepper(model, inputs, "cpu").run()

    plain_run()  # warm-up: imports, thread pools
    run_seconds = statistics.median(timed(plain_run) for _ in range(args.repeats))
    print(f"in process: the run alone {run_seconds:.2f} s")
    trace = rnnviz.run(spec, device="cpu")
    for quantity in everything:
        seconds = timed(lambda: analyze(trace, only=[quantity]))
        print(f"  {quantity:14s} {seconds:6.2f} s  ({seconds / run_seconds:.1f}x the in-process run)")

    radius_by_powers_against_lapack(spec)

    small = gru(64, 1, False, 2000)
    trace = rnnviz.run(small, device="cpu")
    seconds = timed(lambda: analyze(trace, only=["fixed_points"]))
    found = analyze(trace, only=["fixed_points"]).tables["fixed_points"]
    print(f"fixed points of GRU(64), T=2000: {seconds:.1f} s ({len(found)} found, "
          f"{sum(r['stable'] for r in found)} stable); goal <= 30 s")


if __name__ == "__main__":
    main()
