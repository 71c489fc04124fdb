"""The core package never loads Qt: importing it, and running it headless, in a fresh interpreter leaves
no Qt module behind, and no core file outside rnnviz/ui/ imports one."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QT = ("PySide6", "shiboken6", "pyqtgraph", "superqt", "qtpy", "PyQt5", "PyQt6", "PySide2")


def _core_module_names() -> list[str]:
    """Every module of the core, found on disk, so that a new package is checked the day it lands."""
    names = []
    for path in sorted((ROOT / "rnnviz").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if "ui" in parts[1:2]:
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


CORE_MODULES = _core_module_names()

PROBE = r"""
import importlib, json, sys
QT = %r

def loaded():
    return sorted(m for m in sys.modules if m.split(".")[0] in QT or m == "rnnviz.ui" or m.startswith("rnnviz.ui."))

report = {}
for name in %r:
    importlib.import_module(name)
report["after imports"] = loaded()

import rnnviz
from rnnviz.__main__ import main
trace = rnnviz.run(rnnviz.ModelSpec(input=rnnviz.InputSpec(timesteps=3, features=2),
                                    layers=[rnnviz.LayerSpec("GRU", 2, True)]), device="cpu")
rnnviz.run("tests/data/keras_gru.keras", device="cpu")
rnnviz.run("tests/data/torch_rnn.pt", device="cpu")
main(["summary", "assets/demo_gru.toml"])
report["after headless runs"] = loaded()
report["torch imported"] = "torch" in sys.modules
print(json.dumps(report))
"""


def test_core_imports_and_headless_runs_load_no_qt():
    done = subprocess.run([sys.executable, "-c", PROBE % (QT, CORE_MODULES)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"after imports": [], "after headless runs": [], "torch imported": True}


def core_files():
    return [p for p in sorted((ROOT / "rnnviz").rglob("*.py")) if "ui" not in p.relative_to(ROOT / "rnnviz").parts[:1]]


def test_no_core_file_imports_qt():
    files = core_files()
    assert ROOT / "rnnviz" / "engine" / "stepper.py" in files and len(files) >= 16
    offenders = []
    dynamic = re.compile(r"""(import_module|__import__)\(\s*["'](%s)\b""" % "|".join(QT))
    for path in files:
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source, filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.ImportFrom) and node.level and node.module:
                names = [node.module]  # a relative import of .ui from the core
            for name in names:
                if name.split(".")[0] in QT or name in ("rnnviz.ui", "ui") or name.startswith("rnnviz.ui."):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
        offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in dynamic.finditer(source)]
    # the one sanctioned way in: the command line starts the app lazily, only when asked to
    allowed = {"rnnviz/__main__.py"}
    offenders = [o for o in offenders if not (o.split(":")[0] in allowed and o.endswith("rnnviz.ui.launch"))]
    assert offenders == []
