"""Keras-exact summaries: the seven tables of the tutorial, character for character, and the general
parameter and shape formulas (property-based)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnviz
from rnnviz.summary import cell_params, keras_names, layer_input_dims, summary

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = Path("/work/shared/reference/keras-rnn-tutorial.txt")

# The tutorial's seven model.summary() calls, in the order they appear in it, with the spec that
# rebuilds each and the layer names Keras gave them (its counters run across the whole notebook, so
# they are not the names of a fresh model; only the first, fifth and seventh model had fresh names).
TUTORIAL_MODELS = [
    ("tutorial_1_simplernn.toml", ["simple_rnn"]),
    ("tutorial_2_batch_input_shape.toml", ["simple_rnn_2"]),
    ("tutorial_3_return_sequences.toml", ["simple_rnn_1"]),
    ("tutorial_4_deep.toml", ["simple_rnn_2", "simple_rnn_3"]),
    ("tutorial_5_bidirectional.toml", ["bidirectional"]),
    ("tutorial_6_deep_bidirectional.toml", [f"bidirectional_{i}" for i in range(1, 5)]),
    ("tutorial_7_gru.toml", ["gru"]),
]
FRESH_NAMES = {0, 4, 6}


# The tutorial's seven tables as printed (header row through Non-trainable params), so that the test
# runs where the tutorial is not at hand. Each line ends at the "|", which keeps its trailing spaces
# safe from editors; when the tutorial is present, this copy is checked against it.
TUTORIAL_COPY = [
    [
        ' Layer (type)                Output Shape              Param #   |',
        ' simple_rnn (SimpleRNN)      (None, 3)                 42        |',
        '                                                                 |',
        'Total params: 42|',
        'Trainable params: 42|',
        'Non-trainable params: 0|',
    ],
    [
        ' Layer (type)                Output Shape              Param #   |',
        ' simple_rnn_2 (SimpleRNN)    (8, 3)                    42        |',
        '                                                                 |',
        'Total params: 42|',
        'Trainable params: 42|',
        'Non-trainable params: 0|',
    ],
    [
        ' Layer (type)                Output Shape              Param #   |',
        ' simple_rnn_1 (SimpleRNN)    (8, 2, 3)                 42        |',
        '                                                                 |',
        'Total params: 42|',
        'Trainable params: 42|',
        'Non-trainable params: 0|',
    ],
    [
        ' Layer (type)                Output Shape              Param #   |',
        ' simple_rnn_2 (SimpleRNN)    (None, 10, 8)             112       |',
        '                                                                 |',
        ' simple_rnn_3 (SimpleRNN)    (None, 10, 8)             136       |',
        '                                                                 |',
        'Total params: 248|',
        'Trainable params: 248|',
        'Non-trainable params: 0|',
    ],
    [
        ' Layer (type)                Output Shape              Param #   |',
        ' bidirectional (Bidirectiona  (None, 10, 16)           224       |',
        ' l)                                                              |',
        '                                                                 |',
        'Total params: 224|',
        'Trainable params: 224|',
        'Non-trainable params: 0|',
    ],
    [
        ' Layer (type)                Output Shape              Param #   |',
        ' bidirectional_1 (Bidirectio  (None, 10, 16)           224       |',
        ' nal)                                                            |',
        '                                                                 |',
        ' bidirectional_2 (Bidirectio  (None, 10, 16)           400       |',
        ' nal)                                                            |',
        '                                                                 |',
        ' bidirectional_3 (Bidirectio  (None, 10, 16)           400       |',
        ' nal)                                                            |',
        '                                                                 |',
        ' bidirectional_4 (Bidirectio  (None, 10, 16)           400       |',
        ' nal)                                                            |',
        '                                                                 |',
        'Total params: 1,424|',
        'Trainable params: 1,424|',
        'Non-traina|',
    ],
    [
        ' Layer (type)                Output Shape              Param #   |',
        ' gru (GRU)                   (None, 8)                 360       |',
        '                                                                 |',
        'Total params: 360|',
        'Trainable params: 360|',
        'Non-trainable params: 0|',
    ],
]


def parse_tutorial(text: str) -> list[list[str]]:
    """Each summary block of the tutorial: from the header row through ``Non-trainable params: 0``
    (or as far as the copy goes: the sixth block was cut off inside that line)."""
    lines = text.split("\n")
    tables = []
    for i, line in enumerate(lines):
        if not line.startswith("Model: "):
            continue
        assert lines[i + 1] == "_" * 65
        assert lines[i + 2].startswith(" Layer (type)")
        block = []
        for row in lines[i + 2:]:
            if not row:  # the copy ends a block with an empty line (a blank table row is 65 spaces)
                break
            block.append(row)
            if row == "Non-trainable params: 0":
                break
        tables.append(block)
    return tables


def tutorial_tables() -> list[list[str]]:
    copy = [[line[:-1] for line in block] for block in TUTORIAL_COPY]
    assert all(line.endswith("|") for block in TUTORIAL_COPY for line in block)
    if TUTORIAL.is_file():
        assert parse_tutorial(TUTORIAL.read_text(encoding="utf-8")) == copy
    return copy


def table_lines(text: str) -> list[str]:
    """Our table without Keras 2's ``=====`` rules, from the header row through Non-trainable params."""
    lines = [line for line in text.split("\n") if line != "=" * 65]
    start = next(i for i, line in enumerate(lines) if line.startswith(" Layer (type)"))
    stop = lines.index("Non-trainable params: 0")
    return lines[start:stop + 1]


def test_tutorial_has_seven_summaries():
    tables = tutorial_tables()
    assert len(tables) == 7
    assert [len(t) > 0 for t in tables] == [True] * 7
    assert tables[5][-1] == "Non-traina"  # the truncated one


@pytest.mark.parametrize("index", range(7), ids=[m[0].split(".")[0] for m in TUTORIAL_MODELS])
def test_tutorial_summary_character_for_character(assets_dir, index):
    expected = tutorial_tables()[index]
    asset, names = TUTORIAL_MODELS[index]
    ours = table_lines(str(summary(rnnviz.load_spec(assets_dir / asset), names=names)))
    if expected[-1] == "Non-trainable params: 0":
        assert ours == expected
    else:  # the tutorial copy was cut off: every line it has, the last one as a prefix
        assert ours[:len(expected) - 1] == expected[:-1]
        assert ours[len(expected) - 1].startswith(expected[-1])
    for line in ours:
        if not line.startswith(("Total", "Trainable", "Non-trainable")):
            assert len(line) == 65, repr(line)  # trailing spaces included


@pytest.mark.parametrize("index", sorted(FRESH_NAMES))
def test_default_names_are_a_fresh_keras_session(assets_dir, index):
    """Where the tutorial's model had fresh names, our default names reproduce its table as is."""
    expected = tutorial_tables()[index]
    text = str(rnnviz.summary(rnnviz.load_spec(assets_dir / TUTORIAL_MODELS[index][0])))
    assert table_lines(text) == expected
    assert text.split("\n")[0] == 'Model: "sequential"'
    assert text.split("\n")[1] == "_" * 65 and text.split("\n")[-1] == "_" * 65


def test_first_model_name_line_matches(assets_dir):
    if not TUTORIAL.is_file():
        pytest.skip(f"{TUTORIAL} is not on this machine")
    text = TUTORIAL.read_text(encoding="utf-8")
    first = text[text.index('Model: "'):].split("\n")[0]
    assert first == str(rnnviz.summary(rnnviz.load_spec(assets_dir / "tutorial_1_simplernn.toml"))).split("\n")[0]


def test_default_keras_names():
    layers = [rnnviz.LayerSpec("SimpleRNN", 2), rnnviz.LayerSpec("GRU", 2), rnnviz.LayerSpec("SimpleRNN", 2, True),
              rnnviz.LayerSpec("SimpleRNN", 2), rnnviz.LayerSpec("GRU", 2, True), rnnviz.LayerSpec("GRU", 2),
              rnnviz.LayerSpec("LSTM", 2), rnnviz.LayerSpec("LSTM", 2, True), rnnviz.LayerSpec("LSTM", 2)]
    assert keras_names(layers) == ["simple_rnn", "gru", "bidirectional", "simple_rnn_1", "bidirectional_1", "gru_1",
                                   "lstm", "bidirectional_2", "lstm_1"]


@given(st.integers(1, 10**4), st.integers(1, 10**4))
def test_lstm_formula(input_dim, units):
    assert cell_params("LSTM", input_dim, units) == 4 * (input_dim * units + units * units + units)


def test_tutorial_totals(assets_dir):
    totals = [42, 42, 42, 248, 224, 1424, 360]
    for (asset, _), total in zip(TUTORIAL_MODELS, totals):
        assert rnnviz.summary(rnnviz.load_spec(assets_dir / asset)).total_params == total
    deep = rnnviz.summary(rnnviz.load_spec(assets_dir / "tutorial_4_deep.toml"))
    assert [r.params for r in deep.rows] == [112, 136]
    assert "Total params: 1,424" in str(rnnviz.summary(rnnviz.load_spec(assets_dir / TUTORIAL_MODELS[5][0])))


def test_long_cells_wrap_like_keras():
    """Keras 2 cuts a cell at the column width and carries the rest onto the next line."""
    spec = rnnviz.ModelSpec(input=rnnviz.InputSpec(timesteps=3, features=2), layers=[rnnviz.LayerSpec("GRU", 4)])
    lines = str(summary(spec, names=["a_really_long_layer_name_for_wrapping"])).split("\n")
    assert lines[4] == " a_really_long_layer_name_fo  (None, 4)" + " " * 16 + "96" + " " * 8
    assert lines[5] == " r_wrapping (GRU)" + " " * 48
    assert lines[6] == " " * 65


def test_to_dict_structure(assets_dir):
    result = rnnviz.summary(rnnviz.load_spec(assets_dir / "tutorial_6_deep_bidirectional.toml"))
    data = json.loads(json.dumps(result.to_dict()))
    assert data == {
        "layers": [
            {"name": "bidirectional", "type": "Bidirectional", "output_shape": [None, 10, 16], "params": 224},
            {"name": "bidirectional_1", "type": "Bidirectional", "output_shape": [None, 10, 16], "params": 400},
            {"name": "bidirectional_2", "type": "Bidirectional", "output_shape": [None, 10, 16], "params": 400},
            {"name": "bidirectional_3", "type": "Bidirectional", "output_shape": [None, 10, 16], "params": 400},
        ],
        "total_params": 1424,
        "trainable_params": 1424,
        "non_trainable_params": 0,
    }


JSON_CASES = [
    ("tutorial_2_batch_input_shape.toml",
     [{"name": "simple_rnn", "type": "SimpleRNN", "output_shape": [8, 3], "params": 42}]),
    ("tutorial_3_return_sequences.toml",
     [{"name": "simple_rnn", "type": "SimpleRNN", "output_shape": [8, 2, 3], "params": 42}]),
    ("tutorial_7_gru.toml", [{"name": "gru", "type": "GRU", "output_shape": [None, 8], "params": 360}]),
]


def check_json(data, expected):
    assert data["layers"] == expected
    total = sum(layer["params"] for layer in expected)
    assert (data["total_params"], data["trainable_params"], data["non_trainable_params"]) == (total, total, 0)


@pytest.mark.parametrize("asset, expected", JSON_CASES)
def test_summary_json(assets_dir, asset, expected):
    check_json(json.loads(json.dumps(rnnviz.summary(assets_dir / asset).to_dict())), expected)


def test_cli_summary_json(assets_dir):
    asset, expected = JSON_CASES[0]
    done = subprocess.run([sys.executable, "main.py", "summary", str(assets_dir / asset), "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    check_json(json.loads(done.stdout), expected)
    assert done.stdout == json.dumps(rnnviz.summary(assets_dir / asset).to_dict(), indent=2) + "\n"


# --- general formulas -------------------------------------------------------------------------------

layer_st = st.builds(rnnviz.LayerSpec, type=st.sampled_from(["SimpleRNN", "GRU", "LSTM"]), units=st.integers(1, 300),
                     bidirectional=st.booleans())


@st.composite
def specs(draw):
    layers = draw(st.lists(layer_st, min_size=1, max_size=5))
    last_rs = draw(st.sampled_from([None, True, False]))
    layers[-1] = rnnviz.LayerSpec(layers[-1].type, layers[-1].units, layers[-1].bidirectional, last_rs)
    return rnnviz.ModelSpec(
        input=rnnviz.InputSpec(timesteps=draw(st.integers(1, 10**6)), features=draw(st.integers(1, 500)),
                               batch_size=draw(st.none() | st.integers(1, 4096))),
        layers=layers)


@given(st.integers(1, 10**4), st.integers(1, 10**4))
def test_simplernn_formula(input_dim, units):
    assert cell_params("SimpleRNN", input_dim, units) == units * (input_dim + units + 1)


@given(st.integers(1, 10**4), st.integers(1, 10**4))
def test_gru_reset_after_formula(input_dim, units):
    assert cell_params("GRU", input_dim, units) == 3 * units * (input_dim + units + 2)


@settings(max_examples=150)
@given(specs())
def test_params_and_shapes(spec):
    result = rnnviz.summary(spec)
    width = spec.input.features
    total = 0
    for i, (layer, row) in enumerate(zip(spec.layers, result.rows)):
        u, dirs = layer.units, 2 if layer.bidirectional else 1
        one = {"SimpleRNN": u * (width + u + 1), "GRU": 3 * u * (width + u + 2), "LSTM": 4 * u * (width + u + 1)}[layer.type]
        assert row.params == dirs * one  # bidirectional doubles
        last = i == len(spec.layers) - 1
        sequences = not last or layer.return_sequences is True
        batch = spec.input.batch_size
        assert row.output_shape == ((batch, spec.input.timesteps, u * dirs) if sequences else (batch, u * dirs))
        assert row.type == ("Bidirectional" if layer.bidirectional else layer.type)
        total += row.params
        width = u * dirs  # the next layer reads units × directions
    assert layer_input_dims(spec)[1:] == [l.units * len(l.directions) for l in spec.layers[:-1]]
    assert result.total_params == total
    text = str(result)
    assert f"Total params: {total:,}" in text and f"Trainable params: {total:,}" in text
    shape = "(" + ", ".join("None" if d is None else str(d) for d in result.rows[0].output_shape) + ")"
    assert shape in text  # shapes of up to 24 characters fit their column
    for line in text.split("\n"):
        if not line.startswith(("Total", "Trainable", "Non-trainable", "Model")):
            assert len(line) == 65, repr(line)
