"""Give the keyboard back to the main window when a dialog closes.

A window manager does this. On an X server without one (Xvfb, a kiosk, a test robot) the focus went
nowhere when a dialog closed, and the app's shortcuts (Ctrl+Q, Space, Ctrl+Z) did nothing until the
window was clicked: to a robot the app looked hung.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from PySide6.QtWidgets import QWidget


def refocus(widget: QWidget) -> None:
    """Make ``widget``'s window the active one again, if it is shown."""
    window = widget.window()
    if window.isVisible():
        window.activateWindow()


@contextmanager
def refocused(widget: QWidget) -> Iterator[None]:
    """Run a modal dialog (a ``QFileDialog.get…`` call, ``exec()``) and give the keyboard back to
    ``widget``'s window when it closes, however it closes."""
    try:
        yield
    finally:
        refocus(widget)
