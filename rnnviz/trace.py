"""Trace: every recorded state of a run, in preallocated float32 arrays, and its statistics.

Arrays are indexed in input-time order for both directions (row ``t`` of a backward direction is the
state after it has read inputs ``T-1 … t``), as Keras and torch align them.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

import numpy as np

from rnnviz.errors import RnnvizError
from rnnviz.spec import ModelSpec
from rnnviz.spool import release, row_chunks, spool_folder, spooled_arrays
from rnnviz.summary import Summary, summary

SATURATION_THRESHOLD = 0.95
# Recorded states larger than this go to a file-backed spool and stream through memory (rnnviz.spool),
# so that a run of a million steps of 64 units (244 MiB of SimpleRNN states, 1.4 GiB of LSTM states and
# gates) stays within a few hundred MB besides torch's own 220 MB. Smaller ones stay in memory, where
# nothing pays for page faults on the file (about a tenth of the time of a 4-layer bidirectional LSTM
# of 256 units over 4000 steps, whose 188 MiB stay below it).
SPOOL_ABOVE = 200 * 2**20
CHUNK_ROWS_BYTES = 4 * 2**20  # rows of a state array read at a time where it is read whole


def _with_text_shape(spec: ModelSpec) -> ModelSpec:
    """A text source's shape follows from its text: estimate with it, not with zeros, before the one-hot
    input (timesteps × distinct characters) is built."""
    source = spec.input
    if source.source == "text" and (source.timesteps is None or source.features is None):
        from rnnviz.inputs import text_shape

        return replace(spec, input=source.with_shape(*text_shape(source.text)))
    return spec


def state_bytes(spec: ModelSpec) -> int:
    """Bytes the recorded states of ``spec`` will take (hidden states plus GRU gates, LSTM gates and cell states)."""
    spec = _with_text_shape(spec)
    steps = spec.input.timesteps or 0
    return 4 * steps * sum(len(l.directions) * l.units * (1 + len(l.gates)) for l in spec.layers)


def trace_bytes(spec: ModelSpec) -> int:
    """Bytes a trace of ``spec`` takes: its states and its input sequence."""
    spec = _with_text_shape(spec)
    return state_bytes(spec) + 4 * (spec.input.timesteps or 0) * (spec.input.features or 0)


def spooled(spec: ModelSpec) -> bool:
    """Whether the states of ``spec`` go to a spool on disk (see :mod:`rnnviz.spool`) rather than memory."""
    return state_bytes(spec) > SPOOL_ABOVE


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def weight_bytes(spec: ModelSpec) -> int:
    """Bytes the float32 weights of ``spec`` take."""
    from rnnviz.summary import layer_input_dims, layer_params

    spec = _with_text_shape(spec)
    return 4 * sum(layer_params(layer, dim) for layer, dim in zip(spec.layers, layer_input_dims(spec)))


def check_memory(spec: ModelSpec, origin: str | None = None) -> None:
    """Refuse, before allocating anything, a run whose weights and states would not fit.

    The engine briefly holds about as much again on the compute device, so what stays in memory may
    use at most half of the memory available now; spooled states need as much free disk in the
    spool's folder instead. ``origin`` (the spec's file) prefixes the message.
    """
    where = f"{origin + ': ' if origin else ''}model too large: "
    in_memory = trace_bytes(spec) + weight_bytes(spec)
    if spooled(spec):
        on_disk, in_memory = state_bytes(spec), in_memory - state_bytes(spec)
        free = shutil.disk_usage(spool_folder()).free
        if on_disk > free:
            raise RnnvizError(f"{where}its recorded states need about {on_disk / 2**30:.1f} GiB on disk and "
                              f"{spool_folder()} has {free / 2**30:.1f} GiB free; use fewer timesteps, layers or "
                              "units, or point TMPDIR at a larger disk")
    available = _available_memory()
    if available is not None and 2 * in_memory > available:
        raise RnnvizError(
            f"{where}its weights and every recorded state need about {in_memory / 2**30:.1f} GiB, and only "
            f"{available / 2**30:.1f} GiB of memory is available; use fewer timesteps, layers or units"
        )


def saturation_stats(hidden: np.ndarray, threshold: float = SATURATION_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """Per timestep: the fraction of units with ``|h| >= threshold`` and the mean tanh gain ``1 - h²``.

    The gain is the derivative of tanh at the state: near 0 the unit has saturated and passes almost
    no gradient.
    """
    saturated = (np.abs(hidden) >= np.float32(threshold)).mean(axis=-1, dtype=np.float32)
    gain = (np.float32(1) - hidden * hidden).mean(axis=-1, dtype=np.float32)
    return saturated.astype(np.float32), gain.astype(np.float32)


@dataclass
class Trace:
    """The states of one run. Layers count from 1 in the public accessors, as in the exported files."""

    spec: ModelSpec
    inputs: np.ndarray
    names: list[str]
    model_name: str = "sequential"
    device: str = "cpu"
    _hidden: list[dict[str, np.ndarray]] = field(default_factory=list, repr=False)
    _gates: list[dict[str, dict[str, np.ndarray]]] = field(default_factory=list, repr=False)

    @classmethod
    def allocate(cls, spec: ModelSpec, inputs: np.ndarray, names: list[str], model_name: str = "sequential",
                 device: str = "cpu") -> Trace:
        check_memory(spec)
        steps = spec.input.timesteps
        shapes = [(steps, layer.units) for layer in spec.layers for _ in layer.directions for _ in range(1 + len(layer.gates))]
        arrays = iter(spooled_arrays(shapes) if spooled(spec) else [np.zeros(shape, np.float32) for shape in shapes])
        hidden, gates = [], []
        for layer in spec.layers:
            per_direction = {d: [next(arrays) for _ in range(1 + len(layer.gates))] for d in layer.directions}
            hidden.append({d: values[0] for d, values in per_direction.items()})
            gates.append({d: dict(zip(layer.gates, values[1:])) for d, values in per_direction.items()})
        return cls(spec, inputs, names, model_name, device, hidden, gates)

    @property
    def timesteps(self) -> int:
        return self.inputs.shape[0]

    def _check(self, layer: int, direction: str) -> int:
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not 1 <= layer <= len(self._hidden):
            raise IndexError(f"layer must be 1 … {len(self._hidden)} (layers count from 1), got {layer!r}")
        if direction not in self._hidden[layer - 1]:
            raise KeyError(f"layer {layer} has directions {', '.join(self._hidden[layer - 1])}; got {direction!r}")
        return layer - 1

    def hidden(self, layer: int, direction: str = "forward") -> np.ndarray:
        """Hidden states of ``layer`` (from 1) in ``direction``: (timesteps, units) float32."""
        return self._hidden[self._check(layer, direction)][direction]

    def gates(self, layer: int, direction: str = "forward") -> dict[str, np.ndarray]:
        """What ``layer`` records besides h, per timestep, keyed as :attr:`LayerSpec.gates`: GRU's ``z``, ``r``
        and candidate ``hh``; LSTM's ``i``, ``f``, candidate ``g``, ``o`` and cell state ``c``; empty for
        SimpleRNN."""
        return self._gates[self._check(layer, direction)][direction]

    def cell(self, layer: int, direction: str = "forward") -> np.ndarray:
        """Cell states ``c`` of an LSTM ``layer``: (timesteps, units) float32."""
        gates = self.gates(layer, direction)
        if "c" not in gates:
            raise KeyError(f"layer {layer} is a {self.spec.layers[layer - 1].type}; only an LSTM has a cell state")
        return gates["c"]

    def output(self, layer: int) -> np.ndarray:
        """What the Keras layer returns: directions concatenated, the whole sequence or the last state."""
        index = self._check(layer, "forward")
        parts = [self._hidden[index][d] for d in self.spec.layers[index].directions]
        if self.spec.returns_sequences(index):
            return np.concatenate(parts, axis=-1)
        last = [parts[0][-1]] + [p[0] for p in parts[1:]]  # backward's final state sits at t = 0
        return np.concatenate(last, axis=-1)

    def streams(self) -> Iterator[tuple[int, str, np.ndarray]]:
        """(layer from 1, direction, hidden states) for every layer and direction, in stack order."""
        for i, per_direction in enumerate(self._hidden, start=1):
            for direction, states in per_direction.items():
                yield i, direction, states

    def gate_streams(self) -> Iterator[tuple[int, str, str, np.ndarray]]:
        """(layer from 1, direction, gate name, values) for every recorded gate or cell state, in stack order."""
        for i, per_direction in enumerate(self._gates, start=1):
            for direction, gates in per_direction.items():
                for name, values in gates.items():
                    yield i, direction, name, values

    def saturation(self, threshold: float = SATURATION_THRESHOLD) -> list[tuple[int, str, np.ndarray, np.ndarray]]:
        """(layer, direction, saturated fraction per t, mean tanh gain per t) for every stream.

        Computed a few MiB of rows at a time: the temporaries of a whole stream at once were twice its size.
        """
        stats = []
        for i, d, h in self.streams():
            parts = [saturation_stats(rows, threshold)
                     for _, rows in row_chunks(h, CHUNK_ROWS_BYTES // (4 * max(1, h.shape[1])))]
            stats.append((i, d, np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])))
        return stats

    def release(self) -> None:
        """Drop the resident pages of spooled states (see :mod:`rnnviz.spool`); nothing for states in memory."""
        for per_direction, gates in zip(self._hidden, self._gates):
            for direction, states in per_direction.items():
                release(states)
                for values in gates[direction].values():
                    release(values)

    def summary(self) -> Summary:
        return summary(self.spec, self.names, self.model_name)

    def to_csv(self, out_dir: str | Path, tidy: bool = False) -> list[Path]:
        """Write the CSV export (see the README) into ``out_dir``; returns the files written."""
        from rnnviz.export import write_csv

        return write_csv(self, Path(out_dir), tidy=tidy)

    def to_npz(self, out_dir: str | Path) -> list[Path]:
        """Write the same arrays into ``out_dir/hidden_states.npz`` (plus spec and summary)."""
        from rnnviz.export import write_npz

        return write_npz(self, Path(out_dir))
