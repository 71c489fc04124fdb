"""The built-in toy tasks, whose trained dynamics are known in advance.

Each task draws batches ``(inputs, targets)`` of shape (batch, timesteps, channels), float32, from a
numpy ``Generator``, so that a seed fixes every batch. The held-out test sequence comes from its own
stream and has rnnviz's input layout, (timesteps, features).

* ``flipflop``: the 3-bit flip-flop of Sussillo & Barak (2013). Sparse ±1 pulses on 3 channels; each
  output holds the sign of the last pulse on its channel. Every sequence opens with a pulse on every
  channel, so a memory is always defined and "no memory yet" never becomes a ninth attractor. A trained
  network keeps its 8 memories as 8 stable fixed points.
* ``delay``: recall the input ``delay`` steps later (before that, the output is 0, which is what a delay
  line started from the zero state gives). Its trained dynamics are a shift register.
* ``sine``: a static input level sets the frequency; the output is ``sin(omega t)``. The test sequence
  uses a level between two training levels, so it checks interpolation, not recall. Its trained dynamics
  are a family of limit cycles, one per level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from rnnviz.errors import RnnvizError


class TrainingError(RnnvizError):
    """A toy-task training request (task, layer type, units, steps, seed, option) is invalid."""


FLIPFLOP_CHANNELS = 3
FLIPFLOP_PULSE_PROBABILITY = 0.04  # per channel and step: a memory is held 25 steps on average
DEFAULT_DELAY = 5
MAX_DELAY = 50
SINE_LEVELS = 51  # training frequencies, as in Sussillo & Barak's sine-wave generator
SINE_OMEGA = (0.1, 0.6)  # radians per step, lowest and highest training frequency
TEST_TIMESTEPS = 500  # long enough for the flip-flop test to visit all 8 memories
TASK_NAMES = ("flipflop", "delay", "sine")


def flipflop_targets(pulses: np.ndarray) -> np.ndarray:
    """For (batch, timesteps, channels) pulses, the sign of the latest non-zero pulse on each channel (0 before
    the first one)."""
    batch, timesteps, channels = pulses.shape
    index = np.where(pulses != 0, np.arange(timesteps)[None, :, None], -1)
    latest = np.maximum.accumulate(index, axis=1)
    held = np.take_along_axis(pulses, np.maximum(latest, 0), axis=1)
    return np.where(latest >= 0, held, 0).astype(np.float32)


def _flipflop_pulses(rng: np.random.Generator, batch: int, timesteps: int) -> np.ndarray:
    shape = (batch, timesteps, FLIPFLOP_CHANNELS)
    pulses = np.where(rng.random(shape) < FLIPFLOP_PULSE_PROBABILITY, rng.choice([-1.0, 1.0], shape), 0.0)
    pulses[:, 0, :] = rng.choice([-1.0, 1.0], (batch, FLIPFLOP_CHANNELS))
    return pulses.astype(np.float32)


def flipflop_batch(rng: np.random.Generator, batch: int, timesteps: int) -> tuple[np.ndarray, np.ndarray]:
    pulses = _flipflop_pulses(rng, batch, timesteps)
    return pulses, flipflop_targets(pulses)


def flipflop_test(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A test sequence that holds each of the 8 memories at least once (drawn again until it does)."""
    while True:
        pulses, targets = flipflop_batch(rng, 1, TEST_TIMESTEPS)
        if len(np.unique(targets[0], axis=0)) == 2 ** FLIPFLOP_CHANNELS:
            return pulses[0], targets[0]


def delay_batch(rng: np.random.Generator, batch: int, timesteps: int, delay: int) -> tuple[np.ndarray, np.ndarray]:
    inputs = rng.uniform(-1.0, 1.0, (batch, timesteps, 1)).astype(np.float32)
    targets = np.zeros_like(inputs)
    targets[:, delay:] = inputs[:, :timesteps - delay]
    return inputs, targets


def sine_level(omega: np.ndarray | float) -> np.ndarray:
    """The static input level that asks for frequency ``omega``: 0.25 … 1.25 across the training range."""
    low, high = SINE_OMEGA
    return np.asarray(0.25 + (np.asarray(omega) - low) / (high - low), dtype=np.float32)


def _sine(omega: np.ndarray, timesteps: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets (batch, timesteps, 1) for one frequency per sequence."""
    t = np.arange(timesteps, dtype=np.float64)
    inputs = np.broadcast_to(sine_level(omega)[:, None, None], (len(omega), timesteps, 1))
    targets = np.sin(omega[:, None, None] * t[None, :, None])
    return np.ascontiguousarray(inputs, dtype=np.float32), targets.astype(np.float32)


def sine_batch(rng: np.random.Generator, batch: int, timesteps: int) -> tuple[np.ndarray, np.ndarray]:
    omega = np.linspace(*SINE_OMEGA, SINE_LEVELS)[rng.integers(0, SINE_LEVELS, batch)]
    return _sine(omega, timesteps)


def sine_test(rng: np.random.Generator, timesteps: int) -> tuple[np.ndarray, np.ndarray]:
    """Halfway between two training frequencies, so the network must interpolate."""
    levels = np.linspace(*SINE_OMEGA, SINE_LEVELS)
    j = int(rng.integers(0, SINE_LEVELS - 1))
    inputs, targets = _sine(np.array([(levels[j] + levels[j + 1]) / 2]), timesteps)
    return inputs[0], targets[0]


@dataclass(frozen=True)
class Task:
    """How to train one task: channels, batch shape, default length of training, and its data."""

    name: str
    features: int
    outputs: int
    timesteps: int  # of each training sequence
    batch: int
    default_steps: int
    learning_rate: float
    input_noise: float  # std of Gaussian noise added to training inputs: it makes the memories robust attractors
    draw: Callable[[np.random.Generator, int, int], tuple[np.ndarray, np.ndarray]]
    test: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]


def make_task(name: str, delay: int | None = None) -> Task:
    """The task called ``name``; ``delay`` (steps) is the delay task's only option."""
    if name not in TASK_NAMES:
        raise TrainingError(f"task: unknown task {name!r}; expected one of {', '.join(TASK_NAMES)}")
    if delay is not None and name != "delay":
        raise TrainingError(f"delay: only the delay task takes a delay, not {name}")
    if name == "flipflop":
        return Task(name, FLIPFLOP_CHANNELS, FLIPFLOP_CHANNELS, timesteps=100, batch=64, default_steps=2000,
                    learning_rate=1e-2, input_noise=0.1, draw=flipflop_batch, test=flipflop_test)
    if name == "delay":
        d = DEFAULT_DELAY if delay is None else delay
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 1 <= d <= MAX_DELAY:
            raise TrainingError(f"delay: expected a whole number of steps from 1 to {MAX_DELAY}, got {d!r}")
        return Task(name, 1, 1, timesteps=100, batch=64, default_steps=1500, learning_rate=1e-2, input_noise=0.0,
                    draw=lambda rng, b, t: delay_batch(rng, b, t, int(d)),
                    test=lambda rng: tuple(a[0] for a in delay_batch(rng, 1, TEST_TIMESTEPS, int(d))))
    return Task(name, 1, 1, timesteps=200, batch=64, default_steps=2000, learning_rate=1e-2, input_noise=0.0,
                draw=sine_batch, test=lambda rng: sine_test(rng, 200))

