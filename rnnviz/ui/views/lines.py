"""What the line plots share: their sampling, and the revealed part of a per-timestep series."""

from __future__ import annotations

import functools

import numpy as np

from rnnviz.ui.run_data import Stream

MARKED_STEPS = 60  # shorter series get a dot per timestep, so a single step is visible
# Lines are one pixel wide except the followed unit's h: Qt strokes wider pens through a general
# path stroker, about seven times slower, and eight such curves cost a frame.
# Curves keep the largest and smallest sample per pixel column (peak downsampling) and no more:
# pyqtgraph's default of five per pixel made the saturation plots cost a frame to draw.
CURVE = {"autoDownsampleFactor": 1.0}


@functools.lru_cache(maxsize=4)
def _times(steps: int) -> np.ndarray:
    """0 … steps-1 as float32, shared by every curve of a run (read-only)."""
    times = np.arange(steps, dtype=np.float32)
    times.flags.writeable = False
    return times


def revealed(stream: Stream, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y of the revealed part of a per-timestep series."""
    rows = stream.revealed_slice()
    return _times(values.shape[0])[rows], values[rows]
