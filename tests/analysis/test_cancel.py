"""Cooperative cancellation: the core's long loops stop at their next checkpoint once asked to,
only on the thread that was asked, and never when no one asks (headless runs)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from rnnviz.analysis.cancel import Cancelled, cancellable, checkpoint
from rnnviz.analysis.fixed_points import find_fixed_points
from tests.analysis.helpers import random_cell


def test_checkpoint_raises_only_inside_a_cancelled_block():
    checkpoint()  # no driver: nothing happens
    event = threading.Event()
    with cancellable(event):
        checkpoint()
        event.set()
        with pytest.raises(Cancelled):
            checkpoint()
    checkpoint()  # the block is over: the thread is free again


def test_a_cancel_is_seen_by_its_own_thread_only():
    event = threading.Event()
    event.set()
    raised = []

    def other() -> None:
        try:
            checkpoint()
        except Cancelled:
            raised.append(True)

    with cancellable(event):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert raised == []


def test_a_long_fixed_point_search_stops_soon_after_a_cancel():
    cell = random_cell("GRU", 64, 8, seed=3)
    samples = np.random.default_rng(0).uniform(-1, 1, (200, 64))
    event = threading.Event()
    timer = threading.Timer(0.3, event.set)
    started = time.perf_counter()
    timer.start()
    with cancellable(event), pytest.raises(Cancelled):
        # ten million settling steps would run for hours
        find_fixed_points(cell, np.zeros(8), samples, n_inits=64, settle_steps=10_000_000)
    assert time.perf_counter() - started < 5


def test_adam_iterations_stop_soon_after_a_cancel():
    cell = random_cell("GRU", 64, 8, scale=2.0, seed=3)
    samples = np.random.default_rng(0).uniform(-1, 1, (200, 64))
    event = threading.Event()
    event.set()  # asked before it starts: the first Adam iteration's checkpoint stops it
    with cancellable(event), pytest.raises(Cancelled):
        find_fixed_points(cell, np.zeros(8), samples, n_inits=64, settle_steps=0, max_iters=1_000_000)
