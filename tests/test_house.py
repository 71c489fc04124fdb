"""The shape of the package: modules small enough to read in one sitting, and one direction of dependency
between any two (an import inside a function counts: it is still a dependency)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UI_LIMIT, CORE_LIMIT = 400, 600


def _modules() -> dict[str, Path]:
    mods = {}
    for path in (ROOT / "rnnviz").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return mods


def _imports(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                stem = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(stem + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        found |= {t for t in targets if t in mods and t != name and t != "rnnviz"}
    return found


def test_modules_are_small_enough_to_read():
    too_big = []
    for name, path in _modules().items():
        limit = UI_LIMIT if ".ui." in name or name == "rnnviz.ui" else CORE_LIMIT
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            too_big.append(f"{path.relative_to(ROOT)}: {lines} lines (at most {limit})")
    assert too_big == []


def test_no_import_circles():
    mods = _modules()
    edges = {name: _imports(name, path, mods) for name, path in mods.items()}
    circles = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(edges[name]):
            if state.get(target) == 1:
                circles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[name] = 2

    for name in sorted(mods):
        if name not in state:
            visit(name, [name])
    assert circles == []
