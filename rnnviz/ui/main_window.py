"""The main window: a thin assembly of the views (tabs of the centre and docks), the model panel,
the menus, the playback toolbar and the status bar.

The views come from ``rnnviz.ui.views.VIEWS``; the run's life cycle is in
:mod:`rnnviz.ui.run_controller`, file handling in :mod:`rnnviz.ui.files`, and what the views share
(the run, the selection, the threshold) in :class:`rnnviz.ui.state.AppState`.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QPaintEvent, QShowEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMenu, QScrollArea, QTabWidget, QWidget

from rnnviz.spec import ModelSpec
from rnnviz.ui.device_probe import DeviceProbe
from rnnviz.ui.files import Files
from rnnviz.ui.focus import refocus
from rnnviz.ui.analysis_results import analysis_of
from rnnviz.ui.layer_panel import LayerPanel
from rnnviz.ui.run_controller import RunController
from rnnviz.ui.session import Draft, Session
from rnnviz.ui.state import AppState
from rnnviz.ui.toolbar import PlaybackBar
from rnnviz.ui.train_dialog import TrainDialog
from rnnviz.ui.views import VIEWS, View

FIRST_PAINT_WAIT_MS = 1000
_DOCK_AREAS = {"bottom": Qt.DockWidgetArea.BottomDockWidgetArea, "right": Qt.DockWidgetArea.RightDockWidgetArea,
               "left": Qt.DockWidgetArea.LeftDockWidgetArea}


class MainWindow(QMainWindow):
    def __init__(self, spec: ModelSpec | None = None, settings: QSettings | None = None, autoplay: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("rnnviz")
        self.settings = settings if settings is not None else QSettings("rnnviz", "rnnviz")
        self.session = Session(Draft.from_spec(spec or ModelSpec()), self)
        self.state = AppState(self)
        self.views: dict[str, View] = {view.name: view(self.state) for view in VIEWS}
        self.heatmaps = self.views["heatmaps"]
        self.runner = RunController(self.session, self.state, list(self.views.values()), autoplay, self)

        self.tabs = QTabWidget()
        self.tabs.setTabBarAutoHide(True)  # one central view needs no tab bar
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self.docks: dict[str, QDockWidget] = {}
        self.panel = LayerPanel(self.session)
        panel_scroll = QScrollArea()
        panel_scroll.setWidgetResizable(True)
        panel_scroll.setWidget(self.panel)
        panel_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        panel_scroll.setMinimumWidth(300)
        self.docks["model"] = self._dock("model", "Model", panel_scroll, Qt.DockWidgetArea.LeftDockWidgetArea)
        self._place_views()
        self._build_actions()
        self.toolbar = PlaybackBar(self.runner, self.state, (self.play_action, self.step_action, self.reset_action))
        self.addToolBar(self.toolbar)
        self._build_menus()
        self._build_status()
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setAcceptDrops(True)
        self.resize(1280, 860)
        bottom = [d for name, d in self.docks.items() if self.dockWidgetArea(d) == Qt.DockWidgetArea.BottomDockWidgetArea]
        self.resizeDocks(bottom[:1], [230], Qt.Orientation.Vertical)
        self.resizeDocks(bottom, [360, 540][:len(bottom)] + [360] * (len(bottom) - 2), Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["model"]], [360], Qt.Orientation.Horizontal)
        geometry, state = self.settings.value("geometry"), self.settings.value("state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

        self.panel.device_changed.connect(self.runner.set_device)
        self.heatmaps.hovered.connect(self.status_message.setText)
        self.runner.runnable.connect(self.play_action.setEnabled)
        self.runner.runnable.connect(self.step_action.setEnabled)
        self.runner.playing_changed.connect(self._show_playing)
        self.runner.rates.connect(self._show_rates)
        self.runner.device_resolved.connect(self._show_device)
        self.runner.failed.connect(self.show_error)
        self.runner.info.connect(self._clear_error)
        self.files.error.connect(self.show_error)
        self.files.info.connect(self.show_info)
        self.files.results_opened.connect(self.show_sweep)
        self.views["sweep"].spec_chosen.connect(self.open_sweep_point)
        self.state.run_started.connect(self._show_exportable)
        self.state.run_finished.connect(self._show_exportable)
        self.session.changed.connect(self._show_exportable)
        self.probe = DeviceProbe(self)
        self.probe.found.connect(self.panel.set_devices)
        self.train_dialog = None
        self._painted = False  # the first run and torch's import wait for the window's first paint

    # --- construction -----------------------------------------------------------------------------
    def _dock(self, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _place_views(self) -> None:
        """Centre views become tabs; dock views of one area sit side by side, in registry order."""
        last_in_area: dict[str, QDockWidget] = {}
        for view in self.views.values():
            if view.area == "centre":
                self.tabs.addTab(view, view.title)
                continue
            dock = self._dock(view.name, view.title, view, _DOCK_AREAS[view.area])
            dock.setMinimumHeight(150)
            if view.area in last_in_area:
                beside = Qt.Orientation.Horizontal if view.area == "bottom" else Qt.Orientation.Vertical
                self.splitDockWidget(last_in_area[view.area], dock, beside)
            last_in_area[view.area] = dock
            self.docks[view.name] = dock

    def _action(self, text: str, slot, shortcut: QKeySequence | str | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(tip or text)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        runner = self.runner
        self.play_action = self._action("Play", runner.toggle_play, Qt.Key.Key_Space, "Play / pause (Space)")
        self.step_action = self._action("Step", runner.step, Qt.Key.Key_Right, "One step (Right arrow)")
        self.reset_action = self._action("Reset", runner.reset_playback, "Home", "Back to the first step (Home)")

    def _build_menus(self) -> None:
        self.recent_menu = QMenu("&Recent files", self)
        self.files = files = Files(self.session, self.state, self.settings, self.recent_menu,
                                   self.heatmaps.render_image, self)
        menu = self.menuBar().addMenu("&File")
        menu.addAction(self._action("&Open…", files.open_dialog, QKeySequence.StandardKey.Open,
                                    "Open a spec, trained weights or an input file"))
        menu.addAction(self._action("Open &folder…", files.open_folder_dialog, tip="Open a sweep's results folder"))
        menu.addAction(self._action("&Save spec…", files.save_spec_dialog, QKeySequence.StandardKey.Save))
        menu.addAction(self._action("Import &weights…", files.import_weights_dialog))
        menu.addAction(self._action("Load &input…", files.load_input_dialog))
        menu.addSeparator()
        self.export_action = self._action("&Export hidden states…", files.export_states_dialog, "Ctrl+E")
        menu.addAction(self.export_action)
        menu.addAction(self._action("Export &image…", files.export_image_dialog))
        menu.addSeparator()
        menu.addMenu(self.recent_menu)
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
        tools = self.menuBar().addMenu("&Tools")
        tools.addAction(self._action("&Train toy task…", self.show_train_dialog,
                                     tip="Train a network on the flip-flop, delay or sine task and open it"))
        self.view_menu = self.menuBar().addMenu("&View")
        for view in self.views.values():
            if view.area == "centre":
                self.view_menu.addAction(self._action(view.title, lambda _c=False, n=view.name: self.show_view(n)))
        for dock in self.docks.values():
            self.view_menu.addAction(dock.toggleViewAction())

    def _build_status(self) -> None:
        self.status_message = QLabel()
        self.showing_error = False
        self.device_label = QLabel("device: …")
        self.rate_label = QLabel()
        self.fps_label = QLabel()
        self.statusBar().addWidget(self.status_message, 1)
        for label in (self.device_label, self.rate_label, self.fps_label):
            self.statusBar().addPermanentWidget(label)

    # --- what the parts report ----------------------------------------------------------------------
    def show_view(self, name: str) -> None:
        """Bring a view to the front: its tab, or its dock (shown if it was closed)."""
        view = self.views[name]
        if view.area == "centre":
            self.tabs.setCurrentWidget(view)
            return
        dock = self.docks[name]
        dock.show()
        dock.raise_()

    @Slot(object, object)
    def show_sweep(self, table, folder) -> None:
        self.views["sweep"].show_table(table, folder)
        self.show_view("sweep")

    @Slot(object, str)
    def open_sweep_point(self, spec: ModelSpec, text: str) -> None:
        """A point clicked in the sweep view becomes the model, run like any spec."""
        self.session.edit(Draft.from_spec(spec), text)
        self.show_view("heatmaps")

    def show_train_dialog(self) -> None:
        if self.train_dialog is None:
            self.train_dialog = TrainDialog(self.files, self)
            self.train_dialog.finished.connect(self._take_focus_back)
        self.train_dialog.show()
        self.train_dialog.raise_()

    @Slot(int)
    def _take_focus_back(self, _result: int) -> None:
        refocus(self)

    @Slot(bool)
    def _show_playing(self, playing: bool) -> None:
        self.play_action.setText("Pause" if playing else "Play")

    @Slot(str, str)
    def _show_rates(self, steps: str, frames: str) -> None:
        self.rate_label.setText(steps)
        self.fps_label.setText(frames)

    @Slot(str)
    def _show_device(self, device: str) -> None:
        self.device_label.setText(f"device: {device}")

    @Slot()
    def _show_exportable(self, *_args) -> None:
        self.export_action.setEnabled(self.state.trace is not None)

    @Slot(str)
    def show_info(self, message: str) -> None:
        self.showing_error = False
        self.status_message.setStyleSheet("")
        self.status_message.setText(message)

    @Slot(str)
    def show_error(self, message: str) -> None:
        self.showing_error = True
        self.status_message.setStyleSheet("color: #b00020; font-weight: bold")
        self.status_message.setText(message)

    @Slot(str)
    def _clear_error(self, message: str) -> None:
        """A run that starts replaces an error (it no longer applies), not a note about the last edit."""
        if self.showing_error:
            self.show_info(message)

    # --- window events ------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if self.files.accepts(event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        for url in event.mimeData().urls():
            self.files.open_file(url.toLocalFile())
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
            if self.state.run is None:
                QTimer.singleShot(0, self.runner.start_run)
            QTimer.singleShot(0, self.probe.start)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("state", self.saveState())
        self.settings.sync()
        self.runner.shutdown()
        analysis_of(self.state).shutdown()
        super().closeEvent(event)
