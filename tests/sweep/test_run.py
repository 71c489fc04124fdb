"""Running sweeps: the same rows from 1 or 2 local workers and from Dask, resumption after a stop that neither
loses nor repeats a point, the journal's defences, and the tidy result files."""

import csv
import json
import math

import pyarrow.parquet as pq
import pytest

import rnnviz
from rnnviz.analysis.metrics import point_metrics
from rnnviz.errors import RnnvizError
from rnnviz.sweep import DaskExecutor, LocalExecutor, Sweep, expand, read_results, run_sweep
from rnnviz.sweep.store import JOURNAL
from tests.sweep.fakes import fake_rows

SPEC = rnnviz.ModelSpec(input=rnnviz.InputSpec(timesteps=30, features=3, source="normal"),
                        layers=[rnnviz.LayerSpec("SimpleRNN", 6, bidirectional=True), rnnviz.LayerSpec("GRU", 4)],
                        init=rnnviz.InitSpec(scheme="normal"))
GRID = {"init.gain": [0.5, 1.5, 3.0], "layers.1.type": ["SimpleRNN", "GRU"], "init.seed": [0, 1]}
SWEEP = Sweep(SPEC, GRID)


@pytest.fixture(scope="module")
def two_workers():
    with LocalExecutor(2) as executor:
        yield executor


@pytest.fixture(scope="module")
def dask_threads():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as client:
        yield DaskExecutor(client)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, dask_threads):
    """The real metrics of SWEEP, computed once, uninterrupted."""
    out = tmp_path_factory.mktemp("reference")
    run_sweep(SWEEP, out, dask_threads)
    return read_results(out)


def same(rows_a, rows_b):
    """Equal rows, NaN equal to NaN."""
    def key(rows):
        return [{k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()} for row in rows]
    return key(rows_a) == key(rows_b)


def test_tidy_rows_one_per_point_and_layer_direction(reference, tmp_path):
    assert len(reference) == 12 * 3  # 12 points; layer 1 bidirectional, layer 2 forward
    assert list(reference[0]) == ["point", "init.gain", "layers.1.type", "init.seed", "layer", "direction",
                                  *rnnviz.sweep.METRICS]
    assert [(r["point"], r["layer"], r["direction"]) for r in reference[:3]] == [(0, 1, "forward"), (0, 1, "backward"),
                                                                              (0, 2, "forward")]
    # what a point's rows hold is the core's analysis of its spec
    point = expand(SWEEP)[7]
    rows = [r for r in reference if r["point"] == 7]
    assert rows[0]["init.gain"] == point.values["init.gain"]
    assert [{k: row[k] for k in ("layer", "direction", *rnnviz.sweep.METRICS)} for row in rows] == \
        point_metrics(point.spec, device="cpu")
    trace = rnnviz.run(point.spec, device="cpu")
    for row, (_, _, saturated, gain) in zip(rows, trace.saturation()):
        assert row["saturated_fraction"] == pytest.approx(saturated.mean(), abs=1e-7)
        assert row["mean_tanh_gain"] == pytest.approx(gain.mean(), abs=1e-6)
    assert all(math.isfinite(row["lambda_max"]) and math.isfinite(row["gradient_decay"]) for row in reference)


def test_local_one_and_two_workers_and_dask_give_the_same_rows(reference, two_workers, tmp_path):
    with LocalExecutor(1) as one:
        run_sweep(SWEEP, tmp_path / "one", one)
    run_sweep(SWEEP, tmp_path / "two", two_workers)
    assert same(read_results(tmp_path / "one"), reference)
    assert same(read_results(tmp_path / "two"), reference)


def test_stop_then_resume_computes_only_the_rest(two_workers, tmp_path):
    sweep = Sweep(SPEC, GRID)
    out = tmp_path / "out"
    finished = []
    first = run_sweep(sweep, out, two_workers, compute=fake_rows, should_stop=lambda: len(finished) >= 5,
                      progress=lambda done, total, result: finished.append(result) if result else None)
    assert (first.done, first.computed, first.complete) == (5, 5, False)
    partial = list(csv.DictReader((out / "results.csv").open()))
    assert len({r["point"] for r in partial}) == 5 and json.loads((out / "sweep.json").read_text())["complete"] is False
    seen = []
    second = run_sweep(sweep, out, two_workers, compute=fake_rows,
                       progress=lambda done, total, result: seen.append((done, total, result)))
    assert (second.done, second.computed, second.complete) == (12, 7, True)
    assert seen[0][:2] == (5, 12) and seen[0][2] is None and seen[-1][0] == 12
    assert {r.index for _, _, r in seen[1:]}.isdisjoint({r.index for r in finished})
    uninterrupted = tmp_path / "whole"
    run_sweep(sweep, uninterrupted, two_workers, compute=fake_rows)
    rows = read_results(out)
    assert rows == read_results(uninterrupted)
    assert len({(r["point"], r["layer"], r["direction"]) for r in rows}) == len(rows) == 36
    third = run_sweep(sweep, out, two_workers, compute=fake_rows)
    assert third.computed == 0 and read_results(out) == rows
    assert len((out / JOURNAL).read_text().splitlines()) == 1 + 12


def test_result_files_agree(two_workers, tmp_path):
    run_sweep(SWEEP, tmp_path, two_workers, compute=fake_rows)
    rows = read_results(tmp_path)
    assert pq.read_table(tmp_path / "results.parquet").to_pylist() == rows
    table = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert [{k: str(v) for k, v in row.items()} for row in rows] == table
    info = json.loads((tmp_path / "sweep.json").read_text())
    assert info["grid"] == GRID and info["points"] == info["done"] == 12 and info["complete"]
    assert {"rnnviz", "torch", "dask", "python"} <= set(info["versions"])
    assert info["timings"]["point_s"]["total"] > 0
    (tmp_path / JOURNAL).unlink()  # a results folder copied without its journal still reads
    assert read_results(tmp_path) == rows


def test_a_torn_last_line_is_dropped_and_recomputed(two_workers, tmp_path):
    asked = []
    run_sweep(SWEEP, tmp_path, two_workers, compute=fake_rows, should_stop=lambda: asked.append(1) or len(asked) > 1)
    journal = tmp_path / JOURNAL
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines) + lines[1][:40])  # killed while writing the next point
    outcome = run_sweep(SWEEP, tmp_path, two_workers, compute=fake_rows)
    assert (outcome.done, outcome.computed) == (12, 11)
    assert len(read_results(tmp_path)) == 36
    journal.write_bytes(journal.read_bytes().replace(b'"rows"', b'"rovs"', 1))
    with pytest.raises(RnnvizError, match=r"journal\.jsonl: line 2 is not a finished point"):
        run_sweep(SWEEP, tmp_path, two_workers, compute=fake_rows)


def test_a_journal_of_another_sweep_is_refused(two_workers, tmp_path):
    run_sweep(SWEEP, tmp_path, two_workers, compute=fake_rows, should_stop=lambda: True)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for other in (Sweep(SPEC, {**GRID, "init.seed": [0, 2]}), Sweep(SPEC, GRID, metrics=("lambda_max",))):
        with pytest.raises(RnnvizError, match="holds the results of a different sweep"):
            run_sweep(other, tmp_path, two_workers, compute=fake_rows)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / JOURNAL).write_text("hello\n")
    with pytest.raises(RnnvizError, match="not an rnnviz sweep journal"):
        run_sweep(SWEEP, tmp_path / "x", two_workers, compute=fake_rows)


def test_a_second_run_on_the_same_folder_is_refused(tmp_path, dask_threads):
    from rnnviz.sweep.store import Journal
    from rnnviz.sweep.runner import plan_sweep

    plan = plan_sweep(SWEEP, tmp_path)
    holder = Journal(tmp_path, plan.fingerprint, 12)
    try:
        with pytest.raises(RnnvizError, match="another sweep is writing"):
            run_sweep(plan, executor=dask_threads, compute=fake_rows)
    finally:
        holder.close()



def test_a_sweep_stopped_on_dask_is_finished_locally(dask_threads, two_workers, tmp_path):
    count = []
    first = run_sweep(SWEEP, tmp_path / "out", dask_threads, compute=fake_rows, should_stop=lambda: len(count) > 3,
                      progress=lambda done, total, result: count.append((tmp_path / "out" / "sweep.json").exists()))
    assert first.done == 3 and not first.complete
    assert all(count)  # sweep.json is there from the start, for the app to open the folder while points arrive
    second = run_sweep(SWEEP, tmp_path / "out", two_workers, compute=fake_rows)
    assert (second.computed, second.complete) == (9, True)
    run_sweep(SWEEP, tmp_path / "whole", two_workers, compute=fake_rows)
    assert read_results(tmp_path / "out") == read_results(tmp_path / "whole")
