"""Peak memory of a long headless run: ``python main.py run SPEC --out DIR`` for a million timesteps.

For SimpleRNN(64) and LSTM(64) (8 input features, ``uniform`` source, CSV export) the script runs the
command in a fresh process, reads that process's peak resident memory from
``resource.getrusage(RUSAGE_CHILDREN)`` (each case in its own child of a small launcher, so that one
case's peak is not another's), and counts the rows of every file written. A run whose states exceed
the trace's memory budget streams them through a spool on disk (see ``rnnviz/trace.py``), so the peak
should stay far below the size of the states.

Run from the repository root::

    python bench/streaming.py                      # T = 1,000,000
    python bench/streaming.py --timesteps 200000 --keep /tmp/streamed
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = [("simplernn-64", "SimpleRNN"), ("lstm-64", "LSTM")]
GOAL_MB = 600

# Runs one command and prints its wall time and its peak RSS (ru_maxrss is in KiB on Linux).
_LAUNCHER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": done.returncode, "seconds": time.perf_counter() - start, "peak_kib": peak}))
"""


def spec_text(layer_type: str, timesteps: int) -> str:
    return (f'[input]\ntimesteps = {timesteps}\nfeatures = 8\nsource = "uniform"\nseed = 0\n\n'
            f'[init]\nscheme = "keras"\nseed = 0\n\n[[layers]]\ntype = "{layer_type}"\nunits = 64\n'
            'return_sequences = true\n')


def count_rows(path: Path) -> int:
    """Data rows of a CSV file (lines after the header), read in 16 MiB pieces."""
    lines = 0
    with open(path, "rb") as fh:
        while piece := fh.read(16 * 2**20):
            lines += piece.count(b"\n")
    return lines - 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timesteps", type=int, default=1_000_000, help="sequence length (default 1,000,000)")
    parser.add_argument("--keep", metavar="DIR", help="write the exports here (default: a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rnnviz-bench-") as scratch:
        base = Path(args.keep) if args.keep else Path(scratch)
        base.mkdir(parents=True, exist_ok=True)
        failed = False
        for label, layer_type in CASES:
            spec = base / f"{label}.toml"
            spec.write_text(spec_text(layer_type, args.timesteps))
            out = base / label
            command = [sys.executable, "main.py", "run", str(spec), "--out", str(out), "--no-progress"]
            measured = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], cwd=ROOT, capture_output=True,
                                      text=True, check=True)
            result = json.loads(measured.stdout)
            rows = {p.name: count_rows(p) for p in sorted(out.glob("*.csv")) if p.name != "saturation.csv"}
            complete = result["rc"] == 0 and all(n == args.timesteps for n in rows.values())
            peak_mb = result["peak_kib"] / 1024
            failed |= not complete or peak_mb > GOAL_MB
            print(f"{label:<13} T={args.timesteps}  peak RSS {peak_mb:7.1f} MB (goal < {GOAL_MB})  "
                  f"{result['seconds']:6.1f} s  rows per file: "
                  f"{', '.join(f'{name} {n}' for name, n in rows.items())}  exit {result['rc']}", flush=True)
            if not args.keep:
                for path in out.iterdir():
                    path.unlink()  # before the next case, so that the disk holds one case at a time
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
