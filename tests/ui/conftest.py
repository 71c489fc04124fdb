"""A main window per test, with its own settings file, torn down (workers joined) after the test."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from rnnviz.spec import InitSpec, InputSpec, LayerSpec, ModelSpec
from rnnviz.ui.main_window import MainWindow


@pytest.fixture
def settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "rnnviz.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot, settings):
    windows = []

    def make(spec: ModelSpec | None = None, autoplay: bool = False) -> MainWindow:
        window = MainWindow(spec, settings=settings, autoplay=autoplay)
        qtbot.addWidget(window)
        with qtbot.waitActive(window):  # window shortcuts (Space, Ctrl+Z) need an active window
            window.show()
            window.activateWindow()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()


@pytest.fixture
def small_spec() -> ModelSpec:
    return ModelSpec(InputSpec(timesteps=12, features=3, source="normal", seed=3),
                     [LayerSpec("SimpleRNN", 5)], InitSpec("keras", seed=4))


def wait_computed(qtbot, window: MainWindow, timeout: int = 20_000) -> None:
    """Until the current run's trace is complete."""
    qtbot.waitUntil(lambda: window.state.trace is not None, timeout=timeout)


def play_to_end(qtbot, window: MainWindow, timeout: int = 20_000) -> None:
    window.runner.set_speed(None)
    if not window.runner.playback.playing:
        window.runner.toggle_play()
    qtbot.waitUntil(lambda: window.state.trace is not None and window.state.run is not None
                    and window.state.run.streams[-1].revealed == window.state.run.timesteps, timeout=timeout)
