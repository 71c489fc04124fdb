"""The tidy tables of an analysis: one place for their columns, their rows, and how they are written.

Rows follow input time within each layer-direction (``t`` as in the state files); layers count from 1.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from rnnviz.analysis.streams import Stream
from rnnviz.export import atomic_write

COLUMNS = {
    "jacobian": ("layer", "direction", "t", "spectral_radius", "sigma_max", "frobenius"),
    "gradient_flow": ("layer", "direction", "t", "frobenius", "log10"),
    "lyapunov": ("layer", "direction", "k", "exponent"),
    "gates": ("layer", "direction", "gate", "unit", "left", "right", "mean"),
    "pca": ("layer", "direction", "t", "pc1", "pc2", "pc3"),
    "pca_variance": ("layer", "direction", "component", "explained_variance_ratio"),
    "perturbation": ("layer", "direction", "t", "steps_since_fork", "distance", "distance_h"),
    "fixed_points": ("layer", "direction", "id", "q", "stable", "max_abs_eig", "unstable_modes"),
}


def per_step(s: Stream, columns: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Rows ``layer, direction, t, *columns`` from values in processing order, ordered by input time."""
    order = np.argsort(s.times, kind="stable")
    names = list(columns)
    values = np.stack([np.asarray(columns[n], np.float64)[order] for n in names], axis=1).tolist() if names else []
    return [{"layer": s.layer, "direction": s.direction, "t": int(t), **dict(zip(names, row))}
            for t, row in zip(s.times[order].tolist(), values)]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else format(value, ".9g")
    return str(value)


def write_table(path: Path, name: str, rows: list[dict[str, Any]]) -> Path:
    columns = COLUMNS[name]
    with atomic_write(path) as fh:
        fh.write(",".join(columns) + "\n")
        for row in rows:
            fh.write(",".join(_cell(row[c]) for c in columns) + "\n")
    return path


def write_json(path: Path, info: dict[str, Any]) -> Path:
    with atomic_write(path) as fh:
        json.dump(info, fh, indent=2, allow_nan=False)
        fh.write("\n")
    return path


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    with atomic_write(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path
