"""Gate saturation per unit, as Karpathy, Johnson & Fei-Fei (2015, Fig. 3) plot it: the fraction of steps
at which each unit's gate is left-saturated (< 0.1) and right-saturated (> 0.9).

GRU: the update gate z and reset gate r; LSTM: the input, forget and output gates i, f, o. A SimpleRNN
has no gates, so its saturation view is the same pair of fractions for ``h_abs = |h|`` (near 1 the unit
sits on tanh's flat tails and passes almost no gradient; near 0 it is linear).
"""

from __future__ import annotations

import numpy as np

from rnnviz.trace import Trace

LEFT, RIGHT = 0.1, 0.9
GATES = {"SimpleRNN": ("h_abs",), "GRU": ("z", "r"), "LSTM": ("i", "f", "o")}


def gate_values(trace: Trace, layer: int, direction: str) -> dict[str, np.ndarray]:
    """The (T, units) values whose saturation is reported for this layer-direction, by gate name."""
    kind = trace.spec.layers[layer - 1].type
    if kind == "SimpleRNN":
        return {"h_abs": np.abs(trace.hidden(layer, direction))}
    recorded = trace.gates(layer, direction)
    return {name: recorded[name] for name in GATES[kind]}


def saturation(values: np.ndarray) -> dict[str, np.ndarray]:
    """Per unit of (T, units) values: ``left`` (fraction < 0.1), ``right`` (fraction > 0.9) and ``mean``."""
    return {"left": (values < LEFT).mean(axis=0), "right": (values > RIGHT).mean(axis=0),
            "mean": values.mean(axis=0, dtype=np.float64)}


def gate_saturation(trace: Trace, layer: int, direction: str) -> dict[str, dict[str, np.ndarray]]:
    """:func:`saturation` of every gate of one layer-direction, by gate name."""
    return {name: saturation(values) for name, values in gate_values(trace, layer, direction).items()}
