"""The stepping generator: the one place where states are computed, for the GUI and headless runs.

Layers run one after another (a layer needs its predecessor's whole output). Within a layer every
direction sweeps its own time order, forward from ``t = 0`` and backward from ``t = T-1``, in
blocks of :data:`BLOCK` steps; on the CPU the two directions of a bidirectional layer run at the same
time on two threads. Each block runs torch's fused ``nn.RNN``/``nn.GRU`` kernel from the state the
previous block ended in, then recovers the GRU gates of the whole block in two matrix products
instead of stepping them one by one.

The block size is fixed, not chosen by the consumer, so the GUI and ``rnnviz run`` compute
bit-identical states whatever pace they drain the generator at.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np

from rnnviz.engine.cells import CellWeights, LayerWeights, to_torch
from rnnviz.engine.device import resolve_device
from rnnviz.spec import ModelSpec
from rnnviz.trace import Trace

if TYPE_CHECKING:
    import torch

BLOCK = 64


@dataclass(frozen=True)
class Block:
    """States of one direction of one layer over input times ``start … stop-1`` (copies).

    ``done`` of ``total`` sweep steps are finished once this block is: a sweep step advances every
    direction of the current layer by one timestep, so ``total = layers × timesteps``.
    """

    layer: int  # 0-based
    direction: str
    start: int
    stop: int
    hidden: np.ndarray
    gates: dict[str, np.ndarray] = field(default_factory=dict)
    done: int = 0
    total: int = 0


class _Direction:
    """One direction of one layer on the device: its fused torch module and its sweep state."""

    def __init__(self, cell: CellWeights, direction: str, device: str) -> None:
        import torch

        params = {k: torch.from_numpy(v).to(device) for k, v in to_torch(cell).items()}
        module_type = torch.nn.GRU if cell.type == "GRU" else torch.nn.RNN
        module = module_type(cell.input_dim, cell.units, device="meta").to_empty(device=device)
        with torch.no_grad():
            for name, value in params.items():
                getattr(module, f"{name}_l0").copy_(value)
        if hasattr(module, "flatten_parameters"):
            module.flatten_parameters()
        self.module = module
        self.params = params
        self.is_gru = cell.type == "GRU"
        self.units = cell.units
        self.direction = direction
        self.state = torch.zeros(1, cell.units, device=device)

    def run(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Advance over ``x`` (steps in this direction's own order); returns states and GRU gates."""
        import torch

        with torch.inference_mode():
            before = self.state
            out, self.state = self.module(x, before)
            if not self.is_gru:
                return out, {}
            p, u = self.params, self.units
            previous = torch.cat([before, out[:-1]])
            gi = torch.addmm(p["bias_ih"], x, p["weight_ih"].t())
            gh = torch.addmm(p["bias_hh"], previous, p["weight_hh"].t())
            r = torch.sigmoid(gi[:, :u] + gh[:, :u])
            z = torch.sigmoid(gi[:, u:2 * u] + gh[:, u:2 * u])
            hh = torch.tanh(gi[:, 2 * u:] + r * gh[:, 2 * u:])
            return out, {"z": z, "r": r, "hh": hh}


class Stepper:
    """Iterate to compute a run block by block; afterwards :attr:`trace` holds every state.

    Parameters
    ----------
    spec
        The model, with ``input.timesteps`` and ``input.features`` known.
    weights
        One :class:`LayerWeights` per layer (see :mod:`rnnviz.engine.cells`).
    inputs
        (timesteps, features) float32.
    device
        ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
    names
        Layer names for summaries (Keras' defaults when omitted).
    """

    def __init__(self, spec: ModelSpec, weights: Sequence[LayerWeights], inputs: np.ndarray,
                 device: str = "auto", names: Sequence[str] | None = None, model_name: str = "sequential") -> None:
        from rnnviz.summary import keras_names

        self.spec = spec
        self.weights = list(weights)
        self.device = resolve_device(device)
        self.trace = Trace.allocate(spec, np.ascontiguousarray(inputs, np.float32),
                                    list(names) if names is not None else keras_names(spec.layers),
                                    model_name, self.device)
        self.total = len(spec.layers) * spec.input.timesteps

    def __iter__(self) -> Iterator[Block]:
        import torch

        steps = self.spec.input.timesteps
        x = torch.from_numpy(self.trace.inputs).to(self.device)
        pool = ThreadPoolExecutor(2, thread_name_prefix="rnnviz-direction") if self.device == "cpu" else None
        try:
            for index, (layer, cells) in enumerate(zip(self.spec.layers, self.weights)):
                directions = [_Direction(cell, d, self.device) for cell, d in zip(cells, layer.directions)]
                sources = {"forward": x, "backward": x.flip(0) if layer.bidirectional else None}
                outputs = {d.direction: torch.empty(steps, d.units, device=self.device) for d in directions}
                for start in range(0, steps, BLOCK):
                    stop = min(start + BLOCK, steps)

                    def advance(d: _Direction) -> dict[str, torch.Tensor]:
                        out, gates = d.run(sources[d.direction][start:stop])
                        outputs[d.direction][start:stop] = out
                        return {"hidden": out, **gates}

                    if pool is not None and len(directions) > 1:
                        results = list(pool.map(advance, directions))
                    else:
                        results = [advance(d) for d in directions]
                    done = index * steps + stop
                    for d, result in zip(directions, results):
                        yield self._record(index, d.direction, start, stop, result, done)
                x = torch.cat([outputs["forward"]] + ([outputs["backward"].flip(0)] if layer.bidirectional else []),
                              dim=1)
        finally:
            if pool is not None:
                pool.shutdown(wait=True)

    def _record(self, layer: int, direction: str, start: int, stop: int,
                computed: dict[str, torch.Tensor], done: int) -> Block:
        """Copy one direction's block into the trace (in input-time order) and return copies of it."""
        steps = self.spec.input.timesteps
        if direction == "backward":  # computed rows are times T-1-start … T-stop, in that order
            rows = slice(steps - stop, steps - start)
            arrays = {k: v.flip(0).cpu().numpy() for k, v in computed.items()}
            first, last = steps - stop, steps - start
        else:
            rows = slice(start, stop)
            arrays = {k: v.cpu().numpy() for k, v in computed.items()}
            first, last = start, stop
        self.trace._hidden[layer][direction][rows] = arrays.pop("hidden")
        for gate, values in arrays.items():
            self.trace._gates[layer][direction][gate][rows] = values
        return Block(
            layer=layer, direction=direction, start=first, stop=last,
            hidden=self.trace._hidden[layer][direction][rows].copy(),
            gates={g: self.trace._gates[layer][direction][g][rows].copy() for g in arrays},
            done=done, total=self.total,
        )

    def run(self) -> Trace:
        """Drain the generator and return the finished trace (the headless path)."""
        for _ in self:
            pass
        return self.trace
