"""What the analysis views share: the analyses of the current run, filled in piece by piece by an
:class:`~rnnviz.ui.analysis_worker.AnalysisWorker`, and the fixed point and perturbation the user chose.

One :class:`AnalysisResults` per :class:`~rnnviz.ui.state.AppState` (see :func:`analysis_of`): a finished
run starts the analyses, a new run (every edit restarts the run) cancels them and clears the results.
Everything is kept in each stream's processing order (a backward direction's step 0 read input T-1),
as the core computes it; the views place it on the input-time axis.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from rnnviz.trace import Trace
from rnnviz.ui.analysis_jobs import analysis_jobs, fork_job
from rnnviz.ui.analysis_worker import AnalysisWorker, Piece
from rnnviz.ui.run_data import RunData
from rnnviz.ui.state import AppState

Key = tuple[int, str]  # layer from 0, direction (as Stream and Selection)
GIL_SWITCH_S = 0.0005


@dataclass
class StreamResults:
    """The analyses of one layer-direction, as :mod:`rnnviz.analysis` returns them. Per-step series
    start as NaN (not computed yet)."""

    steps: int
    series: dict[str, np.ndarray] = field(default_factory=dict)  # spectral_radius, sigma_max, gradient_log10
    lyapunov_steps: np.ndarray | None = None  # (m,) steps processed at each point of the running estimate
    lyapunov: np.ndarray | None = None  # (m, k) the k largest exponents estimated then, largest first
    pca: dict | None = None  # rnnviz.analysis.pca.pca of the stream's h: scores, loadings, mean, ratios
    fixed_points: object | None = None  # rnnviz.analysis.fixed_points.FixedPoints under zero input

    def per_step(self, name: str) -> np.ndarray:
        if name not in self.series:
            self.series[name] = np.full(self.steps, np.nan)
        return self.series[name]

    def add_lyapunov(self, steps: np.ndarray, rows: np.ndarray) -> None:
        if self.lyapunov is None:
            self.lyapunov_steps, self.lyapunov = steps, rows
        else:
            self.lyapunov_steps = np.concatenate([self.lyapunov_steps, steps])
            self.lyapunov = np.concatenate([self.lyapunov, rows])

    @property
    def spectrum(self) -> np.ndarray | None:
        """The Lyapunov spectrum: the running estimate's last row, once the whole run is analysed."""
        if self.lyapunov is None or self.lyapunov_steps[-1] != self.steps:
            return None
        return self.lyapunov[-1]


@dataclass(frozen=True)
class Fork:
    """A perturbed copy of the run from ``step`` (processing order) of stream ``key``.

    ``distance`` (steps,): ‖state′ − state‖ of the forked stream per processing step (NaN before the
    fork); ``difference`` (steps, units): h′ − h in processing order (0 before it);
    ``memory_horizon``/``divergence_time``: steps after the fork (None: not reached); ``above``: the
    :class:`rnnviz.analysis.perturb.Divergence` of every layer-direction above, which the nudge reaches."""

    key: Key
    step: int
    epsilon: float
    distance: np.ndarray
    difference: np.ndarray
    memory_horizon: int | None
    divergence_time: int | None
    above: list

    @classmethod
    def of(cls, key: Key, step: int, epsilon: float, divergences: list) -> Fork:
        """From :func:`rnnviz.analysis.perturb.perturb`'s result (the perturbed stream first)."""
        own = divergences[0]
        steps = step + len(own.distance)
        distance = np.full(steps, np.nan)
        distance[step:] = own.distance
        difference = np.zeros((steps, own.difference_h.shape[1]))
        difference[step:] = own.difference_h
        return cls(key, step, epsilon, distance, difference, own.memory_horizon, own.divergence_time,
                   divergences[1:])


class AnalysisResults(QObject):
    """The current run's analyses. Signals: ``updated(object)`` (a stream key, or None for all) when a
    piece arrived; ``progress(int, int)``; ``failed(str)``; ``fixed_point_chosen(object, int)`` (key,
    index); ``forked(object)`` (a :class:`Fork`, or None while one is being computed)."""

    updated = Signal(object)
    progress = Signal(int, int)
    failed = Signal(str)
    fixed_point_chosen = Signal(object, int)
    forked = Signal(object)

    def __init__(self, state: AppState) -> None:
        super().__init__(state)
        self.state = state
        self.results: dict[Key, StreamResults] = {}
        self.worker: AnalysisWorker | None = None
        self.fork_worker: AnalysisWorker | None = None
        self.retired: list[AnalysisWorker] = []
        self.complete = False
        self.problem = ""
        self.fork: Fork | None = None
        self.fork_pending = False
        self.chosen_fixed_point: tuple[Key, int] | None = None
        self.version = 0  # bumped by every change, so that a view redraws only when something changed
        state.run_started.connect(self._run_started)
        state.run_finished.connect(self._run_finished)

    # --- life cycle ---------------------------------------------------------------------------------
    @Slot(object)
    def _run_started(self, run: RunData) -> None:
        self._stop()
        self.results = {(s.layer, s.direction): StreamResults(run.timesteps) for s in run.streams}
        self.complete, self.problem, self.fork, self.fork_pending = False, "", None, False
        self.chosen_fixed_point = None
        self.progress.emit(0, 0)
        self._changed(None)
        self.forked.emit(None)

    @Slot(object)
    def _run_finished(self, trace: Trace) -> None:
        model = self.state.model
        if model is None:
            return
        keys = [(s.layer, s.direction) for s in self.state.run.shown_streams]
        self.worker = self._start(analysis_jobs(trace, model, keys))
        self.worker.done.connect(self._done)
        self.worker.progress.connect(self.progress)
        first = self.state.run.streams[0]
        self.request_fork((first.layer, first.direction), trace.timesteps // 4)

    def _start(self, jobs) -> AnalysisWorker:
        worker = AnalysisWorker(jobs)
        worker.piece.connect(self._on_piece)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_worker_finished)
        _short_gil_turns(worker)
        worker.start()
        return worker

    @Slot()
    def _on_worker_finished(self) -> None:
        _gil_turns_done(self.sender())

    def _stop(self) -> None:
        """Cancel the analyses in progress; cancelled workers are kept until they have finished."""
        finished = [w for w in self.retired if w.isFinished()]
        for worker in finished:
            _gil_turns_done(worker)  # as its ``finished`` slot would, which may not have run yet
        self.retired = [w for w in self.retired if w not in finished]
        for worker in (self.worker, self.fork_worker):
            if worker is not None:
                worker.cancel()
                self.retired.append(worker)
        self.worker = self.fork_worker = None

    def shutdown(self) -> None:
        """Cancel and wait for the analyses. One piece (a large layer's fixed-point search) may run on
        for long after a cancel: such a worker is kept alive in :data:`_UNFINISHED`, so that Qt never
        destroys a running thread, and :func:`exit_now_if_unfinished` ends the process without doing so."""
        self._stop()
        for worker in self.retired:
            if worker.wait(SHUTDOWN_WAIT_MS):
                _gil_turns_done(worker)  # its queued ``finished`` may never be delivered now
            else:
                _UNFINISHED.append(worker)

    def _current(self, sender: QObject | None) -> bool:
        return sender is not None and sender in (self.worker, self.fork_worker)

    @Slot()
    def _done(self) -> None:
        if self._current(self.sender()):
            self.complete = True
            self._changed(None)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._current(self.sender()):
            self.problem = message
            self.complete = True
            self.fork_pending = False
            self.failed.emit(message)
            self._changed(None)

    @Slot(object)
    def _on_piece(self, piece: Piece) -> None:
        """Store one piece (a small copy, so the GUI thread never waits on the analysis)."""
        if not self._current(self.sender()):
            return
        if piece.kind == "fork":
            epsilon, divergences = piece.values
            self.fork = Fork.of(piece.key, piece.start, epsilon, divergences)
            self.fork_pending = False
            self.version += 1
            self.forked.emit(self.fork)
            return
        results = self.results[piece.key]
        if piece.kind == "series":
            for name, values in piece.values.items():
                results.per_step(name)[piece.start:piece.start + len(values)] = values
        elif piece.kind == "lyapunov":
            results.add_lyapunov(*piece.values)
        elif piece.kind == "pca":
            results.pca = piece.values
        elif piece.kind == "fixed_points":
            results.fixed_points = piece.values
        self._changed(piece.key)

    def _changed(self, key: Key | None) -> None:
        self.version += 1
        self.updated.emit(key)

    # --- what the user asks for ---------------------------------------------------------------------
    def request_fork(self, key: Key, t: int, epsilon: float = 1e-4) -> None:
        """Perturb stream ``key``'s state at input time ``t`` and follow the perturbed run."""
        trace, model = self.state.trace, self.state.model
        if trace is None or model is None:
            return
        if self.fork_worker is not None:
            self.fork_worker.cancel()
            self.retired.append(self.fork_worker)
        self.fork_pending = True
        self.version += 1
        self.forked.emit(None)
        self.fork_worker = self._start([fork_job(trace, model, key, t, epsilon)])

    def choose_fixed_point(self, key: Key, index: int) -> None:
        if self.chosen_fixed_point != (key, index):
            self.chosen_fixed_point = (key, index)
            self.version += 1
            self.fixed_point_chosen.emit(key, index)


def analysis_of(state: AppState) -> AnalysisResults:
    """The analyses shared by every view of ``state`` (made by the first view that asks)."""
    results = state.findChild(AnalysisResults)
    return results if results is not None else AnalysisResults(state)


# The analyses' per-step Python loops hold the GIL; each time the GUI thread wants it back (after
# every numpy or Qt call that released it) it waits up to the switch interval, and a redraw makes
# dozens of such calls. 5 ms (CPython's default) made stalls of 300 ms. The interval is the process's,
# so it is shortened only while an analysis worker runs (of any window) and restored after the last.
_RUNNING: set[QObject] = set()
_switch_interval_before: list[float] = []


def _short_gil_turns(worker: QObject) -> None:
    if not _RUNNING:
        _switch_interval_before[:] = [sys.getswitchinterval()]
        sys.setswitchinterval(GIL_SWITCH_S)
    _RUNNING.add(worker)


def _gil_turns_done(worker: QObject) -> None:
    if worker in _RUNNING:
        _RUNNING.discard(worker)
        if not _RUNNING:
            sys.setswitchinterval(_switch_interval_before.pop())


SHUTDOWN_WAIT_MS = 10_000
_UNFINISHED: list[QObject] = []


def exit_now_if_unfinished(code: int) -> None:
    """End the process with ``code`` at once if an analysis thread is still running: at interpreter
    exit Qt would destroy it while it runs and abort ("QThread: Destroyed while thread is still
    running"). The analyses write no files, so nothing is lost."""
    if any(not worker.isFinished() for worker in _UNFINISHED):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
