"""Small models and hand-built cells shared by the analysis tests."""

import numpy as np

import rnnviz
from rnnviz.engine.cells import CellWeights

BLOCKS = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}


def random_cell(kind, units, inputs, scale=1.0, seed=0):
    """Weights of one direction in Keras' layout, recurrent N(0, scale²/units)."""
    rng = np.random.default_rng(seed)
    g = BLOCKS[kind]
    bias_shape = (2, g * units) if kind == "GRU" else (g * units,)
    return CellWeights(
        (rng.standard_normal((inputs, g * units)) / np.sqrt(inputs)).astype(np.float32),
        (rng.standard_normal((units, g * units)) * scale / np.sqrt(units)).astype(np.float32),
        (0.3 * rng.standard_normal(bias_shape)).astype(np.float32),
    )


def spec(kind="GRU", units=6, layers=2, bidirectional=True, timesteps=40, features=3, scheme="torch", gain=1.0,
         source="normal", seed=0):
    return rnnviz.ModelSpec(
        input=rnnviz.InputSpec(timesteps=timesteps, features=features, source=source, seed=seed),
        layers=[rnnviz.LayerSpec(kind, units, bidirectional) for _ in range(layers)],
        init=rnnviz.InitSpec(scheme=scheme, gain=gain, seed=seed))


def run(model_spec):
    model, inputs = rnnviz.prepare(model_spec)
    trace = rnnviz.headless.stepper(model, inputs, "cpu").run()
    return model, trace
