"""What the views show of the run in progress: per stream, the states received so far and how much of
them playback has revealed. Plain numpy, filled from the worker's blocks in the GUI thread.

A *stream* is one direction of one layer. Playback runs over *sweep steps* ``0 … layers × T``: at
sweep step ``s`` layer ``l`` (0-based) has advanced ``clamp(s - l·T, 0, T)`` timesteps in each of its
directions, forward from ``t = 0`` and backward from ``t = T-1``. A stream never reveals more steps
than it has received, so its arrays can start as cheap zeros: unreceived rows are never shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnnviz.engine.stepper import Block
from rnnviz.spec import ModelSpec
from rnnviz.trace import SATURATION_THRESHOLD, saturation_stats


@dataclass
class Stream:
    layer: int  # 0-based
    direction: str
    layer_type: str
    units: int
    hidden: np.ndarray  # (T, units); rows beyond ``received`` are meaningless
    gates: dict[str, np.ndarray]
    saturated: np.ndarray  # (T,) fraction of units with |h| >= threshold
    gain: np.ndarray  # (T,) mean of 1 - h²
    received: int = 0  # timesteps the worker has delivered (in this direction's own order)
    revealed: int = 0  # timesteps shown so far (<= received)
    version: int = 0  # bumped whenever what the views should show changes

    @property
    def title(self) -> str:
        return f"Layer {self.layer + 1} · {self.layer_type}({self.units}) · {self.direction}"

    @property
    def quantities(self) -> tuple[str, ...]:
        """What a view of this stream can show: h, then the recorded gates (and an LSTM's cell c)."""
        return ("h", *self.gates)

    def values(self, quantity: str) -> np.ndarray:
        """(T, units) of ``quantity`` (one of :attr:`quantities`)."""
        return self.hidden if quantity == "h" else self.gates[quantity]

    def revealed_slice(self, count: int | None = None) -> slice:
        """Input-time rows covered by the first ``count`` (default: revealed) steps of this direction."""
        steps = self.hidden.shape[0]
        count = self.revealed if count is None else count
        return slice(0, count) if self.direction == "forward" else slice(steps - count, steps)


# Heatmaps and saturation lines drawn at most: each plot costs tens of milliseconds to build, so a
# stack of a thousand layers would freeze the window for minutes. The rest is computed and exported.
MAX_SHOWN_STREAMS = 32


@dataclass
class RunData:
    spec: ModelSpec
    streams: list[Stream] = field(default_factory=list)
    computed: int = 0  # sweep steps the worker has finished
    threshold: float = SATURATION_THRESHOLD

    def __post_init__(self) -> None:
        self._by_key = {(s.layer, s.direction): s for s in self.streams}

    @classmethod
    def empty(cls, spec: ModelSpec) -> RunData:
        steps = spec.input.timesteps
        streams = []
        for index, layer in enumerate(spec.layers):
            for direction in layer.directions:
                streams.append(Stream(
                    layer=index, direction=direction, layer_type=layer.type, units=layer.units,
                    hidden=np.zeros((steps, layer.units), np.float32),
                    gates={g: np.zeros((steps, layer.units), np.float32) for g in layer.gates},
                    saturated=np.zeros(steps, np.float32), gain=np.zeros(steps, np.float32),
                ))
        return cls(spec, streams)

    @property
    def timesteps(self) -> int:
        return self.spec.input.timesteps

    @property
    def total(self) -> int:
        return len(self.spec.layers) * self.timesteps

    @property
    def shown_streams(self) -> list[Stream]:
        """The streams the views draw: the first MAX_SHOWN_STREAMS, from the input side."""
        return self.streams[:MAX_SHOWN_STREAMS]

    def stream(self, layer: int, direction: str) -> Stream:
        return self._by_key[layer, direction]

    def store(self, block: Block) -> None:
        """Copy a block's states into the stream's arrays; the worker thread calls this before it hands
        the block over.

        The arrays start as untouched zeros, so the first write to each row faults its memory pages in,
        which costs far more than the copy (10-20 ms per block while the engine's threads allocate and
        free memory beside it): the worker pays for that, not the GUI. Rows beyond ``received`` are
        never read, so writing them while the GUI reads earlier rows is safe.
        """
        stream = self.stream(block.layer, block.direction)
        rows = slice(block.start, block.stop)
        stream.hidden[rows] = block.hidden
        for gate, values in block.gates.items():
            stream.gates[gate][rows] = values

    def add(self, block: Block) -> None:
        """Count a block the worker has stored (see :meth:`store`) as received, in the GUI thread."""
        stream = self.stream(block.layer, block.direction)
        rows = slice(block.start, block.stop)
        stream.saturated[rows], stream.gain[rows] = saturation_stats(block.hidden, self.threshold)
        steps = self.timesteps
        stream.received = max(stream.received, block.stop if stream.direction == "forward" else steps - block.start)
        self.computed = max(self.computed, block.done)

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold
        for stream in self.streams:
            rows = stream.revealed_slice(stream.received)
            stream.saturated[rows], _ = saturation_stats(stream.hidden[rows], threshold)
            stream.version += 1

    def reveal(self, position: int) -> list[Stream]:
        """Show every stream as of sweep step ``position``; returns the streams whose view changed."""
        changed = []
        for stream in self.streams:
            count = int(min(max(position - stream.layer * self.timesteps, 0), stream.received))
            if count != stream.revealed:
                stream.revealed = count
                stream.version += 1
                changed.append(stream)
        return changed

    def locate(self, position: int) -> tuple[int, int]:
        """(layer from 0, timesteps into it) of sweep step ``position``, for the status line."""
        if self.timesteps == 0:
            return 0, 0
        layer = min(position // self.timesteps, len(self.spec.layers) - 1)
        return layer, position - layer * self.timesteps
