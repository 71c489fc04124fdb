"""Cooperative cancellation of a running analysis, asked for from another thread.

A driver that may be told to stop (the app's analysis worker, when the user edits the model) runs the
core's functions inside :func:`cancellable` with an event of its own; the core's long loops (Adam
iterations of the fixed-point search, the steps of a fork, of the Lyapunov QR and of the gradient flow)
call :func:`checkpoint`, which raises :class:`Cancelled` once the event is set. Before, a cancel took
effect only between pieces, and a large model's fork or fixed-point search ran on for seconds.

The event is the calling thread's own (a thread-local), so no signature carries it and headless
callers, which never set one, pay one attribute lookup per checkpoint.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

CHECK_EVERY = 16  # steps of a stepping loop between two checkpoints

_local = threading.local()


class Cancelled(Exception):
    """The analysis was asked to stop; nothing it computed so far is to be used."""


@contextmanager
def cancellable(event: threading.Event) -> Iterator[None]:
    """Within this block, on this thread, :func:`checkpoint` raises once ``event`` is set."""
    previous = getattr(_local, "event", None)
    _local.event = event
    try:
        yield
    finally:
        _local.event = previous


def checkpoint() -> None:
    """Raise :class:`Cancelled` if this thread's analysis was asked to stop."""
    event = getattr(_local, "event", None)
    if event is not None and event.is_set():
        raise Cancelled
