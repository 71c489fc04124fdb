"""GUI streaming benchmark: a 4-layer bidirectional GRU stack (256 units, 5000 timesteps), offscreen.

Prints, against the goals of the desktop-app issue:

* frames painted per second while streaming (heatmap viewport paint events; goal >= 60);
* the longest stall of the GUI event loop, from a 5 ms heartbeat timer (goal <= 30 ms);
* time from Play to the first painted frame with states in it (goal <= 150 ms);
* time from process start to the window shown (goal <= 1.5 s), measured on a child process.

Each streaming run (``--repeats``, default 3) starts a fresh process; the figures are the median and
range over them. Run from the repository root: ``python bench/gui.py`` (``--timesteps`` for a quick
run, ``RNNVIZ_BENCH_VERBOSE=1`` to also print the five longest stalls of each run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

STARTUP_CHILD = r"""
import sys, time
from PySide6.QtCore import QTimer
from rnnviz.ui import launch
from rnnviz.ui.main_window import MainWindow

def shown(self, event, _original=MainWindow.showEvent):
    _original(self, event)
    QTimer.singleShot(0, lambda: (print(time.time(), flush=True), self.close()))

MainWindow.showEvent = shown
sys.exit(launch.launch())
"""


def startup_seconds(repeats: int) -> list[float]:
    """Seconds from spawning ``python`` to the main window shown (and its first events processed)."""
    results = []
    for _ in range(repeats):
        start = time.time()
        with tempfile.TemporaryDirectory(prefix="rnnviz-bench-") as config:  # not the user's own settings
            out = subprocess.run([sys.executable, "-c", STARTUP_CHILD], capture_output=True, text=True, timeout=120,
                                 env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": config})
        stamps = [line for line in out.stdout.split() if line.replace(".", "", 1).isdigit()]
        if not stamps:
            raise SystemExit(f"start-up child failed:\n{out.stderr}")
        results.append(float(stamps[0]) - start)
    return results


def stream(timesteps: int, units: int, layers: int) -> dict[str, float]:
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from rnnviz.spec import InitSpec, InputSpec, LayerSpec, ModelSpec
    from rnnviz.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    spec = ModelSpec(InputSpec(timesteps=timesteps, features=64, source="normal"),
                     [LayerSpec("GRU", units, bidirectional=True)] * layers, InitSpec("torch"))
    # a settings file of its own: never os.devnull, which Qt's save replaces with a file when run as root
    folder = tempfile.TemporaryDirectory(prefix="rnnviz-bench-")
    settings = QSettings(os.path.join(folder.name, "rnnviz.ini"), QSettings.Format.IniFormat)
    window = MainWindow(spec, settings=settings, autoplay=False)
    window.runner.restart_timer.stop()
    window.resize(1400, 900)
    window.show()
    deadline = time.monotonic() + 60
    while window.panel.device.count() < 2 and time.monotonic() < deadline:  # torch imported by the probe
        app.processEvents()
        time.sleep(0.005)
    for _ in range(20):
        app.processEvents()

    class PaintCounter(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []

        def eventFilter(self, watched, event) -> bool:  # noqa: N802
            if event.type() == QEvent.Type.Paint:
                self.times.append(time.perf_counter())
            return False

    painter = PaintCounter()
    window.heatmaps.graphics.viewport().installEventFilter(painter)
    beats: list[float] = []
    heartbeat = QTimer(interval=5)
    heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))

    window.runner.set_speed(None, chosen=True)  # "max": follow the computation
    window.runner.playback.playing = True
    loop = QEventLoop()
    marks: dict[str, float] = {}

    def check() -> None:  # polled from the event loop, as a user's eye would
        run = window.state.run
        if "first" not in marks and run is not None and painter.times and painter.times[-1] > play \
                and any(s.revealed for s in run.streams):
            marks["first"] = painter.times[-1]
        if window.state.trace is not None and run.streams[-1].revealed == run.timesteps:
            loop.quit()

    poll = QTimer(interval=10)
    poll.timeout.connect(check)
    poll.start()
    QTimer.singleShot(600_000, loop.quit)
    heartbeat.start()
    play = time.perf_counter()
    window.runner.start_run()
    loop.exec()
    first_frame = marks.get("first")
    end = time.perf_counter()
    heartbeat.stop()
    poll.stop()
    frames = [t for t in painter.times if first_frame is not None and first_frame <= t <= end]
    gaps = [b - a for a, b in zip(beats, beats[1:])]
    if os.environ.get("RNNVIZ_BENCH_VERBOSE"):
        worst = sorted(((b - a, a - play) for a, b in zip(beats, beats[1:])), reverse=True)[:5]
        print("worst stalls (ms, at ms after Play):", [(round(1000 * g), round(1000 * at)) for g, at in worst])
    window.close()
    folder.cleanup()
    return {
        "fps": (len(frames) - 1) / (frames[-1] - frames[0]) if len(frames) > 1 else 0.0,
        "stall_ms": 1000 * max(gaps) if gaps else float("nan"),
        "first_frame_ms": 1000 * (first_frame - play) if first_frame else float("nan"),
        "stream_s": end - play,
    }


def stream_in_child(args: argparse.Namespace) -> dict[str, float]:
    """One :func:`stream` in a fresh process, so that repeats do not share threads, caches or heap."""
    command = [sys.executable, __file__, "--child", "--timesteps", str(args.timesteps), "--units", str(args.units),
               "--layers", str(args.layers)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=900,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"streaming child failed:\n{out.stdout}\n{out.stderr}")
    if os.environ.get("RNNVIZ_BENCH_VERBOSE"):
        print(*[line for line in out.stdout.splitlines() if not line.startswith("{")], sep="\n")
    return json.loads(lines[-1])


def summary(values: list[float], digits: int, unit: str = "") -> str:
    """Median, then the range over the repeats."""
    low, high = min(values), max(values)
    return (f"{statistics.median(values):6.{digits}f}{unit} (median of {len(values)}, range "
            f"{low:.{digits}f}–{high:.{digits}f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=5000)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3, help="streaming runs, each in a fresh process")
    parser.add_argument("--startup-repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(stream(args.timesteps, args.units, args.layers)))
        from rnnviz.ui.analysis_results import exit_now_if_unfinished

        exit_now_if_unfinished(0)  # the analyses of this big stack may still be running
        return
    startup = startup_seconds(args.startup_repeats)
    results = [stream_in_child(args) for _ in range(args.repeats)]
    column = {key: [r[key] for r in results] for key in results[0]}
    print(f"bench/gui.py: {args.layers} x Bidirectional(GRU({args.units})), T={args.timesteps}, offscreen, "
          f"{statistics.median(column['stream_s']):.1f} s of streaming per run")
    print(f"frames painted per second while streaming  {summary(column['fps'], 1)}   goal >= 60")
    print(f"longest event-loop stall (5 ms heartbeat)  {summary(column['stall_ms'], 1, ' ms')}   goal <= 30 ms")
    print(f"Play -> first painted frame                {summary(column['first_frame_ms'], 1, ' ms')}   goal <= 150 ms")
    print(f"process start -> window shown              {min(startup):6.2f} s  (best of {len(startup)}: "
          f"{', '.join(f'{s:.2f}' for s in startup)})   goal <= 1.5 s")


if __name__ == "__main__":
    main()
