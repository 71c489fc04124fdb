"""Keras-exact model summaries: output shapes, parameter counts, and the text table Keras prints.

The table reproduces ``model.summary()`` of Keras 2 (the version the tutorial was written with)
character for character: 65 columns, column stops at 29 and 55, long cells wrapped the way Keras
wraps them (``bidirectional (Bidirectiona`` / ``l)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from rnnviz.spec import LayerSpec, ModelSpec

_LINE = 65
_STOPS = (29, 55, 65)
_KERAS_NAMES = {"SimpleRNN": "simple_rnn", "GRU": "gru", "LSTM": "lstm"}


def cell_params(layer_type: str, input_dim: int, units: int) -> int:
    """Parameters of one direction: SimpleRNN has one bias, GRU (reset_after) two per gate, LSTM one per gate."""
    if layer_type == "GRU":
        return 3 * (input_dim * units + units * units + 2 * units)
    if layer_type == "LSTM":
        return 4 * (input_dim * units + units * units + units)
    return input_dim * units + units * units + units


def layer_params(layer: LayerSpec, input_dim: int) -> int:
    return len(layer.directions) * cell_params(layer.type, input_dim, layer.units)


def layer_input_dims(spec: ModelSpec) -> list[int]:
    """The feature size each layer reads: the input's, then each previous layer's output width."""
    dims = [spec.input.features or 0]
    for layer in spec.layers[:-1]:
        dims.append(layer.units * len(layer.directions))
    return dims


def keras_names(layers: Sequence[LayerSpec]) -> list[str]:
    """Names Keras gives to freshly created layers of one model: ``gru``, ``gru_1``, ``lstm``, ``bidirectional``,
    each class counted on its own."""
    seen: dict[str, int] = {}
    names = []
    for layer in layers:
        base = "bidirectional" if layer.bidirectional else _KERAS_NAMES[layer.type]
        count = seen.get(base, 0)
        seen[base] = count + 1
        names.append(base if count == 0 else f"{base}_{count}")
    return names


@dataclass(frozen=True)
class SummaryRow:
    name: str
    type: str
    output_shape: tuple[int | None, ...]
    params: int

    @property
    def shape_text(self) -> str:
        """The output shape as Keras prints it: ``(None, 10, 16)``."""
        return "(" + ", ".join("None" if d is None else str(d) for d in self.output_shape) + ")"


@dataclass(frozen=True)
class Summary:
    """What ``model.summary()`` reports; ``str()`` gives the Keras text table."""

    model_name: str
    rows: tuple[SummaryRow, ...]

    @property
    def total_params(self) -> int:
        return sum(row.params for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "layers": [
                {"name": r.name, "type": r.type, "output_shape": list(r.output_shape), "params": r.params}
                for r in self.rows
            ],
            "total_params": self.total_params,
            "trainable_params": self.total_params,
            "non_trainable_params": 0,
        }

    def __str__(self) -> str:
        lines = [f'Model: "{self.model_name}"', "_" * _LINE]
        lines += _row(["Layer (type)", "Output Shape", "Param #"])
        lines.append("=" * _LINE)
        for row in self.rows:
            lines += _row([f"{row.name} ({row.type})", row.shape_text, f"{row.params}"])
            lines.append(" " * _LINE)
        lines.append("=" * _LINE)
        lines += [
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.total_params:,}",
            "Non-trainable params: 0",
            "_" * _LINE,
        ]
        return "\n".join(lines)


def _row(fields: list[str]) -> list[str]:
    """Keras 2's ``print_row``: fill each column, wrap what does not fit onto further lines."""
    left = list(fields)
    lines = []
    while any(left):
        line = ""
        for col, text in enumerate(left):
            start = _STOPS[col - 1] if col else 0
            space = 2 if col != len(_STOPS) - 1 else 0
            cutoff = _STOPS[col] - start - space
            fit = text[:cutoff]
            breaks = [fit.find(x) + len(x) for x in ("),", "},", "],", "',") if fit.find(x) >= 0]
            if breaks:
                cutoff = min(breaks)
                fit = fit[:cutoff]
            if col == 0:
                line += " "
            line += fit + " " * space
            left[col] = text[cutoff:]
            line += " " * (_STOPS[col] - len(line))
        lines.append(line)
    return lines


def summary(spec: ModelSpec, names: Sequence[str] | None = None, model_name: str = "sequential") -> Summary:
    """Keras' summary of ``spec``; ``names`` overrides the generated layer names (e.g. a .keras file's).

    ``input.features`` and ``input.timesteps`` must be known (a file-backed input resolved first).
    """
    names = list(names) if names is not None else keras_names(spec.layers)
    batch = spec.input.batch_size
    rows = []
    for i, (layer, input_dim) in enumerate(zip(spec.layers, layer_input_dims(spec))):
        width = layer.units * len(layer.directions)
        shape = (batch, spec.input.timesteps, width) if spec.returns_sequences(i) else (batch, width)
        rows.append(SummaryRow(
            name=names[i],
            type="Bidirectional" if layer.bidirectional else layer.type,
            output_shape=shape,
            params=layer_params(layer, input_dim),
        ))
    return Summary(model_name=model_name, rows=tuple(rows))
