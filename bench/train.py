"""Train the shipped 3-bit flip-flop GRU(24) (default steps, seed 0), time it, and check its fixed points.

    python bench/train.py                       # train, time, check, compare with the shipped model's bytes
    python bench/train.py --out assets/flipflop_gru24   # ... and write the model (as `rnnviz train` does)
    python bench/train.py --model assets/flipflop_gru24/model.pt   # check a trained file only

The check, independent of rnnviz.analysis: (1) drive the network into each of the 8 memories with one
pulse, run 2000 steps with zero input, and confirm the readout still holds the memory, the 8 end states are
distinct and they have stopped moving; (2) a batched search (Adam on q(h) = |F(h) - h|² / 2, then Newton in
float64) from those end states and from 512 noisy states along the test sequence: every converged point
is a fixed point; stable ones have all Jacobian eigenvalues inside the unit circle. A flip-flop that
learned its task has exactly 8 stable fixed points, one per memory (plus unstable saddles between them).
rnnviz.analysis.fixed_points' own search (its defaults) is run beside ours.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rnnviz.tasks import train  # noqa: E402

HOLD_STEPS = 2000
RESIDUAL_TOL = 1e-7  # |F(h) - h| of a converged fixed point, float64
SAME_POINT = 1e-3  # two fixed points closer than this are one
SHIPPED = ROOT / "assets" / "flipflop_gru24" / "model.pt"


def gru_map(state: dict) -> tuple[torch.nn.GRUCell, torch.nn.Linear]:
    features, units = state["rnn.weight_ih_l0"].shape[1], state["rnn.weight_hh_l0"].shape[1]
    cell = torch.nn.GRUCell(features, units).double()
    cell.load_state_dict({k[len("rnn."):-len("_l0")]: v.double() for k, v in state.items() if k.startswith("rnn.")})
    head = torch.nn.Linear(units, state["readout.weight"].shape[0]).double()
    head.load_state_dict({k[len("readout."):]: v.double() for k, v in state.items() if k.startswith("readout.")})
    return cell, head


def memories(cell, head) -> tuple[torch.Tensor, bool]:
    """End states after each of the 8 pulse patterns and a long hold; whether every memory held."""
    patterns = torch.tensor([[1.0 if i >> k & 1 else -1.0 for k in range(3)] for i in range(8)], dtype=torch.float64)
    zero = torch.zeros(8, 3, dtype=torch.float64)
    with torch.no_grad():
        h = cell(patterns, torch.zeros(8, cell.hidden_size, dtype=torch.float64))
        for _ in range(HOLD_STEPS):
            h = cell(zero, h)
        held = bool((torch.sign(head(h)) == patterns).all())
        residual = (cell(zero, h) - h).norm(dim=1).max().item()
    gaps = torch.cdist(h, h) + torch.eye(8, dtype=torch.float64) * 1e9
    print(f"memories: readout holds all 8 after {HOLD_STEPS} zero-input steps: {held}; smallest distance between "
          f"end states {gaps.min().item():.3f}; largest step |F(h)-h| there {residual:.2e}")
    return h, held


def search_fixed_points(cell, starts: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Distinct fixed points found from ``starts`` and the spectral radius of each one's Jacobian."""
    zero = torch.zeros(1, cell.input_size, dtype=torch.float64)
    step = lambda h: cell(zero.expand(h.shape[0], -1), h)  # noqa: E731
    h = starts.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([h], lr=1e-2)
    for _ in range(800):
        q = 0.5 * ((step(h) - h) ** 2).sum()
        optimizer.zero_grad()
        q.backward()
        optimizer.step()
    h = h.detach()
    one = lambda v: cell(zero, v[None])[0]  # noqa: E731
    jac = torch.func.vmap(torch.func.jacrev(one))
    eye = torch.eye(cell.hidden_size, dtype=torch.float64)
    for _ in range(20):  # Newton on F(h) - h = 0
        with torch.no_grad():
            delta = torch.linalg.solve(jac(h) - eye, (step(h) - h)[..., None])[..., 0]
        h = h - torch.nan_to_num(delta).clamp(-1, 1)
    with torch.no_grad():
        residual = (step(h) - h).norm(dim=1)
    found = h[residual < RESIDUAL_TOL]
    distinct: list[torch.Tensor] = []
    for point in found:
        if all((point - other).norm() > SAME_POINT for other in distinct):
            distinct.append(point)
    points = torch.stack(distinct) if distinct else torch.zeros(0, cell.hidden_size, dtype=torch.float64)
    radius = np.array([np.abs(np.linalg.eigvals(j.numpy())).max() for j in jac(points).detach()]) if distinct else np.zeros(0)
    return points.numpy(), radius


def check(state: dict, inputs: np.ndarray) -> int:
    cell, head = gru_map(state)
    ends, held = memories(cell, head)
    with torch.no_grad():
        x = torch.from_numpy(inputs).double()
        h = torch.zeros(1, cell.hidden_size, dtype=torch.float64)
        trajectory = []
        for row in x:
            h = cell(row[None], h)
            trajectory.append(h[0])
    gen = torch.Generator().manual_seed(0)
    picks = torch.stack(trajectory)[torch.randint(0, len(trajectory), (512,), generator=gen)]
    starts = torch.cat([ends, picks + 0.1 * torch.randn(picks.shape, generator=gen, dtype=torch.float64)])
    t0 = time.perf_counter()
    points, radius = search_fixed_points(cell, starts)
    stable = points[radius < 1]
    with torch.no_grad():
        signs = torch.sign(head(torch.from_numpy(stable))).numpy()
    print(f"fixed points (from 8 memories + 512 trajectory states, {time.perf_counter() - t0:.1f} s): "
          f"{len(points)} distinct, {len(stable)} stable (spectral radius {radius[radius < 1].max(initial=0):.4f} "
          f"at most), {len(points) - len(stable)} unstable; stable ones read out "
          f"{len({tuple(s) for s in signs})} distinct memories")
    analysis = analysis_count(state, torch.stack(trajectory).numpy(), head)
    return 0 if held and len(stable) == 8 and len({tuple(s) for s in signs}) == 8 and analysis in (None, 8) else 1


def analysis_count(state: dict, trajectory: np.ndarray, head) -> int | None:
    """The stable fixed points rnnviz.analysis.fixed_points finds with its defaults (None while it is absent)."""
    try:
        from rnnviz.analysis.fixed_points import find_fixed_points
    except ImportError:
        print("rnnviz.analysis.fixed_points: not available")
        return None
    from rnnviz.engine.cells import from_torch

    arrays = {k: state[f"rnn.{k}_l0"].numpy() for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    cell = from_torch("GRU", arrays["weight_ih"], arrays["weight_hh"], arrays["bias_ih"], arrays["bias_hh"])
    t0 = time.perf_counter()
    points = find_fixed_points(cell, np.zeros(3), trajectory)
    stable = points.states[points.stable]
    with torch.no_grad():
        memories_read = {tuple(s) for s in torch.sign(head(torch.from_numpy(stable))).numpy()}
    print(f"rnnviz.analysis.fixed_points (defaults, {time.perf_counter() - t0:.1f} s): {len(points.states)} fixed "
          f"points, {len(stable)} stable (max |λ| {points.max_abs_eig[points.stable].max(initial=0):.4f}), reading "
          f"out {len(memories_read)} distinct memories")
    return len(stable)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write model.pt, input.npy, target.npy, train.csv here")
    parser.add_argument("--model", help="check this model.pt (with input.npy beside it) instead of training")
    parser.add_argument("--steps", type=int, help="training steps (default: the task's)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.model:
        state = torch.load(args.model, weights_only=True)
        return check(state, np.load(Path(args.model).parent / "input.npy"))
    t0 = time.perf_counter()
    result = train("flipflop", "GRU", 24, seed=args.seed, steps=args.steps)
    wall = time.perf_counter() - t0
    print(f"trained flipflop GRU(24), {result.steps} steps, seed {args.seed}: {wall:.1f} s wall "
          f"({torch.__version__}, 1 thread); final loss {result.losses[-1]:.5f}; test MSE {result.test_error:.5f} "
          f"over {len(result.inputs)} steps")
    if args.out:
        print("wrote", ", ".join(str(p) for p in result.write(args.out)))
    if args.seed == 0 and args.steps is None:
        saved = io.BytesIO()
        torch.save(result.state_dict, saved)
        print(f"same bytes as {SHIPPED.relative_to(ROOT)}: {saved.getvalue() == SHIPPED.read_bytes()}")
    return check(result.state_dict, result.inputs)


if __name__ == "__main__":
    sys.exit(main())
