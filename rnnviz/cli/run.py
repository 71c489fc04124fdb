"""``rnnviz run MODEL``: compute every hidden state and export it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rnnviz.cli.common import Progress, add_progress_flag, check_file_target, wants_progress

NAME = "run"


def add_parser(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("run", help="compute every hidden state and export it",
                       description="Compute every hidden state; with --out, export them.")
    r.add_argument("model", help="a spec (.toml, .json) or trained weights (.keras, .pt, .pth)")
    r.add_argument("--input", metavar="FILE", help="input sequence, .csv or .npy of shape (timesteps, features)")
    r.add_argument("--weights", metavar="FILE", help="trained weights (.keras, .pt, .pth) for the spec's stack")
    r.add_argument("--out", metavar="DIR", help="write the states into this directory")
    r.add_argument("--format", choices=("csv", "npz"), default="csv", help="export format (default: csv)")
    r.add_argument("--tidy", action="store_true", help="also write the long hidden_states.csv")
    r.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    r.add_argument("--save-weights", metavar="FILE", help="write the weights used, as a torch state_dict")
    add_progress_flag(r)


def execute(args: argparse.Namespace) -> None:
    from rnnviz.export import check_out_dir
    from rnnviz.headless import prepare, stepper

    if args.out:  # fail before computing, not after
        check_out_dir(Path(args.out))
    if args.save_weights:
        check_file_target(args.save_weights, "--save-weights")
    model, inputs = prepare(args.model, inputs=args.input, weights=args.weights)
    steps = stepper(model, inputs, args.device)
    steps.copies = False  # only the progress of each block is read
    progress = Progress() if wants_progress(args) else None
    for block in steps:
        if progress is not None:
            progress(block.done, block.total)
    trace = steps.trace
    written = []
    if args.out:
        written = trace.to_npz(args.out) if args.format == "npz" else trace.to_csv(args.out, tidy=args.tidy)
    if args.save_weights:
        from rnnviz.weights.torch_file import save_state_dict

        written.append(save_state_dict(model.spec, model.weights, args.save_weights))
    print(trace.summary())
    print(f"device: {trace.device}; {trace.timesteps} timesteps")
    for layer, direction, fraction, gain in trace.saturation():
        print(f"layer {layer} {direction:8s} saturated (|h| >= 0.95): {fraction.mean():6.1%}   "
              f"mean tanh gain 1-h²: {gain.mean():.4f}")
    if written:
        print(f"wrote {len(written)} files to {args.out or os.path.dirname(args.save_weights) or '.'}")
