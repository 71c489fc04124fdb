"""Playback arithmetic (plain Python, no Qt)."""

from rnnviz.ui.playback import LOOKAHEAD, Playback, default_speed


def test_fixed_speed_never_passes_what_was_computed():
    p = Playback(total=100, computed=30, playing=True, speed=50)
    assert p.advance(0.2) == 10
    assert p.advance(1.0) == 30  # waits for the worker
    p.computed = 100
    assert p.advance(10) == 100 and not p.playing  # stops at the end


def test_max_speed_glides_after_the_computation_and_finishes():
    p = Playback(total=1000, computed=256, playing=True, speed=None)
    first = p.advance(0.016)
    assert 1 <= first < 256  # a few steps per frame, not a whole block at once
    for _ in range(200):
        p.advance(0.016)
    assert p.step == 256
    p.computed = 1000
    for _ in range(400):
        p.advance(0.016)
    assert p.step == 1000 and not p.playing


def test_step_seek_toggle_and_worker_demand():
    p = Playback(total=50, computed=20)
    p.step_once()
    assert p.step == 1 and not p.playing
    p.seek(40)
    assert p.step == 20  # only computed steps can be shown
    assert p.needs_compute  # paused, but within LOOKAHEAD of the cursor
    big = Playback(total=10 * LOOKAHEAD, computed=2 * LOOKAHEAD)
    assert not big.needs_compute
    big.toggle()
    assert big.playing and big.needs_compute
    done = Playback(total=5, computed=5, position=5.0)
    done.toggle()
    assert done.playing and done.step == 0  # Play at the end plays again


def test_default_speed_scales_with_the_run():
    assert default_speed(10) == 5 and default_speed(4 * 5000) is None
