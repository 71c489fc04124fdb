"""Starting the desktop app: check for a display before Qt can abort, then open the main window
(or render it offscreen for ``--screenshot``)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HEADLESS_HINT = ("rnnviz: no display found (DISPLAY/WAYLAND_DISPLAY unset); the app needs one. Run headless "
                 "instead, e.g. 'python main.py run model.toml --out states/', or set QT_QPA_PLATFORM=offscreen.")
SCREENSHOT_TIMEOUT_S = 300.0


def has_display() -> bool:
    """Whether Qt can open a window: always on Windows and macOS, elsewhere when a display or an
    explicit Qt platform is set."""
    if sys.platform in ("win32", "darwin"):
        return True
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def view_names() -> list[str]:
    """The views ``--view`` may name, in window order (imported only when a screenshot is asked for)."""
    from rnnviz.ui.views import view_names as registered

    return registered()


def _error(message: str) -> int:
    print(f"rnnviz: error: {message}", file=sys.stderr)
    return 2


def launch(path: str | None = None, input_path: str | None = None, screenshot: str | None = None,
           view: str = "heatmaps", timeout_s: float = SCREENSHOT_TIMEOUT_S) -> int:
    """Open the app on ``path`` (a spec, weights or input file) or on the tutorial's demo, fed
    ``input_path`` if given. With ``screenshot``, render offscreen, save the picture of ``view``
    once the run is finished, and exit (0, or 2 with one line on stderr)."""
    if screenshot is not None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # no display needed, and no window flashes up
    if not has_display():
        print(HEADLESS_HINT, file=sys.stderr)
        return 2
    for given in (path, input_path):
        if given is not None and not Path(given).exists():
            return _error(f"{given}: no such file")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    import pyqtgraph as pg

    pg.setConfigOptions(antialias=False, imageAxisOrder="row-major")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("rnnviz")
    app.setOrganizationName("rnnviz")

    from rnnviz.ui.main_window import MainWindow

    if screenshot is None:
        window = MainWindow()
        _open(window, path, input_path)
        window.show()
        code = app.exec()
        from rnnviz.ui.analysis_results import exit_now_if_unfinished

        exit_now_if_unfinished(code)
        return code
    with tempfile.TemporaryDirectory(prefix="rnnviz-screenshot-") as folder:
        # a screenshot neither reads nor changes the user's layout and recent files
        window = MainWindow(settings=QSettings(os.path.join(folder, "rnnviz.ini"), QSettings.Format.IniFormat))
        problem = _open(window, path, input_path)
        code = _error(problem) if problem is not None else _shoot(app, window, Path(screenshot), view, timeout_s)
        window.close()
    from rnnviz.ui.analysis_results import exit_now_if_unfinished

    exit_now_if_unfinished(code)  # analyses of tabs not pictured may still run
    return code


def _open(window, *paths: str | None) -> str | None:
    """Open the given files in turn; the first one's error message, if one fails."""
    for given in paths:
        if given is not None and not window.files.open_file(given):
            return window.status_message.text()
    return None


def _shoot(app, window, path: Path, view: str, timeout_s: float) -> int:
    from rnnviz.ui.screenshot import Screenshot

    shot = Screenshot(window, path, view, timeout_s)
    outcome: list[str] = []
    shot.finished.connect(outcome.append)
    shot.finished.connect(app.quit)
    window.show()
    shot.start()
    app.exec()
    window.close()
    if not outcome or outcome[0]:
        return _error(outcome[0] if outcome else "--screenshot: the window closed before the picture was taken")
    return 0
