"""The app's state, which every view reads and edits through: the draft model and its undo history.

A *draft* is a spec that may be invalid while the user is editing (a middle layer that does not
return sequences, a text source with no text). The session validates each draft and prepares the
run (input array, weights) once, so the views only display ``problem`` or the summary.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from rnnviz.errors import RnnvizError
from rnnviz.headless import prepare
from rnnviz.model import Model
from rnnviz.spec import InitSpec, InputSpec, LayerSpec, ModelSpec
from rnnviz.summary import Summary, summary


@dataclass(frozen=True)
class Draft:
    """The fields of a :class:`ModelSpec`, not yet validated."""

    input: InputSpec
    layers: tuple[LayerSpec, ...]
    init: InitSpec
    weights: str | None = None

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> Draft:
        layers = tuple(replace(l, return_sequences=spec.returns_sequences(i)) for i, l in enumerate(spec.layers))
        return cls(spec.input, layers, spec.init, spec.weights)

    def to_spec(self) -> ModelSpec:
        return ModelSpec(input=self.input, layers=self.layers, init=self.init, weights=self.weights)

    def with_layers(self, layers: list[LayerSpec] | tuple[LayerSpec, ...]) -> Draft:
        return replace(self, layers=tuple(layers))


class _Edit(QUndoCommand):
    def __init__(self, session: Session, before: Draft, after: Draft, text: str) -> None:
        super().__init__(text)
        self.session, self.before, self.after = session, before, after

    def redo(self) -> None:
        self.session._set(self.after)

    def undo(self) -> None:
        self.session._set(self.before)


class Session(QObject):
    """Holds the draft; ``changed`` fires after every edit, undo and redo."""

    changed = Signal()

    def __init__(self, draft: Draft, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self._draft = draft
        self.problem: str | None = None
        self.model: Model | None = None
        self.inputs: np.ndarray | None = None
        self.summary: Summary | None = None
        self._evaluate()

    @property
    def draft(self) -> Draft:
        return self._draft

    @property
    def valid(self) -> bool:
        return self.problem is None

    def edit(self, draft: Draft, text: str) -> None:
        """Apply an edit as one undoable step (nothing happens if it changes nothing)."""
        if draft != self._draft:
            self.undo_stack.push(_Edit(self, self._draft, draft, text))

    def _set(self, draft: Draft) -> None:
        self._draft = draft
        self._evaluate()
        self.changed.emit()

    def _evaluate(self) -> None:
        self.model = self.inputs = self.summary = None
        try:
            self.model, self.inputs = prepare(self._draft.to_spec())
            self.summary = summary(self.model.spec, self.model.names, self.model.model_name)
            self.problem = None
        except RnnvizError as exc:
            self.problem = str(exc)
