"""Exported files: exact CSV round trips, the documented headers and statistics, spec.toml repeating the
run, npz contents, atomic writes and --save-weights."""

import csv
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rnnviz
from rnnviz import export
from rnnviz.errors import RnnvizError
from rnnviz.headless import prepare
from rnnviz.spec import InitSpec, InputSpec, LayerSpec, ModelSpec
from rnnviz.weights.torch_file import save_state_dict


def mixed_spec(timesteps=12, source="normal"):
    return ModelSpec(input=InputSpec(timesteps=timesteps, features=3, source=source, seed=2),
                     layers=[LayerSpec("GRU", 4, True), LayerSpec("SimpleRNN", 3), LayerSpec("GRU", 2, True)],
                     init=InitSpec("normal", 1.4, 5))


@pytest.fixture(scope="module")
def trace():
    return rnnviz.run(mixed_spec(), device="cpu")


@pytest.fixture(scope="module")
def exported(trace, tmp_path_factory):
    out = tmp_path_factory.mktemp("csv")
    written = trace.to_csv(out, tidy=True)
    return out, written


STREAMS = ["layer1_forward", "layer1_backward", "layer2_forward", "layer3_forward", "layer3_backward"]
GATE_STREAMS = [f"{s}_{g}" for s in STREAMS if s.startswith(("layer1", "layer3")) for g in ("z", "r", "hh")]


def test_files_written(exported):
    out, written = exported
    names = sorted(p.name for p in written)
    assert names == sorted([f"{s}.csv" for s in STREAMS + GATE_STREAMS] +
                           ["inputs.csv", "saturation.csv", "summary.json", "spec.toml", "hidden_states.csv",
                            "gate_states.csv"])
    assert sorted(p.name for p in out.iterdir()) == names  # and nothing else (no temporary files)


def test_layer_csv_round_trips_exactly(trace, exported):
    out, _ = exported
    for layer, direction, states in trace.streams():
        path = out / f"layer{layer}_{direction}.csv"
        with open(path, newline="") as fh:
            header = next(csv.reader(fh))
        assert header == ["t"] + [f"h{u}" for u in range(states.shape[1])]
        table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
        assert np.array_equal(table[:, 0], np.arange(trace.timesteps))  # t in input-time order
        assert np.array_equal(table[:, 1:].astype(np.float32), states)  # 9 significant digits: float32-exact


def test_inputs_csv(trace, exported):
    out, _ = exported
    lines = (out / "inputs.csv").read_text().splitlines()
    assert lines[0] == "x0,x1,x2" and len(lines) == trace.timesteps + 1
    values = np.loadtxt(out / "inputs.csv", delimiter=",", skiprows=1, dtype=np.float32)
    assert np.array_equal(values, trace.inputs)
    # usable as --input: the same states again
    again = rnnviz.run(mixed_spec(), inputs=out / "inputs.csv", device="cpu")
    for layer, direction, states in trace.streams():
        assert np.array_equal(again.hidden(layer, direction), states)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, max_side=6),
                  elements=st.floats(width=32, allow_nan=False, allow_infinity=False)))
def test_nine_digits_round_trip_every_float32(values):
    """The documented claim, for any finite float32 (subnormals and extremes included), through the
    exporter's own writer and the input reader that ``--input`` uses."""
    from rnnviz.inputs import read_input

    buffer = io.StringIO()
    export._write_table(buffer, [f"x{i}" for i in range(values.shape[1])], values, index=False)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "inputs.csv"
        path.write_text(buffer.getvalue())
        back = read_input(path)
    assert back.dtype == np.float32
    assert np.array_equal(back.view(np.uint32), values.view(np.uint32))  # bit for bit, -0 too


def test_saturation_csv_equals_hand_computation(trace, exported):
    out, _ = exported
    with open(out / "saturation.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["layer", "direction", "t", "saturated_fraction", "mean_tanh_gain"]
    assert len(rows) == len(STREAMS) * trace.timesteps
    for row in rows:
        h = trace.hidden(int(row["layer"]), row["direction"])[int(row["t"])].astype(np.float64)
        assert float(row["saturated_fraction"]) == pytest.approx(np.mean(np.abs(h) >= 0.95), abs=1e-7)
        assert float(row["mean_tanh_gain"]) == pytest.approx(np.mean(1 - h * h), abs=1e-6)
    fractions = {float(r["saturated_fraction"]) for r in rows}
    assert fractions - {0.0}, "pick a spec where something saturates"


def test_saturation_of_known_values():
    from rnnviz.trace import saturation_stats

    h = np.array([[0.95, -0.96, 0.5, 0.0], [0.9499, 1.0, -1.0, 0.1]], np.float32)
    fraction, gain = saturation_stats(h)
    np.testing.assert_array_equal(fraction, [0.5, 0.5])
    np.testing.assert_allclose(gain, np.mean(1 - h.astype(np.float64) ** 2, axis=1), atol=1e-7)


def test_summary_json(trace, exported):
    out, _ = exported
    data = json.loads((out / "summary.json").read_text())
    assert data == trace.summary().to_dict()
    assert [l["name"] for l in data["layers"]] == ["bidirectional", "simple_rnn", "bidirectional_1"]
    assert [l["output_shape"] for l in data["layers"]] == [[None, 12, 8], [None, 12, 3], [None, 4]]
    assert data["layers"][0]["params"] == 2 * 3 * 4 * (3 + 4 + 2)
    assert data["total_params"] == sum(l["params"] for l in data["layers"]) == data["trainable_params"]


def test_tidy_long_file(trace, exported):
    out, _ = exported
    with open(out / "hidden_states.csv", newline="") as fh:
        reader = csv.reader(fh)
        assert next(reader) == ["layer", "direction", "t", "unit", "value"]
        rows = list(reader)
    total = sum(s.size for _, _, s in trace.streams())
    assert len(rows) == total
    for layer, direction, t, unit, value in rows:
        assert np.float32(value) == trace.hidden(int(layer), direction)[int(t), int(unit)]


def test_gate_csv_round_trips_exactly(trace, exported):
    out, _ = exported
    for layer, direction, gate, values in trace.gate_streams():
        path = out / f"layer{layer}_{direction}_{gate}.csv"
        with open(path, newline="") as fh:
            assert next(csv.reader(fh)) == ["t"] + [f"{gate}{u}" for u in range(values.shape[1])]
        table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
        assert np.array_equal(table[:, 0], np.arange(trace.timesteps))
        assert np.array_equal(table[:, 1:].astype(np.float32), values)


def test_tidy_gate_file(trace, exported):
    out, _ = exported
    with open(out / "gate_states.csv", newline="") as fh:
        reader = csv.reader(fh)
        assert next(reader) == ["layer", "direction", "gate", "t", "unit", "value"]
        rows = list(reader)
    assert len(rows) == sum(values.size for *_, values in trace.gate_streams())
    assert {(r[0], r[1], r[2]) for r in rows} == {(s[5], s.split("_")[1], s.split("_")[2]) for s in GATE_STREAMS}
    for layer, direction, gate, t, unit, value in rows:
        assert np.float32(value) == trace.gates(int(layer), direction)[gate][int(t), int(unit)]


def test_lstm_export(tmp_path):
    """An LSTM's gates i, f, g, o and its cell state c go beside h in every format; a stack without gates
    writes no gate_states.csv."""
    spec = ModelSpec(input=InputSpec(timesteps=6, features=2, source="normal"),
                     layers=[LayerSpec("LSTM", 3, True), LayerSpec("SimpleRNN", 2)], init=InitSpec("keras"))
    trace = rnnviz.run(spec, device="cpu")
    names = {p.name for p in trace.to_csv(tmp_path / "csv", tidy=True)}
    lstm = [f"layer1_{d}_{g}" for d in ("forward", "backward") for g in ("i", "f", "g", "o", "c")]
    assert {f"{s}.csv" for s in lstm} | {"gate_states.csv", "layer2_forward.csv"} <= names
    assert not any(n.startswith("layer2_forward_") for n in names)
    c = np.loadtxt(tmp_path / "csv" / "layer1_backward_c.csv", delimiter=",", skiprows=1, dtype=np.float64)
    assert np.array_equal(c[:, 1:].astype(np.float32), trace.cell(1, "backward"))
    assert (tmp_path / "csv" / "layer1_forward_o.csv").read_text().startswith("t,o0,o1,o2\n0,")
    trace.to_npz(tmp_path / "npz")
    with np.load(tmp_path / "npz" / "hidden_states.npz") as data:
        assert set(data.files) == {"inputs", "layer1_forward", "layer1_backward", "layer2_forward", *lstm}
        assert np.array_equal(data["layer1_forward_c"], trace.cell(1))
    plain = rnnviz.run(ModelSpec(input=InputSpec(timesteps=3, features=2), layers=[LayerSpec("SimpleRNN", 2)]),
                       device="cpu")
    assert "gate_states.csv" not in {p.name for p in plain.to_csv(tmp_path / "plain", tidy=True)}


def test_spec_toml_repeats_the_run(trace, exported):
    out, _ = exported
    again = rnnviz.run(out / "spec.toml", device="cpu")
    assert np.array_equal(again.inputs, trace.inputs)
    for layer, direction, states in trace.streams():
        assert np.array_equal(again.hidden(layer, direction), states)
        for gate, values in trace.gates(layer, direction).items():
            assert np.array_equal(again.gates(layer, direction)[gate], values)
    text = (out / "spec.toml").read_text()
    assert "seed = 2" in text and "seed = 5" in text and "gain = 1.4" in text


@pytest.mark.parametrize("fmt", ["csv", "npz"])
def test_spec_toml_repeats_a_run_on_given_inputs(tmp_path, fmt):
    """Inputs given as a file or an array are copied into the folder, and spec.toml reads the copy."""
    values = np.random.default_rng(9).standard_normal((7, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", values)
    for source in (tmp_path / "x.npy", values):
        first = rnnviz.run(mixed_spec(), inputs=source, device="cpu")
        out = tmp_path / f"out_{fmt}_{type(source).__name__}"
        first.to_npz(out) if fmt == "npz" else first.to_csv(out)
        (tmp_path / "x.npy").rename(tmp_path / "moved.npy")  # the copy, not the original, must be read
        again = rnnviz.run(out / "spec.toml", device="cpu")
        (tmp_path / "moved.npy").rename(tmp_path / "x.npy")
        assert np.array_equal(again.inputs, values)
        for layer, direction, states in first.streams():
            assert np.array_equal(again.hidden(layer, direction), states)


def test_spec_toml_repeats_a_weights_file_run(tmp_path, data_dir):
    first = rnnviz.run(data_dir / "keras_bidir_gru_stack.keras", inputs=data_dir / "keras_bidir_gru_stack_input.npy",
                       device="cpu")
    first.to_csv(tmp_path)
    again = rnnviz.run(tmp_path / "spec.toml", device="cpu")
    assert again.names == first.names == ["bi_encoder", "gru_1", "bidirectional"]
    for layer, direction, states in first.streams():
        assert np.array_equal(again.hidden(layer, direction), states)


def test_npz_contents(trace, tmp_path):
    written = trace.to_npz(tmp_path)
    assert sorted(p.name for p in written) == ["hidden_states.npz", "spec.toml", "summary.json"]
    with np.load(tmp_path / "hidden_states.npz", allow_pickle=False) as data:
        expected = {"inputs"} | set(STREAMS) | set(GATE_STREAMS)
        assert set(data.files) == expected
        assert np.array_equal(data["inputs"], trace.inputs)
        for layer, direction, states in trace.streams():
            key = f"layer{layer}_{direction}"
            assert data[key].dtype == np.float32 and np.array_equal(data[key], states)
            for gate, values in trace.gates(layer, direction).items():
                assert np.array_equal(data[f"{key}_{gate}"], values)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hidden_states.npz", "spec.toml", "summary.json"]
    assert np.array_equal(rnnviz.run(tmp_path / "spec.toml", device="cpu").hidden(3, "backward"),
                          trace.hidden(3, "backward"))


def test_exported_files_have_ordinary_permissions(trace, tmp_path):
    old = os.umask(0o022)
    try:
        written = trace.to_csv(tmp_path / "out") + trace.to_npz(tmp_path / "npz")
        written.append(save_state_dict(trace.spec, prepare(trace.spec)[0].weights, tmp_path / "w.pt"))
    finally:
        os.umask(old)
    for path in written:
        assert path.stat().st_mode & 0o777 == 0o644, path


# --- atomic writes ------------------------------------------------------------------------------------

def failing_on_call(n, original, exc):
    calls = {"n": 0}

    def wrapper(fh, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            fh.write("t,h0\n0,0.5\n1,")  # half a file, then the failure
            raise exc
        return original(fh, *args, **kwargs)

    return wrapper


@pytest.mark.parametrize("exc", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_failure_mid_export_leaves_no_partial_file(trace, tmp_path, monkeypatch, exc):
    monkeypatch.setattr(export, "_write_table", failing_on_call(2, export._write_table, exc))
    with pytest.raises(type(exc)):
        trace.to_csv(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layer1_forward.csv"]  # only the whole first file
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*"))
    table = np.loadtxt(tmp_path / "layer1_forward.csv", delimiter=",", skiprows=1, dtype=np.float64)
    assert np.array_equal(table[:, 1:].astype(np.float32), trace.hidden(1, "forward"))


def test_failure_replacing_a_previous_export_keeps_the_old_file(trace, tmp_path, monkeypatch):
    trace.to_csv(tmp_path)
    (tmp_path / "layer1_backward.csv").write_text("old\n")
    monkeypatch.setattr(export, "_write_table", failing_on_call(2, export._write_table, OSError(28, "No space left")))
    with pytest.raises(RnnvizError, match=r"layer1_backward\.csv: cannot write \(No space left\)"):
        trace.to_csv(tmp_path)
    assert (tmp_path / "layer1_backward.csv").read_text() == "old\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_failure_in_npz_leaves_nothing(trace, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(export, "_savez", boom)
    with pytest.raises(RuntimeError):
        trace.to_npz(tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_output_dir_errors(trace, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(RnnvizError, match="exists and is not a directory"):
        trace.to_csv(tmp_path / "file")
    with pytest.raises(RnnvizError, match="cannot create the output directory"):
        trace.to_csv(tmp_path / "file" / "sub")
    with pytest.raises(RnnvizError, match="is not a directory"):
        export.check_out_dir(tmp_path / "file" / "sub" / "deeper")
    export.check_out_dir(tmp_path / "new" / "deeper")  # creatable: fine, and nothing is created
    assert not (tmp_path / "new").exists()


# --- --save-weights -----------------------------------------------------------------------------------

def test_save_weights_round_trip(trace, tmp_path):
    model, inputs = prepare(trace.spec)
    path = save_state_dict(model.spec, model.weights, tmp_path / "w.pt")
    assert path == tmp_path / "w.pt" and not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*"))
    again = rnnviz.run(path, inputs=trace.inputs, device="cpu")
    assert [l.units for l in again.spec.layers] == [4, 3, 2]
    assert [(l.type, l.bidirectional) for l in again.spec.layers] == [("GRU", True), ("SimpleRNN", False),
                                                                      ("GRU", True)]
    for layer, direction, states in trace.streams():
        assert np.array_equal(again.hidden(layer, direction), states)
    keys = list(torch.load(path, weights_only=True))  # a mixed stack is prefixed per layer
    assert keys[:4] == ["layers.0.weight_ih_l0", "layers.0.weight_hh_l0", "layers.0.bias_ih_l0",
                        "layers.0.bias_hh_l0"]


@pytest.mark.parametrize("layer_type, cls", [("GRU", torch.nn.GRU), ("SimpleRNN", torch.nn.RNN)])
def test_uniform_stack_loads_into_torch(tmp_path, layer_type, cls):
    spec = ModelSpec(input=InputSpec(timesteps=9, features=3, source="normal"),
                     layers=[LayerSpec(layer_type, 5, True) for _ in range(3)], init=InitSpec("torch"))
    model, inputs = prepare(spec)
    path = save_state_dict(model.spec, model.weights, tmp_path / "stack.pt")
    module = cls(3, 5, num_layers=3, bidirectional=True, batch_first=True)
    module.load_state_dict(torch.load(path, weights_only=True))  # strict: exactly torch's own keys
    trace = rnnviz.run(spec, device="cpu")
    with torch.no_grad():
        out, _ = module(torch.from_numpy(inputs)[None])
    np.testing.assert_allclose(np.concatenate([trace.hidden(3), trace.hidden(3, "backward")], 1), out[0].numpy(),
                               rtol=0, atol=1e-6)
    again = rnnviz.run(path, inputs=inputs, device="cpu")
    for layer, direction, states in trace.streams():
        assert np.array_equal(again.hidden(layer, direction), states)


def test_save_weights_errors(trace, tmp_path):
    model, _ = prepare(trace.spec)
    (tmp_path / "file").write_text("x")
    with pytest.raises(RnnvizError, match="cannot write weights"):
        save_state_dict(model.spec, model.weights, tmp_path / "file" / "w.pt")
    assert (tmp_path / "file").read_text() == "x"


def test_atomic_write_replaces_only_regular_files(trace, tmp_path):
    """Moving the temporary file onto /dev/null (run as root) replaced the device with a regular file;
    a FIFO or directory stands in for it here."""
    model, _ = prepare(trace.spec)
    fifo = tmp_path / "pipe.pt"
    os.mkfifo(fifo)
    (tmp_path / "dir.pt").mkdir()
    with pytest.raises(RnnvizError, match=r"pipe\.pt: exists and is not a regular file"):
        save_state_dict(model.spec, model.weights, fifo)
    with pytest.raises(RnnvizError, match=r"dir\.pt: is a directory"):
        with export.atomic_write(tmp_path / "dir.pt") as fh:
            fh.write("x")
    assert fifo.is_fifo() and (tmp_path / "dir.pt").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.pt", "pipe.pt"]


def test_tables_are_written_a_chunk_at_a_time(tmp_path, monkeypatch):
    """tolist() of a whole table made 8 times its size in Python floats: exporting the inputs of a 60 MB
    CSV took 1.4 GB. Chunks must not change a byte."""
    import tracemalloc

    values = np.random.default_rng(0).standard_normal((20_000, 50)).astype(np.float32)
    with open(tmp_path / "whole.csv", "w", newline="") as fh:
        export._write_table(fh, [f"x{i}" for i in range(50)], values)
    monkeypatch.setattr(export, "CHUNK_VALUES", 4096)
    tracemalloc.start()
    try:
        with open(tmp_path / "chunked.csv", "w", newline="") as fh:
            export._write_table(fh, [f"x{i}" for i in range(50)], values)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20, peak
    assert (tmp_path / "chunked.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    table = np.loadtxt(tmp_path / "chunked.csv", delimiter=",", skiprows=1, dtype=np.float32)
    assert np.array_equal(table[:, 0], np.arange(20_000)) and np.array_equal(table[:, 1:], values)
