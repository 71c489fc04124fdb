"""The views of the app, in the order the window places them (see :class:`~rnnviz.ui.views.base.View`).

A new view is a module here with a ``View`` subclass, and one entry in ``VIEWS``: the window gives it
its tab or dock and View-menu entry, the frame timer redraws it, and ``--view NAME`` can picture it.
"""

from __future__ import annotations

from rnnviz.ui.views.base import View
from rnnviz.ui.views.heatmaps import HeatmapsView
from rnnviz.ui.views.saturation import SaturationView
from rnnviz.ui.views.unit_trace import UnitTraceView

VIEWS: tuple[type[View], ...] = (HeatmapsView, UnitTraceView, SaturationView)


def view_names() -> list[str]:
    return [view.name for view in VIEWS]
