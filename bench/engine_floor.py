"""How fast a full capture could be at best on this machine, built as rnnviz builds it.

rnnviz records every step's gates. torch's fused forward, the baseline of ``bench/engine.py``, records
none. With rnnviz's schedule, each direction runs the fused kernel on one thread, the two directions
of a layer run side by side, and the gates are recovered by two matrix products per block. A capture
built this way costs at least these two parts added together:

* **sweeps**: the 8 single-direction fused sweeps of a 4-layer bidirectional stack, one thread each,
  two at a time, recording nothing;
* **gate GEMMs**: the input and hidden projections of every step of every sweep, two at a time.

Both are printed as ratios to the baseline, ``torch.nn.GRU``/``LSTM(64, 256, num_layers=4,
bidirectional=True)`` on torch's default threads (oneDNN for the LSTM), timed side by side in this
process: the median over ``--repeats``. Their sum is the floor that #8's in-process goal is compared
with. Run from the repository root: ``python bench/engine_floor.py``.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import torch

LAYERS, UNITS, FEATURES = 4, 256, 64


def _two_at_a_time(work: list) -> float:
    """Seconds to run the callables of ``work`` on two threads (one torch thread each), alternating."""
    def run(share: list) -> None:
        torch.set_num_threads(1)
        with torch.inference_mode():
            for call in share:
                call()

    threads = [threading.Thread(target=run, args=(work[k::2],)) for k in (0, 1)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def measure(kind: str, timesteps: int) -> tuple[float, float, float]:
    """Seconds of (baseline, sweeps, gate GEMMs) for ``kind`` (``GRU`` or ``LSTM``)."""
    gates = 4 if kind == "LSTM" else 3
    stack = getattr(torch.nn, kind)(FEATURES, UNITS, num_layers=LAYERS, bidirectional=True).requires_grad_(False)
    x = torch.rand(timesteps, 1, FEATURES)
    widths = [FEATURES if layer == 0 else 2 * UNITS for layer in range(LAYERS) for _ in range(2)]
    sweeps = [getattr(torch.nn, kind)(width, UNITS).requires_grad_(False) for width in widths]
    inputs = [torch.rand(timesteps, width) for width in widths]
    kernels = [torch.rand(width + UNITS, gates * UNITS) for width in widths]
    rows = [torch.rand(timesteps, width + UNITS) for width in widths]  # [x_t, h_{t-1}] of every step

    with torch.inference_mode():
        start = time.perf_counter()
        stack(x)
        baseline = time.perf_counter() - start
    swept = _two_at_a_time([lambda s=s, i=i: s(i) for s, i in zip(sweeps, inputs)])
    gemms = _two_at_a_time([lambda r=r, k=k: r @ k for r, k in zip(rows, kernels)])
    return baseline, swept, gemms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timesteps", type=int, default=4000)
    args = parser.parse_args()
    threads = torch.get_num_threads()
    print(f"# torch {torch.__version__}, baseline on {threads} intra-op thread(s); 4 x bidirectional x {UNITS}, "
          f"T={args.timesteps}")
    for kind in ("GRU", "LSTM"):
        measure(kind, min(args.timesteps, 256))  # warm-up: kernels, thread pools
        runs = []
        for _ in range(args.repeats):
            runs.append(measure(kind, args.timesteps))
            torch.set_num_threads(threads)
        sweeps = statistics.median(s / b for b, s, _ in runs)
        gemms = statistics.median(g / b for b, _, g in runs)
        floor = statistics.median((s + g) / b for b, s, g in runs)
        baseline = statistics.median(b for b, _, _ in runs)
        print(f"{kind:<5} baseline torch.nn.{kind} {baseline:.2f} s; sweeps {sweeps:.2f}x, gate GEMMs {gemms:.2f}x, "
              f"floor of a full capture {floor:.2f}x (median of {args.repeats})")


if __name__ == "__main__":
    main()
