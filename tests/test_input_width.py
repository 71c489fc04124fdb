"""An input of the wrong width is an error, never a guess: the spec's features and trained weights fix the
width, for the CLI's ``run --input``, ``rnnviz.run``/``prepare`` and a spec's own input file; only a spec that
leaves features out takes the width of its input."""

import numpy as np
import pytest

import rnnviz
from rnnviz.errors import InputError
from rnnviz.inputs import input_width_problem
from tests.test_cli import DATA, assert_user_error, cli, run_main

GRU_KERAS = DATA / "keras_gru.keras"  # GRU(8) reading 5 features


def spec_file(tmp_path, input_table, weights=None, name="model.toml"):
    text = f'weights = "{weights}"\n' if weights else ""
    text += f"[input]\n{input_table}\n[[layers]]\ntype = \"GRU\"\nunits = 8\n"
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def table(tmp_path, columns, rows=6, name="x.csv"):
    path = tmp_path / name
    values = np.arange(rows * columns, dtype=np.float32).reshape(rows, columns) / (rows * columns)
    np.savetxt(path, values, delimiter=",", fmt="%.9g")
    return path


def test_cli_refuses_an_input_wider_than_the_spec_and_writes_nothing(tmp_path):
    spec = spec_file(tmp_path, "timesteps = 5\nfeatures = 3")
    wide = table(tmp_path, 7)
    done = cli("run", spec, "--input", wide, "--out", tmp_path / "out", "--save-weights", tmp_path / "w.pt")
    assert_user_error(done, "x.csv", "has 7 columns", "input.features is 3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.toml", "x.csv"]


def test_cli_refuses_an_input_the_trained_model_cannot_read(tmp_path):
    narrow = table(tmp_path, 2)
    done = run_main("run", GRU_KERAS, "--input", narrow, "--out", tmp_path / "out")
    assert_user_error(done, "x.csv", "has 2 columns", "the trained model reads 5")
    assert not (tmp_path / "out").exists()


def test_a_spec_with_trained_weights_and_its_own_input_file(tmp_path):
    """With features left out the file's width is taken, but trained weights still fix it."""
    wrong, right = table(tmp_path, 4, name="wrong.csv"), table(tmp_path, 5, rows=3, name="right.csv")
    spec = spec_file(tmp_path, f'source = "file"\npath = "{wrong.name}"', weights=GRU_KERAS)
    with pytest.raises(InputError, match=r"wrong\.csv: has 4 columns \(features\) but the trained model reads 5$"):
        rnnviz.prepare(spec)
    model, array = rnnviz.prepare(spec_file(tmp_path, f'source = "file"\npath = "{right.name}"', weights=GRU_KERAS))
    assert array.shape == (3, 5) and model.spec.input.features == 5


def test_a_spec_file_source_without_features_takes_the_files_width(tmp_path):
    path = table(tmp_path, 7)
    trace = rnnviz.run(spec_file(tmp_path, f'source = "file"\npath = "{path.name}"'), device="cpu")
    assert (trace.spec.input.timesteps, trace.spec.input.features) == (6, 7)
    assert trace.summary().total_params == 3 * (7 * 8 + 8 * 8 + 2 * 8)  # the stack was built for 7 features
    with pytest.raises(InputError, match=r"x\.csv: has 7 columns \(features\) but the spec's input\.features is 3"):
        rnnviz.run(spec_file(tmp_path, f'source = "file"\npath = "{path.name}"\nfeatures = 3'), device="cpu")


def test_python_api_refuses_a_wrong_width_and_keeps_the_rows(tmp_path):
    spec = rnnviz.ModelSpec(input=rnnviz.InputSpec(timesteps=5, features=3), layers=[rnnviz.LayerSpec("GRU", 4)])
    wide = table(tmp_path, 7)
    for call in (rnnviz.run, rnnviz.prepare):
        with pytest.raises(InputError, match=r"x\.csv: has 7 columns \(features\) but the spec's input\.features is 3"):
            call(spec, inputs=wide)
        with pytest.raises(InputError, match=r"^inputs: has 2 columns \(features\) but the spec's input\.features"):
            call(spec, inputs=np.zeros((4, 2), np.float32))
    with pytest.raises(InputError, match="the trained model reads 5"):
        rnnviz.run(GRU_KERAS, inputs=np.zeros((4, 7), np.float32), device="cpu")
    trace = rnnviz.run(spec, inputs=table(tmp_path, 3, rows=9, name="long.csv"), device="cpu")  # rows are free
    assert (trace.spec.input.timesteps, trace.spec.input.features) == (9, 3)


def test_a_text_spec_takes_the_width_of_an_input_given_instead():
    spec = rnnviz.ModelSpec(input=rnnviz.InputSpec(timesteps=None, features=None, source="text", text="abcab"),
                            layers=[rnnviz.LayerSpec("SimpleRNN", 2)])
    trace = rnnviz.run(spec, inputs=np.ones((4, 6), np.float32), device="cpu")
    assert trace.spec.input.features == 6


def test_input_width_problem_for_the_app():
    fixed = rnnviz.ModelSpec(input=rnnviz.InputSpec(timesteps=5, features=3), layers=[rnnviz.LayerSpec("GRU", 4)])
    open_width = rnnviz.ModelSpec(input=rnnviz.InputSpec(timesteps=None, features=None, source="file", path="a.csv"),
                                  layers=[rnnviz.LayerSpec("GRU", 4)])
    seven = np.zeros((6, 7), np.float32)
    assert input_width_problem(fixed, None, seven, "x.csv") == \
        "x.csv: has 7 columns (features) but the spec's input.features is 3"
    assert input_width_problem(fixed, 7, seven, "x.csv") is None  # trained weights decide, not a stale spec
    assert input_width_problem(fixed, 5, seven, "x.csv") == \
        "x.csv: has 7 columns (features) but the trained model reads 5"
    assert input_width_problem(open_width, None, seven, "x.csv") is None
    assert input_width_problem(fixed, None, np.zeros((2, 3), np.float32), "x.csv") is None
