"""``python main.py sweep`` for real, in a subprocess: Ctrl+C mid-sweep leaves a valid partial result, the same
command then computes only the rest; an unreachable scheduler is one line and exit 2."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnviz.__main__ import main
from rnnviz.sweep import expand, load_sweep_file, point_rows, read_results

ROOT = Path(__file__).resolve().parents[2]
SWEEP = """\
[model.input]
timesteps = 300
features = 3
source = "normal"
[model.init]
scheme = "normal"
[[model.layers]]
type = "GRU"
units = 16
[grid]
"init.gain" = [0.5, 1.0, 1.5, 2.0, 3.0]
"init.seed" = [0, 1, 2, 3, 4, 5, 6, 7]
"""


def sweep_command(path, out, *flags):
    return [sys.executable, "main.py", "sweep", str(path), "--out", str(out), *flags]


def wait_for_points(journal: Path, count: int, process: subprocess.Popen, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and process.poll() is None:
        if journal.exists() and len(journal.read_bytes().splitlines()) >= 1 + count:
            return
        time.sleep(0.01)
    raise AssertionError("the sweep finished or hung before it could be interrupted")


def test_ctrl_c_then_the_same_command_completes_the_sweep(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP)
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "RNNVIZ_DEBUG"}
    first = subprocess.Popen(sweep_command(path, out, "--workers", "2", "--no-progress"), cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    wait_for_points(out / "journal.jsonl", 2, first)
    os.killpg(first.pid, signal.SIGINT)  # what Ctrl+C in a terminal does: the whole process group
    _, err = first.communicate(timeout=60)
    assert first.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("rnnviz: interrupted; ")
    saved = int(err.split("interrupted; ")[1].split()[0])
    partial = list(csv.DictReader((out / "results.csv").open()))
    assert 2 <= saved < 40 and len(partial) == saved and len({r["point"] for r in partial}) == saved
    assert json.loads((out / "sweep.json").read_text())["done"] == saved
    before = {row["point"]: row for row in read_results(out)}

    second = subprocess.run(sweep_command(path, out, "--workers", "2", "--progress"), cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert f"40 points, {saved} already done" in second.stderr and "point/s" in second.stderr  # tqdm's bar
    assert second.stdout.strip().startswith(f"{40 - saved} points computed, 40 of 40")
    rows = read_results(out)
    assert [r["point"] for r in rows] == list(range(40))
    assert all(rows[i] == row for i, row in before.items())  # the first run's points are kept as they were
    points = expand(load_sweep_file(path))
    for index in (0, 39):
        expected = point_rows(points[index].spec, ("saturated_fraction", "mean_tanh_gain"))[0]
        assert rows[index]["saturated_fraction"] == expected["saturated_fraction"]
        assert rows[index]["mean_tanh_gain"] == expected["mean_tanh_gain"]


def test_unreachable_scheduler_is_one_line_and_nothing_written(tmp_path, capsys):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP)
    code = main(["sweep", str(path), "--out", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "cannot reach a Dask scheduler" in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("address", ["localhost", "tcp://no.such.host.invalid:8786"])
def test_a_bad_scheduler_address_is_one_line(address, tmp_path, capsys):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--scheduler", address]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and address in err
