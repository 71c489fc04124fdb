"""A closed dialog gives the keyboard back to the window it belongs to: on an X server without a window
manager (Xvfb, a test robot) nothing else does, and the app's shortcuts stopped working after Ctrl+O,
Escape."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFileDialog

from rnnviz.ui.focus import refocused
from rnnviz.ui.main_window import MainWindow
from rnnviz.ui.train_dialog import TrainDialog

CANCELLED = {"getOpenFileName": ("", ""), "getSaveFileName": ("", ""), "getExistingDirectory": ""}
MAIN_WINDOW_DIALOGS = [
    ("open_dialog", "getOpenFileName"), ("open_folder_dialog", "getExistingDirectory"),
    ("import_weights_dialog", "getOpenFileName"), ("load_input_dialog", "getOpenFileName"),
    ("save_spec_dialog", "getSaveFileName"), ("export_states_dialog", "getExistingDirectory"),
    ("export_image_dialog", "getSaveFileName"),
]


def _cancel_every_file_dialog(monkeypatch) -> list[str]:
    asked = []
    for name, answer in CANCELLED.items():
        monkeypatch.setattr(QFileDialog, name, staticmethod(lambda *args, _n=name, _a=answer, **kw: asked.append(_n) or _a))
    return asked


def _activations(monkeypatch, cls) -> list:
    activated = []
    monkeypatch.setattr(cls, "activateWindow", lambda self: activated.append(self))
    return activated


@pytest.mark.parametrize("method,dialog", MAIN_WINDOW_DIALOGS)
def test_a_cancelled_file_dialog_gives_the_keyboard_back_to_the_window(method, dialog, make_window, monkeypatch):
    window = make_window()
    asked = _cancel_every_file_dialog(monkeypatch)
    activated = _activations(monkeypatch, MainWindow)
    getattr(window.files, method)()
    assert asked == [dialog] and activated == [window]


def test_the_input_file_chooser_of_the_model_panel_gives_it_back_too(make_window, monkeypatch):
    window = make_window()
    asked = _cancel_every_file_dialog(monkeypatch)
    activated = _activations(monkeypatch, MainWindow)
    window.panel._choose_file()
    assert asked == ["getOpenFileName"] and activated == [window]


def test_closing_the_training_dialog_gives_the_keyboard_back_and_its_folder_chooser_keeps_it(
        qtbot, make_window, monkeypatch):
    window = make_window()
    window.show_train_dialog()
    dialog = window.train_dialog
    _cancel_every_file_dialog(monkeypatch)
    kept = _activations(monkeypatch, TrainDialog)
    dialog._browse()
    assert kept == [dialog]  # the chooser returns the keyboard to the dialog it was opened from
    activated = _activations(monkeypatch, MainWindow)
    dialog.reject()
    assert activated == [window]


def test_the_keyboard_comes_back_when_the_dialog_fails(make_window, monkeypatch):
    window = make_window()
    activated = _activations(monkeypatch, MainWindow)
    with pytest.raises(RuntimeError), refocused(window.panel):
        raise RuntimeError("the dialog failed")
    assert activated == [window]
