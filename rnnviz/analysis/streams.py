"""A stream: one direction of one layer of a run, laid out in the order it processed its inputs.

Every analysis walks a direction step by step in its own time order, so each :class:`Stream` holds its
inputs and states in processing order (a backward direction's step 0 read input T-1), with ``times``
mapping each step back to input time for the tables. A layer's inputs are what the run fed it: the
model input for layer 1, the concatenated [forward, backward] states of the layer below above that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.engine.cells import CellWeights, LayerWeights
from rnnviz.trace import Trace


@dataclass(frozen=True)
class Stream:
    """One layer-direction. ``states`` is h, or [h, c] for LSTM; row s follows from row s-1 (zeros before 0)."""

    layer: int  # from 1
    direction: str
    cell: CellWeights
    inputs: np.ndarray  # (steps, in), processing order
    states: np.ndarray  # (steps, n), processing order
    times: np.ndarray   # (steps,) input time of each step

    @property
    def steps(self) -> int:
        return self.states.shape[0]

    @property
    def state_size(self) -> int:
        return self.states.shape[1]

    @property
    def units(self) -> int:
        return self.cell.units

    def previous(self) -> np.ndarray:
        """The state each step started from: zeros, then ``states[:-1]``."""
        return np.concatenate([np.zeros((1, self.state_size), self.states.dtype), self.states[:-1]])

    def head(self, steps: int) -> Stream:
        """The first ``steps`` processing steps (what a run that is still playing has computed)."""
        return Stream(self.layer, self.direction, self.cell, self.inputs[:steps], self.states[:steps],
                      self.times[:steps])


def full_state(trace: Trace, layer: int, direction: str) -> np.ndarray:
    """h, or [h, c] for LSTM, in input-time order (T, n)."""
    hidden = trace.hidden(layer, direction)
    if trace.spec.layers[layer - 1].type == "LSTM":
        return np.concatenate([hidden, trace.gates(layer, direction)["c"]], axis=1)
    return hidden


def layer_inputs(trace: Trace, layer: int) -> np.ndarray:
    """What ``layer`` (from 1) read, in input-time order: the model input, or the layer below's output states."""
    if layer == 1:
        return trace.inputs
    below = trace.spec.layers[layer - 2]
    return np.concatenate([trace.hidden(layer - 1, d) for d in below.directions], axis=1)


def processing_order(values: np.ndarray, direction: str) -> np.ndarray:
    return values if direction == "forward" else values[::-1]


def stream(trace: Trace, weights: list[LayerWeights] | tuple[LayerWeights, ...], layer: int, direction: str) -> Stream:
    """The stream of ``layer`` (from 1) and ``direction`` of ``trace``, whose run used ``weights``."""
    directions = trace.spec.layers[layer - 1].directions
    cell = weights[layer - 1][directions.index(direction)]
    steps = trace.timesteps
    times = np.arange(steps) if direction == "forward" else np.arange(steps)[::-1].copy()
    return Stream(layer, direction, cell, _owned(processing_order(layer_inputs(trace, layer), direction)),
                  _owned(processing_order(full_state(trace, layer, direction), direction)), times)


def _owned(values: np.ndarray) -> np.ndarray:
    """``values`` C-ordered with positive strides (a copy only where needed). ``np.ascontiguousarray`` hands
    a reversed single-step run back as it is (numpy counts it contiguous), and torch refuses its negative
    stride."""
    if values.flags.c_contiguous and min(values.strides, default=0) >= 0:
        return values
    return np.array(values, order="C", copy=True)


def streams(trace: Trace, weights: list[LayerWeights] | tuple[LayerWeights, ...]) -> list[Stream]:
    """Every layer-direction of the run, in stack order, forward before backward."""
    return [stream(trace, weights, i, d) for i, layer in enumerate(trace.spec.layers, start=1)
            for d in layer.directions]
