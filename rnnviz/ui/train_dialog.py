"""Tools > Train toy task: train a small network on a built-in task while its loss curve draws, then open it.

Training runs in a worker thread (:class:`TrainWorker`), so the window keeps painting; the loss arrives in
chunks a few times a second rather than a signal per step. The trained files go to a folder, and the model
and its test input are opened through the window's own file path (``Files.open_file``), exactly as if the
user had opened ``DIR/model.pt`` and then ``DIR/input.npy``.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QStandardPaths, QThread, Signal, Slot
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from rnnviz.errors import RnnvizError
from rnnviz.tasks import LAYER_TYPES, TASK_NAMES
from rnnviz.tasks.tasks import make_task
from rnnviz.tasks.training import MAX_SEED, MAX_STEPS, MAX_UNITS
from rnnviz.ui.focus import refocused

CHUNK_S = 0.1  # how often the worker hands the losses so far to the dialog
TASK_TITLES = {"flipflop": "3-bit flip-flop", "delay": "delay (recall 5 steps later)", "sine": "sine generator"}


class TrainWorker(QThread):
    """Trains one network and writes its files. ``losses(object)``: an array of the losses of the steps
    since the last chunk; ``done(str)``: the folder written; ``stopped()``: cancelled, nothing written;
    ``failed(str)``: a one-line reason."""

    losses = Signal(object)
    done = Signal(str)
    stopped = Signal()
    failed = Signal(str)

    def __init__(self, task: str, layer_type: str, units: int, steps: int, seed: int, out_dir: Path) -> None:
        super().__init__()
        self.request = (task, layer_type, units, steps, seed)
        self.out_dir = out_dir
        self._cancelled = threading.Event()
        self._pending: list[float] = []
        self._sent = 0.0

    def cancel(self) -> None:
        self._cancelled.set()

    def _progress(self, step: int, total: int, loss: float) -> None:  # runs in the worker thread
        self._pending.append(loss)
        now = time.monotonic()
        if now - self._sent >= CHUNK_S or step == total:
            self._sent = now
            self.losses.emit(np.array(self._pending, np.float64))
            self._pending = []

    def run(self) -> None:  # runs in the worker thread
        from rnnviz.tasks import train

        task, layer_type, units, steps, seed = self.request
        try:
            result = train(task, layer_type, units, seed=seed, steps=steps, progress=self._progress,
                           should_stop=self._cancelled.is_set)
            if result.cancelled:
                self.stopped.emit()
                return
            result.write(self.out_dir)
        except RnnvizError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - shown in the dialog; the app keeps working
            self.failed.emit(f"training failed: {type(exc).__name__}: {exc}")
            return
        self.done.emit(str(self.out_dir))


def app_data_dir() -> Path:
    """Where the app writes what it makes unless the user picks a folder: the platform's app-data folder,
    or a temporary one where there is none."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base) if base else Path(tempfile.gettempdir()) / "rnnviz"


def default_folder(task: str, layer_type: str, units: int, seed: int) -> Path:
    """One folder per task, type, width and seed, so retraining the same request replaces its files."""
    return app_data_dir() / "trained" / f"{task}_{layer_type.lower()}{units}_seed{seed}"


class TrainDialog(QDialog):
    """The training form, the live loss curve, and Train / Cancel. ``files`` is the window's
    :class:`~rnnviz.ui.files.Files`, through which the trained model is opened."""

    def __init__(self, files, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a toy task")
        self.files = files
        self.worker: TrainWorker | None = None
        self.folder_chosen = False
        self.task = QComboBox()
        for name in TASK_NAMES:
            self.task.addItem(TASK_TITLES.get(name, name), name)
        self.layer_type = QComboBox()
        self.layer_type.addItems(LAYER_TYPES)
        self.layer_type.setCurrentText("GRU")
        self.units = self._spin(1, MAX_UNITS, 24)
        self.steps = self._spin(1, MAX_STEPS, make_task(TASK_NAMES[0]).default_steps)
        self.seed = self._spin(0, MAX_SEED, 0)
        self.folder = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Task", self.task)
        form.addRow("Layer type", self.layer_type)
        form.addRow("Units", self.units)
        form.addRow("Training steps", self.steps)
        form.addRow("Seed", self.seed)
        form.addRow("Save in", folder_row)

        self.plot = pg.PlotWidget(background="w")
        self.plot.setTitle("training loss", color="#202020", size="10pt")
        self.plot.setLogMode(y=True)
        for side, label in (("bottom", "training step"), ("left", "loss (mean squared error)")):
            self.plot.setLabel(side, label, color="#202020")
            self.plot.getAxis(side).setTextPen("#202020")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.curve = self.plot.plot(pen=pg.mkPen((31, 119, 180), width=1))
        self.loss_values: list[float] = []
        self.status = QLabel()
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.train_button = buttons.addButton("Train", QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_button = buttons.addButton("Cancel", QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.cancel_button.setEnabled(False)
        self.train_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.resize(560, 620)
        self.task.currentIndexChanged.connect(self._task_changed)
        for field in (self.layer_type.currentIndexChanged, self.units.valueChanged, self.seed.valueChanged):
            field.connect(self._suggest_folder)
        self._suggest_folder()

    @staticmethod
    def _spin(low: int, high: int, value: int) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setValue(value)
        return spin

    @Slot()
    def _task_changed(self) -> None:
        self.steps.setValue(make_task(self.task.currentData()).default_steps)
        self._suggest_folder()

    @Slot()
    def _suggest_folder(self) -> None:
        if not self.folder_chosen:
            self.folder.setText(str(default_folder(self.task.currentData(), self.layer_type.currentText(),
                                                   self.units.value(), self.seed.value())))

    @Slot()
    def _browse(self) -> None:
        with refocused(self):
            path = QFileDialog.getExistingDirectory(self, "Save the trained model in", self.folder.text())
        if path:
            self.folder.setText(path)
            self.folder_chosen = True

    @property
    def training(self) -> bool:
        return self.worker is not None

    @Slot()
    def start(self) -> None:
        """Check the folder, then train in the background (the form is locked until it ends)."""
        from rnnviz.export import check_out_dir

        out_dir = Path(self.folder.text()).expanduser()
        try:
            if not self.folder.text().strip():
                raise RnnvizError("Save in: choose a folder for the trained model")
            check_out_dir(out_dir)
        except RnnvizError as exc:
            self._show(str(exc), error=True)
            return
        self.loss_values = []
        self.curve.setData([], [])
        self.worker = TrainWorker(self.task.currentData(), self.layer_type.currentText(), self.units.value(),
                                  self.steps.value(), self.seed.value(), out_dir)
        self.worker.losses.connect(self._add_losses)
        self.worker.done.connect(self._trained)
        self.worker.stopped.connect(self._stopped)
        self.worker.failed.connect(self._failed)
        self.worker.finished.connect(self._worker_finished)
        self._lock(True)
        self._show(f"training {self.task.currentText()} {self.layer_type.currentText()}({self.units.value()}) …")
        self.worker.start()

    @Slot()
    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self._show("cancelling …")

    def _lock(self, busy: bool) -> None:
        for widget in (self.task, self.layer_type, self.units, self.steps, self.seed, self.folder, self.train_button):
            widget.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def _show(self, message: str, error: bool = False) -> None:
        self.status.setStyleSheet("color: #b00020; font-weight: bold" if error else "")
        self.status.setText(message)

    @Slot(object)
    def _add_losses(self, chunk: np.ndarray) -> None:
        self.loss_values.extend(chunk.tolist())
        self.curve.setData(np.arange(1, len(self.loss_values) + 1), np.array(self.loss_values))
        self._show(f"step {len(self.loss_values):,} of {self.steps.value():,}: loss {self.loss_values[-1]:.4g}")

    @Slot(str)
    def _trained(self, folder: str) -> None:
        """Open the model, then feed it its task's test input, as two ordinary file openings."""
        model, inputs = Path(folder) / "model.pt", Path(folder) / "input.npy"
        if self.files.open_file(model) and self.files.open_file(inputs):
            self._show(f"trained: final loss {self.loss_values[-1]:.4g}; opened {model} on its test input {inputs.name}")

    @Slot()
    def _stopped(self) -> None:
        self._show(f"cancelled after {len(self.loss_values):,} steps; nothing written")

    @Slot(str)
    def _failed(self, message: str) -> None:
        self._show(message, error=True)

    @Slot()
    def _worker_finished(self) -> None:
        self.worker = None
        self._lock(False)

    def done(self, result: int) -> None:  # noqa: D401 - Qt override: closing stops a training in progress
        """Closing the dialog cancels training and waits for the worker (a running QThread must not be
        destroyed)."""
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait()
        super().done(result)
