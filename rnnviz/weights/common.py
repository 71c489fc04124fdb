"""Checks shared by the weight readers, and turning what they found into a :class:`~rnnviz.model.Model`."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from rnnviz.engine.cells import LayerWeights
from rnnviz.errors import SpecError, WeightsError
from rnnviz.model import Model
from rnnviz.spec import InputSpec, LayerSpec, ModelSpec

DEFAULT_TIMESTEPS = 10
MAX_WEIGHTS_FILE_BYTES = 4 * 2**30
# A zip member this large that compresses this well is a zip bomb: weights are noise, and neither Keras nor
# torch.save compresses them.
BOMB_BYTES, BOMB_RATIO = 64 * 2**20, 100


def is_bomb(file_size: int, compress_size: int) -> bool:
    """Whether a zip member declaring these sizes would expand suspiciously far (see ``BOMB_RATIO``)."""
    return file_size > BOMB_BYTES and file_size > BOMB_RATIO * max(compress_size, 1)


def check_size(path: Path) -> None:
    size = path.stat().st_size
    if size == 0:
        raise WeightsError(f"{path}: the file is empty")
    if size > MAX_WEIGHTS_FILE_BYTES:
        raise WeightsError(f"{path}: larger than {MAX_WEIGHTS_FILE_BYTES // 2**30} GiB; refusing to load it")


def as_float32(values: object, origin: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A finite float32 copy of ``values``, of ``shape`` when given; anything else is a WeightsError."""
    try:
        arr = np.asarray(values)
    except Exception:  # noqa: BLE001 - any odd object in a hostile file is just "not numbers"
        raise WeightsError(f"{origin}: is not an array of numbers") from None
    if arr.dtype.kind not in "fiu":
        raise WeightsError(f"{origin}: holds {arr.dtype} values, expected floating-point weights")
    if shape is not None and arr.shape != shape:
        raise WeightsError(f"{origin}: has shape {arr.shape}, expected {shape}")
    with np.errstate(over="ignore"):
        arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise WeightsError(f"{origin}: contains NaN or infinite values")
    return arr


def assemble(path: Path, layers: Sequence[tuple[str, LayerWeights, bool | None]], *, timesteps: int | None,
             features: int, batch_size: int | None = None, names: Sequence[str] | None = None,
             model_name: str = "sequential") -> Model:
    """Build the model of a weights file from (type, weights per direction, return_sequences) per layer.

    Checks that each layer reads what the previous one writes, so a file whose tensors do not chain
    up is reported here rather than failing inside torch.
    """
    if not layers:
        raise WeightsError(f"{path}: no SimpleRNN, GRU or LSTM weights found")
    width = features
    specs = []
    for i, (layer_type, cells, return_sequences) in enumerate(layers):
        units = cells[0].units
        for cell in cells:
            if cell.input_dim != width:
                raise WeightsError(f"{path}: recurrent layer {i + 1} reads {cell.input_dim} features but the layer "
                                   f"before it outputs {width}")
            if cell.units != units:
                raise WeightsError(f"{path}: recurrent layer {i + 1} has directions of different sizes")
        width = units * len(cells)
        specs.append(LayerSpec(layer_type, units, len(cells) == 2, return_sequences))
    try:
        spec = ModelSpec(
            input=InputSpec(timesteps=timesteps or DEFAULT_TIMESTEPS, features=features, batch_size=batch_size),
            layers=tuple(specs), weights=str(path.resolve()),
        )
    except SpecError as exc:
        raise WeightsError(f"{path}: describes an unusable model ({exc})") from None
    return Model(spec, tuple(tuple(c) for _, c, _ in layers), tuple(names or ()) or _default_names(spec),
                 model_name)


def _default_names(spec: ModelSpec) -> tuple[str, ...]:
    from rnnviz.summary import keras_names

    return tuple(keras_names(spec.layers))

