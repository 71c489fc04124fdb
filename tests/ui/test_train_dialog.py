"""Tools > Train toy task: a tiny training run draws its loss curve, writes its files, and the window opens
the trained model on the task's test input and runs it."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from rnnviz.ui.train_dialog import TrainDialog
from tests.ui.conftest import wait_computed


def _dialog(qtbot, window, tmp_path, steps: int) -> TrainDialog:
    dialog = TrainDialog(window.files, window)
    qtbot.addWidget(dialog)
    dialog.task.setCurrentIndex(dialog.task.findData("flipflop"))
    dialog.layer_type.setCurrentText("GRU")
    dialog.units.setValue(4)
    dialog.steps.setValue(steps)
    dialog.folder.setText(str(tmp_path / "trained"))
    dialog.show()
    return dialog


def test_training_draws_the_loss_and_opens_the_model_on_its_test_input(qtbot, make_window, tmp_path):
    window = make_window()
    dialog = _dialog(qtbot, window, tmp_path, steps=6)
    qtbot.mouseClick(dialog.train_button, Qt.MouseButton.LeftButton)
    assert dialog.training and not dialog.train_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.training, timeout=60_000)
    assert "opened" in dialog.status.text(), dialog.status.text()
    x, y = dialog.curve.getData()
    assert len(x) == 6 and np.all(y > 0)
    assert dialog.plot.getPlotItem().ctrl.logYCheck.isChecked()
    folder = tmp_path / "trained"
    assert {p.name for p in folder.iterdir()} >= {"model.pt", "input.npy", "target.npy", "train.csv"}
    draft = window.session.draft
    assert draft.weights == str((folder / "model.pt").resolve())
    assert draft.input.source == "file" and draft.input.path == str((folder / "input.npy").resolve())
    assert [(l.type, l.units) for l in draft.layers] == [("GRU", 4)]
    wait_computed(qtbot, window, timeout=30_000)
    expected = np.load(folder / "input.npy")
    assert window.state.trace.hidden(1).shape == (len(expected), 4)


def test_cancel_stops_training_and_writes_nothing(qtbot, make_window, tmp_path):
    window = make_window()
    dialog = _dialog(qtbot, window, tmp_path, steps=100_000)
    dialog.start()
    qtbot.waitUntil(lambda: len(dialog.loss_values) > 0, timeout=60_000)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.training, timeout=30_000)
    assert "cancelled" in dialog.status.text()
    assert not (tmp_path / "trained").exists()
    assert dialog.train_button.isEnabled()


def test_a_folder_that_is_a_file_is_refused_before_training(qtbot, make_window, tmp_path):
    window = make_window()
    dialog = _dialog(qtbot, window, tmp_path, steps=3)
    (tmp_path / "taken").write_text("x")
    dialog.folder.setText(str(tmp_path / "taken"))
    dialog.start()
    assert not dialog.training
    assert str(tmp_path / "taken") in dialog.status.text()
