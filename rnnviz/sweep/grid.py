"""Sweep files and their grids: which specs a sweep runs, each validated before any of them runs.

A sweep is a base spec plus a grid of dotted keys (``"init.gain"``, ``"layers.1.units"``) with the
values to try; every combination is one point. The base spec is turned into a plain dict with every
default explicit (``ModelSpec.to_dict``), each point's values are written into a copy, and the copy goes
through :func:`rnnviz.spec.spec_from_dict`, so a point is validated exactly like a spec file.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from rnnviz.errors import SpecError
from rnnviz.spec import InitSpec, InputSpec, LayerSpec, ModelSpec, load_spec, read_table, spec_from_dict

METRICS = ("lambda_max", "saturated_fraction", "mean_tanh_gain", "memory_horizon", "gradient_decay")
MAX_POINTS = 100_000  # far beyond any sweep one machine or cluster finishes; bounds up-front validation
_SECTIONS = {"spec", "model", "grid", "analysis"}
_SPEC_TABLES = ("input", "init", "layers", "weights")
_FIELDS = {name: sorted(f.name for f in fields(cls)) for name, cls in
           (("input", InputSpec), ("init", InitSpec), ("layers", LayerSpec))}


@dataclass(frozen=True)
class Sweep:
    """What to run: the base spec, the grid (keys in file order) and the metrics to compute.

    ``origin`` names the sweep file in error messages (empty for sweeps built in code); relative paths
    that grid values give (``"weights"``, ``"input.path"``) are relative to ``base_dir``, the sweep file's
    folder (the working directory when ``None``).
    """

    base: ModelSpec
    grid: dict[str, list[Any]]
    metrics: tuple[str, ...] = METRICS
    origin: str = ""
    base_dir: Path | None = None


@dataclass(frozen=True)
class Point:
    """One combination of grid values (``values`` keyed as in the file) and the spec it makes.

    ``index`` counts from 0 in expansion order; it is the ``point`` column of the results.
    """

    index: int
    values: dict[str, Any]
    spec: ModelSpec = field(repr=False)


def _where(sweep: Sweep) -> str:
    return f"{sweep.origin}: " if sweep.origin else ""


def _describe(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{key} = {json.dumps(value)}" for key, value in values.items())


def _path_of(key: str, base: dict[str, Any]) -> tuple[str | int, ...]:
    """The place a dotted grid key names in a spec dict; layers count from 1, as everywhere in rnnviz."""
    parts = key.split(".")
    section = parts[0]
    if section not in _SPEC_TABLES:
        raise SpecError(f"[grid] {key!r}: unknown spec table {section!r}; keys start with one of "
                        f"{', '.join(_SPEC_TABLES)}")
    if section == "weights":
        if len(parts) != 1:
            raise SpecError(f"[grid] {key!r}: weights is a single value; write the key as \"weights\"")
        return ("weights",)
    if section in ("input", "init"):
        allowed = _FIELDS[section]
        if len(parts) != 2 or parts[1] not in allowed:
            raise SpecError(f"[grid] {key!r}: expected {section}.FIELD with FIELD one of {', '.join(allowed)}")
        return (section, parts[1])
    allowed = _FIELDS["layers"]
    if len(parts) != 3 or parts[2] not in allowed:
        raise SpecError(f"[grid] {key!r}: expected layers.N.FIELD (N from 1) with FIELD one of {', '.join(allowed)}")
    count = len(base["layers"])
    if not parts[1].isdigit() or not 1 <= int(parts[1]) <= count:
        raise SpecError(f"[grid] {key!r}: the base spec has {count} layer{'s' * (count != 1)}; N is 1 … {count} "
                        "(layers count from 1)")
    return ("layers", int(parts[1]) - 1, parts[2])


def _check_values(key: str, values: Any) -> list[Any]:
    if not isinstance(values, list):
        raise SpecError(f"[grid] {key!r}: must be an array of values, e.g. [0.5, 1.0]; got {type(values).__name__}")
    if not values:
        raise SpecError(f"[grid] {key!r}: the array is empty; give at least one value")
    for value in values:
        if not isinstance(value, (str, int, float, bool)) or (isinstance(value, float) and not math.isfinite(value)):
            raise SpecError(f"[grid] {key!r}: values must be strings, finite numbers or booleans; got "
                            f"{json.dumps(value, default=str)[:60]}")
    written = [json.dumps(value) for value in values]
    for i, text in enumerate(written):
        if text in written[:i]:
            raise SpecError(f"[grid] {key!r}: {text} appears twice; each value makes its own points")
    return list(values)


def _size(sweep: Sweep) -> int:
    return math.prod(len(values) for values in sweep.grid.values())


def expand(sweep: Sweep) -> list[Point]:
    """Every combination of the grid's values, the last key varying fastest (like nested loops in file order).

    Each point's spec is built and validated here, so a sweep that cannot run fails before any point runs;
    the error names the point's values and the field.
    """
    where = _where(sweep)
    if not sweep.grid:
        raise SpecError(f"{where}[grid]: empty; give at least one key with an array of values")
    unknown = [m for m in sweep.metrics if m not in METRICS]
    if unknown or not sweep.metrics:
        raise SpecError(f"{where}[analysis] metrics: unknown metric {unknown[0]!r}; allowed: {', '.join(METRICS)}"
                        if unknown else f"{where}[analysis] metrics: empty; allowed: {', '.join(METRICS)}")
    base = sweep.base.to_dict()
    try:
        paths = [_path_of(key, base) for key in sweep.grid]
        columns = [_check_values(key, values) for key, values in sweep.grid.items()]
    except SpecError as exc:
        raise SpecError(f"{where}{exc}") from None
    if _size(sweep) > MAX_POINTS:
        raise SpecError(f"{where}[grid]: {_size(sweep)} points; a sweep runs at most {MAX_POINTS}")
    points = []
    for index, combination in enumerate(itertools.product(*columns)):
        data = copy.deepcopy(base)
        for path, value in zip(paths, combination):
            target = data
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = value
        values = dict(zip(sweep.grid, combination))
        try:
            spec = spec_from_dict(data, base_dir=sweep.base_dir)
        except SpecError as exc:
            raise SpecError(f"{where}point {index} ({_describe(values)}): {exc}") from None
        points.append(Point(index, values, spec))
    return points


def sweep_hash(sweep: Sweep, points: list[Point]) -> str:
    """A fingerprint of exactly what the sweep computes, so a results folder is resumed only by its own sweep."""
    identity = {"metrics": list(sweep.metrics),
                "points": [[p.index, p.values, p.spec.to_dict()] for p in points]}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def sweep_from_dict(data: Any, base_dir: Path, origin: str = "") -> Sweep:
    """Build a sweep from a parsed sweep file; ``spec`` paths and the inline ``[model]``'s paths are relative
    to ``base_dir``."""
    where = f"{origin}: " if origin else ""
    if not isinstance(data, Mapping):
        raise SpecError(f"{where}the top level must be a table with spec (or [model]) and [grid]")
    unknown = sorted(set(data) - _SECTIONS)
    if unknown:
        raise SpecError(f"{where}unknown key {unknown[0]!r}; allowed: {', '.join(sorted(_SECTIONS))}")
    if ("spec" in data) == ("model" in data):
        raise SpecError(f"{where}give the base model either as spec = \"base.toml\" or as an inline [model] "
                        "table, " + ("not both" if "spec" in data else "none is given"))
    if "spec" in data:
        if not isinstance(data["spec"], str) or not data["spec"]:
            raise SpecError(f"{where}spec: must be the path of a spec file (.toml or .json), relative to this file")
        base = load_spec(base_dir / data["spec"])
    else:
        try:
            base = spec_from_dict(data["model"], base_dir=base_dir)
        except SpecError as exc:
            raise SpecError(f"{where}[model]: {exc}") from None
    grid = data.get("grid")
    if not isinstance(grid, Mapping):
        raise SpecError(f"{where}[grid]: " + ("missing" if grid is None else "must be a table") +
                        "; give each dotted key an array of values, e.g. \"init.gain\" = [0.5, 1.0]")
    analysis = data.get("analysis", {})
    if not isinstance(analysis, Mapping) or sorted(set(analysis) - {"metrics"}):
        raise SpecError(f"{where}[analysis]: takes only metrics = [...] (any of {', '.join(METRICS)})")
    metrics = analysis.get("metrics", list(METRICS))
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise SpecError(f"{where}[analysis] metrics: must be an array of names (any of {', '.join(METRICS)})")
    return Sweep(base, dict(grid), tuple(dict.fromkeys(metrics)), origin, base_dir)


def load_sweep_file(path: str | Path) -> Sweep:
    """Read a sweep file (TOML, or JSON of the same structure); every error names the file."""
    path = Path(path)
    return sweep_from_dict(read_table(path, "sweep file"), path.parent, str(path))
