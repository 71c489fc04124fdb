"""rnnviz's states for real Keras 3 and torch files equal the frameworks' own (tests/data/FIXTURES.md)."""

import numpy as np
import pytest

import rnnviz

MODELS = [
    "keras_simplernn.keras", "keras_deep_simplernn.keras", "keras_bidir_simplernn.keras", "keras_gru.keras",
    "keras_bidir_gru_stack.keras", "keras_gru_dense.keras", "keras_functional_gru.keras",
    "torch_rnn.pt", "torch_gru_bidir.pt", "torch_prefixed_gru.pth",
]


@pytest.mark.parametrize("name", MODELS)
def test_states_equal_framework(data_dir, name):
    stem = name.rsplit(".", 1)[0]
    expected = np.load(data_dir / f"{stem}_states.npz")
    trace = rnnviz.run(data_dir / name, inputs=np.load(data_dir / f"{stem}_input.npy"), device="cpu")
    for key in expected.files:
        layer, direction = int(key[len("layer"):key.index("_")]), key.split("_")[1]
        np.testing.assert_allclose(trace.hidden(layer, direction), expected[key], rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", [m for m in MODELS if "dense" not in m and "prefixed" not in m])
def test_last_layer_output_equals_model_output(data_dir, name):
    stem = name.rsplit(".", 1)[0]
    trace = rnnviz.run(data_dir / name, inputs=data_dir / f"{stem}_input.npy", device="cpu")
    last = len(trace.spec.layers)
    np.testing.assert_allclose(trace.output(last), np.load(data_dir / f"{stem}_output.npy"), atol=1e-6)
