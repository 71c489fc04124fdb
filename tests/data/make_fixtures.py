"""Generate the real-framework test fixtures in tests/data/.

This script is NOT part of the rnnviz product and is never imported by the
tests: it needs Keras 3 and torch, which rnnviz itself must not depend on.
The files it writes are committed, so the test suite only needs numpy/h5py.

How to rerun (from any directory):

    python3.11 -m venv /tmp/kerasenv
    /tmp/kerasenv/bin/pip install torch==2.13.0 keras==3.15.1 h5py numpy
    KERAS_BACKEND=torch /tmp/kerasenv/bin/python tests/data/make_fixtures.py

    # add fixtures without touching the committed ones: write everything
    # elsewhere, then copy only the new files into tests/data
    KERAS_BACKEND=torch /tmp/kerasenv/bin/python tests/data/make_fixtures.py --out /tmp/fixtures

    # print the inside of every .keras file (zip listing, h5 tree, config):
    KERAS_BACKEND=torch /tmp/kerasenv/bin/python tests/data/make_fixtures.py --inspect

(KERAS_BACKEND defaults to "torch" inside the script anyway.)

What it writes (see FIXTURES.md for the full description):

* ``keras_*.keras``   Keras 3 models saved with ``model.save``.
* ``torch_*.pt[h]``   torch ``state_dict`` files saved with ``torch.save``.
* ``NAME_input.npy``  float32 (timesteps, features) input, fixed seed.
* ``NAME_states.npz`` the framework's own hidden states, keys
  ``layer{i}_forward`` / ``layer{i}_backward`` (i = recurrent layer, from 1),
  each float32 (timesteps, units), in input-time order (the backward
  direction's state at index t is the state after it has consumed inputs
  t..T-1).  LSTM layers add ``layer{i}_{direction}_{name}`` for the cell
  state ``c`` and the gates ``i``, ``f``, ``g`` (Keras' ``c`` block, the
  candidate) and ``o``, same shape and order.
* ``NAME_output.npy`` the model's own output for that input, batch removed.
* ``keras_lstm.keras`` / ``torch_lstm.pt``: LSTM files without companions
  (once the "unsupported layer" fixtures); ``torch_lstm_proj.pt``: an LSTM
  with ``proj_size``, which rnnviz refuses.
* ``torch_malicious.pt``: a pickle that runs ``os.system("echo ...")`` if
  loaded with ``weights_only=False``.  NEVER load it that way.

Every state array is checked three ways before it is written: against the
framework's own layer output, against an independent numpy implementation of
the cell equations, and (for the last layer) against the full model output.
"""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

HERE = Path(__file__).resolve().parent
ATOL = 1e-5

# Imported lazily in main() so that merely importing this file (e.g. by an
# over-eager test collector) does not require keras/torch.
np = keras = torch = nn = None


def _import_frameworks():
    global np, keras, torch, nn
    import numpy as _np
    import keras as _keras
    import torch as _torch
    from torch import nn as _nn

    np, keras, torch, nn = _np, _keras, _torch, _nn
    if keras.backend.backend() != "torch":
        raise SystemExit("run with KERAS_BACKEND=torch")


# --------------------------------------------------------------------------
# independent numpy reference cells (used only to cross-check the fixtures)
# --------------------------------------------------------------------------

def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def np_keras_simplernn(x, kernel, rec, bias, reverse=False):
    """x (T, F); returns (T, units) in input-time order."""
    T = x.shape[0]
    h = np.zeros(rec.shape[0])
    out = np.zeros((T, rec.shape[0]))
    order = range(T - 1, -1, -1) if reverse else range(T)
    for t in order:
        h = np.tanh(x[t] @ kernel + h @ rec + bias)
        out[t] = h
    return out


def np_keras_gru(x, kernel, rec, bias, reverse=False):
    """Keras 3 GRU, reset_after=True, gate blocks [z | r | h], bias (2, 3u):
    bias[0] = input bias, bias[1] = recurrent bias."""
    T = x.shape[0]
    u = rec.shape[0]
    h = np.zeros(u)
    out = np.zeros((T, u))
    order = range(T - 1, -1, -1) if reverse else range(T)
    for t in order:
        xi = x[t] @ kernel + bias[0]
        hr = h @ rec + bias[1]
        z = _sigmoid(xi[:u] + hr[:u])
        r = _sigmoid(xi[u:2 * u] + hr[u:2 * u])
        hh = np.tanh(xi[2 * u:] + r * hr[2 * u:])
        h = z * h + (1.0 - z) * hh
        out[t] = h
    return out


def np_lstm(x, kernel, rec, bias, reverse=False):
    """LSTM in Keras layout: gate blocks [i | f | c | o] (torch's [i | f | g | o]
    is the same order, transposed), one bias (4u,).  Returns {"": h, "i", "f",
    "g", "o", "c"}, each (T, u) in input-time order."""
    T = x.shape[0]
    u = rec.shape[0]
    h = np.zeros(u)
    c = np.zeros(u)
    out = {k: np.zeros((T, u)) for k in ("", "i", "f", "g", "o", "c")}
    order = range(T - 1, -1, -1) if reverse else range(T)
    for t in order:
        z = x[t] @ kernel + h @ rec + bias
        i, f, o = _sigmoid(z[:u]), _sigmoid(z[u:2 * u]), _sigmoid(z[3 * u:])
        g = np.tanh(z[2 * u:3 * u])
        c = f * c + i * g
        h = o * np.tanh(c)
        for k, v in (("", h), ("i", i), ("f", f), ("g", g), ("o", o), ("c", c)):
            out[k][t] = v
    return out


def np_torch_rnn(x, w_ih, w_hh, b_ih, b_hh, reverse=False):
    T = x.shape[0]
    H = w_hh.shape[0]
    h = np.zeros(H)
    out = np.zeros((T, H))
    order = range(T - 1, -1, -1) if reverse else range(T)
    for t in order:
        h = np.tanh(w_ih @ x[t] + b_ih + w_hh @ h + b_hh)
        out[t] = h
    return out


def np_torch_gru(x, w_ih, w_hh, b_ih, b_hh, reverse=False):
    """torch GRU: gate rows [r | z | n]."""
    T = x.shape[0]
    H = w_hh.shape[1]
    h = np.zeros(H)
    out = np.zeros((T, H))
    order = range(T - 1, -1, -1) if reverse else range(T)
    for t in order:
        gi = w_ih @ x[t] + b_ih
        gh = w_hh @ h + b_hh
        r = _sigmoid(gi[:H] + gh[:H])
        z = _sigmoid(gi[H:2 * H] + gh[H:2 * H])
        n = np.tanh(gi[2 * H:] + r * gh[2 * H:])
        h = (1.0 - z) * n + z * h
        out[t] = h
    return out


def _check(name, a, b, atol=ATOL):
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise AssertionError(f"{name}: shape {a.shape} != {b.shape}")
    err = float(np.max(np.abs(a - b))) if a.size else 0.0
    if not err <= atol:
        raise AssertionError(f"{name}: max abs diff {err} > {atol}")


# --------------------------------------------------------------------------
# Keras
# --------------------------------------------------------------------------

def _np(t):
    return keras.ops.convert_to_numpy(t)


def _seq_clone(layer, input_shape):
    """Fresh copy of a SimpleRNN/GRU layer with return_sequences=True and the
    same weights (go_backwards etc. kept)."""
    cfg = layer.get_config()
    cfg["return_sequences"] = True
    cfg["return_state"] = False
    cfg["name"] = cfg["name"] + "_seqclone"
    clone = type(layer).from_config(cfg)
    clone.build(input_shape)
    clone.set_weights(layer.get_weights())
    return clone


def _keras_direction_states(layer, cur):
    """All-timestep states of a unidirectional SimpleRNN/GRU/LSTM layer, in
    input-time order: {"": h (T, units)} plus, for an LSTM, its gates and cell
    state (see _keras_lstm_steps).  cur: (1, T, F) numpy."""
    clone = _seq_clone(layer, cur.shape)
    seq = _np(clone(cur))[0]
    if layer.go_backwards:
        # Keras returns a go_backwards sequence in processing order
        # (seq[0] is the state after consuming x[T-1]); put it in input order.
        seq = seq[::-1]
    # independent numpy cross-check
    w = [np.asarray(v, dtype=np.float64) for v in layer.get_weights()]
    x = cur[0].astype(np.float64)
    streams = {"": seq}
    if isinstance(layer, keras.layers.LSTM):
        if len(w) == 2:  # use_bias=False
            w.append(np.zeros(4 * layer.units))
        streams = _keras_lstm_steps(layer, cur)
        _check(f"{layer.name} cell stepped vs layer", streams[""], seq)
        ref = np_lstm(x, *w, reverse=layer.go_backwards)
        for key, value in streams.items():
            _check(f"{layer.name} {key or 'h'} numpy reference", value, ref[key])
    elif isinstance(layer, keras.layers.GRU):
        assert layer.cell.reset_after, "fixtures assume reset_after=True"
        _check(f"{layer.name} numpy reference", seq, np_keras_gru(x, *w, reverse=layer.go_backwards))
    else:
        _check(f"{layer.name} numpy reference", seq, np_keras_simplernn(x, *w, reverse=layer.go_backwards))
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in streams.items()}


def _keras_lstm_steps(layer, cur):
    """Step the layer's own LSTMCell (Keras computes h and c); the gates come from
    the cell's kernels and activations through keras.ops, and must rebuild
    Keras' c and h exactly as c = f*c + i*g, h = o*tanh(c)."""
    cell = layer.cell
    u = cell.units
    ops = keras.ops
    T = cur.shape[1]
    h = ops.zeros((1, u))
    c = ops.zeros((1, u))
    out = {k: np.zeros((T, u), np.float32) for k in ("", "i", "f", "g", "o", "c")}
    for t in (range(T - 1, -1, -1) if layer.go_backwards else range(T)):
        x_t = ops.convert_to_tensor(cur[:, t])
        z = ops.matmul(x_t, cell.kernel) + ops.matmul(h, cell.recurrent_kernel)
        if cell.use_bias:
            z = z + cell.bias
        i = cell.recurrent_activation(z[:, :u])
        f = cell.recurrent_activation(z[:, u:2 * u])
        g = cell.activation(z[:, 2 * u:3 * u])
        o = cell.recurrent_activation(z[:, 3 * u:])
        c_before = c
        h, (h_state, c) = cell(x_t, [h, c], training=False)
        _check(f"{layer.name} t={t} c from gates", _np(c), _np(f * c_before + i * g))
        _check(f"{layer.name} t={t} h from gates", _np(h), _np(o * cell.activation(c)))
        for key, value in (("", h), ("i", i), ("f", f), ("g", g), ("o", o), ("c", c)):
            out[key][t] = _np(value)[0]
    return out


def _add_streams(states, i, direction, streams):
    for key, value in streams.items():
        states[f"layer{i}_{direction}" + (f"_{key}" if key else "")] = value


def keras_states(model, x):
    """Walk a (linear) Keras model layer by layer; return ({key: (T,u)}, out)."""
    recurrent = (keras.layers.SimpleRNN, keras.layers.GRU, keras.layers.LSTM)
    cur = x[None].astype(np.float32)
    states = {}
    i = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        out = _np(layer(cur))
        if isinstance(layer, keras.layers.Bidirectional):
            assert layer.merge_mode == "concat"
            i += 1
            fs = _keras_direction_states(layer.forward_layer, cur)
            bs = _keras_direction_states(layer.backward_layer, cur)
            f, b = fs[""], bs[""]
            if layer.return_sequences:
                _check(f"{layer.name} bidir seq", np.concatenate([f, b], -1), out[0])
            else:
                # forward final state is at t=T-1, backward final at t=0
                _check(f"{layer.name} bidir last", np.concatenate([f[-1], b[0]]), out[0])
            _add_streams(states, i, "forward", fs)
            _add_streams(states, i, "backward", bs)
        elif isinstance(layer, recurrent):
            i += 1
            fs = _keras_direction_states(layer, cur)
            f = fs[""]
            if layer.return_sequences:
                _check(f"{layer.name} seq", f, out[0])
            else:
                _check(f"{layer.name} last", f[-1], out[0])
            _add_streams(states, i, "forward", fs)
        elif isinstance(layer, keras.layers.Dense):
            pass
        else:
            raise TypeError(f"unexpected layer {layer!r}")
        cur = out
    predicted = model.predict(x[None], verbose=0)
    _check("layer-by-layer vs model.predict", cur, predicted)
    return states, predicted[0].astype(np.float32)


def _randomise_biases(model, seed):
    rng = np.random.default_rng(seed)
    n = 0
    for v in model.weights:
        if v.name == "bias":
            v.assign(rng.normal(0.0, 0.1, size=tuple(v.shape)).astype("float32"))
            n += 1
    assert n, "model has no bias to randomise"


def _fresh():
    # reset Keras' global name counters so default layer names are
    # deterministic ("gru", "gru_1", ...) and seed all RNGs.
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)


L = None  # keras.layers, set in build_keras_models


def _keras_models():
    """name -> (builder, (timesteps, features))."""
    return {
        "keras_simplernn": (lambda: keras.Sequential([
            keras.Input((2, 10)),
            L.SimpleRNN(3),
        ]), (2, 10)),
        "keras_deep_simplernn": (lambda: keras.Sequential([
            keras.Input((10, 5)),
            L.SimpleRNN(8, return_sequences=True),
            L.SimpleRNN(8, return_sequences=True),
        ]), (10, 5)),
        "keras_bidir_simplernn": (lambda: keras.Sequential([
            keras.Input((10, 5)),
            L.Bidirectional(L.SimpleRNN(8, return_sequences=True)),
        ]), (10, 5)),
        "keras_gru": (lambda: keras.Sequential([
            keras.Input((10, 5)),
            L.GRU(8),
        ]), (10, 5)),
        # Custom name on the FIRST Bidirectional only: its h5 group is still
        # "layers/bidirectional", while the default-named third layer is
        # called "bidirectional" in config.json but stored in h5 group
        # "layers/bidirectional_1".  A loader must map layers to h5 groups by
        # class-name + position, never by layer name.
        "keras_bidir_gru_stack": (lambda: keras.Sequential([
            keras.Input((7, 3)),
            L.Bidirectional(L.GRU(6, return_sequences=True), name="bi_encoder"),
            L.GRU(4, return_sequences=True),
            L.Bidirectional(L.GRU(5)),
        ]), (7, 3)),
        "keras_gru_dense": (lambda: keras.Sequential([
            keras.Input((10, 5)),
            L.GRU(8),
            L.Dense(2),
        ]), (10, 5)),
        "keras_functional_gru": (_functional_model, (6, 4)),
        # LSTM fixtures (added later; the entries above keep their seeds).
        "keras_lstm_plain": (lambda: keras.Sequential([
            keras.Input((9, 3)),
            L.LSTM(5),
        ]), (9, 3)),
        "keras_bidir_lstm_stack": (lambda: keras.Sequential([
            keras.Input((8, 4)),
            L.Bidirectional(L.LSTM(5, return_sequences=True)),
            L.Bidirectional(L.LSTM(3)),
        ]), (8, 4)),
        # use_bias=False on the LSTM: its h5 group has no vars/2
        "keras_mixed_lstm_dense": (lambda: keras.Sequential([
            keras.Input((8, 3)),
            L.GRU(6, return_sequences=True),
            L.LSTM(5, return_sequences=True, use_bias=False),
            L.SimpleRNN(4),
            L.Dense(2),
        ]), (8, 3)),
    }


def _functional_model():
    inp = keras.Input((6, 4), name="seq_in")
    h = L.SimpleRNN(5, return_sequences=True, name="enc_rnn")(inp)
    out = L.GRU(3, name="enc_gru")(h)
    return keras.Model(inp, out, name="functional_gru")


def build_keras(out_dir):
    global L
    L = keras.layers
    written = []
    for k, (name, (builder, shape)) in enumerate(_keras_models().items()):
        _fresh()
        model = builder()
        _randomise_biases(model, seed=100 + k)
        x = np.random.default_rng(1000 + k).standard_normal(shape).astype(np.float32)
        states, output = keras_states(model, x)
        path = out_dir / f"{name}.keras"
        model.save(path)
        # reload and make sure the saved file reproduces the same output
        reloaded = keras.saving.load_model(path)
        _check(f"{name} reload", reloaded.predict(x[None], verbose=0)[0], output)
        np.save(out_dir / f"{name}_input.npy", x)
        np.savez(out_dir / f"{name}_states.npz", **states)
        np.save(out_dir / f"{name}_output.npy", output)
        written += [path.name, f"{name}_input.npy", f"{name}_states.npz", f"{name}_output.npy"]
        print(f"{name}: " + ", ".join(f"{k2}{v.shape}" for k2, v in states.items())
              + f"; output{output.shape}")

    _fresh()
    lstm = keras.Sequential([keras.Input((5, 3)), L.LSTM(4)])
    _randomise_biases(lstm, seed=199)
    lstm.save(out_dir / "keras_lstm.keras")
    written.append("keras_lstm.keras")
    return written


# --------------------------------------------------------------------------
# torch
# --------------------------------------------------------------------------

def _torch_lstm_steps(sd, suffix, k, xin, reverse):
    """Step an nn.LSTMCell holding layer k's weights (torch computes h and c);
    the gates [i | f | g | o] come from the same weights through torch ops and
    must rebuild torch's c and h.  xin: (T, F) float32 tensor."""
    w_ih, w_hh, b_ih, b_hh = (sd[f"{p}_l{k}{suffix}"] for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    H = w_hh.shape[1]
    cell = nn.LSTMCell(w_ih.shape[1], H)
    cell.load_state_dict({"weight_ih": w_ih, "weight_hh": w_hh, "bias_ih": b_ih, "bias_hh": b_hh})
    T = xin.shape[0]
    h = torch.zeros(1, H)
    c = torch.zeros(1, H)
    out = {key: np.zeros((T, H), np.float32) for key in ("", "i", "f", "g", "o", "c")}
    with torch.no_grad():
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            z = nn.functional.linear(xin[t:t + 1], w_ih, b_ih) + nn.functional.linear(h, w_hh, b_hh)
            i, f, g, o = z.chunk(4, dim=1)
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            c_before = c
            h, c = cell(xin[t:t + 1], (h, c))
            _check(f"torch l{k}{suffix} t={t} c from gates", c, f * c_before + i * g)
            _check(f"torch l{k}{suffix} t={t} h from gates", h, o * torch.tanh(c))
            for key, value in (("", h), ("i", i), ("f", f), ("g", g), ("o", o), ("c", c)):
                out[key][t] = value[0].numpy()
    return out


def _torch_layer_states(module, x):
    """Run an nn.RNN / nn.GRU / nn.LSTM stack one layer at a time.
    x: (T, F) numpy.  Returns {key: (T, H)} in input-time order (and, for an
    LSTM, the gates and cell state under key_{i,f,g,o,c})."""
    is_gru = isinstance(module, nn.GRU)
    is_lstm = isinstance(module, nn.LSTM)
    H = module.hidden_size
    dirs = 2 if module.bidirectional else 1
    sd = module.state_dict()
    cur = torch.from_numpy(x)[None]
    states = {}
    for k in range(module.num_layers):
        in_size = cur.shape[-1]
        kwargs = dict(batch_first=True, bidirectional=module.bidirectional)
        if is_lstm:
            single = nn.LSTM(in_size, H, num_layers=1, **kwargs)
        elif is_gru:
            single = nn.GRU(in_size, H, num_layers=1, **kwargs)
        else:
            single = nn.RNN(in_size, H, num_layers=1, nonlinearity=module.nonlinearity, **kwargs)
        single_sd = {}
        for suffix in ["", "_reverse"][:dirs]:
            for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                single_sd[f"{p}_l0{suffix}"] = sd[f"{p}_l{k}{suffix}"]
        single.load_state_dict(single_sd)
        with torch.no_grad():
            out = single(cur)[0]
        seq = out[0].numpy()
        xin = cur[0].double().numpy()
        for d, (suffix, key) in enumerate(zip(["", "_reverse"], ["forward", "backward"])):
            if d >= dirs:
                break
            s = seq[:, d * H:(d + 1) * H]   # torch already aligns reverse with input time
            w = [sd[f"{p}_l{k}{suffix}"].double().numpy()
                 for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            if is_lstm:
                streams = _torch_lstm_steps(sd, suffix, k, cur[0], reverse=(d == 1))
                _check(f"torch layer {k} {key} cell stepped vs module", streams[""], s)
                ref = np_lstm(xin, w[0].T, w[1].T, w[2] + w[3], reverse=(d == 1))
                for name, value in streams.items():
                    _check(f"torch layer {k} {key} {name or 'h'} numpy reference", value, ref[name])
                _add_streams(states, k + 1, key, streams)
                continue
            ref = (np_torch_gru if is_gru else np_torch_rnn)(xin, *w, reverse=(d == 1))
            _check(f"torch layer {k} {key} numpy reference", s, ref)
            states[f"layer{k + 1}_{key}"] = np.ascontiguousarray(s, dtype=np.float32)
        cur = out
    with torch.no_grad():
        full = module(torch.from_numpy(x)[None])[0]
    _check("torch layer-by-layer vs full module", cur, full)
    return states


def build_torch(out_dir):
    written = []

    class PrefixedGRUModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.GRU(3, 5, batch_first=True)
            self.head = nn.Linear(5, 2)

        def forward(self, x):
            seq, _ = self.encoder(x)
            return self.head(seq[:, -1])

    class PrefixedLSTMModel(PrefixedGRUModel):
        def __init__(self):
            nn.Module.__init__(self)
            self.encoder = nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True)
            self.head = nn.Linear(10, 2)

    specs = [
        ("torch_rnn", "pt", lambda: nn.RNN(5, 8, num_layers=2, batch_first=True), (10, 5)),
        ("torch_gru_bidir", "pt",
         lambda: nn.GRU(4, 6, num_layers=3, bidirectional=True, batch_first=True), (7, 4)),
        ("torch_prefixed_gru", "pth", PrefixedGRUModel, (6, 3)),
        ("torch_prefixed_lstm_bidir", "pth", PrefixedLSTMModel, (7, 3)),
    ]
    for k, (name, ext, builder, shape) in enumerate(specs):
        torch.manual_seed(0)
        module = builder().eval()
        x = np.random.default_rng(2000 + k).standard_normal(shape).astype(np.float32)
        rnn = module.encoder if isinstance(module, PrefixedGRUModel) else module
        states = _torch_layer_states(rnn, x)
        with torch.no_grad():
            output = module(torch.from_numpy(x)[None])
            if isinstance(output, tuple):
                output = output[0]
            output = output[0].numpy().astype(np.float32)
        if isinstance(module, PrefixedGRUModel):
            with torch.no_grad():
                w = module.head.weight.double().numpy()
                b = module.head.bias.double().numpy()
            last = states[f"layer{rnn.num_layers}_forward"][-1]
            if rnn.bidirectional:  # seq[:, -1] is [forward[T-1], backward[T-1]]
                last = np.concatenate([last, states[f"layer{rnn.num_layers}_backward"][-1]])
            _check("prefixed head", output, w @ last + b)
        path = out_dir / f"{name}.{ext}"
        torch.save(module.state_dict(), path)
        sd2 = torch.load(path, weights_only=True)
        assert list(sd2) == list(module.state_dict())
        np.save(out_dir / f"{name}_input.npy", x)
        np.savez(out_dir / f"{name}_states.npz", **states)
        np.save(out_dir / f"{name}_output.npy", output)
        written += [path.name, f"{name}_input.npy", f"{name}_states.npz", f"{name}_output.npy"]
        print(f"{name}: keys {list(sd2)}; "
              + ", ".join(f"{k2}{v.shape}" for k2, v in states.items())
              + f"; output{output.shape}")

    torch.manual_seed(0)
    torch.save(nn.LSTM(3, 4).state_dict(), out_dir / "torch_lstm.pt")
    written.append("torch_lstm.pt")
    torch.manual_seed(0)
    torch.save(nn.LSTM(3, 4, proj_size=2).state_dict(), out_dir / "torch_lstm_proj.pt")
    written.append("torch_lstm_proj.pt")

    written.append(_write_malicious(out_dir / "torch_malicious.pt"))
    return written


class _Payload:
    """Pickles as a call to os.system(...).  Only ever *saved* here."""

    def __reduce__(self):
        return (os.system, ("echo rnnviz-fixture: unsafe torch.load executed this",))


def _write_malicious(path):
    import pickle
    import pickletools

    torch.save({"weight_ih_l0": torch.zeros(3, 2), "payload": _Payload()}, path)
    # static check: the pickle inside the zip really references os.system
    with zipfile.ZipFile(path) as z:
        pkl_name = next(n for n in z.namelist() if n.endswith("data.pkl"))
        data = z.read(pkl_name)
    ops = io.StringIO()
    pickletools.dis(data, out=ops)
    assert "system" in ops.getvalue() and ("posix" in ops.getvalue() or "os" in ops.getvalue())
    # the safe loader must refuse it (never load it with weights_only=False!)
    try:
        torch.load(path, weights_only=True)
    except pickle.UnpicklingError as exc:
        print("torch_malicious.pt: weights_only=True refuses it:", str(exc).splitlines()[0])
    else:
        raise AssertionError("weights_only=True loaded the malicious file")
    return path.name


# --------------------------------------------------------------------------
# inspection (for FIXTURES.md)
# --------------------------------------------------------------------------

def _strip_config(d):
    drop = {"dtype", "kernel_initializer", "recurrent_initializer", "bias_initializer",
            "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
            "activity_regularizer", "kernel_constraint", "recurrent_constraint",
            "bias_constraint", "shared_object_id"}
    if isinstance(d, dict):
        return {k: _strip_config(v) for k, v in d.items() if k not in drop}
    if isinstance(d, list):
        return [_strip_config(v) for v in d]
    return d


def inspect(out_dir):
    import h5py

    for path in sorted(out_dir.glob("*.keras")):
        print("=" * 70)
        print(path.name)
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                print(f"  zip: {info.filename:20s} {info.file_size:7d} bytes")
            print("  metadata.json:", z.read("metadata.json").decode())
            with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
                def show(name, obj):
                    if isinstance(obj, h5py.Dataset):
                        print(f"  h5: {name}  {obj.shape} {obj.dtype}")
                    else:
                        print(f"  h5: {name}/  attrs={dict(obj.attrs)}")
                f.visititems(show)
            cfg = json.loads(z.read("config.json"))
        print("  config.json (initializers/regularizers/constraints/dtype removed):")
        print("\n".join("    " + line
                        for line in json.dumps(_strip_config(cfg), indent=1).splitlines()))


def main(argv):
    _import_frameworks()
    out_dir = HERE
    if "--out" in argv:
        out_dir = Path(argv[argv.index("--out") + 1]).resolve()
        out_dir.mkdir(parents=True, exist_ok=True)
    if "--inspect" in argv:
        inspect(out_dir)
        return
    written = build_keras(out_dir) + build_torch(out_dir)
    missing = [n for n in written if not (out_dir / n).is_file()]
    assert not missing, missing
    total = sum(p.stat().st_size for p in out_dir.iterdir() if p.is_file())
    print(f"wrote {len(written)} files; tests/data is {total / 1024:.1f} KiB")
    assert total < 2 * 1024 * 1024


if __name__ == "__main__":
    main(sys.argv[1:])
