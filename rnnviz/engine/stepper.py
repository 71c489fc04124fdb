"""The stepping generator: the one place where states are computed, for the GUI and headless runs.

Every direction of every layer is a *sweep*: it reads its layer's input in its own time order,
forward from ``t = 0`` and backward from ``t = T-1``, in blocks (see :func:`block_edges`). Each block
runs torch's fused ``nn.RNN``/``nn.GRU``/``nn.LSTM`` kernel from the state the previous block ended in
(``(h, c)`` for an LSTM), writes the states into the trace (on the CPU straight into its arrays), and
for a GRU or LSTM recovers the gates of the whole block in two matrix products instead of stepping
them one by one: once the block is done, the state each step started from is known. An LSTM's cell
state, which the fused kernel keeps to itself, follows from its gates by a linear recurrence
(``c_t = f_t c_{t-1} + i_t g_t``), solved for the whole block by a parallel prefix scan.

On the CPU the sweeps run on worker threads, each block as soon as the rows it reads are final: the
two directions of a bidirectional layer side by side, and the layers of a unidirectional stack as a
pipeline (layer 2 runs block 1 while layer 1 runs block 2). The generator yields in the same order
on every device: layer by layer, and within a layer block by block, forward before backward.

The blocks are fixed by the number of timesteps, not chosen by the consumer, so the GUI and
``rnnviz run`` compute bit-identical states whatever pace they drain the generator at.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import numpy as np

from rnnviz.engine.cells import CellWeights, LayerWeights, to_torch
from rnnviz.engine.device import check_device_memory, resolve_device
from rnnviz.spec import ModelSpec
from rnnviz.trace import Trace, trace_bytes, weight_bytes

if TYPE_CHECKING:
    import torch

# Steps per block. Each block costs a fused call, thread hand-offs and some Python besides its steps:
# with 64-step blocks a run took about a quarter longer than with 256, and a block of 256 steps
# still takes only milliseconds, so the GUI is not kept waiting. The first blocks of a sweep are
# shorter, FIRST_BLOCK steps and doubling from there, so that the first states arrive at once.
BLOCK = 256
FIRST_BLOCK = 32
AHEAD = 1  # blocks a CPU sweep may compute beyond the one the generator waits for (see _Workers)
RELEASE_EVERY = 32 * 2**20  # bytes of yielded rows after which a spooled trace's pages are dropped


def block_edges(steps: int) -> list[int]:
    """Where a sweep of ``steps`` steps is cut into blocks, in steps from its start (0 … steps).

    A function of ``steps`` alone, never of the consumer: a fused kernel's rounding may depend on how
    many steps it is given, so every run of a model must cut its sweeps in the same places.
    """
    edges, size = [0], min(FIRST_BLOCK, BLOCK)
    while edges[-1] < steps:
        edges.append(min(edges[-1] + size, steps))
        size = min(2 * size, BLOCK)
    return edges


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


def _owned(array: np.ndarray, device: str) -> torch.Tensor:
    """A copy of ``array`` in memory that torch allocated on ``device``.

    MKL's matrix-vector product (one per step inside the fused kernel) rounds differently when its
    operands are not 16-byte aligned, so for bit-identical runs the weights always sit where torch
    puts them (64-byte aligned), never in the caller's arrays. numpy makes the CPU copy because,
    unlike torch's copy, it starts no OpenMP threads (which stall while another process is busy).
    """
    import torch

    if device != "cpu":
        return torch.from_numpy(array).to(device)
    owned = torch.empty(array.shape, dtype=torch.float32)
    owned.numpy()[...] = array
    return owned


class _Sweep:
    """One direction of one layer: its fused torch module, what it reads and writes, how far it got.

    Parameters
    ----------
    cell
        The weights of this direction.
    layer
        Its layer, from 0.
    direction
        ``forward`` or ``backward``.
    sources
        What the layer reads, in input-time order: the input sequence, or the sweeps of the layer
        below (their states concatenated along the units).
    hidden, gates
        Where the states go, (timesteps, units) each, in input-time order: the trace's own arrays on
        the CPU, buffers on the device otherwise.
    """

    def __init__(self, cell: CellWeights, layer: int, direction: str, sources: list[_Sweep] | torch.Tensor,
                 hidden: torch.Tensor, gates: dict[str, torch.Tensor], device: str) -> None:
        import torch

        self.cell = cell
        self.device = device
        self.module: torch.nn.RNNBase | None = None  # built by the first block (see _build)
        self.params: dict[str, torch.Tensor] = {}
        self.kind = cell.type
        self.units = cell.units
        self.layer = layer
        self.direction = direction
        self.sources = sources
        self.hidden = hidden
        self.gates = gates
        self.steps = hidden.shape[0]
        self.edges = block_edges(self.steps)
        self.blocks = len(self.edges) - 1
        self.finished = 0  # blocks whose rows are final
        zeros = torch.zeros(1, cell.units, dtype=torch.float32, device=device)
        self.state: torch.Tensor | tuple[torch.Tensor, torch.Tensor] = \
            (zeros, zeros.clone()) if self.kind == "LSTM" else zeros

    def _build(self) -> None:
        """The torch module over this direction's weights. Built by the first block, on the thread that
        runs it, so that the first layer starts computing before the layers above are set up."""
        import torch

        self.params = {k: _owned(v, self.device) for k, v in to_torch(self.cell).items()}
        module_type = {"SimpleRNN": torch.nn.RNN, "GRU": torch.nn.GRU, "LSTM": torch.nn.LSTM}[self.kind]
        module = module_type(self.cell.input_dim, self.units, device="meta")
        # assign: the module takes these tensors as they are, no copy (nor torch's random init)
        module.load_state_dict({f"{name}_l0": value for name, value in self.params.items()}, assign=True)
        module.requires_grad_(False)
        module.flatten_parameters()
        self.module = module

    def rows(self, k: int) -> tuple[int, int]:
        """Input times ``start, stop`` of this sweep's block ``k``."""
        start, stop = self.edges[k], self.edges[k + 1]
        return (start, stop) if self.direction == "forward" else (self.steps - stop, self.steps - start)

    def covers(self, start: int, stop: int) -> bool:
        """Whether the states at input times ``start … stop-1`` are final."""
        reached = self.edges[self.finished]
        return stop <= reached if self.direction == "forward" else start >= self.steps - reached

    def can_run(self, k: int) -> bool:
        """Whether block ``k``'s input rows are final (the input sequence always is)."""
        return not isinstance(self.sources, list) or all(s.covers(*self.rows(k)) for s in self.sources)

    def run(self, k: int) -> None:
        """Compute block ``k`` (blocks run in order) into :attr:`hidden` and :attr:`gates`."""
        import torch

        if self.module is None:
            self._build()
        start, stop = self.rows(k)
        if isinstance(self.sources, list):
            parts = [s.hidden[start:stop] for s in self.sources]
            x = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        else:
            x = self.sources[start:stop]
        backward = self.direction == "backward"
        with torch.inference_mode():
            before = self.state
            out, self.state = self.module(x.flip(0) if backward else x, before)
            self.hidden[start:stop] = out.flip(0) if backward else out
            if self.kind != "SimpleRNN":
                # The state each step started from, in input-time order like x.
                h, h0 = self.hidden, before[0] if self.kind == "LSTM" else before
                if k > 0:  # the previous block's last state is a row of h (the same values as ``before``)
                    previous = h[start + 1:stop + 1] if backward else h[start - 1:stop - 1]
                else:
                    previous = torch.cat([h[start + 1:stop], h0] if backward else [h0, h[start:stop - 1]])
                if self.kind == "GRU":
                    self._gru_gates(x, previous, start, stop)
                else:
                    self._lstm_gates(x, previous, before[1], start, stop)
        self.finished = k + 1

    def _lstm_gates(self, x: torch.Tensor, previous: torch.Tensor, c0: torch.Tensor, start: int, stop: int) -> None:
        """i, f, g, o and the cell state c of steps ``start … stop-1``, from the h each step started from
        and the c the block started from (``c0``). torch and Keras order the blocks ``[i | f | g | o]``;
        the bias is Keras' one (``to_torch`` puts it all in ``bias_ih``)."""
        import torch

        p, u = self.params, self.units
        pre = torch.addmm(p["bias_ih"], x, p["weight_ih"].t()).addmm_(previous, p["weight_hh"].t())
        i, f, g, o, c = (self.gates[name][start:stop] for name in ("i", "f", "g", "o", "c"))
        torch.sigmoid(pre[:, :u], out=i)
        torch.sigmoid(pre[:, u:2 * u], out=f)
        torch.tanh(pre[:, 2 * u:3 * u], out=g)
        torch.sigmoid(pre[:, 3 * u:], out=o)
        linear_scan(f, torch.mul(i, g), c0[0], reverse=self.direction == "backward", out=c)

    def _gru_gates(self, x: torch.Tensor, previous: torch.Tensor, start: int, stop: int) -> None:
        """z, r and the candidate hh of steps ``start … stop-1``: torch's GRU cell, minus the recurrence.

        torch orders the gate blocks ``[r | z | n]``; ``n`` is Keras' ``hh``.
        """
        import torch

        p, u = self.params, self.units
        gi = torch.addmm(p["bias_ih"], x, p["weight_ih"].t())
        gh = torch.addmm(p["bias_hh"], previous, p["weight_hh"].t())
        r, z, hh = (self.gates[g][start:stop] for g in ("r", "z", "hh"))
        torch.add(gi[:, :u], gh[:, :u], out=r).sigmoid_()
        torch.add(gi[:, u:2 * u], gh[:, u:2 * u], out=z).sigmoid_()
        torch.addcmul(gi[:, 2 * u:], r, gh[:, 2 * u:], out=hh).tanh_()


def linear_scan(a: torch.Tensor, b: torch.Tensor, start: torch.Tensor, reverse: bool, out: torch.Tensor) -> None:
    """``out[t] = a[t] * out[t-1] + b[t]``, ``start`` standing before the first row (``reverse``: from the
    last row back, ``out[t] = a[t] * out[t+1] + b[t]``), for rows of (steps, units) tensors.

    Hillis and Steele's scan: log2(steps) rounds of whole-block products instead of one small operation
    per step, each round combining every row with the one ``span`` rows before it. It only multiplies
    and adds (no division by products of gates, which underflow), so it is as accurate as the loop
    to within a few float32 roundings. ``b`` is overwritten.
    """
    import torch

    steps = a.shape[0]
    edge = -1 if reverse else 0
    b[edge].addcmul_(a[edge], start)
    a = a.clone()  # the gate rows themselves stay as they are
    a_next, b_next = torch.empty_like(a), torch.empty_like(b)
    span = 1
    while span < steps:
        if reverse:  # row t combines with row t + span
            kept, combined, other = slice(steps - span, None), slice(None, steps - span), slice(span, None)
        else:  # row t combines with row t - span
            kept, combined, other = slice(None, span), slice(span, None), slice(None, steps - span)
        b_next[kept] = b[kept]
        torch.addcmul(b[combined], a[combined], b[other], out=b_next[combined])
        b, b_next = b_next, b
        if 2 * span < steps:
            a_next[kept] = a[kept]
            torch.mul(a[combined], a[other], out=a_next[combined])
            a, a_next = a_next, a
        span *= 2
    out.copy_(b)


class _ThreadBudget:
    """torch's intra-op thread count, which CPU workers set to one for themselves.

    ``torch.set_num_threads`` sets the calling thread's count and also the default of threads that
    start later, so while any run's workers are alive new threads start with one. The first run to
    start saves the caller's count (the budget of cores its workers share), the last to stop
    restores it, so overlapping runs (the GUI restarts a run while the last one winds down) neither
    see each other's setting nor leave it behind.
    """

    _lock = threading.Lock()
    _runs = 0
    _saved = 1

    @classmethod
    def enter(cls) -> int:
        """Register a run; returns the caller's thread count."""
        import torch

        with cls._lock:
            if cls._runs == 0:
                cls._saved = torch.get_num_threads()
            cls._runs += 1
            return cls._saved

    @classmethod
    def leave(cls) -> None:
        import torch

        with cls._lock:
            cls._runs -= 1
            if cls._runs == 0:
                torch.set_num_threads(cls._saved)  # once, not per worker: each call rebuilds thread pools


class _Workers:
    """Runs every sweep on its own CPU thread, each block as soon as the rows it reads are final.

    The layer the generator is yielding may run at most :data:`AHEAD` blocks ahead of it, and the
    layers above it only as far as their inputs allow, so a consumer that stops draining (the GUI
    paused) stops the computation within a few blocks. Threads exist only for the layers from the
    one being yielded to as many above it as blocks may run at once (more could never run), so a
    stack of a thousand layers runs on a handful of threads, not two thousand.

    At most as many blocks as the caller has intra-op threads compute at once, each on one thread:
    a step's matrix-vector product is too small to share out (torch's own forward is no faster on
    two threads than on one), and a step shared out over OpenMP threads stalls whenever another
    process holds one of the cores, while independent sweeps merely slow down. One thread per block
    also makes the states independent of the caller's thread settings.
    """

    def __init__(self, layers: list[list[_Sweep]], thread_init: Callable[[], None] | None = None) -> None:
        self.layers = layers
        self.thread_init = thread_init
        self.changed = threading.Condition()
        cores = max(1, _ThreadBudget.enter())
        self.cores = threading.Semaphore(cores)
        self.layers_ahead = cores
        self.position = (0, 0)  # (layer, block) the generator is waiting for or yielding
        self.error: BaseException | None = None
        self.stopping = False
        self.threads: list[threading.Thread] = []
        self.started = 0  # layers whose sweeps have a thread
        self._start_threads(0)

    def _start_threads(self, layer: int) -> None:
        """Give a thread to each sweep of the layers up to ``layers_ahead`` above ``layer``."""
        while self.started < min(len(self.layers), layer + self.layers_ahead + 1):
            for sweep in self.layers[self.started]:
                thread = threading.Thread(target=self._sweep, args=(sweep,), daemon=True,
                                          name=f"rnnviz-direction-{sweep.layer}-{sweep.direction}")
                thread.start()
                self.threads.append(thread)
            self.started += 1

    def _may_run(self, sweep: _Sweep, k: int) -> bool:
        layer, block = self.position
        return (sweep.layer != layer or k <= block + AHEAD) and sweep.can_run(k)

    def _sweep(self, sweep: _Sweep) -> None:
        import torch

        try:
            if self.thread_init is not None:
                self.thread_init()
            torch.set_num_threads(1)
            for k in range(sweep.blocks):
                with self.changed:
                    self.changed.wait_for(lambda: self.stopping or self._may_run(sweep, k))
                    if self.stopping:
                        return
                with self.cores:
                    sweep.run(k)
                with self.changed:
                    self.changed.notify_all()
        except BaseException as exc:  # handed to the generator, which raises it
            with self.changed:
                self.error = exc
                self.changed.notify_all()

    def wait(self, sweep: _Sweep, k: int) -> None:
        """Let the workers run up to ``sweep``'s block ``k`` (plus :data:`AHEAD`) and wait for it."""
        with self.changed:
            self.position = (sweep.layer, k)
            self._start_threads(sweep.layer)
            self.changed.notify_all()
            self.changed.wait_for(lambda: self.error is not None or sweep.finished > k)
            if self.error is not None:
                raise self.error

    def stop(self) -> None:
        """Stop every worker after its current block and wait for them to end."""
        with self.changed:
            self.stopping = True
            self.changed.notify_all()
        for thread in self.threads:
            thread.join()
        _ThreadBudget.leave()


class Stepper:
    """Iterate to compute a run block by block; afterwards :attr:`trace` holds every state.

    On the CPU the states are computed ahead of the blocks yielded (see the module docstring), so the
    trace may already hold rows that have not been yielded yet; every yielded :class:`Block` is final.

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
    thread_init
        Called first in each CPU compute thread (the GUI lowers their CPU priority with it, so that
        the thread draining the generator and the GUI itself run as soon as they are woken).
    """

    def __init__(self, spec: ModelSpec, weights: Sequence[LayerWeights], inputs: np.ndarray,
                 device: str = "auto", names: Sequence[str] | None = None, model_name: str = "sequential",
                 thread_init: Callable[[], None] | None = None) -> None:
        from rnnviz.summary import keras_names

        self.spec = spec
        self.thread_init = thread_init
        self.weights = list(weights)
        self.device = resolve_device(device)
        check_device_memory(trace_bytes(spec) + weight_bytes(spec), self.device)
        if self.device.startswith("cuda"):
            import torch

            # cuDNN runs float32 RNNs in TF32 on recent GPUs by default (about 1e-3 off); the states
            # are the product here, so keep full float32, as on the CPU.
            torch.backends.cudnn.allow_tf32 = False
        self.trace = Trace.allocate(spec, np.ascontiguousarray(inputs, np.float32),
                                    list(names) if names is not None else keras_names(spec.layers),
                                    model_name, self.device)
        self.total = len(spec.layers) * spec.input.timesteps
        # Blocks hold copies, which their consumer may keep and change; a consumer that only counts
        # progress (rnnviz run) turns this off and gets views of the trace's rows.
        self.copies = True

    def _sweeps(self) -> list[list[_Sweep]]:
        """Every layer's sweeps, writing into the trace's arrays (CPU) or into device buffers."""
        import torch

        def store(array: np.ndarray) -> torch.Tensor:
            if self.device == "cpu":
                return torch.from_numpy(array)
            return torch.empty(array.shape, dtype=torch.float32, device=self.device)

        source: list[_Sweep] | torch.Tensor = torch.from_numpy(self.trace.inputs).to(self.device)
        layers = []
        for index, (layer, cells) in enumerate(zip(self.spec.layers, self.weights)):
            sweeps = [_Sweep(cell, index, d, source, store(self.trace._hidden[index][d]),
                             {g: store(a) for g, a in self.trace._gates[index][d].items()}, self.device)
                      for cell, d in zip(cells, layer.directions)]
            layers.append(sweeps)
            source = sweeps
        return layers

    def __iter__(self) -> Iterator[Block]:
        """Yield every block, layer by layer; closing the generator stops the CPU workers.

        Block ``k`` of a layer is yielded once all its directions have computed it, so that
        :attr:`Block.done` counts steps that are finished.
        """
        layers = self._sweeps()
        workers = _Workers(layers, self.thread_init) if self.device == "cpu" else None
        unreleased = 0  # bytes of rows handed over since a spooled trace last dropped its pages
        try:
            steps = self.spec.input.timesteps
            for index, sweeps in enumerate(layers):
                for k in range(sweeps[0].blocks):
                    for sweep in sweeps:  # every direction finishes block k before any is yielded
                        if workers is not None:
                            workers.wait(sweep, k)
                        else:
                            sweep.run(k)
                    done = index * steps + sweeps[0].edges[k + 1]
                    for sweep in sweeps:
                        block = self._record(index, sweep, k, done)
                        yield block
                        unreleased += block.hidden.nbytes * (1 + len(block.gates))
                    if unreleased >= RELEASE_EVERY:
                        self.trace.release()
                        unreleased = 0
        finally:
            if workers is not None:
                workers.stop()
            self.trace.release()

    def _record(self, layer: int, sweep: _Sweep, k: int, done: int) -> Block:
        """Bring one finished block into the trace (off the CPU) and return it (copies unless :attr:`copies`
        is off)."""
        start, stop = sweep.rows(k)
        hidden = self.trace._hidden[layer][sweep.direction]
        gates = self.trace._gates[layer][sweep.direction]
        if self.device != "cpu":
            hidden[start:stop] = sweep.hidden[start:stop].cpu().numpy()
            for gate, values in gates.items():
                values[start:stop] = sweep.gates[gate][start:stop].cpu().numpy()
        take = np.copy if self.copies else (lambda rows: rows)
        return Block(
            layer=layer, direction=sweep.direction, start=start, stop=stop,
            hidden=take(hidden[start:stop]),
            gates={g: take(values[start:stop]) for g, values in gates.items()},
            done=done, total=self.total,
        )

    def run(self) -> Trace:
        """Drain the generator and return the finished trace (the headless path)."""
        for _ in self:
            pass
        return self.trace
