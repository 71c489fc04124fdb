"""Playback: where the cursor is among the computed sweep steps, and how fast it moves.

The worker computes ahead; playback reveals what it computed at the chosen pace. Plain Python, driven
by the main window's frame timer.
"""

from __future__ import annotations

from dataclasses import dataclass

CATCH_UP_S = 0.2  # at max speed the cursor closes its gap to the computed steps with this time constant
LOOKAHEAD = 2048  # sweep steps the worker may compute ahead of a paused cursor
SPEEDS: tuple[int | None, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, None)  # steps per second; None: max


def default_speed(total: int) -> int | None:
    """A pace at which a whole run plays in a few seconds: slow enough to watch a small model step."""
    if total <= 40:
        return 5
    if total <= 400:
        return 50
    if total <= 4000:
        return 500
    return None


@dataclass
class Playback:
    total: int = 0
    computed: int = 0
    position: float = 0.0
    playing: bool = False
    speed: int | None = 5

    def reset(self, total: int) -> None:
        self.total, self.computed, self.position = total, 0, 0.0

    @property
    def step(self) -> int:
        return int(self.position)

    @property
    def needs_compute(self) -> bool:
        """Whether the worker should run: while playing, or while paused until it is LOOKAHEAD steps
        ahead of the cursor (a small model is then computed whole, a huge one waits for the user)."""
        return self.computed < self.total and (self.playing or self.computed < self.step + LOOKAHEAD)

    def advance(self, seconds: float) -> int:
        """Move the cursor by ``seconds`` of playing time; stop at the end.

        At max speed the cursor glides after the computation rather than jumping a whole block when
        one arrives, so every frame shows a few more steps.
        """
        if self.playing:
            if self.speed is None:
                gap = self.computed - self.position
                target = self.position + max(gap * min(seconds / CATCH_UP_S, 1.0), min(gap, 1.0))
            else:
                target = self.position + self.speed * seconds
            self.position = min(target, self.computed, self.total)
            if self.position >= self.total:
                self.playing = False
        return self.step

    def toggle(self) -> None:
        if not self.playing and self.step >= self.total:
            self.position = 0.0  # play again from the start
        self.playing = not self.playing

    def step_once(self) -> None:
        self.playing = False
        self.position = float(min(self.step + 1, self.total))

    def seek(self, step: int) -> None:
        self.playing = False
        self.position = float(max(0, min(step, self.computed)))
