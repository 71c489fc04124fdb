"""The layer panel (a dock): the stack, the input, the initialisation, the device and the summary.

It owns no model state: it redraws itself from ``session.draft`` whenever the session changes, and
turns every user edit into a new draft pushed through ``session.edit`` (hence undoable).
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
    QLineEdit, QListWidget, QListWidgetItem, QPushButton, QSlider, QSpinBox, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)

from rnnviz.spec import LAYER_TYPES, MAX_SEED, SCHEMES, SOURCES, LayerSpec
from rnnviz.ui.focus import refocused
from rnnviz.ui.session import Draft, Session

# the fields take any size a spec may give (Qt's limit); what does not fit in memory is explained in
# the panel, like any invalid stack
MAX_FIELD = 2**31 - 1
GAIN_STEPS = 100  # slider ticks per unit of gain


class _StackList(QListWidget):
    """The layers, input side on top; drag and drop reorders them."""

    reordered = Signal(list)  # the new order, as indices into the old one

    def __init__(self) -> None:
        super().__init__()
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.model().rowsMoved.connect(self._moved)  # a drag and drop inside the list

    def _moved(self, *_args) -> None:
        """Report the new order once the drop is over: the edit rebuilds this list."""
        order = [self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())]
        if order != sorted(order):
            QTimer.singleShot(0, lambda: self.reordered.emit(order))


class _AppUndoFirst(QObject):
    """Lets Ctrl+Z / Ctrl+Shift+Z reach the app's undo stack from a number field, whose own text
    undo would otherwise swallow them (a value is committed on Enter; its text history is useless)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.ShortcutOverride and (
                event.matches(QKeySequence.StandardKey.Undo) or event.matches(QKeySequence.StandardKey.Redo)
                or event.keyCombination().toCombined() == QKeySequence("Ctrl+Shift+Z")[0].toCombined()):
            event.ignore()
            return True
        return False


class LayerPanel(QWidget):
    device_changed = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._syncing = False
        layout = QVBoxLayout(self)

        stack_box = QGroupBox("Layers (input side on top)")
        stack_layout = QVBoxLayout(stack_box)
        self.stack = _StackList()
        self.stack.setObjectName("stack")
        self.stack.setMinimumHeight(90)
        stack_layout.addWidget(self.stack)
        self.add_rnn = QPushButton("+ SimpleRNN")
        self.add_gru = QPushButton("+ GRU")
        self.add_lstm = QPushButton("+ LSTM")
        self.remove = QPushButton("Remove")
        self.move_up = QPushButton("▲ Up")
        self.move_down = QPushButton("▼ Down")
        self.add_rnn.setToolTip("Add a SimpleRNN after the selected layer")
        self.add_gru.setToolTip("Add a GRU after the selected layer")
        self.add_lstm.setToolTip("Add an LSTM after the selected layer")
        self.move_up.setToolTip("Move the layer towards the input")
        self.move_down.setToolTip("Move the layer towards the output")
        for row in ((self.add_rnn, self.add_gru, self.add_lstm), (self.remove, self.move_up, self.move_down)):
            buttons = QHBoxLayout()
            for button in row:
                buttons.addWidget(button)
            stack_layout.addLayout(buttons)
        editor = QFormLayout()
        self.layer_type = QComboBox()
        self.layer_type.addItems(LAYER_TYPES)
        self.units = QSpinBox()
        self.units.setRange(1, MAX_FIELD)
        self.units.setKeyboardTracking(False)
        self.bidirectional = QCheckBox("bidirectional")
        self.return_sequences = QCheckBox("return_sequences")
        editor.addRow("type", self.layer_type)
        editor.addRow("units", self.units)
        editor.addRow(self.bidirectional)
        editor.addRow(self.return_sequences)
        stack_layout.addLayout(editor)
        layout.addWidget(stack_box)

        input_box = QGroupBox("Input")
        form = QFormLayout(input_box)
        self.timesteps = QSpinBox()
        self.timesteps.setRange(1, MAX_FIELD)
        self.features = QSpinBox()
        self.features.setRange(1, MAX_FIELD)
        self.source = QComboBox()
        self.source.addItems(SOURCES)
        self.text = QLineEdit()
        self.text.setPlaceholderText("text to one-hot encode")
        self.file_button = QPushButton("Choose file…")
        self.input_seed = QSpinBox()
        self.input_seed.setRange(0, MAX_SEED)
        for spin in (self.timesteps, self.features, self.input_seed):
            spin.setKeyboardTracking(False)
        form.addRow("timesteps", self.timesteps)
        form.addRow("features", self.features)
        form.addRow("source", self.source)
        form.addRow("text", self.text)
        form.addRow("file", self.file_button)
        form.addRow("seed", self.input_seed)
        layout.addWidget(input_box)

        init_box = QGroupBox("Initialisation")
        form = QFormLayout(init_box)
        self.scheme = QComboBox()
        self.scheme.addItems(SCHEMES)
        self.gain = QSlider(Qt.Orientation.Horizontal)
        self.gain.setRange(0, 3 * GAIN_STEPS)
        self.gain_label = QLabel()
        gain_row = QHBoxLayout()
        gain_row.addWidget(self.gain)
        gain_row.addWidget(self.gain_label)
        self.init_seed = QSpinBox()
        self.init_seed.setRange(0, MAX_SEED)
        self.init_seed.setKeyboardTracking(False)
        self.weights_label = QLabel()
        self.weights_label.setWordWrap(True)
        self.clear_weights = QPushButton("Use initialisation instead")
        form.addRow("scheme", self.scheme)
        form.addRow("gain", gain_row)
        form.addRow("seed", self.init_seed)
        form.addRow("weights", self.weights_label)
        form.addRow(self.clear_weights)
        layout.addWidget(init_box)

        device_row = QFormLayout()
        self.device = QComboBox()
        self.device.addItem("auto")
        device_row.addRow("device", self.device)
        layout.addLayout(device_row)

        summary_box = QGroupBox("Summary")
        summary_layout = QVBoxLayout(summary_box)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Layer (type)", "Output Shape", "Param #"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(80)
        self.totals = QLabel()
        self.totals.setWordWrap(True)
        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #b00020; font-weight: bold")
        summary_layout.addWidget(self.table)
        summary_layout.addWidget(self.totals)
        summary_layout.addWidget(self.problem)
        layout.addWidget(summary_box)
        layout.addStretch(1)

        self.add_rnn.clicked.connect(lambda: self._add("SimpleRNN"))
        self.add_gru.clicked.connect(lambda: self._add("GRU"))
        self.add_lstm.clicked.connect(lambda: self._add("LSTM"))
        self.remove.clicked.connect(self._remove)
        self.move_up.clicked.connect(lambda: self._move(-1))
        self.move_down.clicked.connect(lambda: self._move(+1))
        self.stack.reordered.connect(self._reorder)
        self.stack.currentRowChanged.connect(self._show_layer)
        self.layer_type.currentTextChanged.connect(lambda v: self._edit_layer("type", v))
        self.units.valueChanged.connect(lambda v: self._edit_layer("units", v))
        self.bidirectional.toggled.connect(lambda v: self._edit_layer("bidirectional", v))
        self.return_sequences.toggled.connect(lambda v: self._edit_layer("return_sequences", v))
        self.timesteps.valueChanged.connect(lambda v: self._edit_input(timesteps=v))
        self.features.valueChanged.connect(lambda v: self._edit_input(features=v))
        self.source.currentTextChanged.connect(self._edit_source)
        self.text.editingFinished.connect(lambda: self._edit_input(text=self.text.text(), timesteps=None,
                                                                   features=None))
        self.file_button.clicked.connect(self._choose_file)
        self.input_seed.valueChanged.connect(lambda v: self._edit_input(seed=v))
        self.scheme.currentTextChanged.connect(lambda v: self._edit_init(scheme=v))
        self.gain.valueChanged.connect(self._gain_moved)
        self.gain.sliderReleased.connect(lambda: self._edit_init(gain=self.gain.value() / GAIN_STEPS))
        self.init_seed.valueChanged.connect(lambda v: self._edit_init(seed=v))
        self.clear_weights.clicked.connect(self._clear_weights)
        self.device.currentTextChanged.connect(self._device_chosen)
        self._undo_filter = _AppUndoFirst(self)
        for spin in (self.units, self.timesteps, self.features, self.input_seed, self.init_seed):
            spin.installEventFilter(self._undo_filter)
            spin.lineEdit().installEventFilter(self._undo_filter)
        session.changed.connect(self.sync)
        self.sync()

    # --- session -> widgets ---------------------------------------------------------------------
    def sync(self) -> None:
        """Show the session's draft; never emits edits."""
        self._syncing = True
        try:
            draft = self.session.draft
            row = self.stack.currentRow()
            self.stack.clear()
            for i, layer in enumerate(draft.layers):
                returns = layer.return_sequences if layer.return_sequences is not None else i < len(draft.layers) - 1
                text = f"{i + 1}. {'Bidirectional ' if layer.bidirectional else ''}{layer.type}({layer.units})" + \
                    ("  → sequences" if returns else "  → last state")
                item = QListWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, i)
                self.stack.addItem(item)
            self.stack.setCurrentRow(min(max(row, 0), len(draft.layers) - 1))
            self._show_layer(self.stack.currentRow())
            source = draft.input
            resolved = self.session.model.spec.input if self.session.model is not None else source
            self.timesteps.setValue(resolved.timesteps or self.timesteps.value())
            self.features.setValue(resolved.features or self.features.value())
            derived = source.source in ("text", "file")
            self.timesteps.setEnabled(not derived)
            self.features.setEnabled(not derived)
            self.source.setCurrentText(source.source)
            self.text.setText(source.text or "")
            self.text.setEnabled(source.source == "text")
            self.file_button.setEnabled(source.source == "file")
            self.file_button.setText(source.path.rsplit("/", 1)[-1] if source.path else "Choose file…")
            self.input_seed.setValue(source.seed)
            self.scheme.setCurrentText(draft.init.scheme)
            self.init_seed.setValue(draft.init.seed)
            self.gain.setValue(round(draft.init.gain * GAIN_STEPS))
            self.gain_label.setText(f"{draft.init.gain:.2f}")
            self.gain.setEnabled(draft.init.scheme == "normal" and draft.weights is None)
            self.scheme.setEnabled(draft.weights is None)
            self.init_seed.setEnabled(draft.weights is None)
            self.weights_label.setText(f"trained: {draft.weights.rsplit('/', 1)[-1]}" if draft.weights
                                       else "drawn from the scheme above")
            self.clear_weights.setVisible(draft.weights is not None)
            self.remove.setEnabled(len(draft.layers) > 0)
            self._show_summary()
        finally:
            self._syncing = False

    def _show_layer(self, row: int) -> None:
        layers = self.session.draft.layers
        enabled = 0 <= row < len(layers)
        for widget in (self.layer_type, self.units, self.bidirectional, self.return_sequences, self.move_up,
                       self.move_down):
            widget.setEnabled(enabled)
        if not enabled:
            return
        syncing, self._syncing = self._syncing, True
        layer = layers[row]
        self.layer_type.setCurrentText(layer.type)
        self.units.setValue(layer.units)
        self.bidirectional.setChecked(layer.bidirectional)
        self.return_sequences.setChecked(layer.return_sequences if layer.return_sequences is not None
                                         else row < len(layers) - 1)
        self.move_up.setEnabled(row > 0)
        self.move_down.setEnabled(row < len(layers) - 1)
        self._syncing = syncing

    def _show_summary(self) -> None:
        summary = self.session.summary
        rows = summary.rows if summary is not None else ()
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for col, text in enumerate((f"{row.name} ({row.type})", row.shape_text, f"{row.params:,}")):
                item = QTableWidgetItem(text)
                if col == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, col, item)
        if summary is not None:
            self.totals.setText(f"Total params: {summary.total_params:,}   Trainable: {summary.total_params:,}   "
                                "Non-trainable: 0")
        else:
            self.totals.setText("")
        self.problem.setText(self.session.problem or "")
        self.problem.setVisible(self.session.problem is not None)
        self.table.setEnabled(summary is not None)
        palette = self.table.palette()
        palette.setColor(palette.ColorRole.Text, QColor("#000000" if summary is not None else "#888888"))
        self.table.setPalette(palette)

    # --- widgets -> session ---------------------------------------------------------------------
    def _edit(self, draft: Draft, text: str) -> None:
        if not self._syncing:
            self.session.edit(draft, text)

    def _add(self, layer_type: str) -> None:
        """Add a layer after the selected one (at the output end when none is): the one below it now
        feeds a layer, so it returns sequences."""
        layers = list(self.session.draft.layers)
        row = self.stack.currentRow()
        at = row + 1 if 0 <= row < len(layers) else len(layers)
        units = layers[at - 1].units if at > 0 else 8
        is_last = at == len(layers)
        if at > 0:
            layers[at - 1] = replace(layers[at - 1], return_sequences=True)
        layers.insert(at, LayerSpec(layer_type, units, False, False if is_last else True))
        self._edit(self.session.draft.with_layers(layers), f"Add {layer_type}")
        self.stack.setCurrentRow(at)

    def _remove(self) -> None:
        layers = list(self.session.draft.layers)
        row = self.stack.currentRow()
        if not 0 <= row < len(layers):
            return
        removed = layers.pop(row)
        if layers and row == len(layers):  # the new last layer returns its last state, like Keras' default
            layers[-1] = replace(layers[-1], return_sequences=False)
        self._edit(self.session.draft.with_layers(layers), f"Remove {removed.type}")

    def _move(self, delta: int) -> None:
        row = self.stack.currentRow()
        order = list(range(len(self.session.draft.layers)))
        target = row + delta
        if not (0 <= row < len(order) and 0 <= target < len(order)):
            return
        order[row], order[target] = order[target], order[row]
        self._reorder(order)
        self.stack.setCurrentRow(target)

    def _reorder(self, order: list[int]) -> None:
        """Put the layers in ``order``; return_sequences stays with the positions (all but the last)."""
        old = self.session.draft.layers
        layers = [replace(old[i], return_sequences=old[pos].return_sequences) for pos, i in enumerate(order)]
        self._edit(self.session.draft.with_layers(layers), "Reorder layers")

    def _edit_layer(self, field: str, value: object) -> None:
        row = self.stack.currentRow()
        layers = list(self.session.draft.layers)
        if self._syncing or not 0 <= row < len(layers):
            return
        layers[row] = replace(layers[row], **{field: value})
        self._edit(self.session.draft.with_layers(layers), f"Change layer {row + 1} {field}")

    def _edit_input(self, **changes: object) -> None:
        draft = self.session.draft
        self._edit(replace(draft, input=replace(draft.input, **changes)), f"Change input {', '.join(changes)}")

    def _edit_source(self, source: str) -> None:
        if self._syncing:
            return
        current = self.session.draft.input
        changes: dict[str, object] = {"source": source}
        if source in ("text", "file"):
            changes.update(timesteps=None, features=None)
            if source == "text" and not current.text:
                changes["text"] = "hello world"
        else:
            changes.update(timesteps=self.timesteps.value(), features=self.features.value())
        self._edit_input(**changes)

    def _choose_file(self) -> None:
        with refocused(self):
            path, _ = QFileDialog.getOpenFileName(self, "Input sequence", "", "Input (*.csv *.npy)")
        if path:
            self._edit_input(source="file", path=path, timesteps=None, features=None)

    def _gain_moved(self, value: int) -> None:
        self.gain_label.setText(f"{value / GAIN_STEPS:.2f}")
        if not self.gain.isSliderDown():  # keyboard or click on the groove: apply at once
            self._edit_init(gain=value / GAIN_STEPS)

    def _edit_init(self, **changes: object) -> None:
        draft = self.session.draft
        self._edit(replace(draft, init=replace(draft.init, **changes)), f"Change initialisation {', '.join(changes)}")

    def _clear_weights(self) -> None:
        self._edit(replace(self.session.draft, weights=None), "Use initialisation")

    def set_devices(self, devices: list[str]) -> None:
        """Offer ``auto`` and the devices present on this machine."""
        current = self.device.currentText()
        self.device.blockSignals(True)
        self.device.clear()
        self.device.addItems(["auto", *devices])
        self.device.setCurrentText(current if current in devices else "auto")
        self.device.blockSignals(False)

    def _device_chosen(self, device: str) -> None:
        if device:
            self.device_changed.emit(device)
