"""rnnviz.analyze and `rnnviz analyze`: the tables, analysis.json, and one-line errors that write nothing."""

import csv
import json

import numpy as np
import pytest

import rnnviz
from rnnviz.__main__ import main
from rnnviz.analysis import QUANTITIES, analyze
from rnnviz.analysis.metrics import point_metrics
from tests.analysis.helpers import spec

TABLES = {"jacobian", "gradient_flow", "lyapunov", "gates", "pca", "pca_variance", "perturbation", "fixed_points"}


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "model.toml"
    path.write_text(spec("GRU", units=4, layers=2, bidirectional=True, timesteps=40).to_toml())
    return path


def test_analyze_returns_every_table_with_input_time_rows():
    analysis = rnnviz.analyze(spec("SimpleRNN", units=3, layers=2, bidirectional=True, timesteps=20), device="cpu")
    assert set(analysis.tables) == TABLES
    jac = analysis.tables["jacobian"]
    assert [(r["layer"], r["direction"], r["t"]) for r in jac[:2]] == [(1, "forward", 0), (1, "forward", 1)]
    backward = [r for r in jac if (r["layer"], r["direction"]) == (2, "backward")]
    assert [r["t"] for r in backward] == list(range(20))
    assert {r["gate"] for r in analysis.tables["gates"]} == {"h_abs"}
    assert [r["k"] for r in analysis.tables["lyapunov"] if r["layer"] == 1 and r["direction"] == "forward"] == [1, 2, 3]
    assert analysis.info["computed"] == list(QUANTITIES)
    assert {(p["layer"], p["direction"]) for p in analysis.info["perturbation"]} == {(1, "forward"), (2, "forward"),
                                                                                   (2, "backward")}


@pytest.mark.parametrize("kind", ["SimpleRNN", "GRU", "LSTM"])
def test_a_single_step_bidirectional_run_is_analysed(kind):
    """T = 1: the backward direction's one-row views (which numpy calls contiguous with a negative stride)
    and a fork at the last step (nothing left to continue) both used to fail with an internal error."""
    analysis = rnnviz.analyze(spec(kind, units=3, layers=2, bidirectional=True, timesteps=1), device="cpu")
    assert set(analysis.tables) == TABLES
    assert [(r["layer"], r["direction"], r["t"]) for r in analysis.tables["jacobian"]] == [
        (layer, direction, 0) for layer in (1, 2) for direction in ("forward", "backward")]
    assert all(np.isfinite(r["spectral_radius"]) for r in analysis.tables["jacobian"])
    fork = [r for r in analysis.tables["perturbation"] if (r["layer"], r["direction"]) == (1, "forward")]
    assert [(r["t"], r["distance"]) for r in fork] == [(0, pytest.approx(1e-4))]


def test_a_trace_is_analysed_with_the_weights_that_made_it():
    model_spec = spec("GRU", units=4, layers=1, bidirectional=False, timesteps=30)
    trace = rnnviz.run(model_spec, device="cpu")
    from_trace = analyze(trace, only=["lyapunov"])
    from_spec = analyze(model_spec, only="lyapunov", device="cpu")
    assert from_trace.tables == from_spec.tables
    assert from_trace.trace is trace


def test_point_metrics_per_layer_direction():
    metrics = point_metrics(spec("GRU", units=4, layers=1, bidirectional=True, timesteps=60), device="cpu")
    assert [(m["layer"], m["direction"]) for m in metrics] == [(1, "forward"), (1, "backward")]
    assert metrics[0]["lambda_max"] < 0 and metrics[0]["gradient_decay"] < 0
    assert metrics[0]["memory_horizon"] is not None and metrics[1]["memory_horizon"] is None
    assert 0 <= metrics[0]["saturated_fraction"] <= 1


def test_cli_writes_the_tables_and_json(spec_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["analyze", str(spec_file), "--out", str(out), "--only", "lyapunov,pca,fixed_points",
                 "--lyapunov", "2", "--device", "cpu", "--no-progress"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["analysis.json", "fixed_points.csv", "fixed_points.npz",
                                                    "lyapunov.csv", "pca.csv", "pca_variance.csv"]
    rows = list(csv.DictReader(open(out / "lyapunov.csv")))
    assert list(rows[0]) == ["layer", "direction", "k", "exponent"] and len(rows) == 2 * 2 * 2
    info = json.loads((out / "analysis.json").read_text())
    assert info["computed"] == ["lyapunov", "pca", "fixed_points"] and "torch" in info["versions"]
    npz = np.load(out / "fixed_points.npz")
    points = list(csv.DictReader(open(out / "fixed_points.csv")))
    assert npz["layer1_forward_states"].shape[0] == sum(p["layer"] == "1" and p["direction"] == "forward"
                                                        for p in points)
    assert npz["layer1_forward_eigenvalues"].dtype.kind == "c"


@pytest.mark.parametrize("flags,message", [
    (["--only", "jacobian,lyap"], "only: unknown quantity 'lyap'"),
    (["--lyapunov", "0"], "lyapunov: the number of exponents must be >= 1"),
    (["--lyapunov", "two"], "--lyapunov: expected an integer"),
    (["--burn-in", "40"], "burn_in: must be 0 … 39"),
    (["--perturb-at", "-1"], "perturb_at: must be a step 0 … 39"),
    (["--epsilon", "0"], "epsilon: must be a finite number > 0"),
    (["--epsilon", "nan"], "epsilon: must be a finite number > 0"),
    (["--epsilon", "1e300"], "epsilon: must be a finite number > 0 and at most 1000"),
    (["--fp-input", "1,2"], "fp_input: 2 values, but layer 1 reads 3 inputs"),
    (["--fp-input", "1,2,3"], "fp_input: 3 values, but layer 2 reads 8 inputs"),
    (["--perturb-layer", "3"], "perturb_layer: must be 1 … 2"),
    (["--perturb-direction", "sideways"], "perturb_direction: layer 1 has forward and backward"),
])
def test_cli_errors_are_one_line_and_write_nothing(spec_file, tmp_path, capsys, flags, message):
    out = tmp_path / "out"
    assert main(["analyze", str(spec_file), "--out", str(out), "--device", "cpu", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnviz: error: ") and message in err and err.count("\n") == 1
    assert not out.exists()


def test_explicit_fixed_point_input_for_the_layers_it_fits(spec_file, tmp_path):
    out = tmp_path / "out"
    assert main(["analyze", str(spec_file), "--out", str(out), "--only", "fixed_points", "--fp-input", "0.1,0,0",
                 "--fp-layers", "1", "--device", "cpu", "--no-progress"]) == 0
    assert {row["layer"] for row in csv.DictReader(open(out / "fixed_points.csv"))} == {"1"}


def test_tables_do_not_depend_on_how_many_cores_computed_them(monkeypatch):
    from rnnviz.analysis import jacobian, parallel

    model_spec = spec("LSTM", units=5, layers=2, bidirectional=True, timesteps=30)
    monkeypatch.setattr(jacobian, "CHUNK", 7)  # several Jacobian pieces per stream, the last one short
    only = [q for q in QUANTITIES if q != "fixed_points"]
    serial = analyze(model_spec, only=only).tables
    original = parallel.map_ordered
    monkeypatch.setattr(parallel, "map_ordered", lambda work, items, done=None: original(work, items, 1, done))
    assert analyze(model_spec, only=only).tables == serial
    assert [row["t"] for row in serial["jacobian"] if row["layer"] == 1 and row["direction"] == "forward"] == \
        list(range(30))
