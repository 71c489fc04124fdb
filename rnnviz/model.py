"""A model ready to run (spec, weights per layer and direction, names) and trained-weights files.

A trained file (``.keras``, ``.pt``/``.pth``) brings its own architecture; combined with a spec, the
two must match.
"""

from __future__ import annotations

import functools
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


def load_weights_file(path: str | Path) -> Model:
    """Read the architecture and weights of a trained ``.keras`` file or torch ``state_dict``.

    The returned spec's input has the saved shape (10 timesteps where the file leaves time open) and
    ``uniform`` values, and its ``weights`` names the file, so that the spec repeats the run.
    """
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"{path}: no such file")
    if not path.is_file():
        raise WeightsError(f"{path}: not a file")
    stat = path.stat()
    return _read_weights(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _read_weights(path: str, _mtime_ns: int, _size: int) -> Model:
    """Parse a weights file once per version of it: the app prepares the model again after every
    edit, and a file that is rewritten gets a new modification time (and so a new cache key).
    The arrays are shared between callers, who only read them."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix == ".keras":
        from rnnviz.weights.keras_file import load_keras

        return load_keras(file)
    if suffix in (".pt", ".pth"):
        from rnnviz.weights.torch_file import load_state_dict

        return load_state_dict(file)
    raise WeightsError(f"{file}: unsupported weights format {suffix or '(none)'!r}; use .keras, .pt or .pth")
