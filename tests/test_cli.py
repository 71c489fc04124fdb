"""The real command line (``python main.py …`` in a subprocess): the documented commands work, and every
bad input, hostile files included, ends with exit status 2 and one clear line on stderr."""

import contextlib
import io
import json
import os
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

import rnnviz

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
ASSETS = ROOT / "assets"


def cli(*args, timeout=120):
    """Run ``python main.py ARGS`` from the repository root; a hang fails the test (timeout)."""
    env = {k: v for k, v in os.environ.items() if k != "RNNVIZ_DEBUG"}
    return subprocess.run([sys.executable, "main.py", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env)


POOL = max(2, min(8, os.cpu_count() or 2))


def cli_many(commands):
    """Run several commands at once (each is a tuple of arguments); results in the same order."""
    with ThreadPoolExecutor(POOL) as pool:
        return list(pool.map(lambda args: cli(*args), commands))


def assert_all_user_errors(cases):
    """``cases``: name -> (command, needles[, HERE]). Every command runs through ``main.py`` in a subprocess,
    all at once, except those marked HERE: these go through the same entry point, ``rnnviz.__main__.main``,
    in this process (the extra hostile cases: a subprocess each would make the suite slow). Every
    failure is reported, by name."""
    spawned = {name: case for name, case in cases.items() if len(case) == 2}
    results = dict(zip(spawned, cli_many([command for command, _ in spawned.values()])))
    for name, case in cases.items():
        if len(case) == 3:
            results[name] = run_main(*case[0])
    failures = []
    for name, (command, needles, *_) in cases.items():
        try:
            assert_user_error(results[name], *needles)
        except AssertionError as exc:
            failures.append(f"{name}: {exc}")
    assert not failures, "\n".join(failures)


HERE = "in this process"


def run_main(*args):
    """``main.py ARGS`` without the subprocess: the CLI's entry point, stderr and stdout captured."""
    from rnnviz.__main__ import main

    saved = os.environ.pop("RNNVIZ_DEBUG", None)  # with it set, a bug would raise instead of exiting 1
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in args])
    finally:
        if saved is not None:
            os.environ["RNNVIZ_DEBUG"] = saved
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def assert_user_error(done, *needles):
    """Exit status 2, exactly one line on stderr, no traceback, and the line names what is wrong."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("rnnviz: error: "), lines[0]
    for needle in needles:
        assert str(needle) in lines[0], (needle, lines[0])
    assert done.stdout == ""
    return lines[0]


def spec_file(tmp_path, text, name="model.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD_INPUT = "[input]\ntimesteps = 5\nfeatures = 3\n"


# --- the documented commands -------------------------------------------------------------------------
# The commands that load torch (2-3 s of CPU each) run side by side, once for the module.


@pytest.fixture(scope="module")
def torch_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    x = np.load(DATA / "keras_bidir_gru_stack_input.npy")
    np.savetxt(tmp / "x.csv", x, delimiter=",", fmt="%.9g")
    torch.save({"weight_ih_l0": torch.zeros(10, 3), "weight_hh_l0": torch.zeros(10, 4)}, tmp / "nondiv.pt")
    weights = torch.nn.GRU(3, 4).state_dict()
    weights["weight_hh_l0"][1, 2] = float("nan")
    torch.save(weights, tmp / "nan.pt")
    commands = {
        "spec": ("run", ASSETS / "demo_saturation.toml", "--out", tmp / "states", "--tidy", "--save-weights",
                 tmp / "w.pt"),
        "keras": ("run", DATA / "keras_bidir_gru_stack.keras", "--input", tmp / "x.csv", "--out", tmp / "keras"),
        "pt": ("run", DATA / "torch_gru_bidir.pt", "--input", DATA / "torch_gru_bidir_input.npy", "--out", tmp / "pt",
               "--format", "npz", "--device", "cpu"),
        "malicious": ("run", DATA / "torch_malicious.pt"),
        "lstm": ("run", DATA / "torch_lstm.pt"),
        "nondiv": ("summary", tmp / "nondiv.pt"),
        "nan": ("run", tmp / "nan.pt"),
        "cuda": ("run", ASSETS / "demo_saturation.toml", "--device", "cuda", "--out", tmp / "cuda"),
    }
    with ThreadPoolExecutor(POOL, thread_name_prefix="rnnviz-cli-tests") as pool:
        futures = {name: pool.submit(cli, *args) for name, args in commands.items()}
        yield tmp, {name: future.result() for name, future in futures.items()}


def test_summary_prints_the_keras_table():
    done = cli("summary", ASSETS / "tutorial_5_bidirectional.toml")
    assert done.returncode == 0 and done.stderr == ""
    expected = str(rnnviz.summary(rnnviz.load_spec(ASSETS / "tutorial_5_bidirectional.toml")))
    assert done.stdout == expected + "\n"
    assert " bidirectional (Bidirectiona  (None, 10, 16)           224       \n l)" in done.stdout


def test_summary_json_of_a_keras_file():
    done = cli("summary", DATA / "keras_bidir_gru_stack.keras", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [l["name"] for l in data["layers"]] == ["bi_encoder", "gru_1", "bidirectional"]
    assert [l["output_shape"] for l in data["layers"]] == [[None, 7, 12], [None, 7, 4], [None, 10]]
    assert data["total_params"] == sum(l["params"] for l in data["layers"])


def test_run_spec_out(torch_runs):
    tmp, runs = torch_runs
    done, out = runs["spec"], tmp / "states"
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["hidden_states.csv", "inputs.csv", "layer1_forward.csv",
                                                     "saturation.csv", "spec.toml", "summary.json"]
    assert "Total params: 104" in done.stdout and "saturated (|h| >= 0.95)" in done.stdout
    assert f"wrote 7 files to {out}" in done.stdout
    expected = rnnviz.run(ASSETS / "demo_saturation.toml", device="cpu").hidden(1)
    table = np.loadtxt(out / "layer1_forward.csv", delimiter=",", skiprows=1)
    assert np.array_equal(table[:, 1:].astype(np.float32), expected)
    assert np.array_equal(rnnviz.run(tmp / "w.pt", inputs=out / "inputs.csv", device="cpu").hidden(1), expected)


def test_run_keras_with_csv_input(torch_runs):
    tmp, runs = torch_runs
    assert runs["keras"].returncode == 0, runs["keras"].stderr
    expected = np.load(DATA / "keras_bidir_gru_stack_states.npz")
    for key in expected.files:
        table = np.loadtxt(tmp / "keras" / f"{key}.csv", delimiter=",", skiprows=1, ndmin=2)
        np.testing.assert_allclose(table[:, 1:], expected[key], rtol=0, atol=1e-6)
    assert "bi_encoder (Bidirectional)" in runs["keras"].stdout


def test_run_pt_with_npy_input(torch_runs):
    tmp, runs = torch_runs
    assert runs["pt"].returncode == 0, runs["pt"].stderr
    expected = np.load(DATA / "torch_gru_bidir_states.npz")
    with np.load(tmp / "pt" / "hidden_states.npz") as got:
        for key in expected.files:
            np.testing.assert_allclose(got[key], expected[key], rtol=0, atol=1e-6)
        assert "layer3_backward_z" in got.files
    assert "device: cpu; 7 timesteps" in runs["pt"].stdout


# --- torch files ---------------------------------------------------------------------------------------

def test_malicious_torch_file_is_refused_and_never_executed(torch_runs):
    done = torch_runs[1]["malicious"]
    assert_user_error(done, "torch_malicious.pt", "refused")
    assert "rnnviz-fixture" not in done.stdout + done.stderr  # the pickle's echo never ran


def test_lstm_state_dict(torch_runs):
    done = torch_runs[1]["lstm"]
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "(LSTM)" in done.stdout


def test_state_dict_with_non_divisible_weight_hh(torch_runs):
    assert_user_error(torch_runs[1]["nondiv"], "nondiv.pt", "weight_hh_l0", "(10, 4)")


def test_state_dict_with_nan_weights(torch_runs):
    assert_user_error(torch_runs[1]["nan"], "nan.pt", "weight_hh_l0", "NaN")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda(torch_runs):
    tmp, runs = torch_runs
    assert_user_error(runs["cuda"], "'cuda'", "not available", "cpu")
    assert not (tmp / "cuda").exists()


def test_files_that_are_not_torch_files(tmp_path):
    """Recognised before torch is even imported."""
    (tmp_path / "hdf5.pt").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    (tmp_path / "garbage.pt").write_bytes(b"this is not a torch file\n" * 20)
    (tmp_path / "empty.pth").write_bytes(b"")
    assert_all_user_errors({
        "hdf5": (("run", tmp_path / "hdf5.pt"), ["hdf5.pt", "HDF5"]),
        "garbage": (("summary", tmp_path / "garbage.pt"), ["garbage.pt", "not a torch file"]),
        "empty": (("run", tmp_path / "empty.pth"), ["empty.pth", "empty"]),
    })


def test_more_hostile_state_dicts(tmp_path):
    files = {
        "sparse.pt": ({"weight_ih_l0": torch.zeros(4, 3), "weight_hh_l0": torch.eye(4).to_sparse()}, ["weight_hh_l0"]),
        "meta.pt": ({"weight_ih_l0": torch.zeros(4, 3, device="meta"), "weight_hh_l0": torch.eye(4)},
                    ["weight_ih_l0"]),
        "list.pt": ([1, 2, 3], ["list"]),
        "norecurrent.pt": ({"head.weight": torch.zeros(2, 2)}, ["no recurrent weights"]),
        "string.pt": ({"weight_ih_l0": "abc", "weight_hh_l0": torch.eye(4)}, ["weight_ih_l0", "not a tensor"]),
        "complex.pt": ({"weight_ih_l0": torch.zeros(4, 3, dtype=torch.complex64), "weight_hh_l0": torch.eye(4)},
                       ["complex64"]),
        "badbias.pt": ({"weight_ih_l0": torch.zeros(4, 3), "weight_hh_l0": torch.eye(4), "bias_ih_l0": torch.zeros(5)},
                       ["bias_ih_l0", "(5,)"]),
        "chain.pt": ({"weight_ih_l0": torch.zeros(4, 3), "weight_hh_l0": torch.eye(4),
                      "weight_ih_l1": torch.zeros(4, 7), "weight_hh_l1": torch.eye(4)}, ["layer 2 reads 7 features"]),
        "gap.pt": ({"weight_ih_l1": torch.zeros(4, 3), "weight_hh_l1": torch.eye(4)}, ["weight_ih_l0", "missing"]),
        "proj.pt": (torch.nn.LSTM(3, 4, proj_size=2).state_dict(), ["weight_hr_l0", "proj_size"]),
        "quad.pt": ({"weight_ih_l0": torch.zeros(8, 3), "weight_hh_l0": torch.zeros(8, 4)}, ["2 × units"]),
    }
    for name, (obj, _) in files.items():
        torch.save(obj, tmp_path / name)
    whole = (DATA / "torch_rnn.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(whole[:len(whole) // 2])
    files["truncated.pt"] = (None, ["not a readable torch file"])
    assert_all_user_errors({name: (("summary", tmp_path / name), [name, *needles], HERE)
                            for name, (_, needles) in files.items()})


# --- bad specs ---------------------------------------------------------------------------------------

BAD_SPECS = {
    "malformed TOML": ("[input\ntimesteps = 3\n", "m.toml", ["m.toml", "malformed TOML"]),
    "malformed JSON": ('{"input": {"timesteps": 3,}}', "m.json", ["m.json", "malformed JSON", "line 1"]),
    "unknown layer type": (GOOD_INPUT + '[[layers]]\ntype = "ConvLSTM2D"\nunits = 4\n', "m.toml",
                           ["m.toml", "layers[0].type", "ConvLSTM2D", "SimpleRNN, GRU, LSTM"]),
    "units 0": (GOOD_INPUT + '[[layers]]\ntype = "GRU"\nunits = 0\n', "m.toml",
                ["m.toml", "layers[0].units", ">= 1", "got 0"]),
    "units '8'": (GOOD_INPUT + '[[layers]]\ntype = "GRU"\nunits = "8"\n', "m.toml",
                  ["m.toml", "layers[0].units", "'8'"]),
    "units -1 (JSON)": ('{"input": {"timesteps": 3, "features": 2}, "layers": [{"type": "GRU", "units": -1}]}',
                        "m.json", ["m.json", "layers[0].units"]),
    "timesteps 0": ('[input]\ntimesteps = 0\nfeatures = 3\n[[layers]]\ntype = "GRU"\nunits = 2\n', "m.toml",
                    ["input.timesteps", ">= 1"]),
    "middle layer without sequences": (GOOD_INPUT + '[[layers]]\ntype = "GRU"\nunits = 2\nreturn_sequences = false\n'
                                       '[[layers]]\ntype = "GRU"\nunits = 2\n', "m.toml",
                                       ["m.toml", "layers[0].return_sequences", "must return sequences"]),
    "empty stack": (GOOD_INPUT, "m.toml", ["m.toml", "layers", "empty"]),
    "empty stack (JSON)": ('{"input": {"timesteps": 3, "features": 2}, "layers": []}', "m.json",
                           ["m.json", "layers", "empty"]),
    "unknown field": (GOOD_INPUT + '[[layers]]\ntype = "GRU"\nunits = 2\ncolour = "red"\n', "m.toml",
                      ["m.toml", "unknown field 'colour'"]),
    "JSON list": ("[1, 2]", "m.json", ["m.json", "top level"]),
    "deep JSON": ("[" * 100000 + "]" * 100000, "m.json", ["m.json"]),
    "not UTF-8": ("\udcff", "m.toml", ["m.toml", "not a text file"]),
    "text file": ('hello = "world"\n', "model.txt", ["model.txt", ".txt", ".toml"]),
    "spec reading a missing file": ('[input]\nsource = "file"\npath = "gone.csv"\n'
                                    '[[layers]]\ntype = "GRU"\nunits = 2\n', "m.toml", ["gone.csv", "no such file"]),
}


BRIEF_SPECS = {"malformed TOML", "malformed JSON", "unknown layer type", "units 0", "units '8'", "timesteps 0",
               "middle layer without sequences", "empty stack", "text file"}


def test_bad_specs(tmp_path):
    cases = {}
    for name, (text, filename, needles) in BAD_SPECS.items():
        folder = tmp_path / f"case{len(cases)}"
        folder.mkdir()
        path = folder / filename
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
        extra = () if name in BRIEF_SPECS else (HERE,)
        cases[f"run: {name}"] = (("run", path, "--out", folder / "out"), needles, *extra)
        cases[f"summary: {name}"] = (("summary", path), needles, HERE)
    assert_all_user_errors(cases)
    assert not list(tmp_path.glob("*/out"))


def test_model_too_large_fails_fast_from_the_estimate(tmp_path):
    path = spec_file(tmp_path, '[input]\ntimesteps = 10000000\nfeatures = 4\n[[layers]]\ntype = "SimpleRNN"\n'
                               'units = 100000\n')
    too_large, summary = cli_many([("run", path), ("summary", path)])
    assert_user_error(too_large, path.name, "model too large", "GiB")
    assert summary.returncode == 0 and "10,000,500,000" in summary.stdout  # the summary needs no memory


def test_missing_files(tmp_path):
    spec = ASSETS / "demo_saturation.toml"
    assert_all_user_errors({
        "spec": (("run", tmp_path / "nope.toml"), ["nope.toml", "no such file"]),
        "keras": (("summary", tmp_path / "nope.keras"), ["nope.keras", "no such file"], HERE),
        "input": (("run", spec, "--input", tmp_path / "x.csv"), ["x.csv", "no such file"]),
        "weights": (("run", spec, "--weights", tmp_path / "w.pt"), ["w.pt", "no such file"], HERE),
        "weights do not match": (("run", spec, "--weights", DATA / "keras_gru.keras"), ["keras_gru.keras"], HERE),
    })


# --- bad inputs --------------------------------------------------------------------------------------

BAD_CSV = {
    "wrong number of columns": ("1,2\n3,4\n", ["2 columns", "reads 5"]),
    "non-numeric cell": ("1,2,3,4,5\n1,2,oops,4,5\n", ["row 2", "column 3", "'oops'"]),
    "NaN": ("a,b,c,d,e\n1,2,3,4,5\n1,2,3,4,nan\n", ["row 2", "column 5", "NaN"]),
    "inf": ("1,2,3,4,5\n1,-inf,3,4,5\n", ["row 2", "column 2", "infinite"]),
    "ragged rows": ("1,2,3,4,5\n1,2,3\n", ["row 2", "3 columns", "expected 5"]),
    "empty": ("", ["empty"]),
    "blank lines only": ("\n\n  \n", ["empty"]),
    "header only": ("a,b,c,d,e\n", ["no data rows"]),
    "NUL byte": ("1,2,3,4,5\x00\n", []),
    "not UTF-8": ("1,2,3,4,\udcff\n", ["UTF-8"]),
    "typo in the first row (not a header)": ("1,2,oops,4,5\n1,2,3,4,5\n", ["row 1", "column 3", "'oops'"]),
    "empty cell": ("1,2,3,4,5\n1,,3,4,5\n", ["row 2", "column 2"]),
}


class _Sentinel:
    """Unpickling this touches a file: proof that a pickle was executed."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


BRIEF_CSV = {"wrong number of columns", "non-numeric cell", "NaN", "inf", "ragged rows", "empty"}


def test_bad_inputs(tmp_path):
    cases = {}
    for i, (name, (content, needles)) in enumerate(BAD_CSV.items()):
        path = tmp_path / f"x{i}.csv"
        path.write_bytes(content.encode("utf-8", "surrogateescape"))
        extra = () if name in BRIEF_CSV else (HERE,)
        cases[name] = (("run", DATA / "keras_gru.keras", "--input", path), [path.name, *needles], *extra)
    spec = ASSETS / "demo_saturation.toml"
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan]]))
    cases["NaN in .npy"] = (("run", spec, "--input", tmp_path / "nan.npy"), ["nan.npy", "row 1, column 2"], HERE)
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    cases["corrupt .npy"] = (("run", spec, "--input", tmp_path / "bad.npy"), ["bad.npy", "not a valid .npy"], HERE)
    with open(tmp_path / "huge.npy", "wb") as fh:  # a header that claims 4 TB must not be allocated
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)})
        fh.write(bytes(64))
    cases["huge .npy header"] = (("run", spec, "--input", tmp_path / "huge.npy"), ["huge.npy"], HERE)
    np.save(tmp_path / "text.npy", np.array([["a", "b"]]))
    cases["strings in .npy"] = (("run", spec, "--input", tmp_path / "text.npy"), ["text.npy", "expected numbers"], HERE)
    (tmp_path / "x.parquet").write_bytes(b"PAR1")
    cases["unknown input format"] = (("run", spec, "--input", tmp_path / "x.parquet"), ["x.parquet", ".csv or .npy"],
                                     HERE)
    sentinel = tmp_path / "UNPICKLED"
    np.save(tmp_path / "obj.npy", np.array([[_Sentinel(sentinel), 1.0]], dtype=object), allow_pickle=True)
    cases["object .npy (pickle)"] = (("run", spec, "--input", tmp_path / "obj.npy"), ["obj.npy", "Python objects"])
    assert not sentinel.exists()
    assert_all_user_errors(cases)
    assert not sentinel.exists()  # refused without unpickling


# --- corrupt and hostile .keras files ------------------------------------------------------------------

def keras_parts(name="keras_gru.keras"):
    with zipfile.ZipFile(DATA / name) as z:
        return json.loads(z.read("config.json")), z.read("model.weights.h5")


def write_keras(path, config_text, weights, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        z.writestr("config.json", config_text)
        z.writestr("model.weights.h5", weights)
    return path


def edited_config(edit):
    config, weights = keras_parts()
    edit(config)
    return json.dumps(config), weights


def forget_input_shape(config):
    config["config"]["layers"][0]["config"]["batch_shape"] = None
    del config["build_config"], config["config"]["build_input_shape"], config["config"]["layers"][1]["build_config"]


def hostile_keras(tmp_path):
    """name -> (path, words the error must contain)."""
    config, weights = keras_parts()
    files = {}
    (tmp_path / "random.keras").write_bytes(np.random.default_rng(0).bytes(512))
    files["random bytes"] = (tmp_path / "random.keras", ["not a Keras 3 .keras file"])
    with zipfile.ZipFile(tmp_path / "noconfig.keras", "w") as z:
        z.writestr("model.weights.h5", weights)
    files["zip without config.json"] = (tmp_path / "noconfig.keras", ["no config.json"])
    whole = (DATA / "keras_gru.keras").read_bytes()
    (tmp_path / "truncated.keras").write_bytes(whole[:len(whole) // 2])
    files["truncated"] = (tmp_path / "truncated.keras", ["truncated.keras"])
    (tmp_path / "empty.keras").write_bytes(b"")
    files["empty"] = (tmp_path / "empty.keras", ["empty"])
    (tmp_path / "hdf5.keras").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    files["keras 2 h5"] = (tmp_path / "hdf5.keras", ["HDF5"])
    # zip bombs: a config.json that expands to 40 MiB, and one whose header lies about its size
    write_keras(tmp_path / "bomb.keras", " " * (40 * 2**20) + json.dumps(config), weights, zipfile.ZIP_DEFLATED)
    files["bomb"] = (tmp_path / "bomb.keras", ["config.json", "MiB"])
    with zipfile.ZipFile(tmp_path / "weights_bomb.keras", "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", bytes(80 * 2**20))  # 80 KiB in the file
    files["weights bomb"] = (tmp_path / "weights_bomb.keras", ["model.weights.h5", "MiB"])
    data = bytearray((tmp_path / "bomb.keras").read_bytes())
    for signature, offset, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        at = data.find(signature)
        assert data[at + name_at:at + name_at + 11] == b"config.json"
        data[at + offset:at + offset + 4] = (1000).to_bytes(4, "little")
    (tmp_path / "liar.keras").write_bytes(bytes(data))
    files["lying zip header"] = (tmp_path / "liar.keras", ["config.json"])
    buf = io.BytesIO()
    write_keras(buf, json.dumps(config), weights)
    data = bytearray(buf.getvalue())
    data[data.find(b'"class_name"') + 2] ^= 0x20
    (tmp_path / "crc.keras").write_bytes(bytes(data))
    files["bad CRC"] = (tmp_path / "crc.keras", ["config.json"])
    write_keras(tmp_path / "list.keras", "[1, 2, 3]", weights)
    files["config is a list"] = (tmp_path / "list.keras", ["config.json"])
    write_keras(tmp_path / "nested.keras", "[" * 200000 + "]" * 200000, weights)
    files["deeply nested"] = (tmp_path / "nested.keras", ["config.json"])
    write_keras(tmp_path / "nested_dict.keras", '{"a":' * 5000 + "1" + "}" * 5000, weights)
    files["deeply nested dicts"] = (tmp_path / "nested_dict.keras", ["nested_dict.keras"])
    write_keras(tmp_path / "notjson.keras", "\xff{{{", weights)
    files["not JSON"] = (tmp_path / "notjson.keras", ["config.json"])
    for name, edit, needles in [
        ("units_negative", lambda c: c["config"]["layers"][1]["config"].__setitem__("units", -1), ["units", "-1"]),
        ("units_string", lambda c: c["config"]["layers"][1]["config"].__setitem__("units", "a"), ["units", "'a'"]),
        ("units_wrong", lambda c: c["config"]["layers"][1]["config"].__setitem__("units", 9), ["kernel", "shape"]),
        ("no_layers", lambda c: c["config"].pop("layers"), ["config.json"]),
        ("layers_not_list", lambda c: c["config"].__setitem__("layers", "abc"), ["config.json"]),
        ("class_unknown", lambda c: c.__setitem__("class_name", "Potato"), ["Potato"]),
        ("no_shape", forget_input_shape, ["input shape"]),
        ("relu", lambda c: c["config"]["layers"][1]["config"].__setitem__("activation", "relu"), ["relu"]),
        ("reset_before", lambda c: c["config"]["layers"][1]["config"].__setitem__("reset_after", False),
         ["reset_after"]),
    ]:
        write_keras(tmp_path / f"{name}.keras", *edited_config(edit))
        files[name] = (tmp_path / f"{name}.keras", needles)
    write_keras(tmp_path / "h5_garbage.keras", json.dumps(config), b"\x89HDF\r\n\x1a\n" + bytes(200))
    files["h5 garbage"] = (tmp_path / "h5_garbage.keras", ["model.weights.h5"])
    write_keras(tmp_path / "h5_other.keras", json.dumps(config), keras_parts("keras_simplernn.keras")[1])
    files["h5 of another model"] = (tmp_path / "h5_other.keras", ["h5_other.keras"])
    import h5py

    buf = io.BytesIO(weights)
    with h5py.File(buf, "r+") as h5:
        h5["layers/gru/cell/vars/1"][0, 0] = np.nan
    write_keras(tmp_path / "nan.keras", json.dumps(config), buf.getvalue())
    files["NaN weights"] = (tmp_path / "nan.keras", ["recurrent kernel", "NaN"])
    lstm_config, lstm_weights = keras_parts("keras_lstm.keras")
    lstm_config["config"]["layers"][1]["config"]["recurrent_activation"] = "hard_sigmoid"
    write_keras(tmp_path / "lstm_hard_sigmoid.keras", json.dumps(lstm_config), lstm_weights)
    files["LSTM"] = (tmp_path / "lstm_hard_sigmoid.keras", ["(LSTM)", "recurrent_activation", "hard_sigmoid"])
    return files


BRIEF_KERAS = {"random bytes", "zip without config.json", "truncated", "bomb", "weights bomb", "config is a list",
               "deeply nested", "units_negative", "units_string", "no_layers", "NaN weights", "LSTM"}


def test_hostile_keras_files(tmp_path):
    files = hostile_keras(tmp_path)
    cases = {name: (("summary", path), [path.name, *needles], *(() if name in BRIEF_KERAS else (HERE,)))
             for name, (path, needles) in files.items()}
    for name in ("lying zip header", "LSTM"):
        path, needles = files[name]
        cases[f"run: {name}"] = (("run", path, "--out", tmp_path / "never"), [path.name, *needles])
    assert_all_user_errors(cases)
    assert not (tmp_path / "never").exists()




# --- output ---------------------------------------------------------------------------------------------

def test_unwritable_outputs(tmp_path):
    """Refused before anything is computed (tests run as root, so a file stands in for a read-only dir)."""
    (tmp_path / "afile").write_text("keep me")
    spec = ASSETS / "demo_saturation.toml"
    assert_all_user_errors({
        "out is a file": (("run", spec, "--out", tmp_path / "afile"), ["afile", "not a directory"]),
        "out under a file": (("run", spec, "--out", tmp_path / "afile" / "sub"), ["afile", "not a directory"]),
        "weights under a file": (("run", spec, "--save-weights", tmp_path / "afile" / "w.pt"), ["afile"]),
        "weights is a dir": (("run", spec, "--save-weights", tmp_path), [str(tmp_path), "directory"]),
    })
    assert (tmp_path / "afile").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


# --- regressions from an adversarial sweep of every file reader ---------------------------------------
# Each of these used to end in an internal error (exit 1), a hang, gigabytes of memory, a message of
# several lines or megabytes, or a replaced device file.

def h5_edited(weights, edit):
    import h5py

    buf = io.BytesIO(weights)
    with h5py.File(buf, "r+") as h5:
        edit(h5)
    return buf.getvalue()


def replaced_dataset(name, **kwargs):
    def edit(h5):
        del h5[name]
        h5.create_dataset(name, **kwargs)
    return edit


def test_hostile_keras_files_found_by_the_sweep(tmp_path):
    import h5py

    config, weights = keras_parts()
    recurrent = "layers/gru/cell/vars/1"
    outside = tmp_path / "outside.bin"
    outside.write_bytes(np.arange(8 * 24, dtype="f4").tobytes())

    def soft_link_loop(h5):
        del h5[recurrent]
        h5[recurrent] = h5py.SoftLink("/" + recurrent)

    files = {
        "bigint.keras": ('{"class_name": "Sequential", "n": ' + "9" * 5000 + "}", weights, ["config.json"]),
        "external.keras": (json.dumps(config), h5_edited(weights, replaced_dataset(
            recurrent, shape=(8, 24), dtype="f4", external=[(str(outside), 0, 8 * 24 * 4)])),
            ["recurrent kernel", "stored outside the weights file"]),
        "loop.keras": (json.dumps(config), h5_edited(weights, soft_link_loop), ["recurrent kernel", "link"]),
        "classname.keras": (edited_config(lambda c: c["config"]["layers"][1].__setitem__(
            "class_name", "Evil\nLayer\x1b[31m"))[0], weights, ["Evil?Layer?[31m"]),
    }
    bi_config, bi_weights = keras_parts("keras_bidir_gru_stack.keras")
    bi_config["config"]["layers"][1]["config"]["backward_layer"]["class_name"] = "SimpleRNN"
    files["mixed_bidirectional.keras"] = (json.dumps(bi_config), bi_weights, ["forward layer is a GRU",
                                                                              "backward layer a SimpleRNN"])
    for name, (config_text, h5, _) in files.items():
        write_keras(tmp_path / name, config_text, h5)
    assert_all_user_errors({name: (("summary", tmp_path / name), [name, *needles], HERE)
                            for name, (_, _, needles) in files.items()})


def test_keras_dataset_shape_is_checked_before_reading(tmp_path):
    """A chunked, compressed dataset declares any shape in a few bytes: reading it first took 13 GiB
    for a 60000 × 60000 recurrent kernel. Here 3000 × 3000 (36 MB) would show in the allocations."""
    import tracemalloc

    config, weights = keras_parts()
    path = write_keras(tmp_path / "h5_bomb.keras", json.dumps(config), h5_edited(weights, replaced_dataset(
        "layers/gru/cell/vars/1", shape=(3000, 3000), dtype="f4", chunks=(1000, 1000), compression="gzip",
        fillvalue=0.5)))
    assert path.stat().st_size < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(rnnviz.RnnvizError, match=r"recurrent kernel: has shape \(3000, 3000\), expected \(8, 24\)"):
            rnnviz.weights.load_weights_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20, peak


def test_hostile_keras_names_are_shortened_and_printable(tmp_path):
    """Names reach the summary table and the terminal: a 4 MiB layer name took 12 s to wrap, and
    escape sequences in names were printed as they were."""
    config, weights = keras_parts()
    config["config"]["name"] = "model\n\x1b[2J"
    config["config"]["layers"][1]["config"]["name"] = "n" * 300_000
    path = write_keras(tmp_path / "names.keras", json.dumps(config), weights)
    done = run_main("summary", path)
    assert done.returncode == 0 and done.stderr == ""
    assert "\x1b" not in done.stdout and 'Model: "model??[2J"' in done.stdout
    assert len(done.stdout.splitlines()) < 30


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_keras_file(tmp_path):
    path = tmp_path / "locked.keras"
    path.write_bytes((DATA / "keras_gru.keras").read_bytes())
    path.chmod(0)
    assert_user_error(run_main("summary", path), "locked.keras", "cannot read")


def test_hostile_state_dicts_found_by_the_sweep(tmp_path):
    import warnings

    rnn = torch.nn.RNN(3, 4).state_dict()
    with warnings.catch_warnings():  # quantized tensors are deprecated; loading one warned on stderr too
        warnings.simplefilter("ignore")
        quantized = torch.quantize_per_tensor(torch.zeros(4, 3), 0.1, 0, torch.qint8)
    files = {
        # zero-stride views: saved as one float and a shape, 16 MB once copied (a 50000² one took 9 GiB)
        "expanded.pt": ({"weight_ih_l0": torch.zeros(1).expand(2000, 3),
                         "weight_hh_l0": torch.zeros(1).expand(2000, 2000)}, ["(2000,", "more values than the file"]),
        "layer_index.pt": ({"weight_ih_l" + "9" * 5000: torch.zeros(4, 3), "weight_hh_l" + "9" * 5000: torch.eye(4)},
                           ["layer number", "out of range"]),
        "bias_overflow.pt": ({**rnn, "bias_ih_l0": torch.full((4,), 3e38), "bias_hh_l0": torch.full((4,), 3e38)},
                             ["bias_ih_l0 + bias_hh_l0 overflows float32"]),
        "quantized.pt": ({**rnn, "weight_ih_l0": quantized}, ["weight_ih_l0"]),
    }
    for name, (obj, _) in files.items():
        torch.save(obj, tmp_path / name)
    # A record that inflates 2 GiB from a few bytes: torch.load would allocate and fill it before any check.
    torch.save(rnn, tmp_path / "stored.pt")
    with zipfile.ZipFile(tmp_path / "stored.pt") as src, \
            zipfile.ZipFile(tmp_path / "bomb.pt", "w") as dst:
        prefix = src.namelist()[0].split("/")[0]
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr(zipfile.ZipInfo(f"{prefix}/padding"), bytes(4096), compress_type=zipfile.ZIP_DEFLATED)
    data, name, patched = bytearray((tmp_path / "bomb.pt").read_bytes()), f"{prefix}/padding".encode(), 0
    at = data.find(name)
    while at >= 0:  # declare 2 GiB uncompressed, in the local header and in the central directory
        for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
            if data[at - name_at:at - name_at + 4] == signature:
                data[at - name_at + size_at:at - name_at + size_at + 4] = (2**31).to_bytes(4, "little")
                patched += 1
        at = data.find(name, at + 1)
    assert patched == 2
    (tmp_path / "bomb.pt").write_bytes(bytes(data))
    files["bomb.pt"] = (None, ["padding", "would expand", "MiB"])
    assert_all_user_errors({name: (("summary", tmp_path / name), [name, *needles], HERE)
                            for name, (_, needles) in files.items()})
    with warnings.catch_warnings(record=True) as caught:  # torch warned about the storage on stderr
        warnings.simplefilter("always")
        with pytest.raises(rnnviz.RnnvizError):
            rnnviz.weights.load_weights_file(tmp_path / "quantized.pt")
    assert not caught, [str(w.message) for w in caught]


def test_csv_separators_and_line_endings(tmp_path):
    (tmp_path / "semi.csv").write_text("1;2;3\n4;5;6\n")
    (tmp_path / "semi1.csv").write_text("1;2;3\n")
    (tmp_path / "tabs.csv").write_text("1\t2\n3\t4\n")
    spec = ASSETS / "demo_saturation.toml"
    hint = "rnnviz reads comma-separated values"
    assert_all_user_errors({
        "semicolons": (("run", spec, "--input", tmp_path / "semi.csv"), ["semi.csv", "semicolons", hint], HERE),
        "one row of semicolons": (("run", spec, "--input", tmp_path / "semi1.csv"),
                                  ["semi1.csv", "no data rows", "semicolons"], HERE),
        "tabs": (("run", spec, "--input", tmp_path / "tabs.csv"), ["tabs.csv", "tabs", hint], HERE),
    })
    (tmp_path / "cr.csv").write_bytes(b"x0,x1\r1,2\r3,4\r")  # classic Mac line endings
    np.testing.assert_array_equal(rnnviz.inputs.read_input(tmp_path / "cr.csv"), [[1, 2], [3, 4]])


def test_text_source_shape_without_building_it(monkeypatch):
    """The one-hot input of a text is timesteps × distinct characters: 200,000 characters of a
    20,000-character alphabet is 15 GiB. The summary built it just to learn its shape, and the memory
    estimate counted it as empty (then list.index took minutes to fill it in)."""
    from rnnviz.trace import trace_bytes

    text = "".join(chr(0x4E00 + i) for i in range(20000)) * 10
    spec = rnnviz.ModelSpec(input=rnnviz.InputSpec(timesteps=None, features=None, source="text", text=text),
                            layers=[rnnviz.LayerSpec("SimpleRNN", 3)])
    monkeypatch.setattr(rnnviz.inputs, "generate", lambda *a: pytest.fail("the input was generated"))
    assert rnnviz.summary(spec).rows[0].output_shape == (None, 3)
    assert trace_bytes(spec) == 4 * 200_000 * (3 + 20_000)
    with pytest.raises(rnnviz.RnnvizError, match="model too large"):
        rnnviz.prepare(spec)


def test_save_weights_onto_a_fifo_is_refused(tmp_path):
    """As root, moving the saved file onto /dev/null replaced the device with a regular file."""
    fifo = tmp_path / "weights.pt"
    os.mkfifo(fifo)
    assert_user_error(run_main("run", ASSETS / "tutorial_1_simplernn.toml", "--save-weights", fifo),
                      "weights.pt", "not a regular file")
    assert fifo.is_fifo() and sorted(p.name for p in tmp_path.iterdir()) == ["weights.pt"]


def test_sigterm_during_export_leaves_no_partial_file(tmp_path, monkeypatch):
    """``timeout 60 rnnviz run …`` ends with SIGTERM, which killed the process inside a write and left
    its temporary file behind."""
    import signal

    from rnnviz import export

    write_table = export._write_table

    def terminated_midway(fh, header, values, index=True):
        fh.write(",".join(header) + "\n")
        os.kill(os.getpid(), signal.SIGTERM)
        write_table(fh, header, values, index)

    def not_handled(signum, frame):  # only reached if main() did not install its own handler
        pass

    monkeypatch.setattr(export, "_write_table", terminated_midway)
    previous = signal.signal(signal.SIGTERM, not_handled)  # so that a regression fails instead of killing pytest
    try:
        done = run_main("run", ASSETS / "tutorial_1_simplernn.toml", "--out", tmp_path / "out")
        assert signal.getsignal(signal.SIGTERM) is not_handled  # main() restored the handler it replaced
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert done.returncode == 143 and "interrupted; no partial files were left" in done.stderr
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("values, message", [
    ([[1.0, 2.0], [3.0]], "is not a (timesteps, features) table of numbers"),  # was a ValueError
    (np.array([["a", "b"]]), "holds <U1 values"),  # was a ValueError
    (np.array([[1 + 2j, 3]]), "holds complex128 values"),  # was silently cast, dropping the imaginary part
    (np.array([[1, "x"]], dtype=object), "is not a (timesteps, features) table of numbers"),
])
def test_input_arrays_that_are_not_numbers(values, message):
    """An array given to the Python API follows the rule of a .npy file: real numbers or an InputError."""
    with pytest.raises(rnnviz.RnnvizError) as err:
        rnnviz.prepare(ASSETS / "tutorial_1_simplernn.toml", inputs=values)
    assert str(err.value).startswith("inputs: ") and message in str(err.value)
    mixed = np.array([[1] * 9 + [2.5]], dtype=object)  # the spec reads 10 features
    model, array = rnnviz.prepare(ASSETS / "tutorial_1_simplernn.toml", inputs=mixed)
    assert array.dtype == np.float32 and array.tolist() == [[1.0] * 9 + [2.5]]
