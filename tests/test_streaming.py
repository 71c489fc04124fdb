"""Runs whose states exceed the memory budget: the spooled path writes the very same files as the
in-memory one, leaves no spool behind, and really gives its pages back."""

import errno
import os
import tempfile

import numpy as np
import pytest

import rnnviz
from rnnviz import export, spool, trace as trace_module
from rnnviz.engine import stepper as stepper_module
from rnnviz.errors import RnnvizError
from rnnviz.headless import prepare
from rnnviz.spec import InitSpec, InputSpec, LayerSpec, ModelSpec

STEPS = 1500


def deep_spec():
    return ModelSpec(input=InputSpec(timesteps=STEPS, features=3, source="normal", seed=1),
                     layers=[LayerSpec("LSTM", 5, True), LayerSpec("GRU", 4), LayerSpec("SimpleRNN", 3, True)],
                     init=InitSpec("normal", 1.2, 3))


@pytest.fixture
def spool_dir(tmp_path, monkeypatch):
    """A private temporary folder, so that a spool left behind would be seen."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def force_spool(monkeypatch):
    """Spool every trace, drop pages after every block, export in chunks of a few rows."""
    monkeypatch.setattr(trace_module, "SPOOL_ABOVE", 0)
    monkeypatch.setattr(trace_module, "CHUNK_ROWS_BYTES", 4 * 7 * 5)
    monkeypatch.setattr(stepper_module, "RELEASE_EVERY", 1)
    monkeypatch.setattr(export, "CHUNK_VALUES", 173)


def files_of(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_spooled_run_writes_the_same_bytes(tmp_path, spool_dir, monkeypatch):
    in_memory = rnnviz.run(deep_spec(), device="cpu")
    assert not spool.is_spooled(in_memory.hidden(1))
    in_memory.to_csv(tmp_path / "memory", tidy=True)
    in_memory.to_npz(tmp_path / "memory_npz")
    force_spool(monkeypatch)
    streamed = rnnviz.run(deep_spec(), device="cpu")
    assert all(spool.is_spooled(values) for _, _, values in streamed.streams())
    assert all(spool.is_spooled(values) for *_, values in streamed.gate_streams())
    streamed.to_csv(tmp_path / "spooled", tidy=True)
    streamed.to_npz(tmp_path / "spooled_npz")
    memory, spooled = files_of(tmp_path / "memory"), files_of(tmp_path / "spooled")
    assert sorted(spooled) == sorted(memory) and "layer1_backward_c.csv" in spooled
    for name in memory:
        assert spooled[name] == memory[name], name
    with np.load(tmp_path / "memory_npz" / "hidden_states.npz") as a, \
            np.load(tmp_path / "spooled_npz" / "hidden_states.npz") as b:
        assert a.files == b.files
        for key in a.files:
            assert np.array_equal(a[key], b[key]), key
    assert list(spool_dir.iterdir()) == []


def test_no_spool_left_behind_while_running_or_after_an_error(spool_dir, monkeypatch):
    force_spool(monkeypatch)
    model, inputs = prepare(deep_spec())
    steps = iter(stepper_module.Stepper(model.spec, model.weights, inputs, device="cpu"))
    next(steps)
    assert list(spool_dir.iterdir()) == []  # deleted as soon as it was mapped
    steps.close()

    def fail(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "posix_fallocate", fail)
    with pytest.raises(KeyboardInterrupt):
        rnnviz.run(deep_spec(), device="cpu")
    assert list(spool_dir.iterdir()) == []


def test_a_full_disk_is_a_user_error_before_the_run(spool_dir, monkeypatch):
    force_spool(monkeypatch)

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full)
    with pytest.raises(RnnvizError, match=r"cannot reserve .* GiB on disk .*No space left on device.*TMPDIR"):
        rnnviz.run(deep_spec(), device="cpu")
    assert list(spool_dir.iterdir()) == []


def test_spooled_states_larger_than_the_disk_are_refused_up_front(spool_dir, monkeypatch):
    force_spool(monkeypatch)
    monkeypatch.setattr(trace_module.shutil, "disk_usage", lambda path: type("usage", (), {"free": 1000})())
    with pytest.raises(RnnvizError, match=r"recorded states need about .* GiB on disk .* 0\.0 GiB free"):
        trace_module.check_memory(deep_spec(), "m.toml")


def resident_bytes():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads /proc")
def test_release_gives_pages_back_and_keeps_the_data(spool_dir):
    values, other = spool.spooled_arrays([(4096, 4096), (3, 5)])  # 64 MiB, then a small array on its own page
    values[:] = np.arange(4096, dtype=np.float32)
    other[:] = 7
    before = resident_bytes()
    spool.release(values[100:])
    assert before - resident_bytes() > 48 * 2**20
    assert np.array_equal(values[4095], np.arange(4096, dtype=np.float32)) and (other == 7).all()
    plain = np.ones((1000, 1000), np.float32)
    spool.release(plain)  # not a spool: left alone (dropping anonymous pages would zero them)
    assert plain.all()
