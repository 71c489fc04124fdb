"""A sweep's results as the sweep view draws them: metric values binned by two grid axes (and a facet
axis), averaged over the rest, and the spec of any one point.

No Qt here: plain numpy over the tidy rows of :func:`rnnviz.sweep.read_results` (or the rows a sweep the
app is running hands over point by point), so the binning is testable without a window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnnviz.errors import RnnvizError
from rnnviz.spec import ModelSpec, SpecError, spec_from_dict
from rnnviz.sweep import Sweep, expand, read_results
from rnnviz.sweep.store import INFO

Row = dict[str, Any]
Stream = tuple[int, str]  # (layer from 1, direction)


@dataclass(frozen=True)
class Cells:
    """One panel of the phase diagram: per (y, x) cell the mean, min and max of the metric's finite values
    and how many there are (n = 0: no value yet, mean NaN)."""

    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    count: np.ndarray


def _index(values: list[Any]) -> dict[Any, int]:
    """Position of each grid value; also by its text, since results.parquet stores a column that mixes
    strings and numbers as strings."""
    positions: dict[Any, int] = {}
    for i, value in enumerate(values):
        positions.setdefault(value, i)
        positions.setdefault(str(value), i)
    return positions


def value_text(value: Any) -> str:
    """A grid value as the view labels it: 0.5, 64, GRU, true."""
    if isinstance(value, bool):
        return json.dumps(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass
class SweepTable:
    """The grid (axes in file order, each with its values), the metrics, the base spec (as a dict) and the
    rows so far (one per point and layer direction); ``total`` points make the whole sweep."""

    grid: dict[str, list[Any]]
    metrics: tuple[str, ...]
    base: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    total: int = 0
    origin: str = ""

    def __post_init__(self) -> None:
        self.positions = {axis: _index(values) for axis, values in self.grid.items()}
        if not self.total:
            self.total = int(np.prod([len(v) for v in self.grid.values()]))

    @classmethod
    def read(cls, folder: str | Path) -> SweepTable:
        """The results in ``folder`` (a finished or partial sweep); every problem is one line naming the file."""
        folder = Path(folder)
        info_path = folder / INFO
        if not info_path.is_file():
            raise RnnvizError(f"{folder}: not a sweep results folder (no {INFO}); make one with "
                              "'rnnviz sweep SWEEP.toml --out DIR'")
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
            grid, metrics, base = info["grid"], tuple(info["metrics"]), info["base_spec"]
            total = int(info["points"])
            if not isinstance(grid, dict) or not grid or not all(isinstance(v, list) and v for v in grid.values()):
                raise ValueError
        except (OSError, ValueError, KeyError, TypeError):
            raise RnnvizError(f"{info_path}: not an rnnviz sweep.json (expected grid, metrics, base_spec, points)") \
                from None
        return cls(grid, metrics, base, read_results(folder), total, str(info_path))

    @property
    def axes(self) -> list[str]:
        return list(self.grid)

    @property
    def varied(self) -> list[str]:
        """The axes with more than one value (the others only fix a field of every point)."""
        return [axis for axis, values in self.grid.items() if len(values) > 1]

    def has_values(self, metric: str) -> bool:
        """Whether any row has a finite value of ``metric`` (NaN: the analysis did not give it)."""
        return any(isinstance(row.get(metric), (int, float)) and np.isfinite(row[metric]) for row in self.rows)

    @property
    def points_done(self) -> int:
        return len({row["point"] for row in self.rows})

    def streams(self) -> list[Stream]:
        """The layer directions the rows have, in order."""
        return sorted({(int(row["layer"]), str(row["direction"])) for row in self.rows},
                      key=lambda s: (s[0], s[1] != "forward"))

    def add(self, rows: list[Row]) -> None:
        self.rows.extend(rows)

    def _position(self, row: Row, axis: str) -> int | None:
        return self.positions[axis].get(row.get(axis))

    def cells(self, metric: str, stream: Stream, x: str, y: str | None, facet: tuple[str, Any] | None = None) -> Cells:
        """The panel of ``metric`` for ``stream`` over axes ``x`` and ``y`` (None: one row), restricted to
        points whose ``facet`` axis has the given value; every other axis is averaged over."""
        shape = (len(self.grid[y]) if y else 1, len(self.grid[x]))
        values: dict[tuple[int, int], list[float]] = {}
        for row in self._selected(stream, facet):
            xi, yi = self._position(row, x), self._position(row, y) if y else 0
            value = row.get(metric)
            if xi is not None and yi is not None and isinstance(value, (int, float)) and np.isfinite(value):
                values.setdefault((yi, xi), []).append(float(value))
        mean, low, high = (np.full(shape, np.nan) for _ in range(3))
        count = np.zeros(shape, np.int64)
        for (yi, xi), found in values.items():
            mean[yi, xi], low[yi, xi], high[yi, xi] = np.mean(found), min(found), max(found)
            count[yi, xi] = len(found)
        return Cells(mean, low, high, count)

    def curve(self, metric: str, stream: Stream, x: str, facet: tuple[str, Any] | None = None) -> np.ndarray:
        """The mean of ``metric`` at each value of ``x`` (NaN where none yet), over every other axis."""
        return self.cells(metric, stream, x, None, facet).mean[0]

    def _selected(self, stream: Stream, facet: tuple[str, Any] | None) -> list[Row]:
        layer, direction = stream
        facet_axis, facet_position = (facet[0], self.positions[facet[0]].get(facet[1])) if facet else (None, None)
        return [row for row in self.rows if int(row["layer"]) == layer and row["direction"] == direction
                and (facet_axis is None or self._position(row, facet_axis) == facet_position)]

    def point_values(self, chosen: dict[str, Any]) -> dict[str, Any]:
        """The grid values of one point: the ``chosen`` ones, and each other axis at its first value."""
        return {axis: chosen.get(axis, values[0]) for axis, values in self.grid.items()}

    def point_index(self, values: dict[str, Any]) -> int:
        """Expansion order (the last axis fastest), as the ``point`` column counts."""
        index = 0
        for axis, axis_values in self.grid.items():
            index = index * len(axis_values) + self.positions[axis][values[axis]]
        return index

    def point_spec(self, values: dict[str, Any]) -> ModelSpec:
        """The spec of the point with these grid values: the base spec with them written in, validated like
        any spec (the sweep's own expansion, over a grid of one value per axis)."""
        try:
            base = spec_from_dict(self.base)
            return expand(Sweep(base, {axis: [values[axis]] for axis in self.grid}, self.metrics or ("lambda_max",)))[0].spec
        except SpecError as exc:
            raise SpecError(f"{self.origin or 'sweep'}: {exc}") from None
