"""The run's life cycle: start, cancel and restart the compute worker, and the frame timer that
reveals what it computed at the playback pace and has the views redraw it.

Every valid edit restarts the run (after a short debounce, so a burst of edits costs one restart);
the previous worker is cancelled and left to finish on its own. Blocks from the worker are stored as
they arrive, and the frame timer reveals and redraws what changed, at most 60 times a second,
however fast blocks come. It runs only while something moves, so an idle window costs no CPU.
"""

from __future__ import annotations

import time
from typing import Sequence

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from rnnviz.trace import Trace
from rnnviz.ui.playback import Playback, default_speed
from rnnviz.ui.run_data import RunData
from rnnviz.ui.session import Session
from rnnviz.ui.state import AppState
from rnnviz.ui.views.base import View
from rnnviz.ui.worker import ComputeWorker

FRAME_MS = 16
PANES_INTERVAL_S = 0.25
TOOLBAR_INTERVAL_S = 0.1
RESTART_MS = 150
RATE_INTERVAL_S = 0.5


class RunController(QObject):
    """Drives the runs of ``session``'s model into ``state``, and the views' redraws.

    Signals (for the window's controls): ``runnable(bool)`` whether Play and Step make sense;
    ``playing_changed(bool)``; ``speed_changed(object)`` (steps/s, None: max); ``position(int, int)``
    (shown and computed sweep steps, 10 times a second while playing); ``rates(str, str)`` (steps
    per second, frames per second); ``device_resolved(str)``; ``failed(str)`` and ``info(str)``.
    """

    runnable = Signal(bool)
    playing_changed = Signal(bool)
    speed_changed = Signal(object)
    position = Signal(int, int)
    rates = Signal(str, str)
    device_resolved = Signal(str)
    failed = Signal(str)
    info = Signal(str)

    def __init__(self, session: Session, state: AppState, views: Sequence[View], autoplay: bool,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.state = state
        self.playback = Playback()
        self.autoplay = autoplay
        self.speed_chosen = False
        self.device = "auto"
        self.worker: ComputeWorker | None = None
        self.retired: list[ComputeWorker] = []
        self.live = [view.redraw for view in views if view.live]
        self.panes = [pane for view in views if not view.live for pane in view.panes()]
        self._frames = 0
        self._rate_mark = (time.monotonic(), 0, 0)
        self._last_tick = time.monotonic()
        self._panes_drawn = 0.0
        self._position_drawn = 0.0
        self.restart_timer = QTimer(self, singleShot=True, interval=RESTART_MS)
        self.restart_timer.timeout.connect(self.start_run)
        self.frame_timer = QTimer(self, interval=FRAME_MS)  # runs only while something moves (see wake)
        self.frame_timer.timeout.connect(self._tick)
        session.changed.connect(self.schedule_restart)
        state.threshold_changed.connect(self.wake)

    @property
    def run(self) -> RunData | None:
        return self.state.run

    # --- runs ---------------------------------------------------------------------------------------
    @Slot()
    def schedule_restart(self) -> None:
        self._stop_worker()
        self.state.invalidate()
        self.restart_timer.start()

    def _stop_worker(self) -> None:
        """Cancel the current run. Cancelled workers are kept until a later call finds them finished:
        deleting one in its own ``finished`` handler would drop that signal for other receivers."""
        self.retired = [w for w in self.retired if not w.isFinished()]
        if self.worker is not None:
            self.worker.cancel()
            self.retired.append(self.worker)
            self.worker = None

    @Slot()
    def start_run(self) -> None:
        """Cancel any run in progress and start the current model from the first step."""
        self.restart_timer.stop()
        self._stop_worker()
        self.state.invalidate()
        session = self.session
        self.runnable.emit(session.valid)
        if not session.valid:
            self.failed.emit(session.problem or "invalid model")
            return
        self.info.emit("")
        run = RunData.empty(session.model.spec)
        self.state.start(run, session.model)
        self.playback.reset(run.total)
        if not self.speed_chosen:
            self.set_speed(default_speed(run.total))
        self.playback.playing = self.autoplay or self.playback.playing
        self._rate_mark = (time.monotonic(), 0, self._frames)
        # started after the views are reset: the first run's worker imports torch, which holds the GIL
        # for most of a second and would slow building the views threefold
        self.worker = ComputeWorker(session.model, session.inputs, self.device, store=run.store)
        self.worker.block_ready.connect(self._on_block)
        self.worker.done.connect(self._on_done)
        self.worker.failed.connect(self._on_failed)
        self.worker.started_on.connect(self._on_started)
        self.worker.start()
        self.playing_changed.emit(self.playback.playing)
        self.wake()

    def _current(self, sender: QObject | None) -> bool:
        """Whether a signal comes from the current run's worker (not from a cancelled one)."""
        return self.worker is not None and sender is self.worker

    @Slot(str)
    def _on_started(self, device: str) -> None:
        if self._current(self.sender()):
            self.device_resolved.emit(device)

    @Slot(object)
    def _on_block(self, block) -> None:
        if self._current(self.sender()) and self.run is not None:
            self.run.add(block)
            self.playback.computed = self.run.computed
            self.wake()

    @Slot(object)
    def _on_done(self, trace: Trace) -> None:
        if self._current(self.sender()):
            self.state.finish(trace)
            self.wake()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._current(self.sender()):
            self.playback.playing = False
            self._stop_worker()
            self.failed.emit(f"run failed: {message}")

    @Slot(str)
    def set_device(self, device: str) -> None:
        if device != self.device:
            self.device = device
            self.schedule_restart()

    def shutdown(self) -> None:
        """Stop the timers and every worker (the window closes)."""
        self.frame_timer.stop()
        self.restart_timer.stop()
        self._stop_worker()
        for worker in self.retired:
            worker.wait(10_000)

    # --- frames -------------------------------------------------------------------------------------
    @Slot()
    def wake(self, *_args) -> None:
        """Run the frame timer: something changed that the views or the worker must follow. It stops
        itself once nothing moves, so an idle window costs no CPU."""
        if not self.frame_timer.isActive():
            now = time.monotonic()
            self._last_tick = now  # playback advances by the time since the last tick: not the idle time
            self._rate_mark = (now, self.run.computed if self.run is not None else 0, self._frames)
            self.frame_timer.start()

    @Slot()
    def _tick(self) -> None:
        now = time.monotonic()
        seconds, self._last_tick = now - self._last_tick, now
        run, playback = self.run, self.playback
        if run is None:
            self.frame_timer.stop()
            return
        playback.computed = run.computed
        step = min(playback.advance(seconds), run.computed)
        if self.worker is not None:
            # once every step is computed the worker only has to drain the generator and hand over the
            # trace: never pause it there, or the last blocks and the finished trace would not come
            finishing = run.computed >= run.total
            self.worker.resume() if playback.needs_compute or finishing else self.worker.pause()
        changed = bool(run.reveal(step))
        self.state.move_to(step)
        if changed:
            for redraw in self.live:
                redraw()
            self._frames += 1
        self._redraw_panes(now)
        if not playback.playing or now - self._position_drawn >= TOOLBAR_INTERVAL_S:
            # the scrubber and the position text repaint the toolbar: while playing, 10 times a second
            self._position_drawn = now
            self.position.emit(step, run.computed)
        self.playing_changed.emit(playback.playing)
        self._report_rates(now, run)
        if not (changed or playback.playing or (self.worker is not None and playback.needs_compute)):
            self.frame_timer.stop()  # nothing moves until a block, a control or an edit wakes it
            waiting = "waits for playback" if self.worker is not None else "stopped"
            self.rates.emit("computed" if run.computed >= run.total else waiting, "idle")

    def _redraw_panes(self, now: float) -> None:
        if not self.playback.playing:  # redraw at once what a step or the scrubber revealed (else nothing)
            for pane in self.panes:
                pane()
        elif self.panes and now - self._panes_drawn >= PANES_INTERVAL_S / len(self.panes):
            # while playing the other views change little per frame: each pane is redrawn
            # PANES_INTERVAL_S apart, and in turn, so that no frame pays for all of them
            self._panes_drawn = now
            self.panes[0]()
            self.panes.append(self.panes.pop(0))

    def _report_rates(self, now: float, run: RunData) -> None:
        mark_time, mark_steps, mark_frames = self._rate_mark
        if now - mark_time >= RATE_INTERVAL_S:
            rate = (run.computed - mark_steps) / (now - mark_time)
            done = run.computed >= run.total
            self.rates.emit("computed" if done and not rate else f"{rate:,.0f} steps/s",
                            f"{(self._frames - mark_frames) / (now - mark_time):.0f} fps")
            self._rate_mark = (now, run.computed, self._frames)

    # --- playback controls --------------------------------------------------------------------------
    @Slot()
    def toggle_play(self) -> None:
        self.playback.toggle()
        self._moved()

    @Slot()
    def step(self) -> None:
        if self.run is not None:
            self.playback.step_once()
            self._moved()

    @Slot()
    def reset_playback(self) -> None:
        self.seek(0)

    @Slot(int)
    def seek(self, value: int) -> None:
        self.playback.seek(value)
        self._moved()

    def _moved(self) -> None:
        self.playing_changed.emit(self.playback.playing)
        self.wake()

    def set_speed(self, speed: int | None, chosen: bool = False) -> None:
        """Play at ``speed`` steps per second (None: max). A speed the user chose stays for later
        runs; otherwise each run gets a default pace for its length."""
        self.speed_chosen = self.speed_chosen or chosen
        self.playback.speed = speed
        self.speed_changed.emit(speed)
