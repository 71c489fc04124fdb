"""Files in the app: open (by extension, from the menu, the command line or a drop), save the spec,
import weights, export states and images, and the recent-files menu.

Every user mistake is reported through ``error`` (one line, shown in the status bar), never raised.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QSettings, QUrl, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from rnnviz.errors import InputError, RnnvizError
from rnnviz.inputs import input_width_problem, read_input
from rnnviz.model import SPEC_SUFFIXES, WEIGHT_SUFFIXES
from rnnviz.spec import load_spec
from rnnviz.ui.focus import refocused
from rnnviz.ui.session import Draft, Session
from rnnviz.ui.state import AppState
from rnnviz.ui.sweep_table import SweepTable
from rnnviz.weights import load_weights_file

INPUT_SUFFIXES = (".csv", ".npy")
OPENABLE = SPEC_SUFFIXES + WEIGHT_SUFFIXES + INPUT_SUFFIXES
MAX_RECENT = 8


class Files(QObject):
    """The file actions of one window. ``image`` renders what *Export image* saves."""

    info = Signal(str)
    error = Signal(str)
    results_opened = Signal(object, object)  # a sweep's SweepTable and its folder (for the sweep view)

    def __init__(self, session: Session, state: AppState, settings: QSettings, recent_menu: QMenu,
                 image: Callable[[], QPixmap], parent: QWidget) -> None:
        super().__init__(parent)
        self.session, self.state, self.settings = session, state, settings
        self.recent_menu = recent_menu
        self.image = image
        self.dialog_parent = parent
        self._rebuild_recent()

    # --- actions ------------------------------------------------------------------------------------
    def open_file(self, path: str | Path) -> bool:
        """Open a spec, trained weights or an input sequence, by its extension, or a sweep's results
        folder. Errors are shown in the window; returns whether the file was opened."""
        path = Path(path)
        suffix = path.suffix.lower()
        try:
            if path.is_dir():
                self.results_opened.emit(SweepTable.read(path), path)
            elif suffix in SPEC_SUFFIXES:
                self.session.edit(Draft.from_spec(load_spec(path)), f"Open {path.name}")
            elif suffix in WEIGHT_SUFFIXES:
                self.session.edit(Draft.from_spec(load_weights_file(path).spec), f"Open {path.name}")
            elif suffix in INPUT_SUFFIXES:
                self.load_input(path)
            else:
                raise RnnvizError(f"{path}: cannot open {suffix or 'a file without extension'}; expected a spec "
                                  "(.toml, .json), trained weights (.keras, .pt, .pth), an input (.csv, .npy) or a sweep's "
                                  "results folder")
        except RnnvizError as exc:
            self.error.emit(str(exc))
            return False
        self._remember(path)
        return True

    def load_input(self, path: Path) -> None:
        """Feed the model the sequence in ``path``. Trained weights fix the input's width: a file of
        another width is refused (as ``run --input`` refuses it). Drawn weights follow the file: its
        width becomes the input's features, an undoable edit that the status line points out."""
        values = read_input(path)  # fail now, with the file's own message
        draft = self.session.draft
        if draft.weights is not None:
            trained = load_weights_file(draft.weights).spec.input.features
            problem = input_width_problem(draft.to_spec(), trained, values, str(path))
            if problem:
                raise InputError(problem)
        before = self.session.model.spec.input.features if self.session.model is not None else None
        new_input = replace(draft.input, source="file", path=str(path.resolve()), timesteps=None, features=None)
        self.session.edit(replace(draft, input=new_input), f"Load {path.name}")
        width = values.shape[1]
        if before is not None and width != before:
            self.info.emit(f"{path.name}: the input now has {width} features (was {before}), so the first layer's "
                           "input weights were drawn anew; Ctrl+Z restores the previous input")

    def import_weights(self, path: str | Path) -> bool:
        """Use a trained file's weights for the current stack (its architecture must match)."""
        path = Path(path)
        try:
            loaded = load_weights_file(path)
        except RnnvizError as exc:
            self.error.emit(str(exc))
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
            self.error.emit(f"cannot save: {exc}")
            return False
        self.info.emit(f"saved {path}")
        self._remember(Path(path))
        return True

    def export_states(self, out_dir: str | Path) -> bool:
        trace = self.state.trace
        if trace is None:
            self.error.emit("the run has not finished yet; export when every step is computed")
            return False
        try:
            written = trace.to_csv(out_dir)
        except RnnvizError as exc:
            self.error.emit(str(exc))
            return False
        self.info.emit(f"wrote {len(written)} files to {out_dir}")
        return True

    def export_image(self, path: str | Path) -> bool:
        if not self.image().save(str(path)):
            self.error.emit(f"{path}: cannot write the image (use .png or .jpg in a writable folder)")
            return False
        self.info.emit(f"saved {path}")
        return True

    @staticmethod
    def accepts(urls: list[QUrl]) -> bool:
        """Whether a drop of ``urls`` is files the app can open."""
        return bool(urls) and all(u.isLocalFile() and (Path(u.toLocalFile()).suffix.lower() in OPENABLE
                                                       or Path(u.toLocalFile()).is_dir()) for u in urls)

    # --- dialogs ------------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        with refocused(self.dialog_parent):
            path, _ = QFileDialog.getOpenFileName(self.dialog_parent, "Open", self._last_dir(),
                                                  "rnnviz files (*.toml *.json *.keras *.pt *.pth *.csv *.npy)")
        if path:
            self.open_file(path)

    def open_folder_dialog(self) -> None:
        with refocused(self.dialog_parent):
            path = QFileDialog.getExistingDirectory(self.dialog_parent, "Open a sweep's results folder", self._last_dir())
        if path:
            self.open_file(path)

    def import_weights_dialog(self) -> None:
        with refocused(self.dialog_parent):
            path, _ = QFileDialog.getOpenFileName(self.dialog_parent, "Import weights", self._last_dir(),
                                                  "Weights (*.keras *.pt *.pth)")
        if path:
            self.import_weights(path)

    def load_input_dialog(self) -> None:
        with refocused(self.dialog_parent):
            path, _ = QFileDialog.getOpenFileName(self.dialog_parent, "Load input", self._last_dir(),
                                                  "Input (*.csv *.npy)")
        if path:
            self.open_file(path)

    def save_spec_dialog(self) -> None:
        with refocused(self.dialog_parent):
            path, _ = QFileDialog.getSaveFileName(self.dialog_parent, "Save spec", self._last_dir(), "Spec (*.toml)")
        if path:
            self.save_spec(path if path.endswith(".toml") else path + ".toml")

    def export_states_dialog(self) -> None:
        with refocused(self.dialog_parent):
            path = QFileDialog.getExistingDirectory(self.dialog_parent, "Export hidden states into", self._last_dir())
        if path:
            self.export_states(path)

    def export_image_dialog(self) -> None:
        with refocused(self.dialog_parent):
            path, _ = QFileDialog.getSaveFileName(self.dialog_parent, "Export image", self._last_dir(),
                                                  "PNG image (*.png)")
        if path:
            self.export_image(path if Path(path).suffix else path + ".png")

    # --- recent files -------------------------------------------------------------------------------
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
