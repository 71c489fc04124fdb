"""The shipped flip-flop GRU(24): it opens in rnnviz, solves its test sequence, and holds all 8 memories."""

from pathlib import Path

import numpy as np
import torch

import rnnviz
from rnnviz.tasks.tasks import flipflop_targets, make_task

ASSET = Path(__file__).resolve().parents[2] / "assets" / "flipflop_gru24"
PATTERNS = np.array([[1.0 if i >> k & 1 else -1.0 for k in range(3)] for i in range(8)], np.float32)


def readout():
    state = torch.load(ASSET / "model.pt", weights_only=True)
    return state["readout.weight"].numpy(), state["readout.bias"].numpy()


def test_files_are_small_and_the_test_sequence_is_the_trainers():
    assert sorted(p.name for p in ASSET.iterdir()) == ["input.npy", "model.pt", "target.npy"]
    assert sum(p.stat().st_size for p in ASSET.iterdir()) < 40_000
    inputs, targets = np.load(ASSET / "input.npy"), np.load(ASSET / "target.npy")
    expected = make_task("flipflop").test(np.random.default_rng([0, 1]))  # seed 0's held-out stream
    assert np.array_equal(inputs, expected[0]) and np.array_equal(targets, expected[1])
    assert np.array_equal(targets, flipflop_targets(inputs[None])[0])
    assert len({tuple(row) for row in targets}) == 8


def test_it_solves_the_test_sequence_in_rnnviz():
    trace = rnnviz.run(ASSET / "model.pt", inputs=ASSET / "input.npy", device="cpu")
    hidden = trace.hidden(1, "forward")
    assert hidden.shape == (500, 24)
    weight, bias = readout()
    output = hidden @ weight.T + bias
    targets = np.load(ASSET / "target.npy")
    assert np.mean((output - targets) ** 2) < 0.01
    assert np.mean(np.sign(output) == targets) > 0.99


def test_every_memory_holds_without_input():
    """One pulse pattern, then 600 zero steps: the readout still shows the pattern, and the 8 end states differ."""
    weight, bias = readout()
    ends = []
    for pattern in PATTERNS:
        inputs = np.zeros((601, 3), np.float32)
        inputs[0] = pattern
        hidden = rnnviz.run(ASSET / "model.pt", inputs=inputs, device="cpu").hidden(1, "forward")
        assert np.array_equal(np.sign(hidden[-1] @ weight.T + bias), pattern)
        assert np.abs(hidden[-1] - hidden[-2]).max() < 1e-3  # at rest
        ends.append(hidden[-1])
    gaps = np.linalg.norm(np.array(ends)[:, None] - np.array(ends)[None], axis=-1) + np.eye(8) * 1e9
    assert gaps.min() > 0.5


def test_rnnviz_finds_its_8_stable_fixed_points():
    """rnnviz.analysis's search, kept fast: the stable points come from the settled candidates, so Adam gets one
    iteration (bench/train.py runs the full search). Exactly 8 stable points, one per memory."""
    from rnnviz.analysis.fixed_points import find_fixed_points
    from rnnviz.weights import load_weights_file

    hidden = rnnviz.run(ASSET / "model.pt", inputs=ASSET / "input.npy", device="cpu").hidden(1, "forward")
    cell = load_weights_file(ASSET / "model.pt").weights[0][0]
    points = find_fixed_points(cell, np.zeros(3), hidden, n_inits=64, max_iters=1, settle_steps=800)
    stable = points.states[points.stable]
    assert len(stable) == 8 and points.max_abs_eig[points.stable].max() < 1
    weight, bias = readout()
    assert {tuple(row) for row in np.sign(stable @ weight.T + bias)} == {tuple(p) for p in PATTERNS}
