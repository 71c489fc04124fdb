"""torch ``state_dict`` files: find the RNN/GRU/LSTM tensors under any prefix, and write them back.

Files are opened with ``torch.load(weights_only=True)``: a pickle that would run code is refused,
never executed.
"""

from __future__ import annotations

import pickle
import re
import warnings
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from rnnviz.engine.cells import GATE_BLOCKS, LayerWeights, from_torch, to_torch
from rnnviz.errors import RnnvizError, WeightsError, printable
from rnnviz.export import atomic_write
from rnnviz.model import Model
from rnnviz.spec import ModelSpec
from rnnviz.weights.common import as_float32, assemble, check_size, is_bomb

_KEY = re.compile(r"^(?P<prefix>.*?)(?P<kind>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(?P<layer>\d+)"
                  r"(?P<reverse>_reverse)?$")
_GATES = {blocks: layer_type for layer_type, blocks in GATE_BLOCKS.items()}
MAX_LAYER_INDEX_DIGITS = 6  # weight_ih_l{k}: a longer k is no layer of a real module (and int() of 4300+ digits fails)


def _read(path: Path) -> Mapping[str, Any]:
    try:
        with open(path, "rb") as fh:
            magic = fh.read(8)
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if magic.startswith(b"\x89HDF"):
        raise WeightsError(f"{path}: is an HDF5 file (a Keras 2 .h5 model?), not a torch state_dict; save weights with "
                           "torch.save(module.state_dict(), path)")
    if not magic.startswith((b"PK\x03\x04", b"\x80")):  # torch.save writes a zip (or, before torch 1.6, a pickle)
        raise WeightsError(f"{path}: not a torch file; save weights with torch.save(module.state_dict(), path)")
    if magic.startswith(b"PK"):
        _refuse_zip_bombs(path)
    import torch

    try:
        with warnings.catch_warnings():  # torch's deprecation warnings about a file's storages are not the user's
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise WeightsError(f"{path}: refused: unpickling this file would run code or build arbitrary Python "
                           "objects; save weights with torch.save(module.state_dict(), path)") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, KeyError, TypeError,
            AttributeError, IndexError, MemoryError, UnicodeDecodeError, OverflowError) as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise WeightsError(f"{path}: not a readable torch file ({detail})") from None
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(obj.get(key), Mapping):
                return obj[key]
        return obj
    raise WeightsError(f"{path}: holds a {type(obj).__name__}, expected a state_dict (a mapping of names to tensors)")


def _refuse_zip_bombs(path: Path) -> None:
    """torch.save stores every record uncompressed, but torch.load also inflates compressed ones: a record
    that declares gigabytes in a few kilobytes would be allocated and filled before any check of ours."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, OSError):
        return  # torch.load reports it
    for info in infos:
        if is_bomb(info.file_size, info.compress_size):
            raise WeightsError(f"{path}: {printable(info.filename)} would expand "
                               f"{info.file_size // max(info.compress_size, 1)}-fold to {info.file_size // 2**20} MiB; "
                               "refusing it (torch.save stores tensors uncompressed)")


def load_state_dict(path: Path) -> Model:
    """The recurrent stack of a torch ``state_dict``: nn.RNN (tanh), nn.GRU or nn.LSTM modules in key order.

    Several modules (``encoder.``, ``layers.0.`` …) are stacked in the order they appear; other tensors
    (a Linear head, embeddings) are ignored. SimpleRNN's and LSTM's two torch biases are added into one.
    """
    check_size(path)
    state = _read(path)  # sniffs the file before importing torch, so that a wrong file fails fast
    import torch

    file_bytes = path.stat().st_size

    groups: OrderedDict[str, dict[tuple[int, bool], dict[str, Any]]] = OrderedDict()
    for key, value in state.items():
        match = _KEY.match(key) if isinstance(key, str) else None
        if match is None:
            continue
        if match["kind"] == "weight_hr":
            raise WeightsError(f"{path}: {printable(key)} belongs to an LSTM with proj_size > 0 (a projected hidden "
                               "state); rnnviz runs LSTMs without projections (proj_size=0)")
        if len(match["layer"]) > MAX_LAYER_INDEX_DIGITS:
            raise WeightsError(f"{path}: {printable(key)}: layer number {printable(match['layer'], 20)} is out of "
                               "range")
        if not isinstance(value, torch.Tensor):
            raise WeightsError(f"{path}: {printable(key)} is not a tensor")
        # A view with zero strides (torch.zeros(1).expand(n, n)) is saved as its one-element storage and
        # its shape: a few bytes on disk that become gigabytes once copied. A real tensor fits in the file.
        if value.numel() * value.element_size() > file_bytes:
            raise WeightsError(f"{path}: {printable(key)} has shape {tuple(value.shape)}, more values than the file "
                               "holds (an expanded view); save real tensors")
        slot = groups.setdefault(match["prefix"], {}).setdefault((int(match["layer"]), bool(match["reverse"])), {})
        try:
            slot[match["kind"]] = value.detach().to(torch.float32).numpy() if value.is_floating_point() \
                else value.numpy()
        except (TypeError, RuntimeError, ValueError):  # sparse, meta, quantized, ... tensors
            raise WeightsError(f"{path}: {printable(key)} is not a dense tensor of numbers ({value.layout}, "
                               f"{value.device})") from None
    if not groups:
        raise WeightsError(f"{path}: no recurrent weights found (expected keys like weight_ih_l0 and weight_hh_l0 "
                           "of a torch nn.RNN, nn.GRU or nn.LSTM)")
    layers: list[tuple[str, LayerWeights, bool]] = []
    for prefix, slots in groups.items():
        shown = printable(prefix)
        depth = max(layer for layer, _ in slots) + 1
        bidirectional = any(reverse for _, reverse in slots)
        for k in range(depth):
            cells = []
            layer_type = None
            for reverse in (False, True) if bidirectional else (False,):
                name = f"{shown}*_l{k}{'_reverse' if reverse else ''}"
                tensors = slots.get((k, reverse), {})
                if "weight_ih" not in tensors or "weight_hh" not in tensors:
                    raise WeightsError(f"{path}: {name.replace('*', 'weight_ih')} or "
                                       f"{name.replace('*', 'weight_hh')} is missing")
                w_hh = as_float32(tensors["weight_hh"], f"{path}: {name.replace('*', 'weight_hh')}")
                if w_hh.ndim != 2 or w_hh.shape[1] == 0 or w_hh.shape[0] % w_hh.shape[1]:
                    raise WeightsError(f"{path}: {name.replace('*', 'weight_hh')} has shape {w_hh.shape}, "
                                       "expected (gates × units, units)")
                units, gates = w_hh.shape[1], w_hh.shape[0] // w_hh.shape[1]
                if gates not in _GATES:
                    raise WeightsError(f"{path}: {name.replace('*', 'weight_hh')} has {gates} × units rows; expected "
                                       "1 (nn.RNN), 3 (nn.GRU) or 4 (nn.LSTM)")
                layer_type = _GATES[gates]
                w_ih = as_float32(tensors["weight_ih"], f"{path}: {name.replace('*', 'weight_ih')}")
                if w_ih.ndim != 2 or w_ih.shape[0] != gates * units:
                    raise WeightsError(f"{path}: {name.replace('*', 'weight_ih')} has shape {w_ih.shape}, expected "
                                       f"({gates * units}, input features)")
                biases = {b: as_float32(tensors[b], f"{path}: {name.replace('*', b)}", (gates * units,))
                          if b in tensors else None for b in ("bias_ih", "bias_hh")}
                if layer_type != "GRU" and biases["bias_ih"] is not None and biases["bias_hh"] is not None:
                    with np.errstate(over="ignore"):  # Keras' one bias is their sum, which must stay finite too
                        if not np.isfinite(biases["bias_ih"] + biases["bias_hh"]).all():
                            raise WeightsError(f"{path}: {name.replace('*', 'bias_ih')} + "
                                               f"{name.replace('*', 'bias_hh')} overflows float32")
                cells.append(from_torch(layer_type, w_ih, w_hh, biases["bias_ih"], biases["bias_hh"]))
            if len({c.type for c in cells}) != 1:
                raise WeightsError(f"{path}: the two directions of {shown}layer {k} are of different types")
            layers.append((layer_type, tuple(cells), True))  # torch modules return every step
    features = layers[0][1][0].input_dim
    return assemble(path, layers, timesteps=None, features=features)


def state_dict_arrays(spec: ModelSpec, weights: Sequence[LayerWeights]) -> dict[str, Any]:
    """Key → array in torch's layout. A uniform stack (same type, units and directions in every layer)
    uses ``nn.RNN``/``nn.GRU``/``nn.LSTM``'s own keys, loadable with ``module.load_state_dict``; a mixed stack
    prefixes each layer as a ``ModuleList`` would (``layers.0.weight_ih_l0``)."""
    uniform = len({(l.type, l.units, l.bidirectional) for l in spec.layers}) == 1
    out: dict[str, Any] = {}
    for i, cells in enumerate(weights):
        prefix, k = ("", i) if uniform else (f"layers.{i}.", 0)
        for cell, suffix in zip(cells, ("", "_reverse")):
            for name, value in to_torch(cell).items():
                out[f"{prefix}{name}_l{k}{suffix}"] = value
    return out


def save_state_dict(spec: ModelSpec, weights: Sequence[LayerWeights], path: str | Path) -> Path:
    """Write the weights with ``torch.save`` to a temporary name, then move it into place."""
    import torch

    path = Path(path)
    tensors = {k: torch.from_numpy(v.copy()) for k, v in state_dict_arrays(spec, weights).items()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RnnvizError(f"{path}: cannot write weights ({exc.strerror or exc})") from None
    with atomic_write(path, "wb") as fh:
        torch.save(tensors, fh)
    return path
