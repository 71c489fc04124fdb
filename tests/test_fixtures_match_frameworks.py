"""rnnviz's states for real Keras 3 and torch files equal the frameworks' own (tests/data/FIXTURES.md)."""

import numpy as np
import pytest

import rnnviz

MODELS = [
    "keras_simplernn.keras", "keras_deep_simplernn.keras", "keras_bidir_simplernn.keras", "keras_gru.keras",
    "keras_bidir_gru_stack.keras", "keras_gru_dense.keras", "keras_functional_gru.keras",
    "keras_lstm_plain.keras", "keras_bidir_lstm_stack.keras", "keras_mixed_lstm_dense.keras",
    "torch_rnn.pt", "torch_gru_bidir.pt", "torch_prefixed_gru.pth", "torch_prefixed_lstm_bidir.pth",
]


def fixture_streams(path):
    """(layer, direction, name or None for h, expected array) per key of a ``NAME_states.npz``:
    ``layer{i}_{direction}`` is h, ``layer{i}_{direction}_{name}`` an LSTM gate or cell state."""
    with np.load(path) as expected:
        for key in expected.files:
            layer, direction, *name = key.split("_")
            yield int(layer[len("layer"):]), direction, (name[0] if name else None), expected[key]


@pytest.mark.parametrize("name", MODELS)
def test_states_equal_framework(data_dir, name):
    stem = name.rsplit(".", 1)[0]
    trace = rnnviz.run(data_dir / name, inputs=np.load(data_dir / f"{stem}_input.npy"), device="cpu")
    for layer, direction, stream, expected in fixture_streams(data_dir / f"{stem}_states.npz"):
        got = trace.hidden(layer, direction) if stream is None else trace.gates(layer, direction)[stream]
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6, err_msg=f"layer {layer} {direction} {stream}")


@pytest.mark.parametrize("name", [m for m in MODELS if "dense" not in m and "prefixed" not in m])
def test_last_layer_output_equals_model_output(data_dir, name):
    stem = name.rsplit(".", 1)[0]
    trace = rnnviz.run(data_dir / name, inputs=data_dir / f"{stem}_input.npy", device="cpu")
    last = len(trace.spec.layers)
    np.testing.assert_allclose(trace.output(last), np.load(data_dir / f"{stem}_output.npy"), atol=1e-6)
