"""The sweep view: a results folder opens as a phase diagram with its spread on hover, a click opens that
point's spec in the window, and the grid editor runs a sweep of the current model that fills the diagram
(cancelled, it leaves a partial result that Resume completes)."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QUrl, Qt

from rnnviz.spec import InitSpec, InputSpec, LayerSpec, ModelSpec
from rnnviz.sweep import Sweep, read_results, run_sweep
from rnnviz.sweep.executors import Executor
from rnnviz.ui.sweep_editor import parse_values
from tests.sweep.fakes import fake_rows
from tests.ui.conftest import wait_computed

BASE = ModelSpec(InputSpec(timesteps=15, features=2, source="normal", seed=1), [LayerSpec("SimpleRNN", 3)],
                 InitSpec("normal", gain=1.0, seed=2))
GRID = {"init.gain": [0.5, 1.5], "layers.1.units": [3, 4]}


class InlineExecutor(Executor):
    """Points computed one after another in the calling thread: no worker processes to start."""

    def imap_unordered(self, fn, items):
        for item in items:
            yield fn(item)

    def describe(self) -> str:
        return "in-process"


GATE = threading.Event()


def gated_rows(spec, metrics):
    """Points of gain 0.5 at once, the others once GATE opens: Cancel lands while the third is in flight."""
    if spec.init.gain != 0.5:
        GATE.wait(20)
    return fake_rows(spec, metrics)


@pytest.fixture
def results(tmp_path):
    folder = tmp_path / "results"
    run_sweep(Sweep(BASE, GRID), folder, InlineExecutor(), compute=fake_rows)
    return folder


def cell_centre(view, panel: int, xi: int, yi: int) -> QPointF:
    return view.panels[panel][0].getViewBox().mapViewToScene(QPointF(xi, yi))


def test_results_folder_shows_a_diagram_and_a_click_opens_the_point(qtbot, make_window, results):
    window = make_window()
    assert window.files.accepts([QUrl.fromLocalFile(str(results))])  # a folder may be dropped
    assert window.files.open_file(results)
    view = window.views["sweep"]
    assert window.tabs.currentWidget() is view and view.is_complete()
    assert view.choosers["x"].currentData() == "init.gain" and view.choosers["y"].currentData() == "layers.1.units"
    assert len(view.panels) == 1
    cells = view.table.cells("lambda_max", (1, "forward"), "init.gain", "layers.1.units")
    expected = [[row["lambda_max"] for row in read_results(results) if row["layers.1.units"] == units]
                for units in GRID["layers.1.units"]]
    assert np.allclose(cells.mean, expected) and np.all(cells.count == 1)
    hover = view.describe_cell(cell_centre(view, 0, 1, 0))
    assert hover.startswith("init.gain = 1.5, layers.1.units = 3: lambda_max mean") and "n = 1" in hover

    centre = view.diagram.mapFromScene(cell_centre(view, 0, 1, 1))
    qtbot.mouseClick(view.diagram.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    spec = window.session.draft.to_spec()
    assert (spec.init.gain, spec.layers[0].units) == (1.5, 4)
    assert (spec.input, spec.init.seed) == (BASE.input, BASE.init.seed)
    assert window.session.undo_stack.undoText().startswith("Open sweep point 3 (init.gain = 1.5, layers.1.units = 4)")
    assert window.tabs.currentWidget() is window.heatmaps
    wait_computed(qtbot, window)
    assert window.state.trace.hidden(1).shape == (15, 4)


def test_choosers_redraw_panels_per_cell_type_and_the_colour_scale_follows_the_metric(qtbot, make_window, tmp_path):
    folder = tmp_path / "types"
    run_sweep(Sweep(BASE, {**GRID, "layers.1.type": ["SimpleRNN", "GRU"]}), folder, InlineExecutor(),
              compute=fake_rows)
    window = make_window()
    assert window.files.open_file(folder)
    view = window.views["sweep"]
    assert [value for _, value in view.panels] == ["SimpleRNN", "GRU"]  # panels by cell type by default
    assert len(view.lines.getPlotItem().listDataItems()) == 2  # a line per cell type
    view.choosers["facet"].setCurrentIndex(view.choosers["facet"].findText("(none)"))
    assert len(view.panels) == 1 and "mean over layers.1.type" in view.diagram.ci.getItem(0, 0).text
    view.choosers["metric"].setCurrentIndex(view.choosers["metric"].findData("memory_horizon"))
    assert view.is_complete() and "memory horizon" in view.diagram.ci.getItem(0, 0).text


def test_a_folder_without_results_is_refused_with_one_line(qtbot, make_window, tmp_path):
    window = make_window()
    assert not window.files.open_file(tmp_path)
    assert "not a sweep results folder" in window.status_message.text()


def test_grid_editor_runs_a_sweep_that_fills_the_diagram(qtbot, make_window, small_spec, tmp_path):
    window = make_window(small_spec)
    wait_computed(qtbot, window)
    view = window.views["sweep"]
    view.runner.make_executor = lambda workers: InlineExecutor()
    view.runner.compute = fake_rows
    editor = view.runner.editor()
    qtbot.addWidget(editor)
    assert [editor.grid.item(r, 0).text() for r in range(editor.grid.rowCount())] == [
        "init.scheme", "init.gain", "layers.1.units"]
    editor.grid.item(1, 1).setText("0.5, 1.5")
    editor.grid.item(2, 1).setText("2, 5")
    editor.folder.setText(str(tmp_path / "sweep"))
    editor.accept()
    assert editor.plan is not None and len(editor.plan.points) == 4
    view.runner.start(editor.plan, 1)
    qtbot.waitUntil(lambda: not view.runner.running and view.is_complete(), timeout=20_000)
    assert view.table.points_done == 4 and "sweep done: 4 points" in view.progress.text()
    assert np.all(view.table.cells("lambda_max", (1, "forward"), "init.gain", "layers.1.units").count == 1)
    info = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    assert info["complete"] and info["base_spec"]["input"]["seed"] == small_spec.input.seed


def test_cancel_leaves_a_partial_result_that_resume_completes(qtbot, make_window, small_spec, tmp_path):
    window = make_window(small_spec)
    wait_computed(qtbot, window)
    window.show_view("sweep")  # the sweep is started, and cancelled, from the sweep view's own buttons
    view = window.views["sweep"]
    view.runner.make_executor = lambda workers: InlineExecutor()
    view.runner.compute = gated_rows
    GATE.clear()
    editor = view.runner.editor()
    qtbot.addWidget(editor)
    editor.grid.item(1, 1).setText("0.5, 1, 1.5, 2")
    editor.grid.item(2, 1).setText("2, 3")
    editor.folder.setText(str(tmp_path / "sweep"))
    editor.accept()
    view.runner.start(editor.plan, 1)
    qtbot.waitUntil(lambda: view.runner.done == 2, timeout=20_000)
    qtbot.mouseClick(view.stop_button, Qt.MouseButton.LeftButton)
    GATE.set()
    qtbot.waitUntil(lambda: not view.runner.running, timeout=20_000)
    assert view.runner.done == 3 and view.runner.resumable and view.stop_button.text() == "Resume sweep"
    assert "3 of 8 points saved" in view.progress.text()
    assert len(read_results(tmp_path / "sweep")) == 3
    qtbot.mouseClick(view.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.runner.running and view.is_complete(), timeout=20_000)
    assert view.runner.done == 8
    assert view.table.points_done == 8 and not view.runner.resumable


def test_grid_values_are_typed_as_in_a_sweep_file():
    assert parse_values("k", "0.5, 1, true, GRU, 'LSTM'") == [0.5, 1, True, "GRU", "LSTM"]
    with pytest.raises(Exception, match="comma-separated"):
        parse_values("init.gain", "0.5,,1")
