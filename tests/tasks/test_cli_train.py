"""``rnnviz train`` through the command line's entry point: a short run, and every bad flag one line and exit
status 2, refused before any training."""

import numpy as np
import pytest

from rnnviz.__main__ import main


def run_main(capsys, *argv):
    status = main(["train", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_train_writes_the_files_and_ends_with_the_test_error(capsys, tmp_path):
    out = tmp_path / "ff"
    status, stdout, stderr = run_main(capsys, "flipflop", "--type", "GRU", "--units", "5", "--steps", "3",
                                      "--seed", "2", "--out", str(out), "--progress")
    assert status == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == ["input.npy", "model.pt", "target.npy", "train.csv"]
    last = stdout.splitlines()[-1]
    assert last.startswith("test error (mean squared error on input.npy, 500 steps): ")
    assert float(last.rsplit(" ", 1)[1]) > 0
    assert "3/3" in stderr  # the progress bar ran to the end
    assert np.load(out / "input.npy").shape == (500, 3)


@pytest.mark.parametrize("argv, needle", [
    ((), "TASK is required"),
    (("flipflop", "--units", "4", "--out", "X"), "--type is required"),
    (("flipflop", "--type", "GRU", "--out", "X"), "--units is required"),
    (("flipflop", "--type", "GRU", "--units", "4"), "--out is required"),
    (("xor", "--type", "GRU", "--units", "4", "--out", "X"), "unknown task 'xor'"),
    (("flipflop", "--type", "Gru", "--units", "4", "--out", "X"), "unknown layer type 'Gru'"),
    (("flipflop", "--type", "GRU", "--units", "four", "--out", "X"), "--units: expected a whole number, got 'four'"),
    (("flipflop", "--type", "GRU", "--units", "0", "--out", "X"), "units: expected a whole number from 1"),
    (("flipflop", "--type", "GRU", "--units", "4", "--steps", "-3", "--out", "X"), "steps: expected"),
    (("flipflop", "--type", "GRU", "--units", "4", "--seed", "1.5", "--out", "X"), "--seed: expected"),
    (("flipflop", "--type", "GRU", "--units", "4", "--delay", "3", "--out", "X"), "only the delay task"),
    (("delay", "--type", "GRU", "--units", "4", "--delay", "99", "--out", "X"), "delay: expected"),
])
def test_bad_flags_are_one_line_and_status_2(capsys, tmp_path, argv, needle):
    argv = tuple(str(tmp_path / "out") if a == "X" else a for a in argv)
    status, out, err = run_main(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("rnnviz: error: ") and needle in err, err
    assert not (tmp_path / "out").exists()


def test_output_path_is_checked_before_training(capsys, tmp_path, monkeypatch):
    import rnnviz.tasks

    monkeypatch.setattr(rnnviz.tasks, "train", lambda *a, **k: pytest.fail("trained before checking --out"))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out in (blocker, blocker / "sub"):
        status, _, err = run_main(capsys, "flipflop", "--type", "GRU", "--units", "4", "--out", str(out))
        assert status == 2 and "not a directory" in err, err
    assert blocker.read_text() == "x"
