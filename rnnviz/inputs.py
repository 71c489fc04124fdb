"""Input sequences: generated (uniform, normal, sine, one-hot text) or read from .csv / .npy files.

Everything returns a C-contiguous float32 array of shape (timesteps, features) with finite values;
anything else is an :class:`~rnnviz.errors.InputError` that says where the problem is.
"""

from __future__ import annotations

import csv
import zipfile
from array import array
from dataclasses import replace
from pathlib import Path

import numpy as np

from rnnviz.errors import InputError
from rnnviz.spec import InputSpec, ModelSpec

MAX_INPUT_FILE_BYTES = 2 * 2**30


def text_alphabet(text: str) -> list[str]:
    """The one-hot alphabet of ``text``: its distinct characters, sorted."""
    return sorted(set(text))


def text_shape(text: str) -> tuple[int, int]:
    """(timesteps, features) of the one-hot encoding of ``text``, without building it."""
    return len(text), len(set(text))


def generate(spec: InputSpec) -> np.ndarray:
    """The values of a generated source; ``source="file"`` goes through :func:`read_input` instead."""
    rng = np.random.default_rng(spec.seed)
    if spec.source == "text":
        index = {c: i for i, c in enumerate(text_alphabet(spec.text))}  # (list.index made this quadratic)
        out = np.zeros((len(spec.text), len(index)), np.float32)
        out[np.arange(len(spec.text)), [index[c] for c in spec.text]] = 1.0
        return out
    shape = (spec.timesteps, spec.features)
    if spec.source == "uniform":
        return rng.random(shape, dtype=np.float32)
    if spec.source == "normal":
        return rng.standard_normal(shape, dtype=np.float32)
    if spec.source == "sine":  # feature f oscillates f+1 times over the sequence, at a seeded phase
        phase = rng.uniform(0, 2 * np.pi, spec.features).astype(np.float32)
        t = np.arange(spec.timesteps, dtype=np.float32)[:, None]
        cycles = np.arange(1, spec.features + 1, dtype=np.float32)[None, :]
        return np.sin(np.float32(2 * np.pi) * cycles * t / np.float32(spec.timesteps) + phase).astype(np.float32)
    raise InputError(f"input.source: {spec.source!r} does not generate values")


def _check_values(values: np.ndarray, origin: str) -> np.ndarray:
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise InputError(f"{origin}: expected a (timesteps, features) table, got an array of shape {values.shape}")
    if values.shape[0] < 1 or values.shape[1] < 1:
        raise InputError(f"{origin}: the input is empty (shape {values.shape})")
    bad = np.argwhere(~np.isfinite(values))
    if bad.size:
        row, col = bad[0]
        raise InputError(f"{origin}: row {row + 1}, column {col + 1} is {values[row, col]} (NaN or infinite); "
                         "every value must be a finite number")
    return np.ascontiguousarray(values, np.float32)


def _numbers(values: object, origin: str) -> np.ndarray:
    """An array given by the caller as float32, under the same rule as a .npy file: real numbers only
    (a ragged list, strings or complex values are an InputError, not a ValueError or a silent cast)."""
    try:
        arr = np.asarray(values)
        if arr.dtype.kind == "O":  # e.g. a list mixing ints and numpy scalars
            arr = arr.astype(np.float64)
    except (ValueError, TypeError):
        raise InputError(f"{origin}: is not a (timesteps, features) table of numbers") from None
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{origin}: holds {arr.dtype} values; expected numbers")
    with np.errstate(over="ignore"):
        return arr.astype(np.float32, copy=False)


def _read_npy(path: Path) -> np.ndarray:
    try:
        values = np.load(path, allow_pickle=False)
    except (PermissionError, IsADirectoryError):
        raise  # read_input says "cannot read"
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise InputError(f"{path}: holds Python objects, which are refused; save a numeric array") from None
        raise InputError(f"{path}: not a valid .npy file ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: not a valid .npy file ({exc})") from None
    except MemoryError:  # the header claims a shape far larger than the file
        raise InputError(f"{path}: not a valid .npy file (its header claims an array too large to load)") from None
    if isinstance(values, np.lib.npyio.NpzFile):
        values.close()
        raise InputError(f"{path}: is an .npz archive; save one array with np.save as .npy")
    if values.dtype.kind not in "biuf":
        raise InputError(f"{path}: holds {values.dtype} values; expected numbers")
    with np.errstate(over="ignore"):
        return values.astype(np.float32)


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _separator_hint(cells: list[str]) -> str:
    """A hint for the usual mistake behind a cell that is not a number: another separator than the comma."""
    for separator, name in ((";", "semicolons"), ("\t", "tabs")):
        if any(separator in cell for cell in cells):
            return f" (the file seems to use {name}; rnnviz reads comma-separated values)"
    return ""


def _read_csv(path: Path) -> np.ndarray:
    """Parse row by row into one flat float64 buffer (8 bytes a value): a list of Python strings and
    floats per cell took some 25 times the file's size in memory."""
    values = array("d")
    width = None
    rows = 0
    header_hint = None  # set when the first row is a header
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:  # newline="": the csv module splits lines
            for row in csv.reader(fh):
                if not any(cell.strip() for cell in row):
                    continue
                numbers = [_number(cell) for cell in row]
                if width is None:
                    width = len(row)
                    if all(n is None for n in numbers):  # a header (a row mixing numbers and words is a typo)
                        header_hint = _separator_hint(row)
                        continue
                if len(row) != width:
                    raise InputError(f"{path}: data row {rows + 1} has {len(row)} columns, expected {width}")
                for j, value in enumerate(numbers):
                    if value is None:
                        raise InputError(f"{path}: data row {rows + 1}, column {j + 1}: {row[j].strip()[:40]!r} is "
                                         f"not a number{_separator_hint(row)}")
                values.extend(numbers)
                rows += 1
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a UTF-8 text file; expected comma-separated numbers") from None
    except csv.Error as exc:
        raise InputError(f"{path}: not a readable CSV file ({exc})") from None
    except MemoryError:
        raise InputError(f"{path}: too many values to hold in memory") from None
    if width is None:
        raise InputError(f"{path}: the file is empty; expected one row per timestep")
    if not rows:
        raise InputError(f"{path}: has a header but no data rows{header_hint}")
    with np.errstate(over="ignore"):
        return np.frombuffer(values, np.float64).reshape(rows, width).astype(np.float32)


def read_input(path: str | Path) -> np.ndarray:
    """Read a (timesteps, features) input from ``.csv`` (a header row is optional) or ``.npy``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".npy", ".txt"):
        raise InputError(f"{path}: unsupported input format {suffix or '(none)'!r}; use .csv or .npy")
    if path.stat().st_size > MAX_INPUT_FILE_BYTES:
        raise InputError(f"{path}: larger than {MAX_INPUT_FILE_BYTES // 2**30} GiB; too large to load as input")
    try:
        values = _read_npy(path) if suffix == ".npy" else _read_csv(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return _check_values(values, str(path))


def input_width_problem(spec: ModelSpec, trained_features: int | None, values: np.ndarray, origin: str) -> str | None:
    """Why ``values`` (a (timesteps, features) array, as :func:`read_input` returns) cannot feed ``spec``'s stack,
    in one line naming ``origin``; None when it can.

    The width is never guessed: trained weights fix it (``trained_features``: the features the trained model
    reads, None without trained weights), and otherwise the spec's ``input.features`` does; only a spec that
    leaves features out takes the input's width. The app may instead adopt a file's width for a spec without
    trained weights (an undoable edit of its features); with trained weights it shows this message.
    """
    width = values.shape[1]
    if trained_features is not None:
        if width != trained_features:
            return f"{origin}: has {width} columns (features) but the trained model reads {trained_features}"
        return None
    if spec.input.features is not None and width != spec.input.features:
        return f"{origin}: has {width} columns (features) but the spec's input.features is {spec.input.features}"
    return None


def resolve_inputs(spec: ModelSpec, values: np.ndarray | None = None, origin: str = "inputs",
                   trained_features: int | None = None) -> tuple[ModelSpec, np.ndarray]:
    """The input array of a run and the spec with its shape filled in and checked.

    ``values`` (an array given by the caller, ``origin`` naming it) wins over the spec's source; a file source
    is read; anything else is generated. An input that is not generated must have the width that trained
    weights (``trained_features``) or the spec fix (see :func:`input_width_problem`); a file source must also
    have the spec's timesteps, when it gives them. The caller's array sets the timesteps.
    """
    source = spec.input
    if values is not None:
        arr = _check_values(_numbers(values, origin), origin)
    elif source.source == "file":
        arr = read_input(source.path)
        origin = source.path
    else:
        arr = generate(source)
    steps, features = arr.shape
    problem = None if values is None and source.source != "file" else \
        input_width_problem(spec, trained_features, arr, origin)
    if problem:
        raise InputError(problem)
    if source.timesteps is not None and values is None and source.source == "file" and steps != source.timesteps:
        raise InputError(f"{origin}: has {steps} rows (timesteps) but input.timesteps is {source.timesteps}")
    return replace(spec, input=source.with_shape(steps, features)), arr
