"""Colour scales of the recorded quantities, and their lookup tables.

h and the candidates (GRU hh, LSTM g) are tanh outputs: fixed at -1…1 on the diverging ``CET-D1``
map (pyqtgraph's MatrixDisplayExample). Gates are sigmoids: 0…1 on a sequential map. An LSTM's cell
state c is unbounded: its range is symmetric and follows the data (see :func:`cell_range`).

Saturation is marked in the colour map itself: values with ``|h| >= threshold`` leave the
blue–white–red scale for vivid yellow (positive) and cyan (negative), so saturated cells stand out
without any extra drawing and the colour bar shows where the threshold lies. For c the marks are
where ``|tanh(c)| >= threshold``, the part of c that h = o·tanh(c) no longer follows.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg

LUT_SIZE = 512
SATURATED_POSITIVE = (255, 214, 0)
SATURATED_NEGATIVE = (0, 229, 255)
GATES = ("z", "r", "i", "f", "o")
CANDIDATES = ("hh", "g")
GATE_MAP = "viridis"
STATE_MAP = "CET-D1"
_NICE = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


@dataclass(frozen=True)
class Scale:
    """How one quantity is coloured: its value range, map, and whether saturation is marked."""

    quantity: str
    low: float
    high: float
    marked: bool

    @property
    def diverging(self) -> bool:
        return self.quantity not in GATES

    @property
    def label(self) -> str:
        """What the colour bar says about the scale."""
        if self.quantity == "h":
            return "hidden state h\ntanh range −1…1"
        if self.quantity == "c":
            return f"c, symmetric\ndata range ±{self.high:g}"
        if self.quantity in GATES:
            return f"{self.quantity} gate\nsigmoid 0…1"
        return f"candidate {self.quantity}\ntanh range −1…1"

    def mark_at(self, threshold: float | None) -> float | None:
        """Where the saturation band starts, in this scale's values (None: no band)."""
        if not self.marked or threshold is None or threshold >= 1:
            return None
        return threshold if self.quantity == "h" else math.atanh(threshold)

    def colormap(self, threshold: float | None) -> pg.ColorMap:
        """The colour map over ``low … high``, with the saturation bands where they fall in range."""
        base = pg.colormap.get(STATE_MAP if self.diverging else GATE_MAP)
        edge_value = self.mark_at(threshold)
        if edge_value is None or edge_value >= self.high:
            return base
        edge = edge_value / self.high  # of the half range
        inner = np.linspace(-edge, edge, 129)
        colours = base.map((inner + 1) / 2, mode="byte")
        gap = 1e-4
        positions = np.concatenate([[-1, -edge - gap], inner, [edge + gap, 1]])
        neg, pos = (*SATURATED_NEGATIVE, 255), (*SATURATED_POSITIVE, 255)
        colours = np.concatenate([[neg, neg], colours, [pos, pos]]).astype(np.ubyte)
        return pg.ColorMap((positions + 1) / 2, colours)

    def lut(self, threshold: float | None) -> np.ndarray:
        """RGBA colours of ``low … high`` in LUT_SIZE steps, then a transparent entry for NaN (not
        revealed). Read-only and shared: every heatmap of a scale uses the same table."""
        return _lut(self, threshold)

    def colour(self, values: np.ndarray, lut: np.ndarray) -> np.ndarray:
        """Map values (NaN: not revealed) to RGBA through ``lut``, clipped to the scale's range."""
        span = self.high - self.low
        index = np.rint((np.clip(values, self.low, self.high) - self.low) * ((LUT_SIZE - 1) / span))
        index[np.isnan(values)] = LUT_SIZE
        return lut[index.astype(np.intp)]


@functools.lru_cache(maxsize=64)
def _lut(scale: Scale, threshold: float | None) -> np.ndarray:
    table = scale.colormap(threshold).getLookupTable(0.0, 1.0, LUT_SIZE, alpha=True)
    table = np.concatenate([table, np.zeros((1, 4), np.ubyte)])
    table.flags.writeable = False
    return table


def cell_range(largest: float) -> float:
    """The half range of a cell-state scale that holds ``|c| <= largest``: at least 1, rounded up to a
    step of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k, so that a growing range recolours the heatmap
    a few times per decade rather than at every new maximum."""
    if not largest > 1:
        return 1.0
    power = 10.0 ** math.floor(math.log10(largest))
    return next(step * power for step in _NICE if step * power >= largest * (1 - 1e-9))


def scale_for(quantity: str, cell_half_range: float = 1.0) -> Scale:
    if quantity == "c":
        return Scale("c", -cell_half_range, cell_half_range, True)
    if quantity in GATES:
        return Scale(quantity, 0.0, 1.0, False)
    return Scale(quantity, -1.0, 1.0, quantity == "h")
