"""Training: the files it writes open in rnnviz with torch's own states, the same seed gives the same bytes,
and a run can be cancelled."""

import numpy as np
import pytest
import torch

import rnnviz
from rnnviz.tasks import TrainingError, train

MODULES = {"SimpleRNN": torch.nn.RNN, "GRU": torch.nn.GRU, "LSTM": torch.nn.LSTM}


def torch_network(result):
    """The trained layer and readout rebuilt in plain torch from the saved state_dict."""
    features = result.inputs.shape[1]
    rnn = MODULES[result.layer_type](features, result.units, batch_first=True)
    rnn.load_state_dict({k.removeprefix("rnn."): v for k, v in result.state_dict.items() if k.startswith("rnn.")})
    head = torch.nn.Linear(result.units, result.targets.shape[1])
    head.load_state_dict({k.removeprefix("readout."): v for k, v in result.state_dict.items()
                          if k.startswith("readout.")})
    return rnn, head


@pytest.mark.parametrize("layer_type, task", [("SimpleRNN", "delay"), ("GRU", "flipflop"), ("LSTM", "sine")])
def test_written_model_runs_in_rnnviz_like_torch(tmp_path, layer_type, task):
    result = train(task, layer_type, 6, seed=1, steps=4)
    written = result.write(tmp_path / "out")
    assert sorted(p.name for p in written) == ["input.npy", "model.pt", "target.npy", "train.csv"]
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["input.npy", "model.pt", "target.npy", "train.csv"]  # no temps
    assert np.array_equal(np.load(out / "input.npy"), result.inputs)
    assert np.array_equal(np.load(out / "target.npy"), result.targets)

    trace = rnnviz.run(out / "model.pt", inputs=out / "input.npy", device="cpu")
    rnn, head = torch_network(result)
    with torch.no_grad():
        expected = rnn(torch.from_numpy(result.inputs)[None])[0][0].numpy()
    hidden = trace.hidden(1, "forward")
    np.testing.assert_allclose(hidden, expected, atol=1e-5)
    readout = hidden @ result.state_dict["readout.weight"].numpy().T + result.state_dict["readout.bias"].numpy()
    assert result.test_error == pytest.approx(np.mean((readout - result.targets) ** 2), rel=1e-4)

    rows = (out / "train.csv").read_text().splitlines()
    assert rows[0] == "step,loss,lr" and len(rows) == 5
    steps, losses, rates = np.loadtxt(out / "train.csv", delimiter=",", skiprows=1, unpack=True)
    assert list(steps) == [1, 2, 3, 4]
    np.testing.assert_array_equal(losses.astype(np.float32), result.losses)  # round-trips
    np.testing.assert_array_equal(rates, result.learning_rates)
    assert rates[0] == 1e-2 and np.all(np.diff(rates) < 0)  # cosine decay


def test_loss_falls_on_the_delay_task():
    result = train("delay", "SimpleRNN", 16, steps=100)
    assert result.losses[-10:].mean() < 0.1 * result.losses[:5].mean()


def test_same_seed_same_bytes_other_seed_other_model(tmp_path):
    threads = torch.get_num_threads()
    first, second, other = (train("flipflop", "GRU", 5, seed=s, steps=3) for s in (7, 7, 8))
    assert torch.get_num_threads() == threads  # restored after training on one thread
    for name, result in (("a", first), ("b", second), ("c", other)):
        result.write(tmp_path / name)
    model = lambda name: (tmp_path / name / "model.pt").read_bytes()  # noqa: E731
    assert model("a") == model("b") and model("a") != model("c")
    assert (tmp_path / "a" / "train.csv").read_bytes() == (tmp_path / "b" / "train.csv").read_bytes()
    assert np.array_equal(first.inputs, other.inputs) is False


def test_training_leaves_the_callers_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train("sine", "SimpleRNN", 4, steps=2)
    assert torch.equal(torch.rand(3), expected)


def test_progress_reports_every_step_and_can_cancel():
    calls = []

    def progress(step, total, loss):
        calls.append((step, total, loss))
        return step < 3

    result = train("flipflop", "SimpleRNN", 4, steps=50, progress=progress)
    assert [c[:2] for c in calls] == [(1, 50), (2, 50), (3, 50)]
    assert [c[2] for c in calls] == list(result.losses)
    assert result.cancelled and len(result.losses) == 3 and result.steps == 50
    assert np.isfinite(result.test_error)

    asked = []
    stopped = train("delay", "GRU", 4, steps=50, should_stop=lambda: len(asked.append(1) or asked) > 2)
    assert stopped.cancelled and len(stopped.losses) == 2
    assert not train("delay", "GRU", 4, steps=2).cancelled


def test_default_steps_are_the_tasks():
    calls = []
    train("flipflop", "GRU", 4, progress=lambda step, total, loss: calls.append(total) or False)
    assert calls == [2000]


@pytest.mark.parametrize("kwargs, needle", [
    (dict(layer_type="RNN"), "unknown layer type 'RNN'"), (dict(units=0), "units: expected"),
    (dict(units=2.0), "units: expected"), (dict(units=True), "units: expected"), (dict(seed=-1), "seed: expected"),
    (dict(seed=2**31), "seed: expected"), (dict(steps=0), "steps: expected"), (dict(task="xor"), "unknown task")])
def test_bad_requests_fail_before_training(kwargs, needle):
    request = dict(task="flipflop", layer_type="GRU", units=4, seed=0, steps=1) | kwargs
    with pytest.raises(TrainingError, match=needle):
        train(request.pop("task"), request.pop("layer_type"), request.pop("units"), **request)
