"""Cost of recording every state: an rnnviz run divided by torch's own fused forward of the same stack.

For each stack (4 layers × 256 units, 64 input features, ``--timesteps`` steps, weights from rnnviz's
``torch`` init) the script times, in this process,

* rnnviz: a full-capture run, ``rnnviz.headless.stepper(model, inputs, device).run()``, which records
  every hidden state and the gates of every step and direction (GRU z, r and the candidate hh; LSTM
  i, f, g, o and the cell state c);
* torch: ``torch.nn.GRU``/``torch.nn.LSTM``/``torch.nn.RNN(64, 256, num_layers=4[, bidirectional=True])``
  loaded with the very same weights (``state_dict_arrays``) running the same input under
  ``torch.inference_mode``, which returns the last layer's output only.

Both are timed side by side in one process, interleaved (the order alternates every repeat) so that
load from other processes on a shared machine hits both alike; the ratio of each repeat is reported as
the median and range over ``--repeats``. Before timing, rnnviz's last layer is checked against torch's
output to 1e-5, so that both compute the same thing.

``--whole-process`` then times whole processes for the gated stacks, again alternating: ``python main.py
run SPEC --format npz --out DIR`` (import, compute, export) against a script that imports torch, builds
the same ``nn.GRU``/``nn.LSTM`` and runs its forward once, with each process's peak resident memory.

torch runs with its default intra-op threads, as a user's own code would; ``--torch-threads 1`` gives
it one thread instead (on a small machine often as fast, and steadier when other processes are busy).
rnnviz always runs its own way (see ``rnnviz/engine/stepper.py``).

Run from the repository root::

    python bench/engine.py                   # the full benchmark (T = 4000)
    python bench/engine.py --timesteps 500 --repeats 3
    python bench/engine.py --whole-process --repeats 5
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from rnnviz import InitSpec, InputSpec, LayerSpec, ModelSpec, prepare  # noqa: E402
from rnnviz.engine.device import resolve_device  # noqa: E402
from rnnviz.headless import stepper  # noqa: E402
from rnnviz.weights.torch_file import state_dict_arrays  # noqa: E402

LAYERS, UNITS, FEATURES = 4, 256, 64
CASES = [  # label, layer type, bidirectional
    ("gru-bi-4x256", "GRU", True),
    ("lstm-bi-4x256", "LSTM", True),
    ("rnn-4x256", "SimpleRNN", False),
    ("rnn-bi-4x256", "SimpleRNN", True),
]
TOLERANCE = 1e-5


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


class Case:
    """One stack, built both ways from the same weights and input."""

    def __init__(self, label: str, layer_type: str, bidirectional: bool, timesteps: int, device: str) -> None:
        self.label, self.device = label, device
        spec = ModelSpec(
            input=InputSpec(timesteps=timesteps, features=FEATURES, source="uniform", seed=0),
            layers=tuple(LayerSpec(layer_type, UNITS, bidirectional, return_sequences=True) for _ in range(LAYERS)),
            init=InitSpec(scheme="torch", seed=0),
        )
        self.model, self.inputs = prepare(spec)
        module_type = {"GRU": torch.nn.GRU, "LSTM": torch.nn.LSTM, "SimpleRNN": torch.nn.RNN}[layer_type]
        self.torch_name = f"torch.nn.{module_type.__name__}"
        self.module = module_type(FEATURES, UNITS, num_layers=LAYERS, bidirectional=bidirectional).to(device)
        state = {k: torch.from_numpy(np.array(v)) for k, v in state_dict_arrays(self.model.spec, self.model.weights).items()}
        self.module.load_state_dict(state, strict=True)
        self.module.eval()
        self.x = torch.from_numpy(self.inputs).unsqueeze(1).to(device)  # (T, batch 1, features)

    def run_rnnviz(self):
        return stepper(self.model, self.inputs, self.device).run()

    def run_torch(self) -> torch.Tensor:
        with torch.inference_mode():
            out, _ = self.module(self.x)
        _sync(self.device)
        return out

    def check(self) -> float:
        """Largest difference between rnnviz's last layer and torch's output (raises above tolerance)."""
        trace = self.run_rnnviz()
        ours = np.concatenate([trace.hidden(LAYERS, d) for d in self.model.spec.layers[-1].directions], axis=1)
        theirs = self.run_torch()[:, 0].cpu().numpy()
        worst = float(np.max(np.abs(ours - theirs)))
        if not worst <= TOLERANCE:
            raise SystemExit(f"{self.label}: rnnviz's last layer differs from {self.torch_name} by {worst:.3g} "
                             f"(> {TOLERANCE:g}); the comparison would not be honest")
        if not all(values.any() for *_, values in trace.gate_streams()):
            raise SystemExit(f"{self.label}: a gate array was left unfilled")
        return worst


def _timed(fn, threads: int | None = None) -> float:
    """Seconds ``fn()`` takes, with torch's intra-op threads set to ``threads`` (outside the timing)."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
    finally:
        if threads is not None:
            torch.set_num_threads(before)
    del result
    return elapsed


# Runs one command, then prints its wall time and peak RSS (ru_maxrss is in KiB on Linux).
_LAUNCHER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
print(json.dumps({"rc": done.returncode, "seconds": time.perf_counter() - start,
                  "peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""

# The torch side of the whole-process comparison: what a user's own script would do.
_TORCH_SCRIPT = """
import sys, torch
kind, timesteps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if threads:
    torch.set_num_threads(threads)
module = getattr(torch.nn, kind)({features}, {units}, num_layers={layers}, bidirectional=True)
x = torch.rand(timesteps, 1, {features})
with torch.inference_mode():
    out, _ = module(x)
""".format(features=FEATURES, units=UNITS, layers=LAYERS)


def _spec_toml(layer_type: str, timesteps: int) -> str:
    layers = "".join(f'[[layers]]\ntype = "{layer_type}"\nunits = {UNITS}\nbidirectional = true\n'
                     f'return_sequences = true\n\n' for _ in range(LAYERS))
    return (f'[input]\ntimesteps = {timesteps}\nfeatures = {FEATURES}\nsource = "uniform"\nseed = 0\n\n'
            f'[init]\nscheme = "torch"\nseed = 0\n\n{layers}')


def _measure(command: list[str]) -> dict:
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], cwd=Path(__file__).resolve().parent.parent,
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit status {result['rc']}")
    return result


def whole_process(timesteps: int, repeats: int, torch_threads: int | None) -> None:
    """``python main.py run … --format npz`` against a torch script, both as fresh processes."""
    with tempfile.TemporaryDirectory(prefix="rnnviz-bench-") as scratch:
        for label, layer_type, _ in CASES:
            if layer_type == "SimpleRNN":
                continue
            spec = Path(scratch) / f"{label}.toml"
            spec.write_text(_spec_toml(layer_type, timesteps))
            ours_cmd = [sys.executable, "main.py", "run", str(spec), "--format", "npz", "--out",
                        str(Path(scratch) / label), "--device", "cpu", "--no-progress"]
            torch_name = "GRU" if layer_type == "GRU" else "LSTM"
            theirs_cmd = [sys.executable, "-c", _TORCH_SCRIPT, torch_name, str(timesteps), str(torch_threads or 0)]
            ratios, ours_peak, theirs_peak, ours_s, theirs_s = [], [], [], [], []
            for repeat in range(repeats):
                pair = (ours_cmd, theirs_cmd) if repeat % 2 == 0 else (theirs_cmd, ours_cmd)
                first, second = (_measure(command) for command in pair)
                ours, theirs = (first, second) if repeat % 2 == 0 else (second, first)
                ratios.append(ours["seconds"] / theirs["seconds"])
                ours_s.append(ours["seconds"])
                theirs_s.append(theirs["seconds"])
                ours_peak.append(ours["peak_kib"] / 1024)
                theirs_peak.append(theirs["peak_kib"] / 1024)
            print(f"{label:<13} T={timesteps}  whole process: main.py run --format npz / torch.nn.{torch_name} script = "
                  f"{statistics.median(ratios):.2f} (median of {repeats}, range {min(ratios):.2f}–{max(ratios):.2f}; "
                  f"{statistics.median(ours_s):.2f} s vs {statistics.median(theirs_s):.2f} s); peak RSS "
                  f"{max(ours_peak):.0f} MB vs {max(theirs_peak):.0f} MB", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed pairs per case (default 7)")
    parser.add_argument("--timesteps", type=int, default=4000, help="sequence length (default 4000)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N, mps or auto")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="intra-op threads for torch's forward (default: torch's own default)")
    parser.add_argument("--whole-process", action="store_true",
                        help="also time whole processes: main.py run --format npz against a torch script")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.timesteps < 1 or (args.torch_threads is not None and args.torch_threads < 1):
        parser.error("--repeats, --timesteps and --torch-threads must be >= 1")
    device = resolve_device(args.device)

    cases = [Case(label, kind, bidir, args.timesteps, device) for label, kind, bidir in CASES]
    worst = max(case.check() for case in cases)  # once, untimed; also warms both paths up
    threads = args.torch_threads or torch.get_num_threads()
    print(f"# device {device}, torch {torch.__version__} with {threads} intra-op thread(s); rnnviz's last layer "
          f"matches torch's output in every case (largest difference {worst:.1e} <= {TOLERANCE:g})", flush=True)

    ratios: dict[str, list[float]] = {case.label: [] for case in cases}
    for repeat in range(args.repeats):
        for case in cases:
            if repeat % 2 == 0:
                ours, theirs = _timed(case.run_rnnviz), _timed(case.run_torch, args.torch_threads)
            else:
                theirs, ours = _timed(case.run_torch, args.torch_threads), _timed(case.run_rnnviz)
            ratios[case.label].append(ours / theirs)
    for case in cases:
        values = ratios[case.label]
        print(f"{case.label:<13} T={args.timesteps}  rnnviz/{case.torch_name} = {statistics.median(values):.2f} "
              f"(median of {len(values)}, range {min(values):.2f}–{max(values):.2f})")
    print(f"# peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB", flush=True)
    if args.whole_process:
        del cases
        whole_process(args.timesteps, args.repeats, args.torch_threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
