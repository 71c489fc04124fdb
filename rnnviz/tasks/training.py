"""Train a one-layer recurrent network on a toy task, and write what rnnviz opens.

The network is a torch ``nn.RNN`` (tanh) / ``nn.GRU`` / ``nn.LSTM`` under the prefix ``rnn.`` and a
``nn.Linear`` readout under ``readout.``; rnnviz's state_dict reader takes the first and ignores the
second. Training uses Adam with a cosine-decayed learning rate and gradient clipping.

Reproducible to the byte: the seed fixes torch's initialisation (in a forked RNG, so the caller's global
state is untouched) and every batch (numpy), and training runs on one CPU thread (``torch.set_num_threads(1)``
for its duration, restored afterwards), since a different thread count may sum in another order. One
thread is also the fastest for networks this small.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from rnnviz.tasks.tasks import Task, TrainingError, make_task

LAYER_TYPES = ("SimpleRNN", "GRU", "LSTM")
MAX_UNITS = 4096
MAX_STEPS = 10**7
MAX_SEED = 2**31 - 1
CLIP_NORM = 1.0

Progress = Callable[[int, int, float], "bool | None"]


@dataclass
class TrainResult:
    """A trained model, how training went, and its held-out test sequence.

    ``losses`` (float32, as computed) and ``learning_rates`` have one entry per completed step; ``cancelled`` says training stopped
    early (the model is then the one after ``len(losses)`` steps). ``test_output`` is the network's
    readout on ``inputs``; ``test_error`` its mean squared error against ``targets``.
    """

    task: str
    layer_type: str
    units: int
    seed: int
    steps: int  # requested
    losses: np.ndarray
    learning_rates: np.ndarray
    state_dict: dict[str, Any]  # name -> torch tensor
    inputs: np.ndarray  # (timesteps, features) float32
    targets: np.ndarray  # (timesteps, outputs) float32
    test_output: np.ndarray
    test_error: float
    seconds: float
    cancelled: bool = False

    def write(self, out_dir: str | Path) -> list[Path]:
        """``model.pt``, ``input.npy``, ``target.npy`` and ``train.csv`` in ``out_dir``, each written atomically."""
        import torch

        from rnnviz.export import atomic_write, prepare_out_dir

        out = Path(out_dir)
        prepare_out_dir(out)
        paths = [out / name for name in ("model.pt", "input.npy", "target.npy", "train.csv")]
        with atomic_write(paths[0], "wb") as fh:
            torch.save(self.state_dict, fh)
        for path, array in zip(paths[1:3], (self.inputs, self.targets)):
            with atomic_write(path, "wb") as fh:
                np.save(fh, array)
        with atomic_write(paths[3]) as fh:
            fh.write("step,loss,lr\n")
            for step, (loss, lr) in enumerate(zip(self.losses.tolist(), self.learning_rates.tolist()), start=1):
                fh.write(f"{step},{loss:.9g},{lr!r}\n")  # every float32 loss and float64 rate exactly
        return paths


def check_request(task: str, layer_type: str, units: Any, seed: Any, steps: Any, delay: Any = None) -> Task:
    """The task, once every argument has been checked: a mistake fails here, before any training."""
    spec = make_task(task, delay)
    if layer_type not in LAYER_TYPES:
        raise TrainingError(f"type: unknown layer type {layer_type!r}; expected one of {', '.join(LAYER_TYPES)}")
    for name, value, low, high in (("units", units, 1, MAX_UNITS), ("seed", seed, 0, MAX_SEED),
                                   ("steps", steps, 1, MAX_STEPS)):
        if name == "steps" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
            raise TrainingError(f"{name}: expected a whole number from {low} to {high}, got {value!r}")
    return spec


def _network(layer_type: str, features: int, units: int, outputs: int):
    import torch

    class Network(torch.nn.Module):
        """The recurrent layer and its linear readout, under the prefixes the saved state_dict keeps."""

        def __init__(self) -> None:
            super().__init__()
            module = {"SimpleRNN": torch.nn.RNN, "GRU": torch.nn.GRU, "LSTM": torch.nn.LSTM}[layer_type]
            self.rnn = module(features, units, batch_first=True)
            self.readout = torch.nn.Linear(units, outputs)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.readout(self.rnn(x)[0])

    return Network()


def train(task: str, layer_type: str, units: int, *, seed: int = 0, steps: int | None = None,
          delay: int | None = None, progress: Progress | None = None,
          should_stop: Callable[[], bool] | None = None) -> TrainResult:
    """Train ``layer_type`` (SimpleRNN, GRU, LSTM) with ``units`` on ``task`` (flipflop, delay, sine).

    ``steps`` defaults to the task's own (enough for a GRU(24) flip-flop to hold its 8 memories as stable
    fixed points). ``progress(step, total, loss)`` is called after every step; training stops early, with
    the model so far, when it returns False or when ``should_stop()`` returns True (both may be called
    from a worker thread's loop; they run in it).
    """
    import torch

    spec = check_request(task, layer_type, units, seed, steps, delay)
    total = spec.default_steps if steps is None else int(steps)
    train_rng, test_rng = (np.random.default_rng([int(seed), stream]) for stream in (0, 1))
    threads = torch.get_num_threads()
    start = time.perf_counter()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            net = _network(layer_type, spec.features, int(units), spec.outputs)
            noise = torch.Generator().manual_seed(int(seed))
        losses, rates = _fit(net, spec, total, train_rng, noise, progress, should_stop)
        inputs, targets = spec.test(test_rng)
        with torch.no_grad():
            output = net(torch.from_numpy(inputs)[None])[0].numpy()
    finally:
        torch.set_num_threads(threads)
    state = {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}
    return TrainResult(task, layer_type, int(units), int(seed), total, np.array(losses, np.float32),
                       np.array(rates, np.float64), state, inputs, targets, output,
                       float(np.mean((output - targets) ** 2)), time.perf_counter() - start,
                       cancelled=len(losses) < total)


def _fit(net, spec: Task, total: int, rng: np.random.Generator, noise, progress: Progress | None,
         should_stop: Callable[[], bool] | None) -> tuple[list[float], list[float]]:
    import torch

    params = list(net.parameters())
    optimizer = torch.optim.Adam(params, lr=spec.learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total)
    losses: list[float] = []
    rates: list[float] = []
    for step in range(1, total + 1):
        if should_stop is not None and should_stop():
            break
        x, y = (torch.from_numpy(a) for a in spec.draw(rng, spec.batch, spec.timesteps))
        if spec.input_noise:
            x = x + spec.input_noise * torch.randn(x.shape, generator=noise)
        loss = torch.mean((net(x) - y) ** 2)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP_NORM)
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if progress is not None and progress(step, total, losses[-1]) is False:
            break
    return losses, rates
