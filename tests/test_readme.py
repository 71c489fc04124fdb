"""The README stays true: its Python example runs, its set-up commands are the ones CI runs, and the
files, options and assets it names exist."""

import doctest
import re
import shutil
from pathlib import Path

import numpy as np

import rnnviz

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def fenced(language):
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.S | re.M)


def test_python_example_runs(tmp_path, monkeypatch, capsys):
    blocks = fenced("python")
    assert len(blocks) == 1
    shutil.copytree(ROOT / "assets", tmp_path / "assets")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(blocks[0], str(ROOT / "README.md"), "exec"), namespace)
    spec, trace, h, gates = (namespace[k] for k in ("spec", "trace", "h", "gates"))
    assert spec == rnnviz.load_spec(ROOT / "assets" / "demo_gru.toml")
    assert h.shape == (spec.input.timesteps, spec.layers[0].units) and h.dtype == np.float32  # (timesteps, units)
    assert set(gates) == {"z", "r", "hh"}
    assert all(g.shape == h.shape for g in gates.values())
    written = sorted(p.name for p in (tmp_path / "states").iterdir())
    assert "layer1_backward.csv" in written and "spec.toml" in written
    assert "Total params:" in capsys.readouterr().out


def test_package_docstring_example():
    failures, tried = doctest.testmod(rnnviz, verbose=False, report=True)
    assert tried > 0 and failures == 0


def setup_commands():
    section = README[README.index("## Set up and run"):README.index("## Command line")]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_setup_commands_use_constraints_and_pytest():
    launch, tests = setup_commands()
    assert "-c constraints.txt" in launch and "-c constraints.txt" in tests
    assert "main.py" in launch
    assert '".[test]"' in tests and tests.endswith("-m pytest -q")
    pins = (ROOT / "constraints.txt").read_text()
    for package in ("torch==", "PySide6-Essentials==", "numpy==", "h5py==", "pytest==", "hypothesis=="):
        assert package in pins


def test_ci_runs_the_readme_test_command():
    _, tests = setup_commands()
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert tests.strip() in ci


def test_documented_assets_exist():
    for path in set(re.findall(r"`?(assets/[\w.]+\.toml)`?", README)):
        assert (ROOT / path).is_file(), path
    assert len(list((ROOT / "assets").glob("tutorial_*.toml"))) == 7
    assert (ROOT / "assets" / "demo_saturation.toml").is_file()


def test_documented_run_options_exist():
    from rnnviz.__main__ import _headless_parser

    run = _headless_parser()._subparsers._group_actions[0].choices["run"]
    options = {opt for action in run._actions for opt in action.option_strings}
    section = README[README.index("`run` options:"):README.index("## Model specs")]
    for option in re.findall(r"`(--[\w-]+)", section):
        assert option in options, option
    assert "--no-progress" in options


def test_documented_export_files(tmp_path):
    table = README[README.index("## Exported files"):README.index("## Layout")]
    documented = set(re.findall(r"^\| `([^`]+)`", table, flags=re.M))
    documented |= set(re.findall(r"^\| `[^`]+`, `([^`]+)`", table, flags=re.M))
    spec = rnnviz.ModelSpec(input=rnnviz.InputSpec(timesteps=3, features=2),
                            layers=[rnnviz.LayerSpec("GRU", 2, True)])
    written = {p.name for p in rnnviz.run(spec, device="cpu").to_csv(tmp_path, tidy=True)}
    expected = {name.replace("{i}", "1").replace("{gate}", gate) for name in documented for gate in ("z", "r", "hh")}
    assert expected == written
