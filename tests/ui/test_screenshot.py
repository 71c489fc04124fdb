"""``main.py MODEL --screenshot FILE.png``: the window rendered offscreen once the run is complete."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QImage

from rnnviz.spec import InputSpec, LayerSpec, ModelSpec

ROOT = Path(__file__).resolve().parents[2]


def _main(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


def test_screenshot_of_a_view_once_the_run_is_complete(tmp_path, data_dir):
    shot = tmp_path / "shot.png"
    result = _main(str(data_dir / "keras_bidir_lstm_stack.keras"), "--input",
                   str(data_dir / "keras_bidir_lstm_stack_input.npy"), "--screenshot", str(shot), "--view", "unit-trace")
    assert result.returncode == 0, result.stderr
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1400, 860)
    colours = {image.pixel(x, y) for x in range(0, 1400, 9) for y in range(0, 860, 9)}
    assert len(colours) > 50  # heatmaps, plots and panel drawn, not a blank window
    assert [p.name for p in tmp_path.iterdir()] == ["shot.png"]  # no temporary file left


def test_unknown_view_and_wrong_flags_are_one_line_errors(tmp_path):
    for args, expected in ((["--screenshot", str(tmp_path / "a.png"), "--view", "nope"],
                            "unknown view 'nope'; choose one of heatmaps, unit-trace, saturation"),
                           (["--view", "heatmaps"], "--view needs --screenshot"),
                           (["--screenshot", str(tmp_path / "a.jpg")], "writes PNG")):
        result = _main(*args)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert expected in result.stderr
    assert not list(tmp_path.iterdir())


def test_a_run_longer_than_the_timeout_ends_with_one_line(tmp_path):
    spec = tmp_path / "big.toml"
    spec.write_text(ModelSpec(InputSpec(timesteps=200_000, features=8), [LayerSpec("GRU", 64, True)] * 2).to_toml())
    result = _main(str(spec), "--screenshot", str(tmp_path / "big.png"), "--screenshot-timeout", "1")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "not complete after 1 s" in result.stderr
    assert not (tmp_path / "big.png").exists()


class _Outcome(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    @Slot(str)
    def record(self, message: str) -> None:
        self.messages.append(message)


def test_a_view_that_raises_ends_the_screenshot_at_once_with_one_line(qtbot, make_window, small_spec, tmp_path,
                                                                       monkeypatch):
    from rnnviz.ui.screenshot import Screenshot

    window = make_window(small_spec)
    view = next(iter(window.views.values()))

    def broken() -> bool:
        raise ValueError("a bug in a view")

    monkeypatch.setattr(view, "is_complete", broken)
    outcome = _Outcome()
    shot = Screenshot(window, tmp_path / "shot.png", view.name, timeout_s=60)
    shot.finished.connect(outcome.record)
    hook = sys.excepthook
    shot.start()
    qtbot.waitUntil(lambda: bool(outcome.messages), timeout=20_000)
    assert "internal error" in outcome.messages[0] and "a bug in a view" in outcome.messages[0]
    assert "\n" not in outcome.messages[0] and not (tmp_path / "shot.png").exists()
    assert sys.excepthook is hook
