"""``rnnviz analyze MODEL --out DIR``: Jacobians, gradient flow, Lyapunov spectra, gates, PCA,
perturbation and fixed points of every layer and direction, as tidy CSVs."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnnviz.cli.common import Progress, add_progress_flag, wants_progress
from rnnviz.errors import RnnvizError

NAME = "analyze"


def add_parser(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser("analyze", help="analyse the dynamics of every layer and direction",
                       description="Compute Jacobians, gradient flow, Lyapunov spectra, gate saturation, PCA, "
                                   "a perturbation and fixed points, and write them as tidy CSVs.")
    a.add_argument("model", help="a spec (.toml, .json) or trained weights (.keras, .pt, .pth)")
    a.add_argument("--input", metavar="FILE", help="input sequence, .csv or .npy of shape (timesteps, features)")
    a.add_argument("--weights", metavar="FILE", help="trained weights (.keras, .pt, .pth) for the spec's stack")
    a.add_argument("--out", metavar="DIR", required=True, help="write the tables into this directory")
    a.add_argument("--only", metavar="LIST", help="comma-separated subset of: jacobian, gradient_flow, lyapunov, "
                                                  "gates, pca, perturbation, fixed_points (default: all)")
    a.add_argument("--lyapunov", metavar="K", default="10", help="number of Lyapunov exponents (default 10)")
    a.add_argument("--burn-in", metavar="STEPS", help="steps discarded before averaging (default: 10%% of T)")
    a.add_argument("--perturb-at", metavar="T0", help="step at which the run is forked (default T/4)")
    a.add_argument("--epsilon", metavar="E", default="1e-4", help="size of the perturbation, > 0 and at most 1000 (default 1e-4)")
    a.add_argument("--perturb-layer", metavar="L", default="1", help="layer to perturb, from 1 (default 1)")
    a.add_argument("--perturb-direction", metavar="D", default="forward", help="forward (default) or backward")
    a.add_argument("--fp-input", metavar="zero|mean|V1,V2,...", default="zero",
                   help="constant input for the fixed points (default zero)")
    a.add_argument("--fp-layers", metavar="LIST", help="layers whose fixed points are searched (default: all)")
    a.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    add_progress_flag(a)


def _integer(text: str | None, flag: str) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise RnnvizError(f"{flag}: expected an integer, got {text!r}") from None


def _number(text: str, flag: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise RnnvizError(f"{flag}: expected a number, got {text!r}") from None


def execute(args: argparse.Namespace) -> None:
    from rnnviz.analysis import analyze
    from rnnviz.export import check_out_dir

    check_out_dir(Path(args.out))
    fp_input = args.fp_input if args.fp_input in ("zero", "mean") else \
        [_number(v, "--fp-input") for v in args.fp_input.split(",")]
    fp_layers = None if args.fp_layers is None else [_integer(v, "--fp-layers") for v in args.fp_layers.split(",")]
    analysis = analyze(
        args.model, inputs=args.input, weights=args.weights, only=args.only,
        lyapunov=_integer(args.lyapunov, "--lyapunov"), burn_in=_integer(args.burn_in, "--burn-in"),
        perturb_at=_integer(args.perturb_at, "--perturb-at"), epsilon=_number(args.epsilon, "--epsilon"),
        perturb_layer=_integer(args.perturb_layer, "--perturb-layer"), perturb_direction=args.perturb_direction,
        fp_input=fp_input, fp_layers=fp_layers, device=args.device,
        progress=Progress("analysing") if wants_progress(args) else None)
    written = analysis.write(args.out)
    for name, rows in analysis.tables.items():
        print(f"{name}: {len(rows)} rows")
    for entry in analysis.info.get("perturbation", []):
        print(f"perturbation layer {entry['layer']} {entry['direction']:8s} memory horizon: {entry['memory_horizon']}"
              f"   divergence time: {entry['divergence_time']}")
    print(f"wrote {len(written)} files to {args.out}")
