"""One step of each cell type as a torch map ``state -> state`` on a batch, and its analytic Jacobian.

Every dynamical quantity (Jacobians, gradient flow, Lyapunov spectra, perturbations, fixed points) is
built on these two functions, so that each cell's equations are written once, in Keras' layout:

* SimpleRNN: ``h' = tanh(x W + h U + b)``.
* GRU (``reset_after=True``, blocks ``[z | r | h]``): ``z, r = sigmoid(...)``,
  ``hh = tanh(x W_h + b_h + r * (h U_h + b'_h))``, ``h' = z * h + (1 - z) * hh``.
* LSTM (blocks ``[i | f | c | o]``): the state is ``[h, c]`` (2u wide), ``c' = f * c + i * g``,
  ``h' = o * tanh(c')``.

Jacobians are in column convention, ``J[b, i, j] = d state'_i / d state_j``, so ``J @ v`` carries a
tangent vector one step forward. Every term is a diagonal scaling of a recurrent block, so building
``J`` costs O(n²) per state, never a matrix product, and J can be applied without building it at all
(:class:`Linearisation`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rnnviz.engine.cells import CellWeights


@dataclass(frozen=True)
class TorchCell:
    """One direction's weights as torch tensors of one dtype and device, split the way the maps use them.

    ``bias`` is everything added to ``x W`` (the input drive); ``recurrent_bias`` is GRU's second bias,
    added to ``h U`` inside the reset gate (zeros for the other types).
    """

    type: str
    units: int
    kernel: torch.Tensor          # (in, G u)
    recurrent: torch.Tensor       # (u, G u)
    bias: torch.Tensor            # (G u,)
    recurrent_bias: torch.Tensor  # (G u,)
    blocks_t: torch.Tensor        # (G, u, u): the transposed recurrent blocks, for Jacobians

    @property
    def state_size(self) -> int:
        return 2 * self.units if self.type == "LSTM" else self.units

    @property
    def input_dim(self) -> int:
        return self.kernel.shape[0]


def torch_cell(cell: CellWeights | TorchCell, dtype: torch.dtype = torch.float64,
               device: str | torch.device = "cpu") -> TorchCell:
    """``cell`` converted once; a :class:`TorchCell` of the right dtype and device is returned as it is."""
    if isinstance(cell, TorchCell):
        if cell.kernel.dtype == dtype and cell.kernel.device == torch.device(device):
            return cell
        return TorchCell(cell.type, cell.units, *(t.to(device, dtype) for t in (
            cell.kernel, cell.recurrent, cell.bias, cell.recurrent_bias, cell.blocks_t)))
    u, kind = cell.units, cell.type

    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(array, np.float64), dtype=dtype, device=device)

    kernel, recurrent = tensor(cell.kernel), tensor(cell.recurrent_kernel)
    if kind == "GRU":
        bias, recurrent_bias = tensor(cell.bias[0]), tensor(cell.bias[1])
    else:
        bias, recurrent_bias = tensor(cell.bias), torch.zeros_like(tensor(cell.bias))
    blocks_t = recurrent.reshape(u, -1, u).permute(1, 2, 0).contiguous()  # [g, i, j] = U_g[j, i]
    return TorchCell(kind, u, kernel, recurrent, bias, recurrent_bias, blocks_t)


def drive(cell: TorchCell, x: torch.Tensor) -> torch.Tensor:
    """``x W + b``, the part of every gate's pre-activation that does not depend on the state."""
    # the gate width spelled out: a run of zero steps (a fork at the last step) cannot infer it
    return torch.addmm(cell.bias, x.reshape(-1, cell.input_dim), cell.kernel).reshape(*x.shape[:-1], cell.bias.shape[0])


def _gates(cell: TorchCell, xw: torch.Tensor, state: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every intermediate of one step (the map and its Jacobian share them)."""
    u = cell.units
    h = state[..., :u]
    rec = h @ cell.recurrent + cell.recurrent_bias
    if cell.type == "SimpleRNN":
        return {"h": h, "new_h": torch.tanh(xw + rec)}
    if cell.type == "GRU":
        z = torch.sigmoid(xw[..., :u] + rec[..., :u])
        r = torch.sigmoid(xw[..., u:2 * u] + rec[..., u:2 * u])
        rh = rec[..., 2 * u:]
        hh = torch.tanh(xw[..., 2 * u:] + r * rh)
        return {"h": h, "z": z, "r": r, "rh": rh, "hh": hh, "new_h": z * h + (1 - z) * hh}
    pre = xw + rec
    i, f, o = (torch.sigmoid(pre[..., k * u:(k + 1) * u]) for k in (0, 1, 3))
    g = torch.tanh(pre[..., 2 * u:3 * u])
    c = state[..., u:]
    new_c = f * c + i * g
    tanh_c = torch.tanh(new_c)
    return {"h": h, "c": c, "i": i, "f": f, "g": g, "o": o, "new_c": new_c, "tanh_c": tanh_c, "new_h": o * tanh_c}


def step_driven(cell: TorchCell, xw: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
    """The next state from the input drive ``xw`` (see :func:`drive`) and ``state`` (batch, n)."""
    parts = _gates(cell, xw, state)
    if cell.type == "LSTM":
        return torch.cat([parts["new_h"], parts["new_c"]], dim=-1)
    return parts["new_h"]


def step(cell: CellWeights | TorchCell, x: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
    """The next state of a batch: ``x`` (batch, in), ``state`` (batch, n) with n = u, or 2u for LSTM's [h, c]."""
    cell = torch_cell(cell, state.dtype, state.device)
    return step_driven(cell, drive(cell, x.to(state.dtype)), state)


@dataclass(frozen=True)
class Linearisation:
    """The Jacobians of a batch of steps, kept as their factors rather than as (batch, n, n) matrices.

    SimpleRNN and GRU: ``J = diag(diag) + sum_g diag(scales[:, g]) U_gᵀ`` over the recurrent blocks g.
    LSTM, with ``C = sum_{g in i, f, c} diag(scales[:, g]) U_gᵀ``:
    ``J = [[diag(through_c) C + diag(scales[:, o]) U_oᵀ, diag(through_c * f)], [C, diag(f)]]``
    (``diag`` holds f, ``through_c`` is ``o * (1 - tanh(c')²)``).

    Applying J or Jᵀ to p vectors is then one matrix product with U over the whole batch, which is what
    the iterative norms, Lyapunov spectra and the fixed-point search need; :meth:`dense` builds J itself.
    """

    cell: TorchCell
    diag: torch.Tensor       # (batch, u)
    scales: torch.Tensor     # (batch, G, u)
    through_c: torch.Tensor | None = None  # (batch, u), LSTM only

    def take(self, index: torch.Tensor) -> Linearisation:
        return Linearisation(self.cell, self.diag[index], self.scales[index],
                             None if self.through_c is None else self.through_c[index])

    def apply(self, rows: torch.Tensor) -> torch.Tensor:
        """``J v`` for each row v of ``rows`` (batch, p, n)."""
        u = self.cell.units
        proj = (rows[..., :u] @ self.cell.recurrent).unflatten(-1, (-1, u)) * self.scales.unsqueeze(1)
        if self.through_c is None:
            return proj.sum(dim=-2).add_(self.diag.unsqueeze(1) * rows)
        tc, f, vc = self.through_c.unsqueeze(1), self.diag.unsqueeze(1), rows[..., u:]
        to_c = proj[..., :3, :].sum(dim=-2)
        return torch.cat([tc * to_c + proj[..., 3, :] + tc * f * vc, to_c + f * vc], dim=-1)

    def apply_transpose(self, rows: torch.Tensor) -> torch.Tensor:
        """``Jᵀ w`` for each row w of ``rows`` (batch, p, n)."""
        u = self.cell.units
        scales = self.scales.unsqueeze(1)
        if self.through_c is None:
            spread = scales * rows.unsqueeze(-2)
            return (spread.flatten(-2) @ self.cell.recurrent.T).add_(self.diag.unsqueeze(1) * rows)
        tc, f = self.through_c.unsqueeze(1), self.diag.unsqueeze(1)
        wh, wc = rows[..., :u], rows[..., u:]
        via_c = tc * wh + wc
        spread = scales * torch.stack([via_c, via_c, via_c, wh], dim=-2)
        return torch.cat([spread.flatten(-2) @ self.cell.recurrent.T, tc * f * wh + f * wc], dim=-1)

    def dense(self) -> torch.Tensor:
        """J itself, (batch, n, n)."""
        if self.through_c is None:
            jac = self._scaled_sum(range(self.scales.shape[1]))
            jac.diagonal(dim1=-2, dim2=-1).add_(self.diag)
            return jac
        tc, f = self.through_c, self.diag
        to_c = self._scaled_sum(range(3))
        top = self._scaled_sum([3]).addcmul_(tc.unsqueeze(-1), to_c)
        top = torch.cat([top, torch.diag_embed(tc * f)], dim=-1)
        return torch.cat([top, torch.cat([to_c, torch.diag_embed(f)], dim=-1)], dim=-2)

    def _scaled_sum(self, gates) -> torch.Tensor:
        """``sum_g diag(scales[:, g]) U_gᵀ`` over ``gates``, accumulated in place: broadcasting all the
        terms at once made a (batch, G, u, u) temporary and was 10x slower (2000 GRU(128) steps)."""
        blocks, first, *rest = self.cell.blocks_t, *gates
        total = self.scales[:, first].unsqueeze(-1) * blocks[first]
        for g in rest:
            total.addcmul_(self.scales[:, g].unsqueeze(-1), blocks[g])
        return total


def linearise_driven(cell: TorchCell, xw: torch.Tensor, state: torch.Tensor) -> Linearisation:
    """The Jacobians at each state of the batch (batch, n), from the input drive ``xw``."""
    p = _gates(cell, xw, state)
    if cell.type == "SimpleRNN":
        a = 1 - p["new_h"] ** 2
        return Linearisation(cell, torch.zeros_like(a), a.unsqueeze(1))
    if cell.type == "GRU":
        z, r, hh = p["z"], p["r"], p["hh"]
        through_hh = (1 - z) * (1 - hh ** 2)
        scales = torch.stack([(p["h"] - hh) * z * (1 - z), through_hh * p["rh"] * r * (1 - r), through_hh * r], dim=1)
        return Linearisation(cell, z, scales)
    i, f, g, o, tanh_c = p["i"], p["f"], p["g"], p["o"], p["tanh_c"]
    scales = torch.stack([g * i * (1 - i), p["c"] * f * (1 - f), i * (1 - g ** 2), tanh_c * o * (1 - o)], dim=1)
    return Linearisation(cell, f, scales, o * (1 - tanh_c ** 2))


def linearise(cell: CellWeights | TorchCell, x: torch.Tensor, state: torch.Tensor) -> Linearisation:
    cell = torch_cell(cell, state.dtype, state.device)
    return linearise_driven(cell, drive(cell, x.to(state.dtype)), state)


def jacobian_driven(cell: TorchCell, xw: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
    """``d step / d state`` (batch, n, n) at each state of the batch, from the input drive ``xw``."""
    return linearise_driven(cell, xw, state).dense()


def jacobian(cell: CellWeights | TorchCell, x: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
    """``d step(cell, x, state) / d state``, (batch, n, n), analytically."""
    return linearise(cell, x, state).dense()
