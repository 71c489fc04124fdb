"""Dynamics of a run: per-step Jacobians, gradient flow, Lyapunov spectra, gate saturation, PCA,
perturbations and fixed points, for every layer and direction.

Each quantity is a pure function in its own module, called on :class:`~rnnviz.analysis.streams.Stream`
objects (one layer-direction in processing order), so the app can call it on a run that is still
playing; :func:`analyze` runs them all over a model and collects the tidy tables that ``rnnviz analyze``
writes. Importing this package loads no torch: the modules that need it are imported when used.
"""

from __future__ import annotations

import math
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from rnnviz.errors import RnnvizError
from rnnviz.spec import ModelSpec
from rnnviz.trace import Trace

MAX_EPSILON = 1e3  # larger nudges overflowed the distances (1e300 squared) and mean nothing for tanh states
QUANTITIES = ("jacobian", "gradient_flow", "lyapunov", "gates", "pca", "perturbation", "fixed_points")


class AnalysisError(RnnvizError):
    """An analysis parameter does not fit the model or its run."""


@dataclass
class Analysis:
    """What :func:`analyze` computed: ``tables`` (name -> rows, the CSVs' columns), ``arrays`` (the
    fixed points' states and eigenvalues, for the .npz), ``info`` (analysis.json), the run's ``trace``
    and the ``model`` (spec, weights) that made it."""

    tables: dict[str, list[dict[str, Any]]]
    arrays: dict[str, np.ndarray]
    info: dict[str, Any]
    trace: Trace
    model: Any = field(repr=False, default=None)

    def write(self, out_dir: str | Path) -> list[Path]:
        """``{table}.csv`` for each table, ``fixed_points.npz`` with the fixed points, and ``analysis.json``."""
        from rnnviz.analysis.tables import write_json, write_npz, write_table
        from rnnviz.export import prepare_out_dir

        out = Path(out_dir)
        prepare_out_dir(out)
        written = [write_table(out / f"{name}.csv", name, rows) for name, rows in self.tables.items()]
        if "fixed_points" in self.tables:
            written.append(write_npz(out / "fixed_points.npz", self.arrays))
        written.append(write_json(out / "analysis.json", self.info))
        return written


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise AnalysisError(f"{name}: expected an integer, got {value!r}")
    return int(value)


def parse_only(only: str | Sequence[str] | None) -> tuple[str, ...]:
    """The quantities asked for, in :data:`QUANTITIES` order; unknown names are an error."""
    if only is None:
        return QUANTITIES
    names = [n.strip() for n in (only.split(",") if isinstance(only, str) else only) if n.strip()]
    unknown = [n for n in names if n not in QUANTITIES]
    if unknown or not names:
        raise AnalysisError(f"only: unknown quantity {', '.join(map(repr, unknown)) or '(none given)'}; choose from "
                            f"{', '.join(QUANTITIES)}")
    return tuple(q for q in QUANTITIES if q in names)


@dataclass(frozen=True)
class Parameters:
    """Every analysis parameter, checked against the model before anything is computed."""

    only: tuple[str, ...]
    lyapunov: int
    burn_in: int
    perturb_at: int
    epsilon: float
    perturb_layer: int
    perturb_direction: str
    fp_input: str | tuple[float, ...]
    fp_layers: tuple[int, ...]

    @classmethod
    def check(cls, spec: ModelSpec, steps: int, only, lyapunov, burn_in, perturb_at, epsilon, perturb_layer,
              perturb_direction, fp_input, fp_layers) -> Parameters:
        names = parse_only(only)
        k = _integer(lyapunov, "lyapunov")
        if k < 1:
            raise AnalysisError(f"lyapunov: the number of exponents must be >= 1, got {k}")
        burn = steps // 10 if burn_in is None else _integer(burn_in, "burn_in")
        if not 0 <= burn < steps:
            raise AnalysisError(f"burn_in: must be 0 … {steps - 1} (fewer than the {steps} timesteps), got {burn}")
        at = steps // 4 if perturb_at is None else _integer(perturb_at, "perturb_at")
        if not 0 <= at < steps:
            raise AnalysisError(f"perturb_at: must be a step 0 … {steps - 1}, got {at}")
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not math.isfinite(epsilon) \
                or not 0 < epsilon <= MAX_EPSILON:
            raise AnalysisError(f"epsilon: must be a finite number > 0 and at most {MAX_EPSILON:g} (a nudge to "
                                f"states whose h lies in -1 … 1), got {epsilon!r}")
        layer = _integer(perturb_layer, "perturb_layer")
        if not 1 <= layer <= len(spec.layers):
            raise AnalysisError(f"perturb_layer: must be 1 … {len(spec.layers)} (layers count from 1), got {layer}")
        directions = spec.layers[layer - 1].directions
        if perturb_direction not in directions:
            raise AnalysisError(f"perturb_direction: layer {layer} has {' and '.join(directions)}, got "
                                f"{perturb_direction!r}")
        layers = tuple(range(1, len(spec.layers) + 1)) if fp_layers is None else \
            tuple(_integer(v, "fp_layers") for v in fp_layers)
        for value in layers:
            if not 1 <= value <= len(spec.layers):
                raise AnalysisError(f"fp_layers: must be layers 1 … {len(spec.layers)}, got {value}")
        constant = _fp_input(fp_input, spec, layers)
        return cls(names, k, burn, at, float(epsilon), layer, perturb_direction, constant, layers)


def _fp_input(value: Any, spec: ModelSpec, layers: tuple[int, ...]) -> str | tuple[float, ...]:
    from rnnviz.summary import layer_input_dims

    if isinstance(value, str) and value in ("zero", "mean"):
        return value
    try:
        values = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise AnalysisError(f"fp_input: expected 'zero', 'mean' or a list of numbers, got {value!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise AnalysisError("fp_input: every value must be a finite number")
    widths = layer_input_dims(spec)
    for layer in layers:
        if widths[layer - 1] != len(values):
            raise AnalysisError(f"fp_input: {len(values)} values, but layer {layer} reads {widths[layer - 1]} "
                                "inputs; give that many, or choose the layers with fp_layers (--fp-layers)")
    return values


def analyze(source: ModelSpec | str | Path | Trace, inputs: np.ndarray | str | Path | None = None,
            weights: str | Path | None = None, *, only: str | Sequence[str] | None = None, lyapunov: int = 10,
            burn_in: int | None = None, perturb_at: int | None = None, epsilon: float = 1e-4, perturb_layer: int = 1,
            perturb_direction: str = "forward", fp_input: str | Sequence[float] = "zero",
            fp_layers: Sequence[int] | None = None, device: str = "auto",
            progress: Callable[[int, int], None] | None = None, trace: Trace | None = None) -> Analysis:
    """Run the model (or take ``trace``, or ``source`` itself when it is a Trace) and analyse every
    layer-direction; see the README's Analysis section for the tables and parameters."""
    from rnnviz.headless import prepare, stepper

    if isinstance(source, Trace):
        trace, source, inputs = source, source.spec, source.inputs
    model, array = prepare(source, trace.inputs if trace is not None else inputs, weights)
    params = Parameters.check(model.spec, array.shape[0], only, lyapunov, burn_in, perturb_at, epsilon, perturb_layer,
                              perturb_direction, fp_input, fp_layers)
    if trace is None:
        steps = stepper(model, array, device)
        for block in steps:
            if progress is not None:
                progress(block.done, 2 * block.total)
        trace = steps.trace
    from rnnviz.analysis.compute import compute

    tables, arrays, info = compute(trace, model.weights, params, progress)
    info["parameters"]["device"] = trace.device
    info["versions"] = _versions()
    return Analysis(tables, arrays, info, trace, model)


def _versions() -> dict[str, str]:
    import torch

    from rnnviz import __version__

    return {"rnnviz": __version__, "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version()}
