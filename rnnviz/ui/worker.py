"""The compute worker: drains the engine's stepping generator off the GUI thread.

It never touches a widget: each block (numpy copies) is handed over with a queued signal, and the
views redraw on their own timer. Between blocks it honours pause and cancel, so editing the model
or closing the window stops it within one block.
"""

from __future__ import annotations

import os
import threading
from typing import Callable

import numpy as np
from PySide6.QtCore import QThread, Signal

from rnnviz.engine.stepper import Block
from rnnviz.errors import RnnvizError
from rnnviz.model import Model


COMPUTE_NICENESS = 10


def _yield_cpu_to_gui() -> None:
    """Lower the calling compute thread's CPU priority, so that when compute keeps every core busy
    the GUI thread still paints on time, and this worker hands each block over as soon as it is
    woken. Linux only; elsewhere a no-op."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), COMPUTE_NICENESS)
    except (AttributeError, OSError):
        pass


class ComputeWorker(QThread):
    """Runs one model once. Signals carry plain Python/numpy objects.

    ``store``, if given, is called in the worker thread with each block before the block is handed
    over (the views' buffers are filled there, see :meth:`rnnviz.ui.run_data.RunData.store`).
    """

    started_on = Signal(str)  # the resolved device, once torch is ready
    block_ready = Signal(object)  # rnnviz.engine.stepper.Block
    done = Signal(object)  # rnnviz.trace.Trace, complete
    failed = Signal(str)

    def __init__(self, model: Model, inputs: np.ndarray, device: str,
                 store: Callable[[Block], None] | None = None) -> None:
        super().__init__()
        self.model = model
        self.inputs = inputs
        self.device = device
        self.store = store
        self._cancelled = threading.Event()
        self._allowed = threading.Event()
        self._allowed.set()

    def cancel(self) -> None:
        self._cancelled.set()
        self._allowed.set()

    def pause(self) -> None:
        self._allowed.clear()

    def resume(self) -> None:
        self._allowed.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def run(self) -> None:  # runs in the worker thread
        from rnnviz.headless import stepper

        try:
            steps = stepper(self.model, self.inputs, self.device, thread_init=_yield_cpu_to_gui)
            self.started_on.emit(steps.device)
            blocks = iter(steps)
            try:
                for block in blocks:
                    if self._cancelled.is_set():
                        return
                    if self.store is not None:
                        self.store(block)
                    self.block_ready.emit(block)
                    self._allowed.wait()  # paused: compute nothing more until resumed or cancelled
            finally:
                blocks.close()
            if not self._cancelled.is_set():
                self.done.emit(steps.trace)
        except RnnvizError as exc:
            self.failed.emit(str(exc))
        except MemoryError:
            self.failed.emit("out of memory: use fewer timesteps, layers or units")
        except Exception as exc:  # noqa: BLE001 - shown in the window; the app keeps working
            self.failed.emit(f"{type(exc).__name__}: {exc}")
