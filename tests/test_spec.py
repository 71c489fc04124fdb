"""Model specs: TOML/JSON loading, defaults, the TOML round trip and every validation error."""

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnviz
from rnnviz.errors import SpecError
from rnnviz.spec import InitSpec, InputSpec, LayerSpec, ModelSpec, load_spec, spec_from_dict

BASE = {"input": {"timesteps": 5, "features": 3}, "layers": [{"type": "SimpleRNN", "units": 4}]}


def write(tmp_path: Path, text: str, name: str = "model.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def toml_of(data: dict) -> str:
    """A small TOML writer for test inputs (tables of scalars and one array of tables)."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        return json.dumps(v)

    lines = []
    for section in ("input", "init"):
        if section in data:
            lines.append(f"[{section}]")
            lines += [f"{k} = {value(v)}" for k, v in data[section].items()]
    for layer in data.get("layers", []):
        lines.append("[[layers]]")
        lines += [f"{k} = {value(v)}" for k, v in layer.items()]
    return "\n".join(lines) + "\n"


def with_layers(*layers, **input_fields):
    data = json.loads(json.dumps(BASE))
    data["layers"] = list(layers)
    data["input"].update(input_fields)
    return data


# --- loading ----------------------------------------------------------------------------------------

def test_load_toml(tmp_path):
    path = write(tmp_path, """
[input]
timesteps = 12
features = 3
batch_size = 4
source = "normal"
seed = 7

[init]
scheme = "normal"
gain = 1.5
seed = 3

[[layers]]
type = "GRU"
units = 6
bidirectional = true

[[layers]]
type = "SimpleRNN"
units = 2
""")
    spec = load_spec(path)
    assert spec.input == InputSpec(timesteps=12, features=3, batch_size=4, source="normal", seed=7)
    assert spec.init == InitSpec(scheme="normal", gain=1.5, seed=3)
    assert spec.layers == (LayerSpec("GRU", 6, True), LayerSpec("SimpleRNN", 2))
    assert spec.weights is None


def test_load_json_equals_toml(tmp_path):
    data = with_layers({"type": "GRU", "units": 4, "bidirectional": True}, {"type": "SimpleRNN", "units": 2})
    from_json = load_spec(write(tmp_path, json.dumps(data), "m.json"))
    from_toml = load_spec(write(tmp_path, toml_of(data), "m.toml"))
    assert from_json == from_toml
    assert from_json.layers[0].bidirectional and from_json.input.timesteps == 5


def test_type_aliases_are_normalised():
    spec = spec_from_dict(with_layers({"type": "gru", "units": 2}, {"type": "simple_rnn", "units": 2},
                                      {"type": "rnn", "units": 2}, {"type": "lstm", "units": 2}))
    assert [l.type for l in spec.layers] == ["GRU", "SimpleRNN", "SimpleRNN", "LSTM"]


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_lstm_layers_mixed_with_the_others(tmp_path, fmt):
    data = with_layers({"type": "LSTM", "units": 7, "bidirectional": True}, {"type": "GRU", "units": 3},
                       {"type": "LSTM", "units": 2, "return_sequences": True})
    path = write(tmp_path, json.dumps(data) if fmt == "json" else toml_of(data), f"m.{fmt}")
    spec = load_spec(path)
    assert spec.layers == (LayerSpec("LSTM", 7, True), LayerSpec("GRU", 3), LayerSpec("LSTM", 2, False, True))
    assert [l.gates for l in spec.layers] == [("i", "f", "g", "o", "c"), ("z", "r", "hh"), ("i", "f", "g", "o", "c")]
    assert load_spec(write(tmp_path, spec.to_toml(), "again.toml")).to_dict() == spec.to_dict()


def test_defaults():
    spec = spec_from_dict({"input": {"timesteps": 4, "features": 2},
                           "layers": [{"type": "GRU", "units": 3}, {"type": "GRU", "units": 3},
                                      {"type": "SimpleRNN", "units": 2}]})
    assert spec.init == InitSpec("uniform01", 1.0, 0)
    assert (spec.input.source, spec.input.seed, spec.input.batch_size) == ("uniform", 0, None)
    assert [l.bidirectional for l in spec.layers] == [False] * 3
    # return_sequences: true for every layer but the last
    assert [spec.returns_sequences(i) for i in range(3)] == [True, True, False]
    assert [l["return_sequences"] for l in spec.to_dict()["layers"]] == [True, True, False]
    single = ModelSpec(input=InputSpec(timesteps=2, features=2), layers=[LayerSpec("GRU", 2)])
    assert single.returns_sequences(0) is False
    explicit = ModelSpec(input=InputSpec(timesteps=2, features=2), layers=[LayerSpec("GRU", 2, return_sequences=True)])
    assert explicit.returns_sequences(0) is True


def test_round_trip_to_toml(tmp_path):
    spec = ModelSpec(input=InputSpec(timesteps=9, features=3, batch_size=2, source="sine", seed=5),
                     layers=[LayerSpec("GRU", 4, True), LayerSpec("SimpleRNN", 3, False, True)],
                     init=InitSpec("normal", 0.75, 11))
    again = load_spec(write(tmp_path, spec.to_toml()))
    assert again.to_dict() == spec.to_dict()
    assert again.input == spec.input and again.init == spec.init
    assert [again.returns_sequences(i) for i in range(2)] == [True, True]


def test_round_trip_keeps_weights_and_paths(tmp_path):
    spec = ModelSpec(input=InputSpec(timesteps=None, features=None, source="file", path=str(tmp_path / "x.csv")),
                     layers=[LayerSpec("GRU", 2)], weights=str(tmp_path / "w.pt"))
    again = load_spec(write(tmp_path, spec.to_toml()))
    assert again.weights == spec.weights and again.input.path == spec.input.path


@settings(max_examples=60, deadline=None)
@given(
    layers=st.lists(st.tuples(st.sampled_from(["SimpleRNN", "GRU", "LSTM"]), st.integers(1, 10**6), st.booleans()),
                    min_size=1, max_size=6),
    last_rs=st.sampled_from([None, True, False]),
    source=st.sampled_from(["uniform", "normal", "sine", "text"]),
    text=st.text(min_size=1, max_size=20),
    seeds=st.tuples(st.integers(0, 2**31 - 1), st.integers(0, 2**31 - 1)),
    gain=st.floats(0, 1e6, allow_nan=False, allow_infinity=False),
    batch=st.none() | st.integers(1, 10**4),
)
def test_round_trip_property(layers, last_rs, source, text, seeds, gain, batch):
    specs = [LayerSpec(t, u, b) for t, u, b in layers]
    specs[-1] = LayerSpec(*layers[-1], return_sequences=last_rs)
    if source == "text":
        inp = InputSpec(timesteps=None, features=None, source="text", text=text, seed=seeds[0], batch_size=batch)
    else:
        inp = InputSpec(timesteps=7, features=3, source=source, seed=seeds[0], batch_size=batch)
    spec = ModelSpec(input=inp, layers=specs, init=InitSpec("normal", gain, seeds[1]))
    again = spec_from_dict(tomllib.loads(spec.to_toml()))
    assert again.to_dict() == spec.to_dict()
    assert again.input == spec.input and again.init == spec.init


def test_text_source_derives_shape():
    spec = spec_from_dict({"input": {"source": "text", "text": "hello"}, "layers": [{"type": "GRU", "units": 2}]})
    assert spec.input.timesteps is None and spec.input.features is None
    trace = rnnviz.run(spec, device="cpu")
    assert trace.inputs.shape == (5, 4)  # alphabet e h l o
    assert trace.spec.input.timesteps == 5 and trace.spec.input.features == 4
    assert rnnviz.summary(spec).rows[0].output_shape == (None, 2)


def test_text_source_shape_must_agree():
    with pytest.raises(SpecError, match=r"input\.features: the text has 4 distinct characters, so features must be 4"):
        spec_from_dict({"input": {"source": "text", "text": "hello", "features": 5}, "layers": [BASE["layers"][0]]})
    with pytest.raises(SpecError, match=r"input\.timesteps: the text is 5 characters long"):
        spec_from_dict({"input": {"source": "text", "text": "hello", "timesteps": 4}, "layers": [BASE["layers"][0]]})
    with pytest.raises(SpecError, match=r'input\.text: source = "text" needs a non-empty text'):
        spec_from_dict({"input": {"source": "text", "text": ""}, "layers": [BASE["layers"][0]]})


def test_file_source_relative_to_spec(tmp_path):
    (tmp_path / "data").mkdir()
    values = np.arange(12, dtype=np.float32).reshape(6, 2) / 7
    np.savetxt(tmp_path / "data" / "series.csv", values, delimiter=",", fmt="%.9g", header="a,b", comments="")
    path = write(tmp_path, '[input]\nsource = "file"\npath = "data/series.csv"\n\n'
                           '[[layers]]\ntype = "GRU"\nunits = 3\n')
    spec = load_spec(path)
    assert spec.input.path == str((tmp_path / "data" / "series.csv").resolve())
    trace = rnnviz.run(spec, device="cpu")
    np.testing.assert_array_equal(trace.inputs, values)
    assert rnnviz.summary(path).rows[0].output_shape == (None, 3)
    assert rnnviz.summary(path).rows[0].params == 3 * 3 * (2 + 3 + 2)


def test_file_source_shape_must_agree(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((6, 2), np.float32))
    layers = '[[layers]]\ntype = "GRU"\nunits = 3\n'
    path = write(tmp_path, '[input]\nsource = "file"\npath = "x.npy"\nfeatures = 3\n' + layers)
    with pytest.raises(rnnviz.RnnvizError, match=r"x\.npy: has 2 columns.* input\.features is 3"):
        rnnviz.run(path, device="cpu")
    path = write(tmp_path, '[input]\nsource = "file"\npath = "x.npy"\ntimesteps = 5\n' + layers)
    with pytest.raises(rnnviz.RnnvizError, match=r"has 6 rows \(timesteps\) but input\.timesteps is 5"):
        rnnviz.run(path, device="cpu")


# --- validation errors ----------------------------------------------------------------------------

def test_malformed_toml_names_file(tmp_path):
    path = write(tmp_path, "[input\ntimesteps = 3\n")
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert str(err.value).startswith(f"{path}: malformed TOML")
    assert "line 1" in str(err.value)


def test_malformed_json_names_file_and_place(tmp_path):
    path = write(tmp_path, '{"input": {"timesteps": 3,}}', "m.json")
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert str(err.value).startswith(f"{path}: malformed JSON at line 1, column")


def test_not_utf8_and_missing_and_directory(tmp_path):
    path = tmp_path / "m.toml"
    path.write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(SpecError, match="not a text file"):
        load_spec(path)
    with pytest.raises(SpecError, match=r"nope\.toml: no such file"):
        load_spec(tmp_path / "nope.toml")
    (tmp_path / "d.toml").mkdir()
    with pytest.raises(SpecError, match=r"d\.toml: cannot read"):
        load_spec(tmp_path / "d.toml")


def test_deeply_nested_json(tmp_path):
    path = write(tmp_path, "[" * 100000 + "]" * 100000, "m.json")
    with pytest.raises(SpecError, match=r"m\.json: "):
        load_spec(path)


@pytest.mark.parametrize("data, field, allowed", [
    (with_layers({"type": "ConvLSTM2D", "units": 4}), "layers[0].type", "SimpleRNN, GRU, LSTM"),
    (with_layers({"type": 3, "units": 4}), "layers[0].type", "SimpleRNN, GRU, LSTM"),
    (with_layers({"type": "GRU", "units": 0}), "layers[0].units", "integer >= 1"),
    (with_layers({"type": "GRU", "units": -2}), "layers[0].units", "integer >= 1"),
    (with_layers({"type": "GRU", "units": "8"}), "layers[0].units", "integer >= 1"),
    (with_layers({"type": "GRU", "units": 8.0}), "layers[0].units", "integer >= 1"),
    (with_layers({"type": "GRU", "units": True}), "layers[0].units", "integer >= 1"),
    (with_layers({"type": "GRU", "units": 4, "bidirectional": 1}), "layers[0].bidirectional", "true or false"),
    (with_layers({"type": "GRU", "units": 4, "return_sequences": "yes"}), "layers[0].return_sequences",
     "true or false"),
    (with_layers({"type": "GRU", "units": 4}, timesteps=0), "input.timesteps", "integer >= 1"),
    (with_layers({"type": "GRU", "units": 4}, timesteps=2.5), "input.timesteps", "integer >= 1"),
    (with_layers({"type": "GRU", "units": 4}, timesteps=True), "input.timesteps", "integer >= 1"),
    (with_layers({"type": "GRU", "units": 4}, features=0), "input.features", "integer >= 1"),
    (with_layers({"type": "GRU", "units": 4}, features=False), "input.features", "integer >= 1"),
    (with_layers({"type": "GRU", "units": 4}, batch_size=0), "input.batch_size", "integer >= 1"),
    (with_layers({"type": "GRU", "units": 4}, seed=-1), "input.seed", "integer >= 0"),
    (with_layers({"type": "GRU", "units": 4}, source="random"), "input.source", "uniform, normal, sine, text, file"),
    (with_layers({"type": "GRU", "units": 4}, source="file"), "input.path", ".csv or .npy"),
    ({**with_layers({"type": "GRU", "units": 4}), "init": {"scheme": "xavier"}}, "init.scheme",
     "uniform01, keras, torch, normal"),
    ({**with_layers({"type": "GRU", "units": 4}), "init": {"gain": -1.0}}, "init.gain", "finite number >= 0"),
    ({**with_layers({"type": "GRU", "units": 4}), "init": {"gain": True}}, "init.gain", "finite number >= 0"),
    ({**with_layers({"type": "GRU", "units": 4}), "init": {"seed": "0"}}, "init.seed", "integer >= 0"),
    (with_layers({"type": "GRU", "units": 4, "return_sequences": False}, {"type": "GRU", "units": 4}),
     "layers[0].return_sequences", "must return sequences"),
    (with_layers({"type": "GRU", "units": 4}, {"type": "GRU", "units": 4, "return_sequences": False},
                 {"type": "GRU", "units": 4}), "layers[1].return_sequences", "must return sequences"),
    (with_layers(), "layers", "at least one"),
    ({"input": {"timesteps": 5, "features": 3}}, "layers", "at least one"),
    (with_layers({"type": "GRU", "units": 4, "unit": 3}), "layers[0]", "unknown field 'unit'"),
    (with_layers({"type": "GRU", "units": 4}, length=3), "input", "unknown field 'length'"),
    ({**with_layers({"type": "GRU", "units": 4}), "init": {"scheme": "keras", "std": 1}}, "init",
     "unknown field 'std'"),
    ({**with_layers({"type": "GRU", "units": 4}), "model": {}}, "unknown section 'model'", "input, init, layers"),
    (with_layers({"units": 4}), "layers[0]", "needs type"),
    (with_layers({"type": "GRU"}), "layers[0]", "needs type"),
    ({"layers": [{"type": "GRU", "units": 4}]}, "[input]", "timesteps and features"),
    ({"input": {"features": 3}, "layers": [{"type": "GRU", "units": 4}]}, "input.timesteps", "integer >= 1"),
    ({"input": {"timesteps": 3}, "layers": [{"type": "GRU", "units": 4}]}, "input.features", "integer >= 1"),
])
@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_validation_error_names_field_and_allowed(tmp_path, data, field, allowed, fmt):
    text = json.dumps(data) if fmt == "json" else toml_of_any(data)
    path = write(tmp_path, text, f"m.{fmt}")
    with pytest.raises(SpecError) as err:
        load_spec(path)
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    assert field in message and allowed in message, message
    assert "\n" not in message


def toml_of_any(data: dict) -> str:
    """TOML for the validation cases, including unknown sections (written as empty tables)."""
    text = toml_of(data)
    for key in data:
        if key not in ("input", "init", "layers"):
            text += f"\n[{key}]\n"
    return text


@pytest.mark.parametrize("data, message", [
    ([1, 2], "the top level must be a table"),
    ({"input": [1], "layers": []}, "input: must be a table"),
    ({"input": {"timesteps": 2, "features": 2}, "layers": {"type": "GRU"}}, "layers: must be an array of tables"),
    ({"input": {"timesteps": 2, "features": 2}, "layers": [5]}, "layers[0]: must be a table"),
    ({"input": {"timesteps": 2, "features": 2}, "layers": [{"type": "GRU", "units": 2}], "weights": 5},
     "weights: must be the path"),
])
def test_json_shapes(tmp_path, data, message):
    path = write(tmp_path, json.dumps(data), "m.json")
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)


def test_errors_in_code_name_the_field():
    with pytest.raises(SpecError, match=r"layers\[1\]\.units: must be an integer >= 1, got 0"):
        ModelSpec(input=InputSpec(timesteps=2, features=2), layers=[LayerSpec("GRU", 2), LayerSpec("GRU", 0)])
    with pytest.raises(SpecError, match=r"layers\[0\]\.type: unknown layer type 'Dense'; allowed: SimpleRNN, GRU, LSTM$"):
        ModelSpec(input=InputSpec(timesteps=2, features=2), layers=[LayerSpec("Dense", 2)])
    with pytest.raises(SpecError, match="layers: the stack is empty"):
        ModelSpec(input=InputSpec(timesteps=2, features=2), layers=[])
    with pytest.raises(SpecError, match=r"layers\[0\]: must be a LayerSpec"):
        ModelSpec(input=InputSpec(timesteps=2, features=2), layers=[{"type": "GRU"}])
    with pytest.raises(SpecError, match="input.timesteps: required"):
        ModelSpec(input=InputSpec(timesteps=None, features=2))
    with pytest.raises(SpecError, match="init.gain"):
        ModelSpec(init=InitSpec(gain=float("nan")))


def test_spec_error_is_an_rnnviz_error():
    assert issubclass(SpecError, rnnviz.RnnvizError)


@pytest.mark.parametrize("text", ["a\x7fb", "nul\x00", "tab\tnew\nline\r", 'quote"back\\slash', "é😀\u2028"])
def test_round_trip_awkward_text(tmp_path, text):
    """Every character a text source can hold survives spec.toml (TOML forbids raw DEL and controls)."""
    spec = ModelSpec(input=InputSpec(timesteps=None, features=None, source="text", text=text),
                     layers=[LayerSpec("GRU", 2)])
    again = load_spec(write(tmp_path, spec.to_toml()))
    assert again.input.text == text and again.to_dict() == spec.to_dict()


# --- hostile spec files (regressions from an adversarial sweep) ---------------------------------------

GRU4 = '[[layers]]\ntype = "GRU"\nunits = 4\n'


@pytest.mark.parametrize("text, name", [
    ('[input]\ntimesteps = ' + "9" * 5000 + '\nfeatures = 3\n' + GRU4, "m.toml"),
    ('{"input": {"timesteps": ' + "9" * 5000 + ', "features": 3}, "layers": []}', "m.json"),
])
def test_integer_too_long_to_parse(tmp_path, text, name):
    """Python refuses to convert integers of more than 4300 digits with a plain ValueError."""
    path = write(tmp_path, text, name)
    with pytest.raises(SpecError, match=rf"{name}: holds an integer too long to read"):
        load_spec(path)


@pytest.mark.parametrize("field, data", [
    ("layers[0].units", with_layers({"type": "GRU", "units": 10**400})),
    ("input.timesteps", with_layers({"type": "GRU", "units": 4}, timesteps=10**2200)),
    ("input.seed", with_layers({"type": "GRU", "units": 4}, seed=2**64)),
])
def test_integers_beyond_int64_are_refused(tmp_path, field, data):
    """JSON integers are unbounded: 10**400 units overflowed the memory estimate's float division, and
    10**2200 made str() of the parameter count fail in the summary. The message stays short."""
    path = write(tmp_path, json.dumps(data), "m.json")
    with pytest.raises(SpecError) as err:
        load_spec(path)
    limit = "2147483647" if field.endswith("seed") else "2**63 - 1"
    assert f"{field}: must be an integer >=" in str(err.value) and f"at most {limit}" in str(err.value)
    assert len(str(err.value)) < 200 + len(str(path))


def test_gain_bounds():
    """An integer gain too large for a float raised OverflowError; a finite gain of 1e308 overflowed the
    float32 weights to inf (NaN states, RuntimeWarning on stderr)."""
    for gain in (10**400, 1e308, 2e6):
        with pytest.raises(SpecError, match="init.gain: must be at most"):
            ModelSpec(init=InitSpec("normal", gain))
    assert ModelSpec(init=InitSpec("normal", 1e6)).init.gain == 1e6
    trace = rnnviz.run(ModelSpec(input=InputSpec(timesteps=5, features=3), layers=[LayerSpec("GRU", 4)],
                                 init=InitSpec("normal", 1e6)), device="cpu")
    assert np.isfinite(trace.hidden(1)).all()


def test_fifo_is_not_read(tmp_path):
    """Reading a FIFO blocks until someone writes; /dev/zero (or a .toml link to it) fills the memory."""
    import os
    import threading

    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)

    def unblock():  # if load_spec ever opens the FIFO again, this ends the wait instead of hanging the suite
        if not done.wait(5):
            with open(fifo, "wb"):
                pass

    done = threading.Event()
    threading.Thread(target=unblock, daemon=True).start()
    try:
        with pytest.raises(SpecError, match=r"pipe\.toml: not a regular file"):
            load_spec(fifo)
    finally:
        done.set()


def test_oversized_spec_file(tmp_path):
    path = tmp_path / "big.toml"
    with open(path, "wb") as fh:
        fh.truncate(5 * 2**20)  # sparse: nothing is written
    with pytest.raises(SpecError, match=r"big\.toml: 5\.0 MiB is too large for a model spec"):
        load_spec(path)


@pytest.mark.parametrize("name, text", [("m.toml", "\ufeff" + toml_of(BASE)), ("m.json", "\ufeff" + json.dumps(BASE))])
def test_byte_order_mark(tmp_path, name, text):
    """Windows editors start UTF-8 files with a BOM, which tomllib and json both rejected."""
    assert load_spec(write(tmp_path, text, name)).layers[0].units == 4


def test_seeds_stay_within_what_the_app_can_show(tmp_path):
    from rnnviz.spec import MAX_SEED

    path = tmp_path / "seed.toml"
    path.write_text(f"[input]\ntimesteps = 3\nfeatures = 2\nseed = {MAX_SEED}\n[[layers]]\ntype = 'GRU'\nunits = 2\n")
    assert load_spec(path).input.seed == MAX_SEED
    path.write_text(f"[input]\ntimesteps = 3\nfeatures = 2\nseed = {MAX_SEED + 1}\n[[layers]]\ntype = 'GRU'\nunits = 2\n")
    with pytest.raises(SpecError, match=r"input\.seed: must be an integer >= 0 and at most 2147483647, got 2147483648"):
        load_spec(path)


def test_stacks_deeper_than_max_layers_are_refused():
    from rnnviz.spec import MAX_LAYERS

    ModelSpec(layers=(LayerSpec("SimpleRNN", 2, return_sequences=True),) * (MAX_LAYERS - 1)
              + (LayerSpec("SimpleRNN", 2),)).validate()
    data = {"input": {"timesteps": 2, "features": 1}, "layers": [{"type": "GRU", "units": 2}] * (MAX_LAYERS + 1)}
    with pytest.raises(SpecError, match=r"layers: 1001 layers; rnnviz runs stacks of at most 1000"):
        spec_from_dict(data)
