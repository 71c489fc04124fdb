"""LSTM layers: states, gates and cell states against torch.nn.LSTM and an independent float64 numpy
implementation of Keras' equations; the block scan of the cell state; init schemes and torch layout."""

import warnings

import numpy as np
import pytest
import torch

import rnnviz
from rnnviz.engine.cells import from_torch, init_weights, to_torch
from rnnviz.engine.stepper import BLOCK, Stepper, block_edges, linear_scan
from rnnviz.headless import prepare
from rnnviz.spec import InitSpec, InputSpec, LayerSpec, ModelSpec
from rnnviz.summary import cell_params, keras_names

ATOL = 1e-5
GATES = ("i", "f", "g", "o", "c")


def make_spec(layers, timesteps=9, features=3, scheme="torch", seed=0, gain=1.0, source="normal"):
    return ModelSpec(input=InputSpec(timesteps=timesteps, features=features, source=source, seed=seed),
                     layers=layers, init=InitSpec(scheme, gain, seed))


def torch_lstm(cells, bidirectional, num_layers=1):
    first = cells[0][0]
    module = torch.nn.LSTM(first.input_dim, first.units, num_layers=num_layers, bidirectional=bidirectional)
    state = {f"{name}_l{k}{suffix}": torch.from_numpy(value)
             for k, layer_cells in enumerate(cells) for cell, suffix in zip(layer_cells, ("", "_reverse"))
             for name, value in to_torch(cell).items()}
    module.load_state_dict(state)
    return module.requires_grad_(False)


def numpy_lstm(cell, x, reverse=False):
    """Keras 3's LSTM in float64, written from the equations: blocks [i | f | c | o] of x W + h U + b."""
    u = cell.units
    w, r, b = (np.asarray(a, np.float64) for a in (cell.kernel, cell.recurrent_kernel, cell.bias))
    h, c = np.zeros(u), np.zeros(u)
    out = {name: np.zeros((len(x), u)) for name in ("h",) + GATES}
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    for t in (range(len(x) - 1, -1, -1) if reverse else range(len(x))):
        z = np.asarray(x[t], np.float64) @ w + h @ r + b
        i, f, g, o = sigmoid(z[:u]), sigmoid(z[u:2 * u]), np.tanh(z[2 * u:3 * u]), sigmoid(z[3 * u:])
        c = f * c + i * g
        h = o * np.tanh(c)
        for name, value in zip(("h",) + GATES, (h, i, f, g, o, c)):
            out[name][t] = value
    return out


@pytest.mark.parametrize("bidirectional", [False, True])
def test_uniform_stack_equals_one_multilayer_torch_lstm(bidirectional):
    spec = make_spec([LayerSpec("LSTM", 5, bidirectional) for _ in range(3)], timesteps=BLOCK + 40, features=4)
    model, inputs = prepare(spec)
    trace = rnnviz.run(spec, device="cpu")
    with torch.no_grad():
        out, (h_n, c_n) = torch_lstm(model.weights, bidirectional, num_layers=3)(torch.from_numpy(inputs))
    last = np.concatenate([trace.hidden(3, d) for d in spec.layers[-1].directions], axis=1)
    np.testing.assert_allclose(last, out.numpy(), rtol=0, atol=ATOL)
    directions = spec.layers[0].directions
    for k in range(3):  # final h and c of every layer and direction (a backward direction ends at t = 0)
        for j, d in enumerate(directions):
            row = -1 if d == "forward" else 0
            np.testing.assert_allclose(trace.hidden(k + 1, d)[row], h_n[len(directions) * k + j].numpy(), atol=ATOL)
            np.testing.assert_allclose(trace.cell(k + 1, d)[row], c_n[len(directions) * k + j].numpy(), atol=ATOL)


def test_cell_state_of_every_step_equals_torch_stepped_one_step_at_a_time():
    spec = make_spec([LayerSpec("LSTM", 6, True)], timesteps=block_edges(BLOCK)[2] + 9, scheme="keras")  # 2 edges
    model, inputs = prepare(spec)
    trace = rnnviz.run(spec, device="cpu")
    for direction, cell in zip(("forward", "backward"), model.weights[0]):
        module = torch_lstm([(cell,)], False)
        state = (torch.zeros(1, 6), torch.zeros(1, 6))
        order = range(len(inputs)) if direction == "forward" else range(len(inputs) - 1, -1, -1)
        h, c = np.zeros((len(inputs), 6), np.float32), np.zeros((len(inputs), 6), np.float32)
        # torch's own kernel rather than oneDNN's, which spends milliseconds setting up every call (and
        # whose switch warns about TF32 on Intel GPUs)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with torch.backends.mkldnn.flags(enabled=False):
                for t in order:
                    _, state = module(torch.from_numpy(inputs[t:t + 1]), state)
                    h[t], c[t] = state[0][0].numpy(), state[1][0].numpy()
        np.testing.assert_allclose(trace.hidden(1, direction), h, rtol=0, atol=ATOL)
        np.testing.assert_allclose(trace.cell(1, direction), c, rtol=0, atol=ATOL)


MIXED = [LayerSpec("LSTM", 4, True), LayerSpec("SimpleRNN", 5), LayerSpec("GRU", 3, True), LayerSpec("LSTM", 2)]


@pytest.mark.parametrize("scheme", ["torch", "keras", "normal", "uniform01"])
def test_mixed_stack_equals_numpy_equations(scheme):
    """Every state, gate and cell state of a mixed stack, across block edges, in both directions."""
    timesteps = BLOCK + 21
    spec = make_spec(MIXED, timesteps=timesteps, scheme=scheme, gain=1.3)
    model, inputs = prepare(spec)
    trace = rnnviz.run(spec, device="cpu")
    x = inputs.astype(np.float64)
    for i, (layer, cells) in enumerate(zip(spec.layers, model.weights), start=1):
        outputs = []
        for direction, cell in zip(layer.directions, cells):
            if layer.type == "LSTM":
                ref = numpy_lstm(cell, x, reverse=direction == "backward")
                gates = trace.gates(i, direction)
                assert tuple(gates) == GATES == layer.gates
                for name in GATES:
                    assert gates[name].shape == (timesteps, layer.units) and gates[name].dtype == np.float32
                    # c is unbounded (with uniform01 weights it grows by about 1 a step): relative there
                    np.testing.assert_allclose(gates[name], ref[name], rtol=ATOL if name == "c" else 0, atol=ATOL)
                np.testing.assert_allclose(trace.hidden(i, direction), ref["h"], rtol=0, atol=ATOL)
                outputs.append(ref["h"])
            else:
                outputs.append(trace.hidden(i, direction).astype(np.float64))  # checked in test_engine.py
        x = np.concatenate(outputs, axis=1)
    h_and_c_relation = trace.gates(1, "forward")
    np.testing.assert_allclose(trace.hidden(1), h_and_c_relation["o"] * np.tanh(h_and_c_relation["c"]), atol=ATOL)


def test_mixed_stack_equals_torch_layer_by_layer():
    spec = make_spec(MIXED, timesteps=50)
    model, inputs = prepare(spec)
    trace = rnnviz.run(spec, device="cpu")
    x = torch.from_numpy(inputs)
    classes = {"SimpleRNN": torch.nn.RNN, "GRU": torch.nn.GRU, "LSTM": torch.nn.LSTM}
    for i, (layer, cells) in enumerate(zip(spec.layers, model.weights), start=1):
        module = classes[layer.type](cells[0].input_dim, layer.units, bidirectional=layer.bidirectional)
        module.load_state_dict({f"{name}_l0{suffix}": torch.from_numpy(value)
                                for cell, suffix in zip(cells, ("", "_reverse")) for name, value in to_torch(cell).items()})
        with torch.no_grad():
            x, _ = module(x)
        ours = np.concatenate([trace.hidden(i, d) for d in layer.directions], axis=1)
        np.testing.assert_allclose(ours, x.numpy(), rtol=0, atol=ATOL)


def test_torch_lstm_weights_through_from_torch():
    """A torch LSTM with both biases non-zero: its weights via from_torch give the module's own numbers."""
    torch.manual_seed(2)
    module = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True).requires_grad_(False)
    sd = {k: v.numpy() for k, v in module.state_dict().items()}
    assert np.abs(sd["bias_hh_l1_reverse"]).min() > 0
    weights = [tuple(from_torch("LSTM", *(sd[f"{n}_l{k}{s}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))
                     for s in ("", "_reverse")) for k in range(2)]
    assert weights[0][0].type == "LSTM" and weights[0][0].bias.shape == (20,)
    spec = make_spec([LayerSpec("LSTM", 5, True), LayerSpec("LSTM", 5, True)], timesteps=40)
    x = np.random.default_rng(1).standard_normal((40, 3)).astype(np.float32)
    trace = Stepper(spec, weights, x, device="cpu").run()
    out, (h_n, c_n) = module(torch.from_numpy(x))
    np.testing.assert_allclose(np.concatenate([trace.hidden(2, "forward"), trace.hidden(2, "backward")], 1),
                               out.numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(trace.cell(1, "backward")[0], c_n[1].numpy(), atol=ATOL)


def test_to_torch_from_torch_round_trip():
    cell = init_weights(make_spec([LayerSpec("LSTM", 4)], features=3, scheme="uniform01"))[0][0]
    t = to_torch(cell)
    assert t["weight_ih"].shape == (16, 3) and t["weight_hh"].shape == (16, 4)
    np.testing.assert_array_equal(t["weight_ih"], cell.kernel.T)  # same block order, transposed
    np.testing.assert_array_equal(t["bias_ih"], cell.bias)
    np.testing.assert_array_equal(t["bias_hh"], 0)
    back = from_torch("LSTM", t["weight_ih"], t["weight_hh"], t["bias_ih"], t["bias_hh"])
    for a, b in zip((back.kernel, back.recurrent_kernel, back.bias), (cell.kernel, cell.recurrent_kernel, cell.bias)):
        np.testing.assert_array_equal(a, b)


# --- the cell-state scan ---------------------------------------------------------------------------------

@pytest.mark.parametrize("steps", [1, 2, 3, 7, 64, 255, 256])
@pytest.mark.parametrize("reverse", [False, True])
def test_linear_scan_equals_the_loop(steps, reverse):
    rng = np.random.default_rng(steps)
    a = rng.random((steps, 5)).astype(np.float32)
    a[0, 0] = 0  # a closed forget gate: products of gates reach 0, which a division-based scan cannot take
    b = rng.standard_normal((steps, 5)).astype(np.float32)
    start = rng.standard_normal(5).astype(np.float32)
    expected = np.zeros((steps, 5))
    state = start.astype(np.float64)
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        state = a[t] * state + b[t]
        expected[t] = state
    out = torch.empty(steps, 5)
    a_before = a.copy()
    linear_scan(torch.from_numpy(a), torch.from_numpy(b.copy()), torch.from_numpy(start), reverse, out)
    np.testing.assert_allclose(out.numpy(), expected, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(a, a_before)


# --- the stepping generator -------------------------------------------------------------------------------

def test_blocks_carry_the_gates_and_equal_the_run():
    """The GUI's path (blocks) and run's path (the trace) agree bit for bit."""
    spec = make_spec([LayerSpec("LSTM", 3, True), LayerSpec("LSTM", 2)], timesteps=2 * BLOCK + 7, scheme="keras")
    model, inputs = prepare(spec)
    collected = {}
    for block in Stepper(model.spec, model.weights, inputs, device="cpu"):
        assert set(block.gates) == set(GATES)
        for name, values in [("h", block.hidden), *block.gates.items()]:
            collected.setdefault((block.layer + 1, block.direction, name), {})[block.start] = values
    reference = rnnviz.run(spec, device="cpu")
    edges = block_edges(2 * BLOCK + 7)
    for (layer, direction, name), parts in collected.items():
        assert len(parts) == len(edges) - 1
        whole = np.concatenate([parts[start] for start in sorted(parts)])
        expected = reference.hidden(layer, direction) if name == "h" else reference.gates(layer, direction)[name]
        assert np.array_equal(whole, expected)


def test_accelerator_code_path_on_the_cpu():
    spec = make_spec([LayerSpec("LSTM", 3, True), LayerSpec("GRU", 2)], timesteps=BLOCK + 3)
    model, inputs = prepare(spec)
    reference = Stepper(model.spec, model.weights, inputs, device="cpu").run()
    steps = Stepper(model.spec, model.weights, inputs, device="cpu")
    steps.device = "cpu:0"
    list(steps)
    for layer, direction, name, values in reference.gate_streams():
        np.testing.assert_allclose(steps.trace.gates(layer, direction)[name], values, rtol=0, atol=1e-6)


def test_cell_accessor():
    trace = rnnviz.run(make_spec([LayerSpec("LSTM", 3, True), LayerSpec("GRU", 2)]), device="cpu")
    assert trace.cell(1, "backward") is trace.gates(1, "backward")["c"]
    with pytest.raises(KeyError, match="layer 2 is a GRU; only an LSTM has a cell state"):
        trace.cell(2)
    with pytest.raises(IndexError):
        trace.cell(3)


# --- init schemes, summary -----------------------------------------------------------------------------

def test_lstm_init_schemes():
    units, features = 16, 6
    layers = [LayerSpec("LSTM", units, True)]
    keras = init_weights(make_spec(layers, features=features, scheme="keras"))[0][0]
    assert keras.kernel.shape == (6, 64) and keras.recurrent_kernel.shape == (16, 64) and keras.bias.shape == (64,)
    limit = np.sqrt(6 / (features + 4 * units))  # glorot uniform over (in, 4u)
    assert limit * 0.8 < np.abs(keras.kernel).max() <= limit
    r = keras.recurrent_kernel.astype(np.float64)
    np.testing.assert_allclose(r @ r.T, np.eye(units), atol=1e-5)
    np.testing.assert_array_equal(keras.bias, np.r_[np.zeros(units), np.ones(units), np.zeros(2 * units)])

    tcell = init_weights(make_spec(layers, features=features, scheme="torch"))[0][0]
    k = 1 / np.sqrt(units)
    assert np.abs(tcell.kernel).max() <= k and np.abs(tcell.recurrent_kernel).max() <= k
    assert k < np.abs(tcell.bias).max() <= 2 * k  # b_ih + b_hh: a triangular distribution on ±2k

    uniform = init_weights(make_spec(layers, features=features, scheme="uniform01"))[0][0]
    for a in (uniform.kernel, uniform.recurrent_kernel, uniform.bias):
        assert a.min() >= 0 and a.max() < 1

    one, two = (init_weights(make_spec([LayerSpec("LSTM", 100)], features=50, scheme="normal", gain=g))[0][0]
                for g in (1.0, 2.0))
    np.testing.assert_array_equal(one.kernel, two.kernel)
    np.testing.assert_array_equal(two.recurrent_kernel, 2 * one.recurrent_kernel)
    assert abs(one.recurrent_kernel.std() - 1 / 10) < 0.005 and not one.bias.any()


def test_lstm_summary_params_and_names():
    assert cell_params("LSTM", 3, 4) == 4 * (3 * 4 + 4 * 4 + 4) == 128  # keras.layers.LSTM(4) on 3 features
    spec = make_spec([LayerSpec("LSTM", 4), LayerSpec("GRU", 4), LayerSpec("LSTM", 8, True), LayerSpec("LSTM", 2)],
                     features=3)
    rows = rnnviz.summary(spec).rows
    assert [r.name for r in rows] == ["lstm", "gru", "bidirectional", "lstm_1"]
    assert [r.type for r in rows] == ["LSTM", "GRU", "Bidirectional", "LSTM"]
    assert [r.params for r in rows] == [128, 3 * 4 * (4 + 4 + 2), 2 * 4 * 8 * (4 + 8 + 1), 4 * 2 * (16 + 2 + 1)]
    assert keras_names([LayerSpec("LSTM", 2)] * 3) == ["lstm", "lstm_1", "lstm_2"]
