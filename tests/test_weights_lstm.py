"""LSTM weights files: real Keras 3 and torch fixtures load into Keras' layout (checked against the frameworks'
own states with an independent numpy LSTM), run end to end, save as state_dicts torch.nn.LSTM loads, and the
variants rnnviz does not model are refused in one line."""

import io
import json
import zipfile

import h5py
import numpy as np
import pytest
import torch

import rnnviz
from rnnviz.errors import WeightsError
from rnnviz.weights import load_weights_file
from rnnviz.weights.torch_file import save_state_dict
from tests.test_cli import DATA, assert_user_error, run_main
from tests.test_fixtures_match_frameworks import fixture_streams

LSTM_FIXTURES = ["keras_lstm_plain.keras", "keras_bidir_lstm_stack.keras", "keras_mixed_lstm_dense.keras",
                 "torch_prefixed_lstm_bidir.pth"]


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def numpy_layer(cell, x, reverse=False):
    """One direction in float64 from Keras-layout weights: {None: h, "i", "f", "g", "o", "c"} (LSTM), {None: h}
    otherwise (GRU reset_after, SimpleRNN); rows in input-time order."""
    kernel, recurrent, bias = (np.asarray(a, np.float64) for a in (cell.kernel, cell.recurrent_kernel, cell.bias))
    u = recurrent.shape[0]
    blocks = recurrent.shape[1] // u
    h, c = np.zeros(u), np.zeros(u)
    out = {}
    for t in (range(len(x) - 1, -1, -1) if reverse else range(len(x))):
        if blocks == 4:
            z = x[t] @ kernel + h @ recurrent + bias
            i, f, g, o = sigmoid(z[:u]), sigmoid(z[u:2 * u]), np.tanh(z[2 * u:3 * u]), sigmoid(z[3 * u:])
            c = f * c + i * g
            h = o * np.tanh(c)
            row = {None: h, "i": i, "f": f, "g": g, "o": o, "c": c}
        elif blocks == 3:
            xi, hr = x[t] @ kernel + bias[0], h @ recurrent + bias[1]
            zg, r = sigmoid(xi[:u] + hr[:u]), sigmoid(xi[u:2 * u] + hr[u:2 * u])
            h = zg * h + (1 - zg) * np.tanh(xi[2 * u:] + r * hr[2 * u:])
            row = {None: h}
        else:
            h = np.tanh(x[t] @ kernel + h @ recurrent + bias)
            row = {None: h}
        for key, value in row.items():
            out.setdefault(key, np.zeros((len(x), u)))[t] = value
    return out


def numpy_stack(model, x):
    """{(layer, direction, stream): array} of a whole loaded model, by :func:`numpy_layer`."""
    streams = {}
    x = np.asarray(x, np.float64)
    for layer, cells in enumerate(model.weights, start=1):
        outputs = []
        for cell, direction in zip(cells, ("forward", "backward")):
            states = numpy_layer(cell, x, reverse=direction == "backward")
            streams.update({(layer, direction, key): value for key, value in states.items()})
            outputs.append(states[None])
        x = np.concatenate(outputs, axis=1)
    return streams


@pytest.mark.parametrize("name", LSTM_FIXTURES)
def test_loaded_weights_rebuild_the_frameworks_states(name):
    """The loader's layout alone (no engine): its weights in a numpy LSTM give Keras'/torch's h, c and gates."""
    stem = name.rsplit(".", 1)[0]
    model = load_weights_file(DATA / name)
    mine = numpy_stack(model, np.load(DATA / f"{stem}_input.npy"))
    for layer, direction, stream, expected in fixture_streams(DATA / f"{stem}_states.npz"):
        np.testing.assert_allclose(mine[layer, direction, stream], expected, rtol=0, atol=1e-5)


def test_keras_lstm_architecture_and_no_bias():
    model = load_weights_file(DATA / "keras_mixed_lstm_dense.keras")
    assert [(l.type, l.units, l.bidirectional) for l in model.spec.layers] == [
        ("GRU", 6, False), ("LSTM", 5, False), ("SimpleRNN", 4, False)]
    assert model.names == ("gru", "lstm", "simple_rnn")
    lstm = model.weights[1][0]
    assert lstm.kernel.shape == (6, 20) and lstm.recurrent_kernel.shape == (5, 20)
    assert np.array_equal(lstm.bias, np.zeros(20, np.float32))  # use_bias=False: the h5 group has no vars/2
    bidir = load_weights_file(DATA / "keras_bidir_lstm_stack.keras")
    assert [(l.type, l.units, l.bidirectional, l.return_sequences) for l in bidir.spec.layers] == [
        ("LSTM", 5, True, True), ("LSTM", 3, True, False)]
    assert (bidir.spec.input.timesteps, bidir.spec.input.features) == (8, 4)


def test_former_unsupported_keras_lstm_runs():
    """keras_lstm.keras has no companions: its reference is read from the h5 file with h5py alone."""
    with zipfile.ZipFile(DATA / "keras_lstm.keras") as archive, \
            h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as h5:
        arrays = [h5[f"layers/lstm/cell/vars/{k}"][()] for k in range(3)]
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    trace = rnnviz.run(DATA / "keras_lstm.keras", inputs=x, device="cpu")
    expected = numpy_layer(type("Cell", (), dict(zip(("kernel", "recurrent_kernel", "bias"), arrays))), x)
    np.testing.assert_allclose(trace.hidden(1), expected[None], rtol=0, atol=1e-6)
    np.testing.assert_allclose(trace.cell(1, "forward"), expected["c"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("bias", [True, False])
def test_torch_lstm_runs_like_torch(bias, tmp_path):
    """torch_lstm.pt (nn.LSTM(3, 4), once refused), and a bias=False LSTM whose biases count as zeros."""
    path = DATA / "torch_lstm.pt"
    if not bias:
        torch.manual_seed(1)
        path = tmp_path / "nobias.pt"
        torch.save(torch.nn.LSTM(3, 4, num_layers=2, bias=False).state_dict(), path)
    state = torch.load(path, weights_only=True)
    module = torch.nn.LSTM(3, 4, num_layers=2 if not bias else 1, bias=bias, batch_first=True)
    module.load_state_dict(state)
    x = np.random.default_rng(1).standard_normal((11, 3)).astype(np.float32)
    with torch.no_grad():
        out, (_, c_n) = module(torch.from_numpy(x)[None])
    trace = rnnviz.run(path, inputs=x, device="cpu")
    last = len(trace.spec.layers)
    np.testing.assert_allclose(trace.hidden(last), out[0].numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(trace.cell(last, "forward")[-1], c_n[-1, 0].numpy(), rtol=0, atol=1e-6)


def test_uniform_lstm_stack_saves_as_nn_lstm(tmp_path):
    """A 2-layer bidirectional LSTM (prefixed keys in a larger module) saves under nn.LSTM's own keys."""
    stem = "torch_prefixed_lstm_bidir"
    model, inputs = rnnviz.prepare(DATA / f"{stem}.pth", inputs=DATA / f"{stem}_input.npy")
    save_state_dict(model.spec, model.weights, tmp_path / "w.pt")
    module = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True)
    module.load_state_dict(torch.load(tmp_path / "w.pt", weights_only=True))  # strict: every key, nothing else
    with torch.no_grad():
        out, _ = module(torch.from_numpy(inputs)[None])
    with np.load(DATA / f"{stem}_states.npz") as expected:
        np.testing.assert_allclose(out[0].numpy(), np.concatenate([expected["layer2_forward"],
                                                                   expected["layer2_backward"]], 1), atol=1e-6)


@pytest.mark.parametrize("name, modules", [
    ("keras_mixed_lstm_dense", lambda: [torch.nn.GRU(3, 6), torch.nn.LSTM(6, 5), torch.nn.RNN(5, 4)]),
    ("keras_bidir_lstm_stack", lambda: [torch.nn.LSTM(4, 5, bidirectional=True),
                                        torch.nn.LSTM(10, 3, bidirectional=True)]),
])
def test_mixed_stack_saves_as_a_module_list(tmp_path, name, modules):
    model, inputs = rnnviz.prepare(DATA / f"{name}.keras", inputs=DATA / f"{name}_input.npy")
    save_state_dict(model.spec, model.weights, tmp_path / "w.pt")
    holder = torch.nn.Module()  # the keys are those of a module holding a ModuleList named layers
    holder.layers = torch.nn.ModuleList(modules())
    holder.load_state_dict(torch.load(tmp_path / "w.pt", weights_only=True))
    x = torch.from_numpy(inputs)[:, None]  # (T, batch 1, features): torch's default layout
    with np.load(DATA / f"{name}_states.npz") as expected, torch.no_grad():
        for layer, module in enumerate(holder.layers, start=1):
            x, _ = module(x)
            want = [expected[f"layer{layer}_{d}"] for d in ("forward", "backward") if f"layer{layer}_{d}" in expected]
            np.testing.assert_allclose(x[:, 0].numpy(), np.concatenate(want, 1), rtol=0, atol=1e-6)


def test_save_weights_cli_round_trip_and_proj_size_refusal(tmp_path):
    """Through the CLI's entry point in this process (a subprocess each took seconds)."""
    stem = "keras_lstm_plain"
    saved = run_main("run", DATA / f"{stem}.keras", "--input", DATA / f"{stem}_input.npy", "--save-weights",
                     tmp_path / "w.pt")
    refused = run_main("run", DATA / "torch_lstm_proj.pt", "--out", tmp_path / "never", "--save-weights",
                       tmp_path / "never.pt")
    assert saved.returncode == 0, saved.stderr
    module = torch.nn.LSTM(3, 5, batch_first=True)
    module.load_state_dict(torch.load(tmp_path / "w.pt", weights_only=True))
    with torch.no_grad():
        out, _ = module(torch.from_numpy(np.load(DATA / f"{stem}_input.npy"))[None])
    np.testing.assert_allclose(out[0].numpy(), np.load(DATA / f"{stem}_states.npz")["layer1_forward"], atol=1e-6)
    assert_user_error(refused, "torch_lstm_proj.pt", "weight_hr_l0", "proj_size")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.pt"]  # nothing written for the refused file


def edited_keras(tmp_path, source, edit):
    """A copy of the fixture ``source`` whose config.json went through ``edit``."""
    with zipfile.ZipFile(DATA / source) as archive:
        config, weights = json.loads(archive.read("config.json")), archive.read("model.weights.h5")
    edit(config["config"]["layers"])
    path = tmp_path / f"edited_{source}"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", weights)
    return path


def lstm_config(layers):
    return layers[1]["config"]


REFUSED = {
    "activation relu": ("keras_lstm_plain.keras", lambda l: lstm_config(l).update(activation="relu"),
                        ["'lstm' (LSTM)", "activation 'relu'", "tanh"]),
    "hard_sigmoid gates": ("keras_lstm_plain.keras",
                           lambda l: lstm_config(l).update(recurrent_activation="hard_sigmoid"),
                           ["recurrent_activation 'hard_sigmoid'", "sigmoid"]),
    "go_backwards alone": ("keras_lstm_plain.keras", lambda l: lstm_config(l).update(go_backwards=True),
                           ["go_backwards=True outside Bidirectional"]),
    "backwards forward layer": ("keras_bidir_lstm_stack.keras",
                                lambda l: l[1]["config"]["layer"]["config"].update(go_backwards=True),
                                ["(Bidirectional)", "forward layer has go_backwards=True"]),
    "backward relu": ("keras_bidir_lstm_stack.keras",
                      lambda l: l[2]["config"]["backward_layer"]["config"].update(activation="relu"),
                      ["'bidirectional_1'", "activation 'relu'"]),
    "ConvLSTM1D": ("keras_lstm_plain.keras", lambda l: l[1].update(class_name="ConvLSTM1D"),
                   ["ConvLSTM1D", "SimpleRNN, GRU and LSTM"]),
}


@pytest.mark.parametrize("case", REFUSED)
def test_keras_lstm_variants_are_refused(tmp_path, case):
    source, edit, needles = REFUSED[case]
    path = edited_keras(tmp_path, source, edit)
    with pytest.raises(WeightsError) as caught:
        load_weights_file(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path))
    for needle in needles:
        assert needle in message, (needle, message)
