"""Sweep files and grid expansion: the order of points, dotted keys into the spec (layers from 1), inline
models, and every kind of bad sweep file refused with one line and exit 2 before anything is written."""

import json
import textwrap
from pathlib import Path

import pytest

import rnnviz
from rnnviz.__main__ import main
from rnnviz.errors import SpecError
from rnnviz.sweep import METRICS, Sweep, expand, load_sweep_file

BASE = """\
[input]
timesteps = 12
features = 3
source = "normal"
[init]
scheme = "normal"
[[layers]]
type = "SimpleRNN"
units = 4
[[layers]]
type = "GRU"
units = 5
bidirectional = true
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def base_dir(tmp_path):
    write(tmp_path, "specs/base.toml", BASE)
    return tmp_path


def test_expansion_is_every_combination_last_key_fastest(base_dir):
    path = write(base_dir, "sweep.toml", """\
        spec = "specs/base.toml"
        [grid]
        "init.gain" = [0.5, 2.0]
        "layers.2.units" = [6, 7, 8]
        "layers.1.type" = ["GRU", "LSTM"]
    """)
    sweep = load_sweep_file(path)
    points = expand(sweep)
    assert len(points) == 12 and [p.index for p in points] == list(range(12))
    assert [tuple(p.values.values()) for p in points[:4]] == [(0.5, 6, "GRU"), (0.5, 6, "LSTM"), (0.5, 7, "GRU"),
                                                             (0.5, 7, "LSTM")]
    last = points[-1]
    assert last.values == {"init.gain": 2.0, "layers.2.units": 8, "layers.1.type": "LSTM"}
    assert last.spec.init.gain == 2.0 and last.spec.layers[1].units == 8 and last.spec.layers[0].type == "LSTM"
    # everything the grid does not name stays as in the base spec
    base = rnnviz.load_spec(base_dir / "specs" / "base.toml")
    assert last.spec.input == base.input and last.spec.layers[1].bidirectional and last.spec.init.scheme == "normal"
    assert sweep.metrics == METRICS  # no [analysis]: all of them


def test_inline_model_paths_are_relative_to_the_sweep_file(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("1,2\n3,4\n5,6\n")
    path = write(tmp_path, "sweep.toml", """\
        [model.input]
        source = "file"
        path = "data/x.csv"
        [[model.layers]]
        type = "SimpleRNN"
        units = 3
        [grid]
        "init.seed" = [0, 1]
        [analysis]
        metrics = ["saturated_fraction", "lambda_max"]
    """)
    sweep = load_sweep_file(path)
    points = expand(sweep)
    assert [p.spec.init.seed for p in points] == [0, 1]
    assert Path(points[0].spec.input.path) == (tmp_path / "data" / "x.csv").resolve()
    assert sweep.metrics == ("saturated_fraction", "lambda_max")


def test_json_sweep_file_and_sweeps_built_in_code(base_dir):
    path = base_dir / "sweep.json"
    path.write_text(json.dumps({"spec": "specs/base.toml", "grid": {"input.seed": [1, 2, 3]}}))
    assert [p.spec.input.seed for p in expand(load_sweep_file(path))] == [1, 2, 3]
    spec = rnnviz.ModelSpec(input=rnnviz.InputSpec(timesteps=5, features=2), layers=[rnnviz.LayerSpec("GRU", 3)])
    points = expand(Sweep(spec, {"layers.1.bidirectional": [False, True]}))
    assert [p.spec.layers[0].directions for p in points] == [("forward",), ("forward", "backward")]


def test_a_rejected_value_names_the_point_and_field(base_dir):
    sweep = Sweep(rnnviz.load_spec(base_dir / "specs" / "base.toml"), {"init.gain": [1.0, -1.0]}, origin="s.toml")
    with pytest.raises(SpecError, match=r"^s\.toml: point 1 \(init\.gain = -1\.0\): init\.gain: must be a finite"):
        expand(sweep)


BAD = {
    "malformed TOML": ('spec = "specs/base.toml"\n[grid\n', "malformed TOML"),
    "missing base spec": ('spec = "nope.toml"\n[grid]\n"init.seed" = [0]\n', "nope.toml: no such file"),
    "invalid base spec": ('spec = "specs/bad.toml"\n[grid]\n"init.seed" = [0]\n', "layers[0].units"),
    "spec and model": ('spec = "specs/base.toml"\n[model.input]\ntimesteps = 2\n[grid]\n"init.seed" = [0]\n',
                       "not both"),
    "no model": ('[grid]\n"init.seed" = [0]\n', "none is given"),
    "unknown top-level key": ('spec = "specs/base.toml"\nworkers = 3\n[grid]\n"init.seed" = [0]\n',
                              "unknown key 'workers'"),
    "missing grid": ('spec = "specs/base.toml"\n', "[grid]: missing"),
    "empty grid": ('spec = "specs/base.toml"\n[grid]\n', "[grid]: empty"),
    "empty array": ('spec = "specs/base.toml"\n[grid]\n"init.seed" = []\n', "the array is empty"),
    "scalar value": ('spec = "specs/base.toml"\n[grid]\n"init.seed" = 3\n', "must be an array"),
    "repeated value": ('spec = "specs/base.toml"\n[grid]\n"init.seed" = [1, 2, 1]\n', "1 appears twice"),
    "table value": ('spec = "specs/base.toml"\n[grid]\n"init.seed" = [{a = 1}]\n', "must be strings"),
    "unknown table": ('spec = "specs/base.toml"\n[grid]\n"model.gain" = [1]\n', "unknown spec table 'model'"),
    "unknown field": ('spec = "specs/base.toml"\n[grid]\n"init.gian" = [1]\n', "'init.gian': expected init.FIELD"),
    "layer 0": ('spec = "specs/base.toml"\n[grid]\n"layers.0.units" = [1]\n', "layers count from 1"),
    "layer 3 of 2": ('spec = "specs/base.toml"\n[grid]\n"layers.3.units" = [1]\n', "has 2 layers"),
    "no layer field": ('spec = "specs/base.toml"\n[grid]\n"layers.1" = [1]\n', "expected layers.N.FIELD"),
    "rejected units": ('spec = "specs/base.toml"\n[grid]\n"layers.2.units" = [8, 0]\n',
                       "point 1 (layers.2.units = 0): layers[1].units: must be an integer >= 1"),
    "rejected type": ('spec = "specs/base.toml"\n[grid]\n"layers.1.type" = ["GRU", "Transformer"]\n',
                      "unknown layer type 'Transformer'"),
    "rejected seed": ('spec = "specs/base.toml"\n[grid]\n"init.seed" = [-1]\n', "init.seed: must be an integer >= 0"),
    "missing weights": ('spec = "specs/base.toml"\n[grid]\n"weights" = ["gone.pt"]\n', "gone.pt: no such file"),
    "unknown metric": ('spec = "specs/base.toml"\n[grid]\n"init.seed" = [0]\n[analysis]\nmetrics = ["lambda"]\n',
                       "unknown metric 'lambda'"),
    "analysis option": ('spec = "specs/base.toml"\n[grid]\n"init.seed" = [0]\n[analysis]\nsteps = 3\n',
                        "takes only metrics"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_sweep_file_is_one_line_and_exit_2_with_nothing_written(case, base_dir, capsys):
    text, expected = BAD[case]
    write(base_dir, "specs/bad.toml", BASE.replace("units = 4", "units = 0"))
    path = write(base_dir, "sweep.toml", text)
    out = base_dir / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rnnviz: error: ") and expected in err, err
    assert not out.exists()


def test_bad_flags_are_refused_by_the_parser(base_dir, capsys):
    path = write(base_dir, "sweep.toml", 'spec = "specs/base.toml"\n[grid]\n"init.seed" = [0]\n')
    for flags in (["--workers", "0"], ["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], []):
        with pytest.raises(SystemExit) as exit_:
            main(["sweep", str(path), *flags] + (["--out", str(base_dir / "out")] if flags else []))
        assert exit_.value.code == 2
    assert not (base_dir / "out").exists()


def test_the_readme_example_is_a_valid_sweep(base_dir):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Sweeps"):]
    example = section[section.index("```toml\n") + 8:section.index("```\n", section.index("```toml\n"))]
    write(base_dir, "base.toml", BASE)
    points = expand(load_sweep_file(write(base_dir, "sweep.toml", example)))
    assert len(points) == 5 * 2 * 3 * 4
    assert points[-1].spec.layers[0].type == "LSTM" and points[-1].spec.layers[0].units == 128
