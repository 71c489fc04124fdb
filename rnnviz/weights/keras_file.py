"""Keras 3 ``.keras`` files, read with zipfile, json and h5py alone (Keras is not needed).

A ``.keras`` file is a zip of ``config.json`` (the architecture) and ``model.weights.h5``. In the h5
file a layer's group is named after its class and position (``gru``, ``gru_1``, ``bidirectional``),
not after the layer's name in the config, and a cell's variables are numbered: ``0`` kernel,
``1`` recurrent kernel, ``2`` bias (absent with ``use_bias=False``). LSTM's blocks are ``[i | f | c | o]``
with one bias ``(4u,)``; GRU's ``[z | r | h]`` with two, ``(2, 3u)``.
"""

from __future__ import annotations

import io
import json
import lzma
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from rnnviz.engine.cells import GATE_BLOCKS, CellWeights
from rnnviz.errors import WeightsError, printable
from rnnviz.model import Model
from rnnviz.weights.common import as_float32, assemble, check_size, is_bomb

MAX_CONFIG_BYTES = 16 * 2**20
MAX_H5_BYTES = 2 * 2**30
# Layer and model names longer than this are cut: Keras' own are short, and the summary table wraps
# every name into 25-character lines (a megabyte-long name took seconds).
NAME_CHARS = 200
RECURRENT = ("SimpleRNN", "GRU", "LSTM")
SUPPORTED = "SimpleRNN, GRU and LSTM"
# Layers that are the identity at inference: allowed anywhere, they do not change the states.
TRANSPARENT = {"Dropout", "GaussianNoise", "GaussianDropout", "AlphaDropout", "SpatialDropout1D",
               "ActivityRegularization"}


def _snake(name: str) -> str:
    """Keras' ``to_snake_case``: how the h5 file names a class's groups."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _read_member(archive: zipfile.ZipFile, name: str, limit: int, path: Path) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise WeightsError(f"{path}: not a Keras 3 model: the archive has no {name}") from None
    if info.file_size > limit:
        raise WeightsError(f"{path}: {name} is larger than {limit // 2**20} MiB; refusing to unpack it")
    if is_bomb(info.file_size, info.compress_size):
        raise WeightsError(f"{path}: {name} would expand {info.file_size // max(info.compress_size, 1)}-fold to "
                           f"{info.file_size // 2**20} MiB; refusing it (Keras stores weights uncompressed)")
    try:
        with archive.open(info) as fh:
            data = fh.read(limit + 1)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, OSError, ValueError, zlib.error,
            lzma.LZMAError) as exc:  # bad CRC, encrypted, unknown compression, truncated data
        raise WeightsError(f"{path}: {name} cannot be unpacked ({str(exc)[:200] or type(exc).__name__})") from None
    if len(data) > limit:
        raise WeightsError(f"{path}: {name} unpacks to more than {limit // 2**20} MiB; refusing it")
    return data


def _cell_config(layer: dict[str, Any], origin: str) -> tuple[str, int, bool, bool]:
    """(type, units, use_bias, return_sequences) of a SimpleRNN/GRU/LSTM config, refusing variants we do not model."""
    cls, cfg = layer["class_name"], layer["config"]
    if cls not in RECURRENT:
        raise WeightsError(f"{origin}: unsupported layer type {printable(cls)}; rnnviz supports {SUPPORTED}")
    if cfg.get("activation", "tanh") != "tanh":
        raise WeightsError(f"{origin}: activation {printable(repr(cfg.get('activation')))} is not supported; rnnviz "
                           "models tanh units")
    if cls != "SimpleRNN" and cfg.get("recurrent_activation", "sigmoid") != "sigmoid":
        raise WeightsError(f"{origin}: recurrent_activation {printable(repr(cfg.get('recurrent_activation')))} is "
                           "not supported; expected sigmoid")
    if cls == "GRU":
        if not cfg.get("reset_after", True):
            raise WeightsError(f"{origin}: GRU with reset_after=False is not supported; rnnviz follows Keras' default "
                               "reset_after=True")
    units = cfg["units"]
    if isinstance(units, bool) or not isinstance(units, int) or units < 1:
        raise WeightsError(f"{origin}: units must be a positive integer, got {printable(repr(units))}")
    return cls, units, bool(cfg.get("use_bias", True)), bool(cfg.get("return_sequences", False))


def _read_cell(group: Any, cls: str, input_dim: int, units: int, use_bias: bool, origin: str) -> CellWeights:
    import h5py

    gates = GATE_BLOCKS[cls]
    try:
        variables = group["cell"]["vars"]
    except (KeyError, TypeError, ValueError, RuntimeError):  # RuntimeError: a loop of soft links
        raise WeightsError(f"{origin}: the weights file has no cell/vars for this layer") from None
    if not isinstance(variables, h5py.Group):
        raise WeightsError(f"{origin}: the weights file has no cell/vars for this layer")

    def var(index: int, shape: tuple[int, ...], what: str) -> np.ndarray:
        # The dataset is checked before it is read: a chunked, compressed dataset can declare a shape of
        # gigabytes in a few bytes, and one with external storage reads another file (or a FIFO).
        try:
            link = variables.get(str(index), getlink=True)
            dataset = variables[str(index)] if isinstance(link, h5py.HardLink) else None
        except (KeyError, TypeError, ValueError, OSError, RuntimeError):
            link = dataset = None
        if link is not None and not isinstance(link, h5py.HardLink):
            raise WeightsError(f"{origin}: the {what} (cell/vars/{index}) is a link to data elsewhere; refusing it")
        if not isinstance(dataset, h5py.Dataset):
            raise WeightsError(f"{origin}: the weights file lacks the {what} (cell/vars/{index})")
        if dataset.shape != shape:
            raise WeightsError(f"{origin}: {what}: has shape {dataset.shape}, expected {shape}")
        if dataset.external or dataset.is_virtual:
            raise WeightsError(f"{origin}: the {what} (cell/vars/{index}) is stored outside the weights file; "
                               "refusing it")
        try:
            data = dataset[()]
        except (TypeError, ValueError, OSError, RuntimeError) as exc:
            raise WeightsError(f"{origin}: the {what} (cell/vars/{index}) cannot be read "
                               f"({printable(str(exc), 120)})") from None
        return as_float32(data, f"{origin}: {what}", shape)

    kernel = var(0, (input_dim, gates * units), "kernel")
    recurrent = var(1, (units, gates * units), "recurrent kernel")
    bias_shape = (2, 3 * units) if cls == "GRU" else (gates * units,)
    bias = var(2, bias_shape, "bias") if use_bias else np.zeros(bias_shape, np.float32)
    return CellWeights(kernel, recurrent, bias)


def _layer_list(config: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    """The model's layers in order; a Functional model must be a single chain."""
    layers = config["config"]["layers"]
    if config.get("class_name") == "Sequential":
        return layers
    previous = None
    for layer in layers:
        nodes = layer.get("inbound_nodes") or []
        sources = [arg["config"]["keras_history"][0] for node in nodes for arg in node.get("args", [])
                   if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__"]
        if layer.get("class_name") != "InputLayer" and sources != [previous]:
            raise WeightsError(f"{path}: the Functional model is not a single chain of layers (layer "
                               f"{printable(repr(layer.get('name')))} reads {printable(sources or 'nothing')}); "
                               "rnnviz runs sequential stacks")
        previous = layer.get("name", layer["config"].get("name"))
    return layers


def load_keras(path: Path) -> Model:
    """The recurrent stack of a Keras 3 model: SimpleRNN / GRU / LSTM / Bidirectional layers.

    Identity-at-inference layers (Dropout …) are skipped anywhere and layers after the last recurrent
    one (a Dense head) are ignored, since they do not change hidden states; any other layer is an
    error naming it.
    """
    import h5py

    check_size(path)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(8)
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, OSError):
        hint = " (it is an HDF5 file: a Keras 2 .h5 model; re-save it with Keras 3 as .keras)" \
            if magic == b"\x89HDF\r\n\x1a\n" else ""
        raise WeightsError(f"{path}: not a Keras 3 .keras file (a zip archive){hint}") from None
    with archive:
        raw_config = _read_member(archive, "config.json", MAX_CONFIG_BYTES, path)
        raw_weights = _read_member(archive, "model.weights.h5", MAX_H5_BYTES, path)
    try:
        config = json.loads(raw_config)
    except (ValueError, RecursionError):  # malformed, not UTF-8, nested too deeply, an integer of 4300+ digits
        raise WeightsError(f"{path}: config.json is not valid JSON") from None
    try:
        h5 = h5py.File(io.BytesIO(raw_weights), "r")
    except (OSError, ValueError):
        raise WeightsError(f"{path}: model.weights.h5 is not a readable HDF5 file") from None
    try:
        with h5:
            return _build(path, config, h5)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as exc:
        raise WeightsError(f"{path}: config.json does not describe a Keras model rnnviz can read "
                           f"({type(exc).__name__}: {printable(str(exc), 120)})") from None
    except (OSError, RuntimeError) as exc:  # h5py: unreadable data, a loop of soft links
        raise WeightsError(f"{path}: model.weights.h5 is corrupt ({printable(str(exc), 120)})") from None


def _build(path: Path, config: dict[str, Any], h5: Any) -> Model:
    if config.get("class_name") not in ("Sequential", "Functional"):
        raise WeightsError(f"{path}: holds a {printable(repr(config.get('class_name')))}; rnnviz reads Sequential "
                           "and Functional models")
    seen: dict[str, int] = {}
    batch_shape = None
    layers, names = [], []
    width = None
    trailing: list[str] = []
    for layer in _layer_list(config, path):
        cls, cfg = layer["class_name"], layer["config"]
        snake = _snake(cls)
        group_name = snake if snake not in seen else f"{snake}_{seen[snake]}"
        seen[snake] = seen.get(snake, 0) + 1
        label = printable(cls)  # class names and layer names are the file's: printed only once made safe
        origin = f"{path}: layer {printable(repr(cfg.get('name', group_name)))} ({label})"
        if cls == "InputLayer":
            batch_shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
            continue
        if cls in TRANSPARENT:
            continue
        if ("LSTM" in cls and cls != "LSTM") or cls in ("RNN", "ConvRNN", "StackedRNNCells"):  # ConvLSTM1D …
            raise WeightsError(f"{origin}: unsupported recurrent layer {label}; rnnviz supports {SUPPORTED}")
        if cls not in RECURRENT and cls != "Bidirectional":
            if layers:
                trailing.append(label)
                continue
            raise WeightsError(f"{origin}: unsupported layer type {label} before the recurrent layers; rnnviz runs "
                               f"stacks of {SUPPORTED} layers fed directly by the input")
        if trailing:
            raise WeightsError(f"{origin}: comes after a {trailing[0]} layer; rnnviz runs stacks of {SUPPORTED} "
                               "layers without other layers between them")
        if width is None:
            shape = batch_shape or (layer.get("build_config") or {}).get("input_shape") \
                or (config.get("build_config") or {}).get("input_shape") or cfg.get("batch_input_shape")
            if not shape or len(shape) != 3 or not isinstance(shape[2], int):
                raise WeightsError(f"{path}: the model does not record its input shape (timesteps, features)")
            batch_shape = shape
            width = shape[2]
        group = h5["layers"][group_name]
        if cls == "Bidirectional":
            if cfg.get("merge_mode", "concat") != "concat":
                raise WeightsError(f"{origin}: merge_mode {printable(repr(cfg.get('merge_mode')))} is not "
                                   "supported; rnnviz follows merge_mode='concat'")
            inner = cfg["layer"]
            if inner["config"].get("go_backwards"):
                raise WeightsError(f"{origin}: its forward layer has go_backwards=True, which is not supported; "
                                   "rnnviz's forward direction reads the sequence from the start")
            kind, units, use_bias, return_sequences = _cell_config(inner, origin)
            backward_kind, backward_units, backward_bias, _ = _cell_config(cfg.get("backward_layer") or inner, origin)
            if backward_kind != kind:
                raise WeightsError(f"{origin}: its forward layer is a {kind} but its backward layer a "
                                   f"{backward_kind}; rnnviz runs both directions with the same cell")
            cells = (
                _read_cell(group["forward_layer"], kind, width, units, use_bias, f"{origin} forward"),
                _read_cell(group["backward_layer"], kind, width, backward_units, backward_bias, f"{origin} backward"),
            )
        else:
            if cfg.get("go_backwards"):
                raise WeightsError(f"{origin}: go_backwards=True outside Bidirectional is not supported")
            kind, units, use_bias, return_sequences = _cell_config(layer, origin)
            cells = (_read_cell(group, kind, width, units, use_bias, origin),)
        layers.append((kind, cells, return_sequences))
        names.append(printable(cfg.get("name", group_name), NAME_CHARS))
        width = units * len(cells)
    if not layers:
        found = sorted({printable(l.get("class_name", "?")) for l in config["config"]["layers"]} - {"InputLayer"})
        raise WeightsError(f"{path}: no SimpleRNN, GRU or LSTM layer found (found: {', '.join(found) or 'no layers'})")
    for i, (_, _, return_sequences) in enumerate(layers[:-1]):
        if not return_sequences:
            raise WeightsError(f"{path}: recurrent layer {i + 1} does not return sequences but feeds another one")
    timesteps = batch_shape[1] if isinstance(batch_shape[1], int) and batch_shape[1] > 0 else None
    batch = batch_shape[0] if isinstance(batch_shape[0], int) and batch_shape[0] > 0 else None
    return assemble(path, layers, timesteps=timesteps, features=batch_shape[2], batch_size=batch, names=names,
                    model_name=printable(config["config"].get("name", "sequential"), NAME_CHARS))
