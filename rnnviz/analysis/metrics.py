"""The few numbers per layer-direction that a sweep plots: ``lambda_max``, ``saturated_fraction``,
``mean_tanh_gain``, ``memory_horizon`` and ``gradient_decay``.

``gradient_decay`` is the least-squares slope of ln ‖d h_last / d h_t‖_F against the number of steps
back from the last state: negative when gradients vanish going back in time, positive when they explode.
``memory_horizon`` is that of the analysis' perturbation (None for layer-directions it did not reach).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnviz.trace import Trace

NEEDS = ("gradient_flow", "lyapunov", "perturbation")


def gradient_decay(log10_flow: np.ndarray) -> float | None:
    """Slope per step back from the end of ln ‖G_t‖ (given as log10 in processing order)."""
    finite = np.isfinite(log10_flow)
    if finite.sum() < 2:
        return None
    back = (len(log10_flow) - 1 - np.arange(len(log10_flow)))[finite]
    return float(np.polyfit(back, log10_flow[finite] * math.log(10), 1)[0])


def point_metrics(source: Any, weights: Any = None, **analyze_args: Any) -> list[dict[str, Any]]:
    """One dict per layer-direction (``layer``, ``direction`` and the five metrics) of an
    :class:`~rnnviz.analysis.Analysis` that computed gradient flow, Lyapunov and perturbation, or of
    a Trace / spec / model path (analysed here with ``analyze_args``, only those three quantities)."""
    from rnnviz.analysis import Analysis, analyze

    analysis = source if isinstance(source, Analysis) else \
        analyze(source, weights=weights, only=list(NEEDS), **analyze_args)
    missing = [n for n in NEEDS if n not in analysis.tables]
    if missing:
        raise ValueError(f"point_metrics needs an analysis with {', '.join(missing)}")
    trace: Trace = analysis.trace
    flows: dict[tuple[int, str], list[tuple[int, float]]] = {}
    for row in analysis.tables["gradient_flow"]:
        flows.setdefault((row["layer"], row["direction"]), []).append((row["t"], row["log10"]))
    lambda_max = {(r["layer"], r["direction"]): r["exponent"] for r in analysis.tables["lyapunov"] if r["k"] == 1}
    horizons = {(p["layer"], p["direction"]): p["memory_horizon"] for p in analysis.info.get("perturbation", [])}
    metrics = []
    for layer, direction, saturated, gain in trace.saturation():
        key = (layer, direction)
        by_time = np.array([v for _, v in sorted(flows[key])])
        in_processing_order = by_time if direction == "forward" else by_time[::-1]
        metrics.append({"layer": layer, "direction": direction, "lambda_max": lambda_max[key],
                        "saturated_fraction": float(saturated.mean()), "mean_tanh_gain": float(gain.mean()),
                        "memory_horizon": horizons.get(key), "gradient_decay": gradient_decay(in_processing_order)})
    return metrics
