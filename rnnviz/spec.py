"""Model specs: what stack to build, what to feed it and how to initialise it.

A spec is plain data (frozen dataclasses), validated when it is built, read from TOML or JSON and
written back as TOML. Every problem is reported as a :class:`~rnnviz.errors.SpecError` whose message
names the field (``layers[2].units``) and the allowed values, prefixed by the file it came from.
"""

from __future__ import annotations

import json
import math
import stat
import sys
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from rnnviz.errors import SpecError

LAYER_TYPES = ("SimpleRNN", "GRU", "LSTM")
SOURCES = ("uniform", "normal", "sine", "text", "file")
SCHEMES = ("uniform01", "keras", "torch", "normal")

_TYPE_ALIASES = {"simplernn": "SimpleRNN", "simple_rnn": "SimpleRNN", "rnn": "SimpleRNN", "gru": "GRU", "lstm": "LSTM"}

# TOML's integer range. JSON integers are unbounded, and one with thousands of digits breaks the
# arithmetic of summaries and memory estimates (and str() of it), so every spec integer stays in it.
MAX_INT = 2**63 - 1
MAX_LAYERS = 1000  # deeper stacks are no recurrent model anyone trains; 100k layers ran for minutes
MAX_SEED = 2**31 - 1  # what the app's seed fields can show; numpy and torch take any of these
# Far above any useful gain (the app's slider stops at 3); gains near 1e37 overflow the `normal` scheme's
# float32 recurrent weights to inf, and every state is then NaN.
MAX_GAIN = 1e6
# A spec is a few lines; this bounds the time tomllib takes (about 0.5 s per MiB).
MAX_SPEC_BYTES = 4 * 2**20


def _short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, so that a hostile file's values stay out of messages."""
    if isinstance(value, int) and value.bit_length() > 3 * limit:
        return f"an integer of about {int(value.bit_length() * math.log10(2))} digits"
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a value too odd to print (a huge integer inside a list ...)
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _int(value: Any, where: str, minimum: int = 1, maximum: int = MAX_INT) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{where}: must be an integer >= {minimum}, got {_short(value)}")
    if value < minimum:
        raise SpecError(f"{where}: must be an integer >= {minimum}, got {_short(value)}")
    if value > maximum:
        limit = "2**63 - 1" if maximum == MAX_INT else f"{maximum:,}".replace(",", "")
        raise SpecError(f"{where}: must be an integer >= {minimum} and at most {limit}, got {_short(value)}")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{where}: must be true or false, got {_short(value)}")
    return value


def _choice(value: Any, where: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise SpecError(f"{where}: must be one of {', '.join(allowed)}; got {_short(value)}")
    return value


@dataclass(frozen=True)
class LayerSpec:
    """One recurrent layer, as Keras would declare it.

    ``return_sequences=None`` means the Keras-tutorial default for its position: true for every layer
    but the last (so a stack is always valid), false for the last.
    """

    type: str = "SimpleRNN"
    units: int = 8
    bidirectional: bool = False
    return_sequences: bool | None = None

    def validate(self, where: str = "layer") -> None:
        if not isinstance(self.type, str) or self.type.lower() not in _TYPE_ALIASES:
            raise SpecError(f"{where}.type: unknown layer type {_short(self.type)}; allowed: {', '.join(LAYER_TYPES)}")
        _int(self.units, f"{where}.units")
        _bool(self.bidirectional, f"{where}.bidirectional")
        if self.return_sequences is not None:
            _bool(self.return_sequences, f"{where}.return_sequences")

    def __post_init__(self) -> None:
        if isinstance(self.type, str) and self.type.lower() in _TYPE_ALIASES:
            object.__setattr__(self, "type", _TYPE_ALIASES[self.type.lower()])

    @property
    def directions(self) -> tuple[str, ...]:
        return ("forward", "backward") if self.bidirectional else ("forward",)

    @property
    def gates(self) -> tuple[str, ...]:
        """Names of the per-step quantities recorded besides the hidden state: GRU's update and reset gates
        and candidate; LSTM's input, forget, candidate (Keras' ``c`` block) and output gates, and its cell
        state ``c``."""
        return {"GRU": ("z", "r", "hh"), "LSTM": ("i", "f", "g", "o", "c")}.get(self.type, ())


@dataclass(frozen=True)
class InputSpec:
    """The input sequence: its shape and where its values come from.

    For ``source="text"`` the shape follows from the text (one-hot over its sorted alphabet), and for
    ``source="file"`` from the file, so ``timesteps`` and ``features`` may then be left out.
    """

    timesteps: int | None = 10
    features: int | None = 4
    batch_size: int | None = None
    source: str = "uniform"
    seed: int = 0
    text: str | None = None
    path: str | None = None

    def validate(self, where: str = "input") -> None:
        _choice(self.source, f"{where}.source", SOURCES)
        derived = self.source in ("text", "file")
        for name in ("timesteps", "features"):
            value = getattr(self, name)
            if value is None and not derived:
                raise SpecError(f"{where}.{name}: required (an integer >= 1)")
            if value is not None:
                _int(value, f"{where}.{name}")
        if self.batch_size is not None:
            _int(self.batch_size, f"{where}.batch_size")
        _int(self.seed, f"{where}.seed", minimum=0, maximum=MAX_SEED)
        if self.source == "text":
            if not isinstance(self.text, str) or not self.text:
                raise SpecError(f'{where}.text: source = "text" needs a non-empty text')
            alphabet = len(set(self.text))
            if self.features is not None and self.features != alphabet:
                raise SpecError(
                    f"{where}.features: the text has {alphabet} distinct characters, so features must be "
                    f"{alphabet} (or left out); got {self.features}"
                )
            if self.timesteps is not None and self.timesteps != len(self.text):
                raise SpecError(
                    f"{where}.timesteps: the text is {len(self.text)} characters long, so timesteps must be "
                    f"{len(self.text)} (or left out); got {self.timesteps}"
                )
        if self.source == "file" and (not isinstance(self.path, str) or not self.path):
            raise SpecError(f'{where}.path: source = "file" needs the path of a .csv or .npy file')

    def with_shape(self, timesteps: int, features: int) -> InputSpec:
        return replace(self, timesteps=timesteps, features=features)


@dataclass(frozen=True)
class InitSpec:
    """How weights are drawn when no trained weights are loaded.

    ``gain`` scales the recurrent weights of the ``normal`` scheme (spectral radius about ``gain``):
    below 1 the dynamics are ordered, above 1 they saturate and turn chaotic. Other schemes ignore it.
    """

    scheme: str = "uniform01"
    gain: float = 1.0
    seed: int = 0

    def validate(self, where: str = "init") -> None:
        _choice(self.scheme, f"{where}.scheme", SCHEMES)
        if isinstance(self.gain, bool) or not isinstance(self.gain, (int, float)) or self.gain < 0 \
                or (isinstance(self.gain, float) and not math.isfinite(self.gain)):  # (an int may not fit a float)
            raise SpecError(f"{where}.gain: must be a finite number >= 0, got {_short(self.gain)}")
        if self.gain > MAX_GAIN:
            raise SpecError(f"{where}.gain: must be at most {MAX_GAIN:g} (larger gains overflow float32 weights), "
                            f"got {_short(self.gain)}")
        _int(self.seed, f"{where}.seed", minimum=0, maximum=MAX_SEED)


@dataclass(frozen=True)
class ModelSpec:
    """A whole run: input, the stack of layers (index 0 = input side), initialisation.

    ``weights`` optionally names a trained weights file (``.keras``, ``.pt``/``.pth``) whose values
    replace the initialisation; its architecture must match ``layers``.
    """

    input: InputSpec = field(default_factory=InputSpec)
    layers: tuple[LayerSpec, ...] = (LayerSpec(),)
    init: InitSpec = field(default_factory=InitSpec)
    weights: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        self.validate()

    def validate(self) -> None:
        if not isinstance(self.input, InputSpec):
            raise SpecError("input: must be an InputSpec")
        if not isinstance(self.init, InitSpec):
            raise SpecError("init: must be an InitSpec")
        self.input.validate()
        self.init.validate()
        if not self.layers:
            raise SpecError("layers: the stack is empty; add at least one [[layers]] table (SimpleRNN, GRU or LSTM)")
        if len(self.layers) > MAX_LAYERS:
            raise SpecError(f"layers: {len(self.layers)} layers; rnnviz runs stacks of at most {MAX_LAYERS}")
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, LayerSpec):
                raise SpecError(f"layers[{i}]: must be a LayerSpec")
            layer.validate(f"layers[{i}]")
            if i < len(self.layers) - 1 and layer.return_sequences is False:
                raise SpecError(
                    f"layers[{i}].return_sequences: layer {i + 1} feeds layer {i + 2}, so it must return "
                    "sequences (set it to true or leave it out)"
                )
        if self.weights is not None and (not isinstance(self.weights, str) or not self.weights):
            raise SpecError("weights: must be the path of a .keras, .pt or .pth file")

    def returns_sequences(self, index: int) -> bool:
        """Whether layer ``index`` (0-based) outputs its whole sequence or only its last state."""
        explicit = self.layers[index].return_sequences
        return explicit if explicit is not None else index < len(self.layers) - 1

    def to_dict(self) -> dict[str, Any]:
        """A plain dict with every default made explicit, ready for TOML or JSON."""
        data: dict[str, Any] = {
            "input": {k: v for k, v in asdict(self.input).items() if v is not None},
            "init": asdict(self.init),
            "layers": [
                {"type": layer.type, "units": layer.units, "bidirectional": layer.bidirectional,
                 "return_sequences": self.returns_sequences(i)}
                for i, layer in enumerate(self.layers)
            ],
        }
        if self.weights is not None:
            data["weights"] = self.weights
        return data

    def to_toml(self) -> str:
        return _dump_toml(self.to_dict())


_FIELDS = {
    "input": {f for f in InputSpec.__dataclass_fields__},
    "init": {f for f in InitSpec.__dataclass_fields__},
    "layers": {f for f in LayerSpec.__dataclass_fields__},
}


def _check_keys(table: Any, section: str, where: str) -> Mapping[str, Any]:
    if not isinstance(table, Mapping):
        raise SpecError(f"{where}: must be a table, got {type(table).__name__}")
    unknown = sorted(set(table) - _FIELDS[section])
    if unknown:
        raise SpecError(f"{where}: unknown field {unknown[0]!r}; allowed: {', '.join(sorted(_FIELDS[section]))}")
    return table


def spec_from_dict(data: Any, base_dir: Path | None = None) -> ModelSpec:
    """Build and validate a spec from parsed TOML/JSON.

    Relative ``input.path`` and ``weights`` paths are resolved against ``base_dir`` (the spec file's
    folder), so a spec can travel with its data.
    """
    if not isinstance(data, Mapping):
        raise SpecError("the top level must be a table with [input] and [[layers]]")
    unknown = sorted(set(data) - {"input", "init", "layers", "weights"})
    if unknown:
        raise SpecError(f"unknown section {unknown[0]!r}; allowed: input, init, layers, weights")
    if "input" not in data:
        raise SpecError("[input]: missing; it needs at least timesteps and features")
    input_table = dict(_check_keys(data["input"], "input", "input"))
    input_table.setdefault("timesteps", None)
    input_table.setdefault("features", None)
    init_table = _check_keys(data.get("init", {}), "init", "init")
    layers_data = data.get("layers", [])
    if not isinstance(layers_data, list):
        raise SpecError("layers: must be an array of tables ([[layers]])")
    if len(layers_data) > MAX_LAYERS:  # before checking each of them
        raise SpecError(f"layers: {len(layers_data)} layers; rnnviz runs stacks of at most {MAX_LAYERS}")
    layers = []
    for i, table in enumerate(layers_data):
        table = _check_keys(table, "layers", f"layers[{i}]")
        if "type" not in table or "units" not in table:
            raise SpecError(f"layers[{i}]: needs type ({', '.join(LAYER_TYPES)}) and units")
        layers.append(LayerSpec(**table))
    weights = data.get("weights")
    if base_dir is not None:
        if isinstance(input_table.get("path"), str) and input_table["path"]:
            input_table["path"] = str((base_dir / input_table["path"]).resolve())
        if isinstance(weights, str) and weights:
            weights = str((base_dir / weights).resolve())
    return ModelSpec(input=InputSpec(**input_table), layers=tuple(layers), init=InitSpec(**init_table),
                     weights=weights)


def read_table(path: str | Path, what: str = "model spec") -> Any:
    """Parse a TOML (or ``.json``) file that describes ``what``; errors name the file.

    Only a regular file of at most ``MAX_SPEC_BYTES`` is read: a FIFO would block forever and
    ``/dev/zero`` (or a link to it) would fill the memory. Sweep files are read the same way.
    """
    path = Path(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise SpecError(f"{path}: cannot read (it is a directory)")
        if not stat.S_ISREG(info.st_mode):
            raise SpecError(f"{path}: not a regular file (a device, FIFO or socket); expected a TOML or JSON {what}")
        if info.st_size > MAX_SPEC_BYTES:
            raise SpecError(f"{path}: {info.st_size / 2**20:.1f} MiB is too large for a {what} (at most "
                            f"{MAX_SPEC_BYTES // 2**20} MiB)")
        with open(path, "rb") as fh:
            raw = fh.read(MAX_SPEC_BYTES + 1)
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_SPEC_BYTES:  # it grew since stat()
        raise SpecError(f"{path}: too large for a {what} (at most {MAX_SPEC_BYTES // 2**20} MiB)")
    try:
        text = raw.decode("utf-8-sig")  # a byte order mark, as Windows editors write, is not part of the text
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a text file (expected TOML or JSON in UTF-8)") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: malformed TOML: {exc}") from None
    except RecursionError:
        raise SpecError(f"{path}: nested too deeply to be a {what}") from None
    except ValueError:  # what is left: an integer longer than Python converts (sys.get_int_max_str_digits)
        raise SpecError(f"{path}: holds an integer too long to read (more than {sys.get_int_max_str_digits()} "
                        "digits)") from None


def load_spec(path: str | Path) -> ModelSpec:
    """Read a spec from a ``.toml`` or ``.json`` file; errors name the file."""
    path = Path(path)
    data = read_table(path)
    try:
        return spec_from_dict(data, base_dir=path.parent)
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from None
    except RecursionError:
        raise SpecError(f"{path}: nested too deeply to be a model spec") from None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    # A JSON string is a valid TOML basic string, once DEL (which JSON leaves raw and TOML forbids) is escaped.
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def _dump_toml(data: Mapping[str, Any]) -> str:
    lines = []
    if "weights" in data:
        lines += [f"weights = {_toml_value(data['weights'])}", ""]
    for section in ("input", "init"):
        lines.append(f"[{section}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in data[section].items()]
        lines.append("")
    for layer in data["layers"]:
        lines.append("[[layers]]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in layer.items()]
        lines.append("")
    return "\n".join(lines)
