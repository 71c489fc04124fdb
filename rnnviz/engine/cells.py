"""Weights of one direction of one layer, in Keras' layout, and the initialisation schemes.

Keras layout, which every file format is converted to and from:

* SimpleRNN: ``kernel (in, u)``, ``recurrent_kernel (u, u)``, ``bias (u,)``;
  ``h_t = tanh(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``.
* GRU (``reset_after=True``): gate blocks ``[z | r | h]`` along the last axis of
  ``kernel (in, 3u)`` and ``recurrent_kernel (u, 3u)``, ``bias (2, 3u)`` = input bias, recurrent bias.
* LSTM: gate blocks ``[i | f | c | o]`` (Keras' ``c`` block is the candidate, called ``g`` here) along
  the last axis of ``kernel (in, 4u)`` and ``recurrent_kernel (u, 4u)``, ``bias (4u,)``.

torch keeps the transposes, orders GRU blocks ``[r | z | n]`` (LSTM blocks as Keras does) and gives
SimpleRNN and LSTM two biases that add up to Keras' one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.spec import InitSpec, ModelSpec


@dataclass(frozen=True)
class CellWeights:
    """float32 arrays of one direction of one layer, Keras layout (see module docstring)."""

    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray

    @property
    def units(self) -> int:
        return self.recurrent_kernel.shape[0]

    @property
    def input_dim(self) -> int:
        return self.kernel.shape[0]

    @property
    def type(self) -> str:
        """Told by the number of gate blocks: 1 SimpleRNN, 3 GRU (bias (2, 3u)), 4 LSTM (bias (4u,))."""
        return {1: "SimpleRNN", 3: "GRU", 4: "LSTM"}[self.recurrent_kernel.shape[1] // self.units]


LayerWeights = tuple[CellWeights, ...]  # one entry per direction: forward[, backward]


def _orthogonal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """Keras' ``Orthogonal`` initializer for a (rows, cols) matrix."""
    a = rng.standard_normal((max(rows, cols), min(rows, cols)), dtype=np.float32)
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    return q.T if rows < cols else q


GATE_BLOCKS = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}


def _draw(scheme: InitSpec, rng: np.random.Generator, layer_type: str, input_dim: int, units: int) -> CellWeights:
    gates = GATE_BLOCKS[layer_type]
    k_shape, r_shape = (input_dim, gates * units), (units, gates * units)
    b_shape = (2, gates * units) if layer_type == "GRU" else (gates * units,)
    f32 = np.float32
    if scheme.scheme == "uniform01":
        kernel = rng.random(k_shape, dtype=f32)
        recurrent = rng.random(r_shape, dtype=f32)
        bias = rng.random(b_shape, dtype=f32)
    elif scheme.scheme == "keras":
        limit = np.sqrt(6.0 / (k_shape[0] + k_shape[1]))
        kernel = rng.uniform(-limit, limit, k_shape).astype(f32)
        recurrent = _orthogonal(rng, *r_shape)
        bias = np.zeros(b_shape, f32)
        if layer_type == "LSTM":
            bias[units:2 * units] = 1  # Keras' unit_forget_bias: the forget gate starts open
    elif scheme.scheme == "torch":
        k = 1.0 / np.sqrt(units)
        kernel = rng.uniform(-k, k, k_shape).astype(f32)
        recurrent = rng.uniform(-k, k, r_shape).astype(f32)
        b_ih = rng.uniform(-k, k, gates * units).astype(f32)
        b_hh = rng.uniform(-k, k, gates * units).astype(f32)
        bias = np.stack([b_ih, b_hh]) if layer_type == "GRU" else b_ih + b_hh
    else:  # normal
        kernel = (rng.standard_normal(k_shape, dtype=f32) / f32(np.sqrt(input_dim))).astype(f32)
        recurrent = (rng.standard_normal(r_shape, dtype=f32) * f32(scheme.gain / np.sqrt(units))).astype(f32)
        bias = np.zeros(b_shape, f32)
    return CellWeights(np.ascontiguousarray(kernel, f32), np.ascontiguousarray(recurrent, f32),
                       np.ascontiguousarray(bias, f32))


def init_weights(spec: ModelSpec) -> list[LayerWeights]:
    """Draw every layer's weights from ``spec.init`` with one seeded generator, layer by layer,
    forward before backward, kernel before recurrent kernel before bias."""
    from rnnviz.summary import layer_input_dims

    rng = np.random.default_rng(spec.init.seed)
    weights = []
    for layer, input_dim in zip(spec.layers, layer_input_dims(spec)):
        weights.append(tuple(_draw(spec.init, rng, layer.type, input_dim, layer.units) for _ in layer.directions))
    return weights


# --- torch layout -------------------------------------------------------------------------------

def _keras_to_torch_blocks(matrix: np.ndarray, units: int) -> np.ndarray:
    """Reorder GRU gate blocks along the last axis from Keras [z|r|h] to torch [r|z|n]."""
    z, r, h = (matrix[..., i * units:(i + 1) * units] for i in range(3))
    return np.concatenate([r, z, h], axis=-1)


def _torch_to_keras_blocks(matrix: np.ndarray, units: int) -> np.ndarray:
    r, z, n = (matrix[..., i * units:(i + 1) * units] for i in range(3))
    return np.concatenate([z, r, n], axis=-1)


def to_torch(cell: CellWeights) -> dict[str, np.ndarray]:
    """``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` as torch.nn.RNN/GRU/LSTM store them; a SimpleRNN's or
    LSTM's one bias becomes ``bias_ih`` (``bias_hh`` zero)."""
    u = cell.units
    if cell.type == "GRU":
        return {
            "weight_ih": np.ascontiguousarray(_keras_to_torch_blocks(cell.kernel, u).T),
            "weight_hh": np.ascontiguousarray(_keras_to_torch_blocks(cell.recurrent_kernel, u).T),
            "bias_ih": _keras_to_torch_blocks(cell.bias[0], u),
            "bias_hh": _keras_to_torch_blocks(cell.bias[1], u),
        }
    return {
        "weight_ih": np.ascontiguousarray(cell.kernel.T),
        "weight_hh": np.ascontiguousarray(cell.recurrent_kernel.T),
        "bias_ih": cell.bias.copy(),
        "bias_hh": np.zeros_like(cell.bias),
    }


def from_torch(layer_type: str, weight_ih: np.ndarray, weight_hh: np.ndarray,
               bias_ih: np.ndarray | None, bias_hh: np.ndarray | None) -> CellWeights:
    """The inverse of :func:`to_torch`; missing biases (``bias=False``) count as zeros, and a SimpleRNN's or
    LSTM's two biases are summed into Keras' one."""
    f32 = np.float32
    u = weight_hh.shape[1]
    rows = weight_hh.shape[0]
    bias_ih = np.zeros(rows, f32) if bias_ih is None else bias_ih
    bias_hh = np.zeros(rows, f32) if bias_hh is None else bias_hh
    if layer_type == "GRU":
        return CellWeights(
            np.ascontiguousarray(_torch_to_keras_blocks(weight_ih.T, u), f32),
            np.ascontiguousarray(_torch_to_keras_blocks(weight_hh.T, u), f32),
            np.ascontiguousarray(np.stack([_torch_to_keras_blocks(bias_ih, u), _torch_to_keras_blocks(bias_hh, u)]), f32),
        )
    return CellWeights(np.ascontiguousarray(weight_ih.T, f32), np.ascontiguousarray(weight_hh.T, f32),
                       np.asarray(bias_ih + bias_hh, f32))
