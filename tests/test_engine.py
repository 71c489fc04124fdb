"""The engine's numbers: against torch.nn.RNN/GRU, the tutorial's numpy loop and hand-computed GRU
gates; the stepping generator block by block; determinism; init schemes and input sources."""

import threading

import numpy as np
import pytest
import torch

import rnnviz
from rnnviz.engine import stepper as stepper_module
from rnnviz.engine.cells import CellWeights, from_torch, init_weights, to_torch
from rnnviz.engine.device import resolve_device
from rnnviz.engine.stepper import BLOCK, Stepper, block_edges
from rnnviz.errors import DeviceError, InputError
from rnnviz.trace import trace_bytes
from rnnviz.headless import prepare
from rnnviz.inputs import generate, read_input, text_alphabet
from rnnviz.spec import InitSpec, InputSpec, LayerSpec, ModelSpec

ATOL = 1e-6


def make_spec(layers, timesteps=9, features=3, source="normal", scheme="torch", seed=0, gain=1.0):
    return ModelSpec(input=InputSpec(timesteps=timesteps, features=features, source=source, seed=seed),
                     layers=layers, init=InitSpec(scheme, gain, seed))


def torch_module(layer_type, cells, bidirectional, num_layers=1):
    """A torch.nn.RNN/GRU holding rnnviz weights (``cells``: one tuple of directions per layer)."""
    first = cells[0][0]
    cls = torch.nn.GRU if layer_type == "GRU" else torch.nn.RNN
    module = cls(first.input_dim, first.units, num_layers=num_layers, bidirectional=bidirectional,
                 batch_first=True)
    state = {}
    for k, layer_cells in enumerate(cells):
        for cell, suffix in zip(layer_cells, ("", "_reverse")):
            for name, value in to_torch(cell).items():
                state[f"{name}_l{k}{suffix}"] = torch.from_numpy(value)
    module.load_state_dict(state)
    return module


def torch_states(spec, weights, inputs):
    """Every layer's [forward | backward] sequence, computed by chaining single-layer torch modules."""
    x = torch.from_numpy(inputs)[None]
    states = []
    with torch.no_grad():
        for layer, cells in zip(spec.layers, weights):
            out, _ = torch_module(layer.type, [cells], layer.bidirectional)(x)
            states.append(out[0].numpy())
            x = out
    return states


STACKS = {
    "rnn_deep": [LayerSpec("SimpleRNN", 5), LayerSpec("SimpleRNN", 4), LayerSpec("SimpleRNN", 3)],
    "rnn_bidir_deep": [LayerSpec("SimpleRNN", 5, True), LayerSpec("SimpleRNN", 4, True)],
    "gru_deep": [LayerSpec("GRU", 5), LayerSpec("GRU", 4), LayerSpec("GRU", 6)],
    "gru_bidir_deep": [LayerSpec("GRU", 4, True), LayerSpec("GRU", 3, True), LayerSpec("GRU", 2, True)],
    "mixed": [LayerSpec("GRU", 4, True), LayerSpec("SimpleRNN", 5), LayerSpec("GRU", 3, True, True)],
}


@pytest.mark.parametrize("scheme", ["torch", "keras", "normal", "uniform01"])
@pytest.mark.parametrize("name", sorted(STACKS))
def test_every_layer_and_direction_equals_torch(name, scheme):
    spec = make_spec(STACKS[name], timesteps=11, scheme=scheme)
    model, inputs = prepare(spec)
    trace = rnnviz.run(spec, device="cpu")
    np.testing.assert_array_equal(trace.inputs, inputs)
    for i, (layer, expected) in enumerate(zip(spec.layers, torch_states(spec, model.weights, inputs)), start=1):
        u = layer.units
        np.testing.assert_allclose(trace.hidden(i, "forward"), expected[:, :u], rtol=0, atol=ATOL)
        if layer.bidirectional:
            np.testing.assert_allclose(trace.hidden(i, "backward"), expected[:, u:], rtol=0, atol=ATOL)
        else:
            assert expected.shape[1] == u


@pytest.mark.parametrize("layer_type, bidirectional", [("SimpleRNN", False), ("SimpleRNN", True), ("GRU", False),
                                                       ("GRU", True)])
def test_uniform_stack_equals_one_multilayer_torch_module(layer_type, bidirectional):
    layers = [LayerSpec(layer_type, 4, bidirectional) for _ in range(3)]
    spec = make_spec(layers, timesteps=13, features=2)
    model, inputs = prepare(spec)
    trace = rnnviz.run(spec, device="cpu")
    module = torch_module(layer_type, model.weights, bidirectional, num_layers=3)
    with torch.no_grad():
        out, h_n = module(torch.from_numpy(inputs)[None])
    last = np.concatenate([trace.hidden(3, d) for d in layers[-1].directions], axis=1)
    np.testing.assert_allclose(last, out[0].numpy(), rtol=0, atol=ATOL)
    for k in range(3):  # final states of every layer and direction (backward's final state is row 0)
        if bidirectional:
            np.testing.assert_allclose(trace.hidden(k + 1, "forward")[-1], h_n[2 * k, 0].numpy(), atol=ATOL)
            np.testing.assert_allclose(trace.hidden(k + 1, "backward")[0], h_n[2 * k + 1, 0].numpy(), atol=ATOL)
        else:
            np.testing.assert_allclose(trace.hidden(k + 1, "forward")[-1], h_n[k, 0].numpy(), atol=ATOL)


@pytest.mark.parametrize("cls", [torch.nn.RNN, torch.nn.GRU])
def test_torch_weights_through_from_torch(cls):
    """A torch module with non-zero b_hh: its weights via from_torch give the module's own numbers."""
    torch.manual_seed(3)
    module = cls(3, 5, num_layers=2, bidirectional=True, batch_first=True)
    layer_type = "GRU" if cls is torch.nn.GRU else "SimpleRNN"
    sd = {k: v.detach().numpy() for k, v in module.state_dict().items()}
    assert np.abs(sd["bias_hh_l0"]).min() > 0
    weights = [tuple(from_torch(layer_type, *(sd[f"{n}_l{k}{s}"] for n in ("weight_ih", "weight_hh", "bias_ih",
                                                                              "bias_hh")))
                     for s in ("", "_reverse")) for k in range(2)]
    spec = make_spec([LayerSpec(layer_type, 5, True), LayerSpec(layer_type, 5, True)], timesteps=8)
    x = np.random.default_rng(1).standard_normal((8, 3)).astype(np.float32)
    trace = Stepper(spec, weights, x, device="cpu").run()
    with torch.no_grad():
        out, h_n = module(torch.from_numpy(x)[None])
    np.testing.assert_allclose(np.concatenate([trace.hidden(2, "forward"), trace.hidden(2, "backward")], 1),
                               out[0].numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(trace.hidden(1, "forward")[-1], h_n[0, 0].numpy(), atol=ATOL)
    np.testing.assert_allclose(trace.hidden(1, "backward")[0], h_n[1, 0].numpy(), atol=ATOL)


@pytest.mark.parametrize("layer_type", ["SimpleRNN", "GRU"])
def test_to_torch_from_torch_round_trip(layer_type):
    spec = make_spec([LayerSpec(layer_type, 4)], features=3)
    cell = init_weights(spec)[0][0]
    t = to_torch(cell)
    rows = 4 * (3 if layer_type == "GRU" else 1)
    assert t["weight_ih"].shape == (rows, 3) and t["weight_hh"].shape == (rows, 4)
    assert t["bias_ih"].shape == t["bias_hh"].shape == (rows,)
    back = from_torch(layer_type, t["weight_ih"], t["weight_hh"], t["bias_ih"], t["bias_hh"])
    for a, b in zip((back.kernel, back.recurrent_kernel, back.bias), (cell.kernel, cell.recurrent_kernel, cell.bias)):
        np.testing.assert_array_equal(a, b)
    if layer_type == "GRU":  # Keras [z | r | h] becomes torch [r | z | n]
        np.testing.assert_array_equal(t["weight_ih"][:4], cell.kernel[:, 4:8].T)
        np.testing.assert_array_equal(t["weight_ih"][4:8], cell.kernel[:, :4].T)
        np.testing.assert_array_equal(t["bias_hh"][8:], cell.bias[1, 8:])
    else:
        np.testing.assert_array_equal(t["bias_hh"], 0)


def test_tutorial_numpy_loop(assets_dir):
    """The tutorial's loop ``h = tanh(Wx @ x_t + Wh @ h + b)``, with Keras kernels being the transposes."""
    spec = rnnviz.load_spec(assets_dir / "demo_saturation.toml")
    model, inputs = prepare(spec)
    cell = model.weights[0][0]
    Wx, Wh, b = cell.kernel.T.astype(np.float64), cell.recurrent_kernel.T.astype(np.float64), cell.bias
    assert Wx.shape == (8, 4) and Wh.shape == (8, 8) and b.shape == (8,)  # the tutorial's shapes
    hidden_state_t = np.zeros(8)
    total_hidden_states = []
    for input_t in inputs.astype(np.float64):
        output_t = np.tanh(np.dot(Wx, input_t) + np.dot(Wh, hidden_state_t) + b)
        total_hidden_states.append(list(output_t))
        hidden_state_t = output_t
    expected = np.stack(total_hidden_states, axis=0)
    trace = rnnviz.run(spec, device="cpu")
    np.testing.assert_allclose(trace.hidden(1), expected, rtol=0, atol=ATOL)
    # the tutorial's point: with every weight in [0, 1) the states saturate at once and stay there
    assert (trace.hidden(1)[1:] > 0.99).all()
    fraction, gain = trace.saturation()[0][2:]
    assert (fraction[1:] == 1).all() and (gain[1:] < 0.01).all()


def hand_gru(cell: CellWeights, x: np.ndarray, reverse: bool = False):
    """FIXTURES.md's equations in float64, Keras layout; returned in input-time order."""
    u = cell.units
    k, rk, bias = (a.astype(np.float64) for a in (cell.kernel, cell.recurrent_kernel, cell.bias))
    h = np.zeros(u)
    out = {name: np.zeros((len(x), u)) for name in ("h", "z", "r", "hh", "prev")}
    order = range(len(x) - 1, -1, -1) if reverse else range(len(x))
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    for t in order:
        xi = x[t].astype(np.float64) @ k + bias[0]
        hr = h @ rk + bias[1]
        z = sigmoid(xi[:u] + hr[:u])
        r = sigmoid(xi[u:2 * u] + hr[u:2 * u])
        hh = np.tanh(xi[2 * u:] + r * hr[2 * u:])
        out["prev"][t] = h
        h = z * h + (1 - z) * hh
        out["h"][t], out["z"][t], out["r"][t], out["hh"][t] = h, z, r, hh
    return out


@pytest.mark.parametrize("timesteps", [7, BLOCK + 5])
def test_gru_gates_equal_hand_computation(timesteps):
    spec = make_spec([LayerSpec("GRU", 5, True), LayerSpec("GRU", 3)], timesteps=timesteps, scheme="normal",
                     gain=1.3)
    model, inputs = prepare(spec)
    trace = rnnviz.run(spec, device="cpu")
    x = inputs
    for i, (layer, cells) in enumerate(zip(spec.layers, model.weights), start=1):
        outputs = []
        for direction, cell in zip(layer.directions, cells):
            ref = hand_gru(cell, x, reverse=direction == "backward")
            gates = trace.gates(i, direction)
            assert set(gates) == {"z", "r", "hh"}
            for name in ("z", "r", "hh"):
                assert gates[name].shape == (timesteps, layer.units) and gates[name].dtype == np.float32
                np.testing.assert_allclose(gates[name], ref[name], rtol=0, atol=ATOL)
            h = trace.hidden(i, direction)
            np.testing.assert_allclose(h, ref["h"], rtol=0, atol=ATOL)
            z, hh = gates["z"].astype(np.float64), gates["hh"].astype(np.float64)
            np.testing.assert_allclose(h, z * ref["prev"] + (1 - z) * hh, rtol=0, atol=ATOL)
            outputs.append(h)
        x = np.concatenate(outputs, axis=1)


def test_simplernn_has_no_gates():
    trace = rnnviz.run(make_spec([LayerSpec("SimpleRNN", 3, True)]), device="cpu")
    assert trace.gates(1, "forward") == {} and trace.gates(1, "backward") == {}


# --- the stepping generator ----------------------------------------------------------------------------

LONG = 2 * BLOCK + 7  # longer than a block and not a multiple of it


def long_spec(seed=0):
    return make_spec([LayerSpec("GRU", 3, True), LayerSpec("SimpleRNN", 2), LayerSpec("GRU", 2, True)],
                     timesteps=LONG, features=2, scheme="normal", seed=seed, gain=1.2)


def collect(spec):
    model, inputs = prepare(spec)
    steps = Stepper(model.spec, model.weights, inputs, device="cpu")
    hidden = {(i, d): np.full((LONG, l.units), np.nan, np.float32)
              for i, l in enumerate(spec.layers) for d in l.directions}
    gates = {}
    blocks = []
    for block in steps:
        hidden[block.layer, block.direction][block.start:block.stop] = block.hidden
        for name, values in block.gates.items():
            gates.setdefault((block.layer, block.direction, name), np.full_like(hidden[block.layer, block.direction],
                                                                            np.nan))[block.start:block.stop] = values
        blocks.append(block)
    return hidden, gates, blocks, steps


def test_stepping_generator_equals_run():
    spec = long_spec()
    hidden, gates, blocks, steps = collect(spec)
    model, inputs = prepare(spec)
    ran = Stepper(model.spec, model.weights, inputs, device="cpu").run()
    public = rnnviz.run(spec, device="cpu")
    for (i, d), values in hidden.items():
        assert not np.isnan(values).any()
        assert np.array_equal(values, ran.hidden(i + 1, d))
        assert np.array_equal(values, public.hidden(i + 1, d))
        assert np.array_equal(values, steps.trace.hidden(i + 1, d))
    for (i, d, g), values in gates.items():
        assert np.array_equal(values, public.gates(i + 1, d)[g])
    assert len(gates) == 2 * 3 + 2 * 3


def test_blocks_cover_the_sequence_in_order():
    spec = long_spec()
    _, _, blocks, steps = collect(spec)
    assert steps.total == 3 * LONG
    done = [b.done for b in blocks]
    assert done == sorted(done) and done[-1] == blocks[-1].total == 3 * LONG
    assert [b.layer for b in blocks] == sorted(b.layer for b in blocks)  # layer after layer
    spans = {}
    for b in blocks:
        assert b.hidden.shape == (b.stop - b.start, spec.layers[b.layer].units)
        spans.setdefault((b.layer, b.direction), []).append((b.start, b.stop))
    edges = block_edges(LONG)
    forward = list(zip(edges, edges[1:]))
    backward = [(LONG - stop, LONG - start) for start, stop in forward]  # from the end
    assert spans == {(0, "forward"): forward, (0, "backward"): backward, (1, "forward"): forward,
                     (2, "forward"): forward, (2, "backward"): backward}


def test_block_arrays_are_copies():
    spec = long_spec()
    model, inputs = prepare(spec)
    steps = Stepper(model.spec, model.weights, inputs, device="cpu")
    first = next(iter(steps))
    kept = steps.trace.hidden(1, first.direction)[first.start:first.stop].copy()
    first.hidden[:] = 42
    assert np.array_equal(steps.trace.hidden(1, first.direction)[first.start:first.stop], kept)


def test_blocks_without_copies_are_the_trace_rows():
    """What ``rnnviz run`` asks for: it only reads each block's progress, so nothing is copied."""
    spec = long_spec()
    model, inputs = prepare(spec)
    steps = Stepper(model.spec, model.weights, inputs, device="cpu")
    steps.copies = False
    blocks = list(steps)
    for block in blocks:
        rows = steps.trace.hidden(block.layer + 1, block.direction)[block.start:block.stop]
        assert np.shares_memory(block.hidden, rows) and np.array_equal(block.hidden, rows)
    reference = rnnviz.run(spec, device="cpu")
    for i, d, h in reference.streams():
        assert np.array_equal(steps.trace.hidden(i, d), h)


def test_abandoned_generator_releases_its_threads():
    spec = long_spec()
    model, inputs = prepare(spec)
    blocks = iter(Stepper(model.spec, model.weights, inputs, device="cpu"))
    next(blocks)
    next(blocks)
    blocks.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("rnnviz-direction")]


def test_same_seed_bit_identical_and_seeds_matter():
    a, b = rnnviz.run(long_spec(seed=4), device="cpu"), rnnviz.run(long_spec(seed=4), device="cpu")
    c = rnnviz.run(long_spec(seed=5), device="cpu")
    assert np.array_equal(a.inputs, b.inputs)
    for (i, d, h) in a.streams():
        assert np.array_equal(h, b.hidden(i, d))
        assert not np.array_equal(h, c.hidden(i, d))
        for g, values in a.gates(i, d).items():
            assert np.array_equal(values, b.gates(i, d)[g])


def test_block_edges_start_short_then_stay_at_block():
    assert block_edges(1) == [0, 1]
    assert block_edges(32) == [0, 32]
    edges = block_edges(3000)
    sizes = [b - a for a, b in zip(edges, edges[1:])]
    assert edges[0] == 0 and edges[-1] == 3000
    assert sizes[:4] == [32, 64, 128, 256] and set(sizes[4:-1]) == {BLOCK} and 0 < sizes[-1] <= BLOCK


def test_block_size_does_not_change_the_numbers(monkeypatch):
    spec = long_spec()
    reference = rnnviz.run(spec, device="cpu")
    monkeypatch.setattr(stepper_module, "BLOCK", 10)
    other = rnnviz.run(spec, device="cpu")
    for i, d, h in reference.streams():
        np.testing.assert_allclose(other.hidden(i, d), h, rtol=0, atol=ATOL)


def test_progress_callback():
    calls = []
    rnnviz.run(long_spec(), device="cpu", progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (3 * LONG, 3 * LONG)
    assert all(total == 3 * LONG for _, total in calls)


def test_trace_accessors():
    spec = make_spec([LayerSpec("GRU", 3, True, False)], timesteps=5)
    trace = rnnviz.run(spec, device="cpu")
    assert trace.timesteps == 5 and trace.hidden(1, "backward").shape == (5, 3)
    last = np.concatenate([trace.hidden(1)[-1], trace.hidden(1, "backward")[0]])  # backward ends at t = 0
    np.testing.assert_array_equal(trace.output(1), last)
    with pytest.raises(IndexError):
        trace.hidden(0)
    with pytest.raises(IndexError):
        trace.hidden(2)
    with pytest.raises(KeyError):
        trace.hidden(1, "sideways")
    single = rnnviz.run(make_spec([LayerSpec("GRU", 3)]), device="cpu")
    with pytest.raises(KeyError):
        single.hidden(1, "backward")


# --- devices ----------------------------------------------------------------------------------------------

def test_devices():
    assert resolve_device("cpu") == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="'cuda' is not available on this machine; available: cpu"):
            resolve_device("cuda")
        with pytest.raises(DeviceError, match="not available"):
            resolve_device("cuda:0")
        if not torch.backends.mps.is_available():
            assert resolve_device("auto") == "cpu"
    with pytest.raises(DeviceError, match="choose one of auto, cpu, cuda, mps"):
        resolve_device("tpu")
    with pytest.raises(DeviceError, match="is not known"):
        resolve_device("cpu:0")


def test_accelerator_code_path_on_the_cpu():
    """The path a GPU takes (device buffers, states copied into the trace as blocks are yielded), run
    on torch's "cpu:0", which is not "cpu" to the stepper: same blocks, same numbers."""
    spec = long_spec()
    model, inputs = prepare(spec)
    reference = Stepper(model.spec, model.weights, inputs, device="cpu").run()
    steps = Stepper(model.spec, model.weights, inputs, device="cpu")
    steps.device = "cpu:0"
    blocks = list(steps)
    assert [(b.layer, b.direction, b.start, b.stop) for b in blocks] == \
        [(b.layer, b.direction, b.start, b.stop) for b in collect(spec)[2]]
    for i, d, h in reference.streams():
        np.testing.assert_allclose(steps.trace.hidden(i, d), h, rtol=0, atol=ATOL)
        for g, values in reference.gates(i, d).items():
            np.testing.assert_allclose(steps.trace.gates(i, d)[g], values, rtol=0, atol=ATOL)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu_and_is_deterministic():
    spec = long_spec()
    cpu = rnnviz.run(spec, device="cpu")
    gpu, again = rnnviz.run(spec, device="cuda"), rnnviz.run(spec, device="cuda")
    for i, d, h in cpu.streams():
        np.testing.assert_allclose(gpu.hidden(i, d), h, rtol=0, atol=1e-5)
        assert np.array_equal(gpu.hidden(i, d), again.hidden(i, d))


# --- init schemes ------------------------------------------------------------------------------------------

def shapes_of(cells):
    return [(c.kernel.shape, c.recurrent_kernel.shape, c.bias.shape) for c in cells]


@pytest.mark.parametrize("scheme", ["uniform01", "keras", "torch", "normal"])
def test_init_shapes_dtypes_and_seeding(scheme):
    spec = make_spec([LayerSpec("GRU", 4, True), LayerSpec("SimpleRNN", 3), LayerSpec("GRU", 2)], features=5,
                     scheme=scheme)
    weights = init_weights(spec)
    assert shapes_of(weights[0]) == [((5, 12), (4, 12), (2, 12))] * 2
    assert shapes_of(weights[1]) == [((8, 3), (3, 3), (3,))]  # reads units × directions of layer 1
    assert shapes_of(weights[2]) == [((3, 6), (2, 6), (2, 6))]
    for cells in weights:
        for c in cells:
            for a in (c.kernel, c.recurrent_kernel, c.bias):
                assert a.dtype == np.float32 and a.flags.c_contiguous and np.isfinite(a).all()
    again = init_weights(spec)
    other = init_weights(make_spec(spec.layers, features=5, scheme=scheme, seed=1))
    for cells, cells2, cells3 in zip(weights, again, other):
        for c, c2, c3 in zip(cells, cells2, cells3):
            assert np.array_equal(c.kernel, c2.kernel) and np.array_equal(c.recurrent_kernel, c2.recurrent_kernel)
            assert not np.array_equal(c.kernel, c3.kernel)
    assert not np.array_equal(weights[0][0].kernel, weights[0][1].kernel)  # directions drawn separately


def test_uniform01_in_unit_interval():
    spec = make_spec([LayerSpec("GRU", 30, True), LayerSpec("SimpleRNN", 20)], features=10, scheme="uniform01")
    values = np.concatenate([a.ravel() for cells in init_weights(spec) for c in cells
                             for a in (c.kernel, c.recurrent_kernel, c.bias)])
    assert values.min() >= 0 and values.max() < 1
    assert 0.45 < values.mean() < 0.55


@pytest.mark.parametrize("layer_type, gates", [("SimpleRNN", 1), ("GRU", 3)])
def test_keras_scheme(layer_type, gates):
    units, features = 16, 6
    cell = init_weights(make_spec([LayerSpec(layer_type, units)], features=features, scheme="keras"))[0][0]
    limit = np.sqrt(6 / (features + gates * units))  # glorot uniform
    assert np.abs(cell.kernel).max() <= limit and np.abs(cell.kernel).max() > 0.8 * limit
    r = cell.recurrent_kernel.astype(np.float64)
    np.testing.assert_allclose(r @ r.T, np.eye(units), atol=1e-5)  # orthogonal (rows, as Keras for (u, k·u))
    if gates == 1:
        np.testing.assert_allclose(r.T @ r, np.eye(units), atol=1e-5)
    assert not cell.bias.any()


def test_torch_scheme_bounds():
    units = 9
    weights = init_weights(make_spec([LayerSpec("GRU", units), LayerSpec("SimpleRNN", units)], scheme="torch"))
    k = 1 / np.sqrt(units)
    gru, rnn = weights[0][0], weights[1][0]
    for a in (gru.kernel, gru.recurrent_kernel, gru.bias, rnn.kernel, rnn.recurrent_kernel):
        assert np.abs(a).max() <= k
    assert np.abs(rnn.bias).max() <= 2 * k  # torch's b_ih + b_hh in one


def test_normal_scheme_gain_scaling():
    layers = [LayerSpec("SimpleRNN", 200), LayerSpec("GRU", 100)]
    one = init_weights(make_spec(layers, features=50, scheme="normal", gain=1.0))
    two = init_weights(make_spec(layers, features=50, scheme="normal", gain=2.0))
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a[0].kernel, b[0].kernel)  # gain scales only the recurrent weights
        np.testing.assert_array_equal(b[0].recurrent_kernel, 2 * a[0].recurrent_kernel)
        assert not b[0].bias.any()
    rnn = one[0][0]
    assert abs(rnn.kernel.std() - 1 / np.sqrt(50)) < 0.05 / np.sqrt(50)
    assert abs(rnn.recurrent_kernel.std() - 1 / np.sqrt(200)) < 0.05 / np.sqrt(200)
    assert abs(two[1][0].recurrent_kernel.std() - 2 / np.sqrt(100)) < 0.05 * 2 / np.sqrt(100)
    assert abs(two[1][0].kernel.std() - 1 / np.sqrt(200)) < 0.05 / np.sqrt(200)  # layer 2 reads 200 features


# --- input sources -----------------------------------------------------------------------------------------

def test_uniform_source():
    values = generate(InputSpec(timesteps=300, features=4, source="uniform", seed=2))
    assert values.shape == (300, 4) and values.dtype == np.float32
    assert values.min() >= 0 and values.max() < 1 and 0.45 < values.mean() < 0.55
    assert np.array_equal(values, generate(InputSpec(timesteps=300, features=4, source="uniform", seed=2)))
    assert not np.array_equal(values, generate(InputSpec(timesteps=300, features=4, source="uniform", seed=3)))


def test_normal_source():
    values = generate(InputSpec(timesteps=2000, features=5, source="normal", seed=1))
    assert values.shape == (2000, 5) and values.dtype == np.float32
    assert abs(values.mean()) < 0.05 and abs(values.std() - 1) < 0.05


def test_sine_source():
    values = generate(InputSpec(timesteps=240, features=3, source="sine", seed=0))
    assert values.shape == (240, 3) and values.dtype == np.float32
    assert np.abs(values).max() <= 1
    spectrum = np.abs(np.fft.rfft(values, axis=0))
    assert list(spectrum.argmax(axis=0)) == [1, 2, 3]  # feature f oscillates f + 1 times
    assert not np.array_equal(values, generate(InputSpec(timesteps=240, features=3, source="sine", seed=1)))


def test_text_one_hot():
    text = "hello world"
    spec = InputSpec(timesteps=None, features=None, source="text", text=text)
    values = generate(spec)
    alphabet = text_alphabet(text)
    assert alphabet == sorted(set(text)) == [" ", "d", "e", "h", "l", "o", "r", "w"]
    assert values.shape == (11, 8) and values.dtype == np.float32
    assert (values.sum(axis=1) == 1).all() and set(np.unique(values)) == {0.0, 1.0}
    assert "".join(alphabet[i] for i in values.argmax(axis=1)) == text


def test_read_input_csv_and_npy(tmp_path):
    values = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    (tmp_path / "h.csv").write_text("\ufeffa,b,c\n" + "\n".join(",".join("%.9g" % v for v in row) for row in values)
                                    + "\n\n", encoding="utf-8")
    np.testing.assert_array_equal(read_input(tmp_path / "h.csv"), values)
    (tmp_path / "n.csv").write_text("\n".join(" , ".join("%.9g" % v for v in row) for row in values))
    np.testing.assert_array_equal(read_input(tmp_path / "n.csv"), values)
    np.save(tmp_path / "x.npy", values.astype(np.float64))
    np.testing.assert_array_equal(read_input(tmp_path / "x.npy"), values)
    np.save(tmp_path / "one.npy", np.arange(4))
    assert read_input(tmp_path / "one.npy").shape == (4, 1)
    np.savez(tmp_path / "z.npz", a=values)
    (tmp_path / "z.npz").rename(tmp_path / "z.npy")
    with pytest.raises(InputError, match="npz archive"):
        read_input(tmp_path / "z.npy")
    np.save(tmp_path / "three.npy", np.zeros((2, 2, 2)))
    with pytest.raises(InputError, match=r"expected a \(timesteps, features\) table"):
        read_input(tmp_path / "three.npy")
    (tmp_path / "x.parquet").write_bytes(b"PAR1")
    with pytest.raises(InputError, match="unsupported input format '.parquet'"):
        read_input(tmp_path / "x.parquet")


def test_array_inputs_override_the_spec():
    spec = make_spec([LayerSpec("GRU", 2)], timesteps=4, features=3)
    values = np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3)  # rows set the timesteps
    trace = rnnviz.run(spec, inputs=values, device="cpu")
    np.testing.assert_array_equal(trace.inputs, values)
    assert trace.spec.input.timesteps == 5 and trace.spec.input.features == 3
    with pytest.raises(InputError, match="NaN or infinite"):
        rnnviz.run(spec, inputs=np.array([[1.0, np.inf]]), device="cpu")


@pytest.mark.parametrize("ahead", [0, 3, 1000])
def test_pace_does_not_change_the_numbers(monkeypatch, ahead):
    """However far the CPU workers may run ahead of the consumer, the states are bit-identical."""
    spec = long_spec()
    reference = rnnviz.run(spec, device="cpu")
    if hasattr(stepper_module, "AHEAD"):
        monkeypatch.setattr(stepper_module, "AHEAD", ahead)
    hidden, gates, _, _ = collect(spec)
    for (i, d), values in hidden.items():
        assert np.array_equal(values, reference.hidden(i + 1, d))
    for (i, d, g), values in gates.items():
        assert np.array_equal(values, reference.gates(i + 1, d)[g])


def test_a_paused_consumer_pauses_the_computation():
    """While the consumer holds the first block, nothing far beyond it is computed (the GUI's pause)."""
    steps = 12 * BLOCK
    spec = make_spec([LayerSpec("GRU", 3), LayerSpec("SimpleRNN", 3)], timesteps=steps, features=2)
    model, inputs = prepare(spec)
    stepper = Stepper(model.spec, model.weights, inputs, device="cpu")
    blocks = iter(stepper)
    first = next(blocks)
    edges = block_edges(steps)
    assert (first.layer, first.start, first.stop) == (0, 0, edges[1])
    limit = edges[2 + stepper_module.AHEAD]
    for layer in (1, 2):
        assert not stepper.trace.hidden(layer)[limit:].any()
    blocks.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("rnnviz-direction")]


def test_thread_init_runs_in_every_compute_thread():
    spec = long_spec()
    model, inputs = prepare(spec)
    names = []
    lock = threading.Lock()

    def init():
        with lock:
            names.append(threading.current_thread().name)

    trace = Stepper(model.spec, model.weights, inputs, device="cpu", thread_init=init).run()
    assert sorted(names) == sorted(f"rnnviz-direction-{i}-{d}" for i, l in enumerate(spec.layers) for d in l.directions)
    assert np.array_equal(trace.hidden(1, "forward"), rnnviz.run(spec, device="cpu").hidden(1, "forward"))


def test_a_run_too_large_for_the_cuda_device_is_refused_up_front(monkeypatch):
    from rnnviz.engine import device as device_module

    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (2**30, 16 * 2**30))
    small = make_spec([LayerSpec("GRU", 8)], timesteps=100)
    device_module.check_device_memory(trace_bytes(small), "cuda")  # fits: no error
    with pytest.raises(DeviceError, match=r"model too large for cuda:0: .* need about 2\.0 GiB .* 1\.0 GiB free"):
        device_module.check_device_memory(2 * 2**30, "cuda:0")
    device_module.check_device_memory(2 * 2**30, "cpu")  # the host is checked elsewhere, before allocation


def test_a_deep_stack_runs_on_a_bounded_number_of_threads():
    """Threads exist only for the layers that can compute now: a 40-layer stack must not start 80."""
    spec = make_spec([LayerSpec("SimpleRNN", 2, True)] * 40, timesteps=300, features=2)
    model, inputs = prepare(spec)
    alive = []

    def init():
        alive.append(sum(t.name.startswith("rnnviz-direction") for t in threading.enumerate()))

    trace = Stepper(model.spec, model.weights, inputs, device="cpu", thread_init=init).run()
    assert len(alive) == 80  # every sweep got its thread, in turn
    # the layers that may compute (the current one and get_num_threads() above it), plus the layer
    # below, whose threads may not have exited yet
    assert max(alive) <= 2 * (torch.get_num_threads() + 2)
    x = inputs
    for i in range(1, 41):  # and the states are right: every layer against a hand loop
        cells = model.weights[i - 1]
        outputs = []
        for direction, cell in zip(("forward", "backward"), cells):
            w, u, b = (np.asarray(a, np.float64) for a in (cell.kernel, cell.recurrent_kernel, cell.bias))
            h = np.zeros(2)
            rows = np.zeros((300, 2))
            for t in (range(300) if direction == "forward" else range(299, -1, -1)):
                h = np.tanh(x[t] @ w + h @ u + b)
                rows[t] = h
            np.testing.assert_allclose(trace.hidden(i, direction), rows, rtol=0, atol=1e-4)
            outputs.append(rows)
        x = np.concatenate(outputs, axis=1)
