"""A model ready to run (spec, weights per layer and direction, names), and how a trained file must match a spec.

A trained file (``.keras``, ``.pt``/``.pth``) brings its own architecture; combined with a spec, the
two must match. The readers (:mod:`rnnviz.weights`) build :class:`Model` objects, so this module imports
none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rnnviz.engine.cells import LayerWeights
from rnnviz.errors import WeightsError
from rnnviz.spec import ModelSpec

WEIGHT_SUFFIXES = (".keras", ".pt", ".pth")
SPEC_SUFFIXES = (".toml", ".json")


@dataclass(frozen=True)
class Model:
    spec: ModelSpec
    weights: tuple[LayerWeights, ...]
    names: tuple[str, ...]
    model_name: str = "sequential"


def is_weights_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in WEIGHT_SUFFIXES


def check_matches(spec: ModelSpec, loaded: Model, origin: str) -> None:
    if len(spec.layers) != len(loaded.spec.layers):
        raise WeightsError(f"{origin}: holds {len(loaded.spec.layers)} recurrent layers but the spec has {len(spec.layers)}")
    for i, (want, have) in enumerate(zip(spec.layers, loaded.spec.layers)):
        for attr in ("type", "units", "bidirectional"):
            if getattr(want, attr) != getattr(have, attr):
                raise WeightsError(f"{origin}: layer {i + 1} is {attr} = {getattr(have, attr)!r} in the file but "
                                   f"{getattr(want, attr)!r} in the spec")
    if loaded.spec.input.features != spec.input.features and spec.input.features is not None:
        raise WeightsError(f"{origin}: the model reads {loaded.spec.input.features} features but the spec's input "
                           f"has {spec.input.features}")
