"""Starting the desktop app: check for a display before Qt can abort, then open the main window."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HEADLESS_HINT = ("rnnviz: no display found (DISPLAY/WAYLAND_DISPLAY unset); the app needs one. Run headless "
                 "instead, e.g. 'python main.py run model.toml --out states/', or set QT_QPA_PLATFORM=offscreen.")


def has_display() -> bool:
    """Whether Qt can open a window: always on Windows and macOS, elsewhere when a display or an
    explicit Qt platform is set."""
    if sys.platform in ("win32", "darwin"):
        return True
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def launch(path: str | None = None) -> int:
    """Open the app on ``path`` (a spec, weights or input file) or on the tutorial's demo."""
    if not has_display():
        print(HEADLESS_HINT, file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication

    import pyqtgraph as pg

    pg.setConfigOptions(antialias=False, imageAxisOrder="row-major")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("rnnviz")
    app.setOrganizationName("rnnviz")

    from rnnviz.ui.main_window import MainWindow

    window = MainWindow()
    if path is not None:
        if not Path(path).exists():
            print(f"rnnviz: error: {path}: no such file", file=sys.stderr)
            return 2
        window.open_file(path)
    window.show()
    return app.exec()
