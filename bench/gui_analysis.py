"""The longest stall of the app's event loop while the analysis views' work runs (goal <= 30 ms).

A 2-layer bidirectional GRU(64) over T = 2000 steps is played at max speed offscreen; a 5 ms heartbeat
timer records when the event loop gets to run, from the moment the run's trace is complete (the
analyses start) until every analysis view is complete. Prints the longest gap, the five longest, and
how long the analyses took, and for each gap the GUI thread's own CPU time in it (a gap the GUI thread
spent computing is the app's drawing; one it spent waiting is the GIL or the scheduler). Not a test:
run ``python bench/gui_analysis.py``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ANALYSIS_VIEWS = ("jacobian", "gates", "lyapunov", "pca", "fixed-points", "perturbation")


def main() -> None:
    import pyqtgraph as pg
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    pg.setConfigOptions(antialias=False, imageAxisOrder="row-major")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from rnnviz.spec import InitSpec, InputSpec, LayerSpec, ModelSpec
    from rnnviz.ui.analysis_results import analysis_of
    from rnnviz.ui.main_window import MainWindow

    spec = ModelSpec(InputSpec(timesteps=2000, features=8, source="normal", seed=1),
                     [LayerSpec("GRU", 64, True), LayerSpec("GRU", 64, True)], InitSpec("keras", seed=2))
    folder = tempfile.mkdtemp(prefix="rnnviz-bench-")
    window = MainWindow(spec, settings=QSettings(os.path.join(folder, "rnnviz.ini"), QSettings.Format.IniFormat))
    window.runner.set_speed(None, chosen=True)
    window.resize(1400, 860)
    window.show()
    beats: list[tuple[float, float]] = []  # (wall clock, GUI thread's CPU time) at each heartbeat
    marks: dict[str, float] = {}
    heartbeat = QTimer(interval=5)
    heartbeat.timeout.connect(lambda: beats.append((time.perf_counter(), time.thread_time())) if "start" in marks else None)

    def started(_trace) -> None:
        marks["start"] = time.perf_counter()
        heartbeat.start()

    window.state.run_finished.connect(started)

    def check() -> None:
        """The stall is measured while the analyses run; asking every view whether it is complete then
        draws the hidden ones too (which a user switching tabs would see one at a time), so it comes after."""
        analysis = analysis_of(window.state)
        if "start" in marks and "end" not in marks and analysis.complete and analysis.fork is not None:
            marks["end"] = time.perf_counter()
            heartbeat.stop()
        if "end" in marks and all(window.views[n].is_complete() for n in ANALYSIS_VIEWS):
            app.quit()

    poll = QTimer(interval=20)
    poll.timeout.connect(check)
    poll.start()
    QTimer.singleShot(900_000, app.quit)
    for name in ANALYSIS_VIEWS:  # each view drawn once on screen, as a user switching tabs would
        QTimer.singleShot(0, lambda n=name: window.show_view(n))
    app.exec()
    analysis = analysis_of(window.state)
    window.close()
    if "end" not in marks:
        print("the analyses did not finish within 15 minutes", analysis.problem)
        return
    if analysis.problem:
        print("the analyses failed:", analysis.problem)
    gaps = sorted(((b[0] - a[0], b[1] - a[1], a[0] - marks["start"]) for a, b in zip(beats, beats[1:])),
                  reverse=True)
    print(f"analyses of a 2-layer bidirectional GRU(64), T=2000: {marks['end'] - marks['start']:.1f} s")
    print(f"longest event-loop stall (5 ms heartbeat): {1000 * gaps[0][0]:.1f} ms   goal <= 30 ms")
    print("five longest (ms, GUI thread's CPU ms in it, at s after the analyses started):",
          [(round(1000 * g, 1), round(1000 * cpu, 1), round(at, 1)) for g, cpu, at in gaps[:5]])


if __name__ == "__main__":
    main()
