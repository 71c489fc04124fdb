"""The playback toolbar: Play/Step/Reset, the speed, the scrubber, the position, and the saturation
threshold. It shows the run controller's state and turns the user's moves into its calls."""

from __future__ import annotations

from typing import Iterable

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLabel, QSlider, QToolBar

from rnnviz.ui.playback import SPEEDS
from rnnviz.ui.run_controller import RunController
from rnnviz.ui.run_data import RunData
from rnnviz.ui.state import AppState


def position_text(layer: int, t: int, timesteps: int) -> str:
    """The toolbar's "where is the cursor" text (``layer`` from 0)."""
    return f" layer {layer + 1} · {t}/{timesteps} steps"


class PlaybackBar(QToolBar):
    def __init__(self, runner: RunController, state: AppState, actions: Iterable[QAction]) -> None:
        super().__init__("Playback")
        self.setObjectName("Playback")
        self.runner, self.state = runner, state
        for action in actions:
            self.addAction(action)
        self.addSeparator()
        self.addWidget(QLabel(" speed "))
        self.speed = QComboBox()
        for speed in SPEEDS:
            self.speed.addItem("max" if speed is None else f"{speed} steps/s", speed)
        self.speed.setToolTip("Steps per second; max follows the computation as fast as it goes")
        self.speed.activated.connect(self._speed_chosen)
        self.addWidget(self.speed)
        self.addWidget(QLabel("  step "))
        self.scrubber = QSlider(Qt.Orientation.Horizontal)
        self.scrubber.setObjectName("scrubber")
        self.scrubber.setMinimumWidth(200)
        self.scrubber.setToolTip("Move every cursor over the computed steps")
        self.scrubber.valueChanged.connect(runner.seek)
        self.addWidget(self.scrubber)
        self.position_label = QLabel()
        self.addWidget(self.position_label)
        self.addSeparator()
        self.mark = QCheckBox("mark |h| ≥")
        self.mark.setChecked(True)
        self.mark.setToolTip("Colour saturated states (|h| at or above the threshold) yellow / cyan")
        self.mark.toggled.connect(self._threshold_changed)
        self.addWidget(self.mark)
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.5, 0.9999)
        self.threshold.setDecimals(3)
        self.threshold.setSingleStep(0.01)
        self.threshold.setValue(state.threshold)
        self.threshold.setKeyboardTracking(False)
        self.threshold.valueChanged.connect(self._threshold_changed)
        self.addWidget(self.threshold)
        runner.speed_changed.connect(self.show_speed)
        runner.position.connect(self.show_position)
        state.run_started.connect(self.show_run)

    @Slot(object)
    def show_speed(self, speed: int | None) -> None:
        self.speed.setCurrentIndex(SPEEDS.index(speed))

    @Slot(object)
    def show_run(self, run: RunData) -> None:
        widest = position_text(len(run.spec.layers) - 1, run.timesteps, run.timesteps)
        # a fixed width: a label that grows as digits change would relayout the toolbar every frame
        self.position_label.setFixedWidth(self.position_label.fontMetrics().horizontalAdvance(widest) + 12)

    @Slot(int, int)
    def show_position(self, step: int, computed: int) -> None:
        run = self.state.run
        self.scrubber.blockSignals(True)
        self.scrubber.setRange(0, computed)
        self.scrubber.setValue(step)
        self.scrubber.blockSignals(False)
        if run is not None:
            self.position_label.setText(position_text(*run.locate(step), run.timesteps))

    @Slot(int)
    def _speed_chosen(self, index: int) -> None:
        self.runner.set_speed(self.speed.itemData(index), chosen=True)

    @Slot()
    def _threshold_changed(self, *_args) -> None:
        self.state.set_threshold(self.threshold.value(), self.mark.isChecked())
