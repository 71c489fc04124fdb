"""Fork a run: nudge one layer-direction's state at step T0 and follow how far the two runs drift apart.

At processing step ``at`` of the perturbed direction, ``epsilon`` times a seeded random unit vector is
added to its state (the full [h, c] for LSTM). Both runs then continue through the cell maps of
:mod:`rnnviz.analysis.cellmaps`, in float64 and from the same state, so their distance measures the
dynamics and not float32 rounding: the perturbed direction from T0 on, and every layer above it from
the first step whose input changed (both its directions; they read the perturbed layer's output).
The perturbed layer's other direction reads the same input as before and is not affected.

``memory_horizon`` is the number of steps from a stream's first recorded step until the distance
first falls below ``epsilon / 100`` (the nudge is forgotten); ``divergence_time`` until it first
exceeds 0.1 (it has grown to the size of the states). Either is None when it never happens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rnnviz.analysis.cancel import CHECK_EVERY, checkpoint
from rnnviz.analysis.cellmaps import drive, step_driven, torch_cell
from rnnviz.analysis.streams import Stream, processing_order, stream
from rnnviz.engine.cells import LayerWeights
from rnnviz.trace import Trace

DIVERGED = 0.1
FORGOTTEN = 1e-2  # of epsilon


@dataclass(frozen=True)
class Divergence:
    """One affected layer-direction: distances per recorded processing step and where they were."""

    layer: int
    direction: str
    times: np.ndarray        # input time of each recorded step
    distance: np.ndarray     # ‖state' − state‖ (the full [h, c] for LSTM)
    distance_h: np.ndarray   # ‖h' − h‖
    difference_h: np.ndarray  # h' − h, (recorded steps, units): the perturbed run shown as a difference
    memory_horizon: int | None
    divergence_time: int | None


def first_step(condition: np.ndarray) -> int | None:
    hits = np.flatnonzero(condition)
    return int(hits[0]) if hits.size else None


def _continue(cell_weights, inputs: np.ndarray, start_states: torch.Tensor, first: int) -> torch.Tensor:
    """States (batch, steps, n) in processing order of a batch of runs reading ``inputs`` (batch, steps, in),
    each taking ``start_states`` (batch, n) as its state before step ``first``."""
    cell = torch_cell(cell_weights, torch.float64)
    # a copy: ``inputs`` may be a read-only broadcast of a reversed (backward) view
    xw = drive(cell, torch.from_numpy(np.array(inputs[:, first:], np.float64)))
    out = torch.empty(inputs.shape[0], xw.shape[1], cell.state_size, dtype=torch.float64)
    state = start_states
    for offset in range(xw.shape[1]):
        if offset % CHECK_EVERY == 0:
            checkpoint()
        state = step_driven(cell, xw[:, offset], state)
        out[:, offset] = state
    return out


def _divergence(s: Stream, pair: np.ndarray, first: int, epsilon: float) -> Divergence:
    """From two full runs (2, steps, n) in processing order, the distances from step ``first`` on."""
    diff = pair[1, first:] - pair[0, first:]
    distance = np.linalg.norm(diff, axis=1)
    distance_h = np.linalg.norm(diff[:, :s.units], axis=1)
    return Divergence(s.layer, s.direction, s.times[first:], distance, distance_h, diff[:, :s.units],
                      first_step(distance < epsilon * FORGOTTEN), first_step(distance > DIVERGED))


def _twice(states: np.ndarray) -> np.ndarray:
    """Two float64 copies of ``states``, (2, steps, n). Filled by assignment, which lets other threads run
    while it copies: ``np.repeat`` holds the GIL throughout, and at 5000 steps it held the app's window
    still for 46 ms."""
    pair = np.empty((2, *states.shape), np.float64)
    pair[0] = states
    pair[1] = pair[0]
    return pair


def perturb(trace: Trace, weights: list[LayerWeights] | tuple[LayerWeights, ...], at: int | None = None,
            epsilon: float = 1e-4, layer: int = 1, direction: str = "forward", seed: int = 0) -> list[Divergence]:
    """Perturb ``layer`` (from 1), ``direction`` at processing step ``at`` (default T/4); see the module."""
    steps = trace.timesteps
    at = steps // 4 if at is None else at
    target = stream(trace, weights, layer, direction)
    generator = torch.Generator().manual_seed(seed)
    nudge = torch.randn(target.state_size, dtype=torch.float64, generator=generator)
    nudge *= epsilon / torch.linalg.vector_norm(nudge)
    at_fork = torch.as_tensor(target.states[at], dtype=torch.float64)
    pair = _twice(target.states)
    pair[1, at] += nudge.numpy()
    tail = _continue(target.cell, np.broadcast_to(target.inputs, (2, *target.inputs.shape)),
                     torch.stack([at_fork, at_fork + nudge]), at + 1)
    pair[:, at + 1:] = tail.numpy()
    results = [_divergence(target, pair, at, epsilon)]

    # the perturbed layer's output per run, in input-time order: its other direction as recorded
    units = target.units
    below = trace.spec.layers[layer - 1]
    outputs = np.stack([np.concatenate([
        processing_order(run[:, :units], direction) if d == direction else trace.hidden(layer, d).astype(np.float64)
        for d in below.directions], axis=1) for run in pair])
    for above in range(layer + 1, len(trace.spec.layers) + 1):
        layer_spec = trace.spec.layers[above - 1]
        runs = []
        for d in layer_spec.directions:
            s = stream(trace, weights, above, d)
            inputs = np.stack([processing_order(o, d) for o in outputs])
            changed = first_step(np.any(inputs[0] != inputs[1], axis=1))
            first = steps if changed is None else changed
            start = torch.zeros(2, s.state_size, dtype=torch.float64)
            states = _continue(s.cell, inputs, start, 0).numpy()
            results.append(_divergence(s, states, min(first, steps), epsilon))
            runs.append(states)
        outputs = np.stack([np.concatenate([processing_order(run[k][:, :layer_spec.units], d)
                                            for run, d in zip(runs, layer_spec.directions)], axis=1)
                            for k in range(2)])
    return results

