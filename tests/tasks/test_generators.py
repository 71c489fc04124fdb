"""The task generators: shapes, seeding, and each target against an independent definition."""

import numpy as np
import pytest

from rnnviz.tasks import TASK_NAMES, TrainingError
from rnnviz.tasks.tasks import (FLIPFLOP_CHANNELS, SINE_LEVELS, SINE_OMEGA, TEST_TIMESTEPS, delay_batch,
                                flipflop_targets, make_task)


def looped_flipflop(pulses):
    """The flip-flop's definition, one step at a time: each output repeats the last non-zero pulse."""
    out = np.zeros_like(pulses)
    for b in range(pulses.shape[0]):
        memory = [0.0] * pulses.shape[2]
        for t in range(pulses.shape[1]):
            for c in range(pulses.shape[2]):
                if pulses[b, t, c] != 0:
                    memory[c] = pulses[b, t, c]
                out[b, t, c] = memory[c]
    return out


@pytest.mark.parametrize("name", TASK_NAMES)
def test_batches_have_the_task_shape_and_follow_the_seed(name):
    task = make_task(name)
    x, y = task.draw(np.random.default_rng(3), 5, 40)
    assert x.shape == (5, 40, task.features) and y.shape == (5, 40, task.outputs)
    assert x.dtype == y.dtype == np.float32
    again = task.draw(np.random.default_rng(3), 5, 40)
    assert np.array_equal(x, again[0]) and np.array_equal(y, again[1])
    tx, ty = task.test(np.random.default_rng(3))
    assert tx.ndim == ty.ndim == 2 and tx.shape[1] == task.features and ty.shape == (len(tx), task.outputs)


def test_flipflop_targets_hold_the_last_pulse():
    x, y = make_task("flipflop").draw(np.random.default_rng(0), 16, 120)
    assert set(np.unique(x)) == {-1.0, 0.0, 1.0}
    assert np.all(x[:, 0] != 0)  # every sequence opens with a memory on every channel
    assert np.array_equal(y, looped_flipflop(x))
    assert 0.01 < np.mean(x[:, 1:] != 0) < 0.1  # sparse pulses


def test_flipflop_targets_are_zero_before_the_first_pulse():
    pulses = np.zeros((1, 6, 2), np.float32)
    pulses[0, 2, 0], pulses[0, 4, 0], pulses[0, 3, 1] = 1, -1, -1
    assert np.array_equal(flipflop_targets(pulses), looped_flipflop(pulses))


def test_flipflop_test_sequence_visits_every_memory():
    x, y = make_task("flipflop").test(np.random.default_rng(0))
    assert x.shape == (TEST_TIMESTEPS, FLIPFLOP_CHANNELS)
    assert np.array_equal(y, looped_flipflop(x[None])[0])
    assert len({tuple(row) for row in y}) == 2 ** FLIPFLOP_CHANNELS


@pytest.mark.parametrize("delay", [1, 5, 17])
def test_delay_targets_repeat_the_input_later(delay):
    x, y = make_task("delay", delay).draw(np.random.default_rng(1), 3, 60)
    for t in range(60):
        expected = x[:, t - delay] if t >= delay else np.zeros_like(x[:, 0])
        assert np.array_equal(y[:, t], expected)
    assert np.array_equal(delay_batch(np.random.default_rng(1), 3, 60, delay)[1], y)


def test_sine_level_sets_the_frequency():
    x, y = make_task("sine").draw(np.random.default_rng(2), 8, 50)
    low, high = SINE_OMEGA
    trained = np.linspace(low, high, SINE_LEVELS)
    for b in range(8):
        level = x[b, 0, 0]
        assert np.all(x[b] == level)  # static
        omega = low + (level - 0.25) * (high - low)  # the level runs from 0.25 to 1.25 over the range
        assert np.min(np.abs(trained - omega)) < 1e-6
        np.testing.assert_allclose(y[b, :, 0], np.sin(omega * np.arange(50)), atol=1e-5)


def test_sine_test_frequency_is_between_training_ones():
    x, y = make_task("sine").test(np.random.default_rng(0))
    low, high = SINE_OMEGA
    omega = low + (x[0, 0] - 0.25) * (high - low)
    gaps = np.sort(np.abs(np.linspace(low, high, SINE_LEVELS) - omega))
    np.testing.assert_allclose(gaps[:2], (high - low) / (SINE_LEVELS - 1) / 2, atol=1e-6)
    np.testing.assert_allclose(y[:, 0], np.sin(omega * np.arange(len(y))), atol=1e-5)


@pytest.mark.parametrize("name, delay, needle", [("copy", None, "unknown task 'copy'"),
                                                  ("flipflop", 3, "only the delay task"),
                                                  ("delay", 0, "from 1 to 50"), ("delay", 51, "from 1 to 50"),
                                                  ("delay", 2.5, "whole number")])
def test_bad_task_requests(name, delay, needle):
    with pytest.raises(TrainingError, match=needle):
        make_task(name, delay)
