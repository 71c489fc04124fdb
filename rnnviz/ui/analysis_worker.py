"""The analysis worker: runs the core's analyses of a finished run off the GUI thread.

Work comes as *jobs*, each a generator that yields :class:`Piece` objects, one small result at a time
(a chunk of per-step Jacobian norms, one stream's PCA fit ...). The worker hands each piece over with
a queued signal as soon as it is made, so the GUI thread only ever stores a small array, and a long
analysis never stalls the event loop. A cancel takes effect between pieces and, through
:mod:`rnnviz.analysis.cancel`, inside the core's long loops, within a few steps.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterator, NamedTuple

from PySide6.QtCore import QThread, Signal

from rnnviz.analysis.cancel import Cancelled, cancellable
from rnnviz.errors import RnnvizError
from rnnviz.ui.worker import _yield_cpu_to_gui  # the compute worker's niceness, shared


class Piece(NamedTuple):
    """One result: ``kind`` (what it is), ``key`` (the stream it belongs to: layer from 0 and direction,
    or None), ``start`` (first processing step it covers, for per-step series) and ``values``."""

    kind: str
    key: tuple[int, str] | None
    start: int
    values: object


Job = Callable[[], Iterator[Piece]]


class AnalysisWorker(QThread):
    """Runs ``jobs`` in turn. ``piece(Piece)`` per result, ``progress(done, total)`` after each job,
    ``done()`` when all finished, ``failed(str)`` with a one-line reason."""

    piece = Signal(object)
    progress = Signal(int, int)
    done = Signal()
    failed = Signal(str)

    def __init__(self, jobs: list[Job]) -> None:
        super().__init__()
        self.jobs = jobs
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def run(self) -> None:  # runs in the worker thread
        _yield_cpu_to_gui()
        try:
            with cancellable(self._cancelled):  # the core's long loops stop within a few steps of a cancel
                self._run_jobs()
        except Cancelled:
            pass
        except RnnvizError as exc:
            self.failed.emit(str(exc))
        except MemoryError:
            self.failed.emit("analysis ran out of memory: use fewer timesteps or units")
        except Exception as exc:  # noqa: BLE001 - shown in the view; the app keeps working
            self.failed.emit(f"analysis failed: {type(exc).__name__}: {exc}")

    def _run_jobs(self) -> None:
        for index, job in enumerate(self.jobs):
            pieces = job()
            try:
                for piece in pieces:
                    if self._cancelled.is_set():
                        return
                    self.piece.emit(piece)
            finally:
                pieces.close()
            self.progress.emit(index + 1, len(self.jobs))
        if not self._cancelled.is_set():
            self.done.emit()
