"""Running a sweep from the app: a small grid editor (keys, comma-separated values, output folder) and the
background run that fills the sweep view as points finish.

The run is :func:`rnnviz.sweep.run_sweep` on local worker processes, driven from a thread so the window
keeps painting; each finished point's rows come back by a queued signal. Cancel asks it to stop after the
points in flight: the folder then holds a valid partial result, which Resume (or the same grid and folder
again) completes without repeating a point.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from rnnviz.errors import RnnvizError, SpecError
from rnnviz.spec import ModelSpec
from rnnviz.sweep import METRICS, LocalExecutor, Sweep, SweepPlan, plan_sweep, read_results, run_sweep
from rnnviz.ui.focus import refocused
from rnnviz.ui.sweep_table import SweepTable
from rnnviz.ui.train_dialog import app_data_dir


def parse_value(text: str) -> Any:
    """A grid value as typed: a whole number, a number, true/false, else the text (quotes optional)."""
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text.strip("\"'")


def parse_values(key: str, text: str) -> list[Any]:
    items = [item.strip() for item in text.split(",")]
    if not any(items) or not all(items):
        raise SpecError(f"[grid] {key!r}: give comma-separated values, e.g. 0.5, 1, 2 (got {text.strip()[:40]!r})")
    return [parse_value(item) for item in items]


def suggested_grid(spec: ModelSpec) -> list[tuple[str, str]]:
    """A first grid for ``spec``: the recurrent gain (which only the ``normal`` scheme has) against the first
    layer's width; for trained weights, which fix both, the input's seed."""
    if spec.weights is not None:
        return [("input.seed", "0, 1, 2")]
    units = spec.layers[0].units
    return [("init.scheme", "normal"), ("init.gain", "0.5, 1, 1.5, 2, 2.5, 3"),
            ("layers.1.units", ", ".join(str(u) for u in dict.fromkeys((max(units // 2, 1), units, units * 2))))]


class SweepEditor(QDialog):
    """Keys and values to sweep the current model over, where to write the results, and how many workers.
    Accepting checks the whole sweep (:func:`plan_sweep`); a problem is shown here and the dialog stays."""

    def __init__(self, base: ModelSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New sweep of the current model")
        self.base = base
        self.plan: SweepPlan | None = None
        self.grid = QTableWidget(0, 2)
        self.grid.setHorizontalHeaderLabels(["grid key", "values (comma-separated)"])
        self.grid.horizontalHeader().setStretchLastSection(True)
        self.grid.setColumnWidth(0, 160)
        for key, values in suggested_grid(base):
            self.add_row(key, values)
        add, remove = QPushButton("Add key"), QPushButton("Remove key")
        add.clicked.connect(self._add_empty_row)
        remove.clicked.connect(self._remove_row)
        rows = QHBoxLayout()
        rows.addWidget(add)
        rows.addWidget(remove)
        rows.addStretch(1)
        self.metrics = QLineEdit(", ".join(METRICS))
        self.workers = QSpinBox()
        self.workers.setRange(1, 256)
        self.workers.setValue(LocalExecutor().workers)
        self.folder = QLineEdit(str(app_data_dir() / "sweeps" / time.strftime("sweep-%Y%m%d-%H%M%S")))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Metrics", self.metrics)
        form.addRow("Local workers", self.workers)
        form.addRow("Results folder", folder_row)
        self.status = QLabel("Keys name spec fields: init.gain, init.seed, input.timesteps, layers.N.type, "
                             "layers.N.units … (layers count from 1).")
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = buttons.addButton("Start sweep", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.grid, 1)
        layout.addLayout(rows)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.resize(560, 420)

    def add_row(self, key: str = "", values: str = "") -> None:
        row = self.grid.rowCount()
        self.grid.insertRow(row)
        self.grid.setItem(row, 0, QTableWidgetItem(key))
        self.grid.setItem(row, 1, QTableWidgetItem(values))

    @Slot()
    def _add_empty_row(self) -> None:
        self.add_row()

    @Slot()
    def _remove_row(self) -> None:
        self.grid.removeRow(self.grid.currentRow() if self.grid.currentRow() >= 0 else self.grid.rowCount() - 1)

    @Slot()
    def _browse(self) -> None:
        with refocused(self):
            path = QFileDialog.getExistingDirectory(self, "Write the sweep's results into", self.folder.text())
        if path:
            self.folder.setText(path)

    def sweep(self) -> Sweep:
        grid: dict[str, list[Any]] = {}
        for row in range(self.grid.rowCount()):
            key = (self.grid.item(row, 0).text() if self.grid.item(row, 0) else "").strip()
            text = self.grid.item(row, 1).text() if self.grid.item(row, 1) else ""
            if not key and not text.strip():
                continue
            if not key:
                raise SpecError(f"[grid] row {row + 1}: give the key these values vary (e.g. init.gain)")
            if key in grid:
                raise SpecError(f"[grid] {key!r}: appears twice; give each key one row")
            grid[key] = parse_values(key, text)
        metrics = tuple(m.strip() for m in self.metrics.text().split(",") if m.strip())
        return Sweep(self.base, grid, metrics)

    def accept(self) -> None:
        """Check every point and the folder before closing; nothing is written yet."""
        try:
            if not self.folder.text().strip():
                raise RnnvizError("Results folder: choose a folder for the sweep's results")
            self.plan = plan_sweep(self.sweep(), Path(self.folder.text()).expanduser())
        except RnnvizError as exc:
            self.status.setStyleSheet("color: #b00020; font-weight: bold")
            self.status.setText(str(exc))
            return
        super().accept()


class SweepWorker(QThread):
    """Runs one sweep plan. ``point(object)``: the tidy rows of a finished point; ``progress(int, int)``:
    points done and total; ``failed(str)``: a one-line reason (the finished points are still saved)."""

    point = Signal(object)
    progress = Signal(int, int)
    failed = Signal(str)

    def __init__(self, plan: SweepPlan, executor: Any, compute: Callable | None) -> None:
        super().__init__()
        self.plan, self.executor, self.compute = plan, executor, compute
        self.values = {p.index: p.values for p in plan.points}
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def _progress(self, done: int, total: int, result: Any) -> None:  # runs in the worker thread
        if result is not None:
            self.point.emit([{"point": result.index, **self.values[result.index], **row} for row in result.rows])
        self.progress.emit(done, total)

    def run(self) -> None:  # runs in the worker thread
        try:
            run_sweep(self.plan, executor=self.executor, progress=self._progress, should_stop=self._stop.is_set,
                      compute=self.compute)
        except RnnvizError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown in the view; the app keeps working
            self.failed.emit(f"sweep failed: {type(exc).__name__}: {exc}")
        finally:
            self.executor.close()


class SweepRunner(QObject):
    """The sweep the sweep view runs: its editor, worker, Cancel and Resume. ``rows_ready(object)``: rows of
    a finished point; ``message(str, bool)``: progress text and whether a sweep is running.

    ``make_executor(workers)`` and ``compute`` are what :func:`run_sweep` gets (tests inject cheap ones)."""

    rows_ready = Signal(object)
    message = Signal(str, bool)

    def __init__(self, view: QWidget) -> None:
        super().__init__(view)
        self.view = view
        self.make_executor: Callable[[int], Any] = LocalExecutor
        self.compute: Callable | None = None
        self.worker: SweepWorker | None = None
        self.plan: SweepPlan | None = None
        self.workers = 1
        self.done = 0
        self.failure = ""
        app = QCoreApplication.instance()
        if app is not None:  # a running QThread must not outlive the application
            app.aboutToQuit.connect(self.shutdown)

    @property
    def running(self) -> bool:
        return self.worker is not None

    @property
    def resumable(self) -> bool:
        return self.worker is None and self.plan is not None and self.done < len(self.plan.points)

    @Slot()
    def edit_and_start(self) -> None:
        """The grid editor on the current model; the sweep starts when it is accepted."""
        editor = self.editor()
        if editor is None:
            return
        with refocused(self.view):
            accepted = editor.exec() == QDialog.DialogCode.Accepted
        if accepted:
            self.start(editor.plan, editor.workers.value())

    def editor(self) -> SweepEditor | None:
        run = self.view.state.run
        if run is None:
            self.message.emit("no model to sweep: fix the model first (see the Model panel)", False)
            return None
        return SweepEditor(run.spec, self.view)

    def start(self, plan: SweepPlan, workers: int) -> None:
        """Show the plan's grid at once (with the points a previous run finished) and compute the rest."""
        self.plan, self.workers, self.done, self.failure = plan, workers, plan.done, ""
        table = SweepTable(plan.sweep.grid, plan.sweep.metrics, plan.sweep.base.to_dict(),
                           read_results(plan.out_dir) if plan.done else [], len(plan.points), str(plan.out_dir))
        self.view.show_table(table, plan.out_dir)
        self.worker = SweepWorker(plan, self.make_executor(workers), self.compute)
        self.worker.point.connect(self._point)
        self.worker.progress.connect(self._progress)
        self.worker.failed.connect(self._failed)
        self.worker.finished.connect(self._finished)
        self.message.emit(f"sweep: {plan.done} of {len(plan.points)} points; starting {workers} workers …", True)
        self.worker.start()

    @Slot()
    def toggle(self) -> None:
        """Cancel the running sweep, or resume a cancelled one in the same folder."""
        if self.worker is not None:
            self.worker.stop()
            self.message.emit("cancelling: waiting for the points in flight …", True)
        elif self.resumable:
            try:
                self.start(plan_sweep(self.plan.sweep, self.plan.out_dir), self.workers)
            except RnnvizError as exc:
                self.message.emit(str(exc), False)

    @Slot(object)
    def _point(self, rows: list[dict[str, Any]]) -> None:
        self.rows_ready.emit(rows)

    @Slot(int, int)
    def _progress(self, done: int, total: int) -> None:
        self.done = done
        self.message.emit(f"sweep: {done} of {total} points in {self.plan.out_dir}", True)

    @Slot(str)
    def _failed(self, message: str) -> None:
        self.failure = message

    @Slot()
    def _finished(self) -> None:
        self.worker = None
        total = len(self.plan.points)
        if self.failure:
            self.message.emit(f"{self.failure} ({self.done} of {total} points saved in {self.plan.out_dir})", False)
            return
        self.message.emit(f"sweep done: {total} points in {self.plan.out_dir}" if self.done == total else
                          f"sweep stopped: {self.done} of {total} points saved in {self.plan.out_dir}; "
                          "Resume computes the rest", False)

    @Slot()
    def shutdown(self) -> None:
        """Stop a running sweep and wait for it (its results are saved); the window is closing."""
        if self.worker is not None:
            self.worker.stop()
            self.worker.wait()
