"""The main window: docks, menus, playback toolbar, status bar, files, and the run's life cycle.

Runs: every valid edit restarts the run (after a short debounce, so a burst of edits costs one
restart); the previous worker is cancelled and left to finish on its own. Blocks from the worker
are stored as they arrive, and a frame timer reveals and redraws what changed, at most 60 times a
second, however fast blocks come.
"""

from __future__ import annotations

import gc
import threading
import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QPaintEvent, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDockWidget, QDoubleSpinBox, QFileDialog, QLabel, QMainWindow, QScrollArea, QSlider,
    QSplitter, QToolBar, QWidget,
)

from rnnviz.errors import RnnvizError
from rnnviz.inputs import read_input
from rnnviz.model import SPEC_SUFFIXES, WEIGHT_SUFFIXES
from rnnviz.weights import load_weights_file
from rnnviz.spec import ModelSpec, load_spec
from rnnviz.trace import SATURATION_THRESHOLD, Trace
from rnnviz.ui.heatmaps import HeatmapView
from rnnviz.ui.layer_panel import LayerPanel
from rnnviz.ui.playback import SPEEDS, Playback, default_speed
from rnnviz.ui.plots import SaturationPlots, UnitTracePlot
from rnnviz.ui.run_data import RunData
from rnnviz.ui.session import Draft, Session
from rnnviz.ui.worker import ComputeWorker

INPUT_SUFFIXES = (".csv", ".npy")
FRAME_MS = 16
PLOTS_INTERVAL_S = 0.25
TOOLBAR_INTERVAL_S = 0.1
RESTART_MS = 150
FIRST_PAINT_WAIT_MS = 1000
MAX_RECENT = 8


def _position_text(layer: int, t: int, timesteps: int) -> str:
    """The toolbar's "where is the cursor" text (``layer`` from 0)."""
    return f" layer {layer + 1} · {t}/{timesteps} steps"


class _DeviceProbe(QObject):
    """Imports torch off the GUI thread, reports the devices present, and runs a tiny recurrent
    forward pass so that the first real run does not pay for torch's kernel set-up."""

    found = Signal(list)
    warmed = Signal()  # torch is imported and its recurrent kernels have run once

    def start(self) -> None:
        threading.Thread(target=self._probe, name="rnnviz-device-probe", daemon=True).start()

    def _probe(self) -> None:
        try:
            from rnnviz.engine.device import available_devices

            devices = available_devices()
        except Exception:  # noqa: BLE001 - without torch the worker reports the real error
            devices = ["cpu"]
        self.found.emit(devices)
        try:
            import torch

            with torch.inference_mode():
                for module in (torch.nn.GRU(2, 2), torch.nn.RNN(2, 2)):
                    module(torch.zeros(3, 2))
        except Exception:  # noqa: BLE001 - a warm-up only; a real run reports its own errors
            pass
        self.warmed.emit()


class MainWindow(QMainWindow):
    def __init__(self, spec: ModelSpec | None = None, settings: QSettings | None = None, autoplay: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("rnnviz")
        self.settings = settings if settings is not None else QSettings("rnnviz", "rnnviz")
        self.session = Session(Draft.from_spec(spec or ModelSpec()), self)
        self.playback = Playback()
        self.autoplay = autoplay
        self.speed_chosen = False
        self.device = "auto"
        self.worker: ComputeWorker | None = None
        self.retired: list[ComputeWorker] = []
        self.run: RunData | None = None
        self.trace: Trace | None = None
        self.followed: tuple[int, str, int] = (0, "forward", 0)
        self._frames = 0
        self._rate_mark = (time.monotonic(), 0, 0)
        self._last_tick = time.monotonic()
        self._plots_drawn = 0.0
        self._toolbar_drawn = 0.0

        self.heatmaps = HeatmapView()
        self.setCentralWidget(self.heatmaps)
        self.panel = LayerPanel(self.session)
        panel_scroll = QScrollArea()
        panel_scroll.setWidgetResizable(True)
        panel_scroll.setWidget(self.panel)
        panel_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        panel_scroll.setMinimumWidth(300)
        self.panel_dock = self._dock("Model", panel_scroll, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.unit_trace = UnitTracePlot()
        self.saturation = SaturationPlots()
        below = QSplitter(Qt.Orientation.Horizontal)
        below.addWidget(self.unit_trace)
        below.addWidget(self.saturation)
        below.setStretchFactor(0, 2)
        below.setStretchFactor(1, 3)
        below.setSizes([360, 540])
        below.setMinimumHeight(150)
        self.line_panes = [self.unit_trace.refresh, lambda: self.saturation.refresh("fraction"),
                           lambda: self.saturation.refresh("gain")]
        self.plots_dock = self._dock("Unit trace and saturation", below, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._build_toolbar()
        self._build_menus()
        self._build_status()
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setAcceptDrops(True)
        self.resize(1280, 860)
        self.resizeDocks([self.plots_dock], [230], Qt.Orientation.Vertical)
        self.resizeDocks([self.panel_dock], [360], Qt.Orientation.Horizontal)
        geometry, state = self.settings.value("geometry"), self.settings.value("state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

        self.session.changed.connect(self._schedule_restart)
        self.panel.device_changed.connect(self._set_device)
        self.heatmaps.hovered.connect(self.status_message.setText)
        self.heatmaps.unit_clicked.connect(self._select_unit)
        self.restart_timer = QTimer(self, singleShot=True, interval=RESTART_MS)
        self.restart_timer.timeout.connect(self.start_run)
        self.frame_timer = QTimer(self, interval=FRAME_MS)  # runs only while something moves (see _wake)
        self.frame_timer.timeout.connect(self._tick)
        self.probe = _DeviceProbe()
        self.probe.found.connect(self.panel.set_devices)
        self.probe.warmed.connect(self._freeze_startup_objects)
        self._painted = False  # the first run and torch's import wait for the window's first paint

    # --- construction -----------------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot, shortcut: QKeySequence | str | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(tip or text)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_toolbar(self) -> None:
        bar = QToolBar("Playback")
        bar.setObjectName("Playback")
        self.addToolBar(bar)
        self.play_action = self._action("Play", self.toggle_play, Qt.Key.Key_Space, "Play / pause (Space)")
        self.step_action = self._action("Step", self.step, Qt.Key.Key_Right, "One step (Right arrow)")
        self.reset_action = self._action("Reset", self.reset_playback, "Home", "Back to the first step (Home)")
        for action in (self.play_action, self.step_action, self.reset_action):
            bar.addAction(action)
        bar.addSeparator()
        bar.addWidget(QLabel(" speed "))
        self.speed = QComboBox()
        for speed in SPEEDS:
            self.speed.addItem("max" if speed is None else f"{speed} steps/s", speed)
        self.speed.setToolTip("Steps per second; max follows the computation as fast as it goes")
        self.speed.activated.connect(self._speed_chosen)
        bar.addWidget(self.speed)
        bar.addWidget(QLabel("  step "))
        self.scrubber = QSlider(Qt.Orientation.Horizontal)
        self.scrubber.setObjectName("scrubber")
        self.scrubber.setMinimumWidth(200)
        self.scrubber.setToolTip("Move every cursor over the computed steps")
        self.scrubber.valueChanged.connect(self._scrubbed)
        bar.addWidget(self.scrubber)
        self.position_label = QLabel()
        bar.addWidget(self.position_label)
        bar.addSeparator()
        self.mark = QCheckBox("mark |h| ≥")
        self.mark.setChecked(True)
        self.mark.setToolTip("Colour saturated states (|h| at or above the threshold) yellow / cyan")
        self.mark.toggled.connect(self._threshold_changed)
        bar.addWidget(self.mark)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.5, 0.9999)
        self.threshold.setDecimals(3)
        self.threshold.setSingleStep(0.01)
        self.threshold.setValue(SATURATION_THRESHOLD)
        self.threshold.setKeyboardTracking(False)
        self.threshold.valueChanged.connect(self._threshold_changed)
        bar.addWidget(self.threshold)

    def _build_menus(self) -> None:
        menu = self.menuBar().addMenu("&File")
        menu.addAction(self._action("&Open…", self.open_dialog, QKeySequence.StandardKey.Open,
                                    "Open a spec, trained weights or an input file"))
        menu.addAction(self._action("&Save spec…", self.save_spec_dialog, QKeySequence.StandardKey.Save))
        menu.addAction(self._action("Import &weights…", self.import_weights_dialog))
        menu.addAction(self._action("Load &input…", self.load_input_dialog))
        menu.addSeparator()
        self.export_action = self._action("&Export hidden states…", self.export_states_dialog, "Ctrl+E")
        menu.addAction(self.export_action)
        menu.addAction(self._action("Export &image…", self.export_image_dialog))
        menu.addSeparator()
        self.recent_menu = menu.addMenu("&Recent files")
        self._rebuild_recent()
        menu.addSeparator()
        menu.addAction(self._action("&Quit", self.close, QKeySequence("Ctrl+Q")))
        edit = self.menuBar().addMenu("&Edit")
        undo = self.session.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence("Ctrl+Z"))
        redo = self.session.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        for action in (undo, redo):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(action)
            edit.addAction(action)
        self.undo_action, self.redo_action = undo, redo
        run = self.menuBar().addMenu("&Run")
        for action in (self.play_action, self.step_action, self.reset_action):
            run.addAction(action)
        view = self.menuBar().addMenu("&View")
        view.addAction(self.panel_dock.toggleViewAction())
        view.addAction(self.plots_dock.toggleViewAction())

    def _build_status(self) -> None:
        self.status_message = QLabel()
        self.device_label = QLabel("device: …")
        self.rate_label = QLabel()
        self.fps_label = QLabel()
        self.statusBar().addWidget(self.status_message, 1)
        for label in (self.device_label, self.rate_label, self.fps_label):
            self.statusBar().addPermanentWidget(label)

    @Slot()
    def _freeze_startup_objects(self) -> None:
        """Exempt everything imported so far (torch, Qt, pyqtgraph: hundreds of thousands of objects)
        from the cyclic garbage collector. Otherwise each full collection walks them all, which stops
        every thread, the GUI's included, for 60-100 ms in the middle of a run."""
        gc.freeze()

    # --- runs ---------------------------------------------------------------------------------------
    @Slot()
    def _schedule_restart(self) -> None:
        self._stop_worker()
        self.trace = None  # the finished trace no longer matches the model: nothing to export until rerun
        self.export_action.setEnabled(False)
        self.restart_timer.start()

    def _stop_worker(self) -> None:
        """Cancel the current run. Cancelled workers are kept until a later call finds them finished:
        deleting one in its own ``finished`` handler would drop that signal for other receivers."""
        self.retired = [w for w in self.retired if not w.isFinished()]
        if self.worker is not None:
            self.worker.cancel()
            self.retired.append(self.worker)
            self.worker = None

    @Slot()
    def start_run(self) -> None:
        """Cancel any run in progress and start the current model from the first step."""
        self.restart_timer.stop()
        self._stop_worker()
        self.trace = None
        self.export_action.setEnabled(False)
        session = self.session
        self.play_action.setEnabled(session.valid)
        self.step_action.setEnabled(session.valid)
        if not session.valid:
            self.show_error(session.problem or "invalid model")
            return
        self.show_info("")
        self.run = RunData.empty(session.model.spec)
        self.run.set_threshold(self.threshold.value())
        self.heatmaps.show_run(self.run)
        self.saturation.show_run(self.run)
        self._follow_unit()
        self.playback.reset(self.run.total)
        if not self.speed_chosen:
            self._set_speed(default_speed(self.run.total))
        self.playback.playing = self.autoplay or self.playback.playing
        self._rate_mark = (time.monotonic(), 0, self._frames)
        # started after the views are reset: the first run's worker imports torch, which holds the GIL
        # for most of a second and would slow building the views threefold
        self.worker = ComputeWorker(session.model, session.inputs, self.device, store=self.run.store)
        self.worker.block_ready.connect(self._on_block)
        self.worker.done.connect(self._on_done)
        self.worker.failed.connect(self._on_failed)
        self.worker.started_on.connect(self._on_started)
        self.worker.start()
        widest = _position_text(len(self.run.spec.layers) - 1, self.run.timesteps, self.run.timesteps)
        # a fixed width: a label that grows as digits change would relayout the toolbar every frame
        self.position_label.setFixedWidth(self.position_label.fontMetrics().horizontalAdvance(widest) + 12)
        self._sync_play_text()
        self._wake()

    def _current(self, sender: QObject | None) -> bool:
        """Whether a signal comes from the current run's worker (not from a cancelled one)."""
        return self.worker is not None and sender is self.worker

    @Slot(str)
    def _on_started(self, device: str) -> None:
        if self._current(self.sender()):
            self.device_label.setText(f"device: {device}")

    @Slot(object)
    def _on_block(self, block) -> None:
        if self._current(self.sender()) and self.run is not None:
            self.run.add(block)
            self.playback.computed = self.run.computed
            self._wake()

    @Slot(object)
    def _on_done(self, trace: Trace) -> None:
        if self._current(self.sender()):
            self.trace = trace
            self.export_action.setEnabled(True)
            self._wake()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._current(self.sender()):
            self.playback.playing = False
            self._stop_worker()
            self.show_error(f"run failed: {message}")

    # --- frames -------------------------------------------------------------------------------------
    def _wake(self) -> None:
        """Run the frame timer: something changed that the views or the worker must follow. It stops
        itself once nothing moves, so an idle window costs no CPU."""
        if not self.frame_timer.isActive():
            now = time.monotonic()
            self._last_tick = now  # playback advances by the time since the last tick: not the idle time
            self._rate_mark = (now, self.run.computed if self.run is not None else 0, self._frames)
            self.frame_timer.start()

    @Slot()
    def _tick(self) -> None:
        now = time.monotonic()
        seconds, self._last_tick = now - self._last_tick, now
        run, playback = self.run, self.playback
        if run is None:
            self.frame_timer.stop()
            return
        playback.computed = run.computed
        step = min(playback.advance(seconds), run.computed)
        if self.worker is not None:
            # once every step is computed the worker only has to drain the generator and hand over the
            # trace: never pause it there, or the last blocks and the finished trace would not come
            finishing = run.computed >= run.total
            self.worker.resume() if playback.needs_compute or finishing else self.worker.pause()
        changed = bool(run.reveal(step))
        if changed:
            self.heatmaps.refresh()
            self._frames += 1
        if not playback.playing:  # redraw at once what a step or the scrubber revealed (else nothing)
            for pane in self.line_panes:
                pane()
        elif now - self._plots_drawn >= PLOTS_INTERVAL_S / len(self.line_panes):
            # while playing the line plots change little per frame: each is redrawn PLOTS_INTERVAL_S
            # apart, and in turn, so that no frame pays for all of them
            self._plots_drawn = now
            self.line_panes[0]()
            self.line_panes.append(self.line_panes.pop(0))
        if not playback.playing or now - self._toolbar_drawn >= TOOLBAR_INTERVAL_S:
            # the scrubber and the position text repaint the toolbar: while playing, 10 times a second
            self._toolbar_drawn = now
            self.scrubber.blockSignals(True)
            self.scrubber.setRange(0, run.computed)
            self.scrubber.setValue(step)
            self.scrubber.blockSignals(False)
            self.position_label.setText(_position_text(*run.locate(step), run.timesteps))
        self._sync_play_text()
        mark_time, mark_steps, mark_frames = self._rate_mark
        if now - mark_time >= 0.5:
            rate = (run.computed - mark_steps) / (now - mark_time)
            done = run.computed >= run.total
            self.rate_label.setText("computed" if done and not rate else f"{rate:,.0f} steps/s")
            self.fps_label.setText(f"{(self._frames - mark_frames) / (now - mark_time):.0f} fps")
            self._rate_mark = (now, run.computed, self._frames)
        if not (changed or playback.playing or (self.worker is not None and playback.needs_compute)):
            self.frame_timer.stop()  # nothing moves until a block, a control or an edit wakes it
            waiting = "waits for playback" if self.worker is not None else "stopped"
            self.rate_label.setText("computed" if run.computed >= run.total else waiting)
            self.fps_label.setText("idle")

    def _sync_play_text(self) -> None:
        self.play_action.setText("Pause" if self.playback.playing else "Play")

    # --- playback controls --------------------------------------------------------------------------
    @Slot()
    def toggle_play(self) -> None:
        self.playback.toggle()
        self._sync_play_text()
        self._wake()

    @Slot()
    def step(self) -> None:
        if self.run is not None:
            self.playback.step_once()
            self._sync_play_text()
            self._wake()

    @Slot()
    def reset_playback(self) -> None:
        self.playback.seek(0)
        self._sync_play_text()
        self._wake()

    @Slot(int)
    def _scrubbed(self, value: int) -> None:
        self.playback.seek(value)
        self._sync_play_text()
        self._wake()

    def _set_speed(self, speed: int | None) -> None:
        self.playback.speed = speed
        self.speed.setCurrentIndex(SPEEDS.index(speed))

    @Slot(int)
    def _speed_chosen(self, index: int) -> None:
        self.speed_chosen = True
        self.playback.speed = self.speed.itemData(index)

    @Slot()
    def _threshold_changed(self, *_args) -> None:
        value = self.threshold.value()
        self.heatmaps.set_threshold(value if self.mark.isChecked() else None)
        if self.run is not None:
            self.run.set_threshold(value)
            self._wake()

    @Slot(str)
    def _set_device(self, device: str) -> None:
        if device != self.device:
            self.device = device
            self._schedule_restart()

    @Slot(int, str, int)
    def _select_unit(self, layer: int, direction: str, unit: int) -> None:
        if self.run is not None:
            self.followed = (layer, direction, unit)
            self.unit_trace.select(self.run.stream(layer, direction), unit)

    def _follow_unit(self) -> None:
        """Keep following the chosen unit in a new run where it still exists, else unit 0 of layer 1."""
        layer, direction, unit = self.followed
        streams = [s for s in self.run.streams if (s.layer, s.direction) == (layer, direction) and unit < s.units]
        stream = streams[0] if streams else self.run.streams[0]
        self.unit_trace.select(stream, unit if streams else 0)

    def show_info(self, message: str) -> None:
        self.status_message.setStyleSheet("")
        self.status_message.setText(message)

    def show_error(self, message: str) -> None:
        self.status_message.setStyleSheet("color: #b00020; font-weight: bold")
        self.status_message.setText(message)

    # --- files --------------------------------------------------------------------------------------
    def open_file(self, path: str | Path) -> bool:
        """Open a spec, trained weights or an input sequence, by its extension. Errors are shown in
        the window; returns whether the file was opened."""
        path = Path(path)
        suffix = path.suffix.lower()
        try:
            if suffix in SPEC_SUFFIXES:
                self.session.edit(Draft.from_spec(load_spec(path)), f"Open {path.name}")
            elif suffix in WEIGHT_SUFFIXES:
                self.session.edit(Draft.from_spec(load_weights_file(path).spec), f"Open {path.name}")
            elif suffix in INPUT_SUFFIXES:
                read_input(path)  # fail now, with the file's own message
                draft = self.session.draft
                new_input = replace(draft.input, source="file", path=str(path.resolve()), timesteps=None,
                                    features=None)
                self.session.edit(replace(draft, input=new_input), f"Load {path.name}")
            else:
                raise RnnvizError(f"{path}: cannot open {suffix or 'a file without extension'}; expected a spec "
                                  "(.toml, .json), trained weights (.keras, .pt, .pth) or an input (.csv, .npy)")
        except RnnvizError as exc:
            self.show_error(str(exc))
            return False
        self._remember(path)
        return True

    def import_weights(self, path: str | Path) -> bool:
        """Use a trained file's weights for the current stack (its architecture must match)."""
        path = Path(path)
        try:
            loaded = load_weights_file(path)
        except RnnvizError as exc:
            self.show_error(str(exc))
            return False
        draft = Draft.from_spec(loaded.spec)
        draft = replace(draft, input=self.session.draft.input if self.session.draft.input.source == "file"
                        else draft.input)
        self.session.edit(draft, f"Import weights {path.name}")
        self._remember(path)
        return True

    def save_spec(self, path: str | Path) -> bool:
        from rnnviz.export import atomic_write

        try:
            spec = self.session.draft.to_spec()
            with atomic_write(Path(path)) as fh:
                fh.write(spec.to_toml())
        except RnnvizError as exc:
            self.show_error(f"cannot save: {exc}")
            return False
        self.show_info(f"saved {path}")
        self._remember(Path(path))
        return True

    def export_states(self, out_dir: str | Path) -> bool:
        if self.trace is None:
            self.show_error("the run has not finished yet; export when every step is computed")
            return False
        try:
            written = self.trace.to_csv(out_dir)
        except RnnvizError as exc:
            self.show_error(str(exc))
            return False
        self.show_info(f"wrote {len(written)} files to {out_dir}")
        return True

    def export_image(self, path: str | Path) -> bool:
        if not self.heatmaps.render_image().save(str(path)):
            self.show_error(f"{path}: cannot write the image (use .png or .jpg in a writable folder)")
            return False
        self.show_info(f"saved {path}")
        return True

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open", self._last_dir(),
                                              "rnnviz files (*.toml *.json *.keras *.pt *.pth *.csv *.npy)")
        if path:
            self.open_file(path)

    def import_weights_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import weights", self._last_dir(), "Weights (*.keras *.pt *.pth)")
        if path:
            self.import_weights(path)

    def load_input_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load input", self._last_dir(), "Input (*.csv *.npy)")
        if path:
            self.open_file(path)

    def save_spec_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save spec", self._last_dir(), "Spec (*.toml)")
        if path:
            self.save_spec(path if path.endswith(".toml") else path + ".toml")

    def export_states_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Export hidden states into", self._last_dir())
        if path:
            self.export_states(path)

    def export_image_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export image", self._last_dir(), "PNG image (*.png)")
        if path:
            self.export_image(path if Path(path).suffix else path + ".png")

    def _last_dir(self) -> str:
        recent = self.recent_files()
        return str(Path(recent[0]).parent) if recent else ""

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember(self, path: Path) -> None:
        entry = str(path.resolve())
        recent = [entry] + [p for p in self.recent_files() if p != entry]
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self._rebuild_recent()

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        for entry in self.recent_files():
            action = self.recent_menu.addAction(Path(entry).name)
            action.setToolTip(entry)
            action.triggered.connect(lambda _checked=False, p=entry: self.open_file(p))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    # --- window events ------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        urls = event.mimeData().urls()
        suffixes = SPEC_SUFFIXES + WEIGHT_SUFFIXES + INPUT_SUFFIXES
        if urls and all(u.isLocalFile() and Path(u.toLocalFile()).suffix.lower() in suffixes for u in urls):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        for url in event.mimeData().urls():
            self.open_file(url.toLocalFile())
        event.acceptProposedAction()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        self._after_first_paint()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        QTimer.singleShot(FIRST_PAINT_WAIT_MS, self._after_first_paint)  # should no paint reach the window

    def _after_first_paint(self) -> None:
        """Import torch and start the first run, once. Importing torch holds the GIL for most of a second;
        started before the window's first paint, it slowed building and painting the window threefold."""
        if not self._painted:
            self._painted = True
            if self.run is None:
                QTimer.singleShot(0, self.start_run)
            QTimer.singleShot(0, self.probe.start)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.frame_timer.stop()
        self.restart_timer.stop()
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("state", self.saveState())
        self.settings.sync()
        self._stop_worker()
        for worker in self.retired:
            worker.wait(10_000)
        super().closeEvent(event)
