"""The views of the app, in the order the window places them (see :class:`~rnnviz.ui.views.base.View`).

A new view is a module here with a ``View`` subclass, and one entry in ``VIEWS``: the window gives it
its tab or dock and View-menu entry, the frame timer redraws it, and ``--view NAME`` can picture it.
"""

from __future__ import annotations

from rnnviz.ui.views.base import View
from rnnviz.ui.views.fixed_points import FixedPointsView
from rnnviz.ui.views.gates import GatesView
from rnnviz.ui.views.heatmaps import HeatmapsView
from rnnviz.ui.views.jacobian import JacobianView
from rnnviz.ui.views.lyapunov import LyapunovView
from rnnviz.ui.views.pca import PcaView
from rnnviz.ui.views.perturbation import PerturbationView
from rnnviz.ui.views.saturation import SaturationView
from rnnviz.ui.views.sweep import SweepView
from rnnviz.ui.views.unit_trace import UnitTraceView

VIEWS: tuple[type[View], ...] = (HeatmapsView, UnitTraceView, SaturationView, JacobianView, GatesView, LyapunovView,
                                  PcaView, FixedPointsView, PerturbationView, SweepView)


def view_names() -> list[str]:
    return [view.name for view in VIEWS]
