"""The views: the registry, the shared selection, LSTM quantities and their colour scales, the input width."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np

from rnnviz.spec import InitSpec, InputSpec, LayerSpec, ModelSpec
from rnnviz.ui.views import VIEWS, view_names
from rnnviz.ui.views.heatmap_image import maxabs_reduce
from rnnviz.ui.views.scales import SATURATED_POSITIVE, cell_range, scale_for
from tests.ui.conftest import play_to_end
from tests.ui.test_app import click

ROOT = Path(__file__).resolve().parents[2]
LSTM_STACK = ModelSpec(InputSpec(timesteps=40, features=3, source="normal", seed=2),
                       [LayerSpec("LSTM", 6, True), LayerSpec("LSTM", 4)], InitSpec("normal", gain=2.5, seed=5))


def test_every_registered_view_has_a_place_and_a_view_menu_entry(qtbot, make_window):
    window = make_window()
    assert view_names()[0] == "heatmaps" and len(set(view_names())) == len(VIEWS)
    entries = [a.text() for a in window.view_menu.actions()]
    for view in VIEWS:
        assert view.title in entries
        assert window.views[view.name].parent() is not None
    window.docks["saturation"].hide()
    window.show_view("saturation")
    assert window.docks["saturation"].isVisible()


def test_a_selection_in_one_view_is_followed_by_the_others(qtbot, make_window):
    spec = ModelSpec(InputSpec(timesteps=12, features=2), [LayerSpec("GRU", 4, True)])
    window = make_window(spec)
    play_to_end(qtbot, window)
    seen = []
    window.state.selection_changed.connect(seen.append)
    window.state.select(0, "backward", 3)
    assert seen == [(0, "backward", 3)]
    trace = window.views["unit-trace"]
    np.testing.assert_array_equal(trace.curves["h"].getData()[1], window.state.trace.hidden(1, "backward")[:, 3])
    assert "backward · unit 3" in trace.plot.getPlotItem().titleLabel.text
    window.panel.input_seed.setValue(7)  # a new run of the same stack keeps the selection
    qtbot.waitUntil(lambda: window.state.trace is not None and window.state.trace.spec.input.seed == 7)
    assert window.state.selection == (0, "backward", 3)


def test_lstm_stack_plays_to_the_end_and_every_quantity_can_be_shown(qtbot, make_window, tmp_path):
    window = make_window()
    click(qtbot, window.panel.add_lstm)
    assert [l.type for l in window.session.draft.layers] == ["SimpleRNN", "LSTM"]
    window.files.open_file(_spec_file(tmp_path, LSTM_STACK))
    play_to_end(qtbot, window)
    heatmaps, trace = window.heatmaps, window.state.trace
    row = heatmaps.rows[0]
    assert [row.chooser.itemText(i) for i in range(row.chooser.count())] == ["h", "i", "f", "g", "o", "c"]
    row.chooser.textActivated.emit("c")  # what picking "c" in the chooser sends
    cell = trace.cell(1, "forward")
    np.testing.assert_array_equal(heatmaps.image_data(0, "forward"), cell.T)
    half = cell_range(float(np.abs(cell).max()))
    assert half >= np.abs(cell).max() and heatmaps.scale_label(0, "forward") == f"c, symmetric data range ±{half:g}"
    window.state.set_quantity(0, "backward", "f")
    np.testing.assert_array_equal(heatmaps.image_data(0, "backward"), trace.gates(1, "backward")["f"].T)
    assert heatmaps.scale_label(0, "backward") == "f gate sigmoid 0…1"
    assert heatmaps.scale_label(1, "forward") == "hidden state h tanh range −1…1"
    window.state.select(1, "forward", 2)
    unit = window.views["unit-trace"]
    assert set(unit.curves) == {"h", "c", "i", "f", "o"}
    np.testing.assert_array_equal(unit.curves["c"].getData()[1], trace.cell(2, "forward")[:, 2])
    assert window.files.export_states(tmp_path / "out")
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"layer1_forward_c.csv", "layer1_backward_f.csv", "layer2_forward_i.csv"} <= written


def test_the_cell_range_grows_as_the_run_plays_and_never_shrinks(qtbot, make_window):
    window = make_window(LSTM_STACK, autoplay=False)
    window.state.set_quantity(0, "forward", "c")
    qtbot.waitUntil(lambda: window.state.trace is not None)
    plot = window.heatmaps.plots[0]
    cell = window.state.trace.cell(1, "forward")
    seen = []
    for step in range(1, 41):
        window.runner.seek(step)
        qtbot.waitUntil(lambda: window.state.run.streams[0].revealed == step)
        window.heatmaps.redraw()
        seen.append(plot.scale.high)
        assert plot.scale.high >= np.abs(cell[:step]).max()
    assert seen == sorted(seen) and seen[-1] == cell_range(float(np.abs(cell).max()))
    window.runner.seek(1)  # scrubbing back keeps the range
    qtbot.waitUntil(lambda: window.state.run.streams[0].revealed == 1)
    window.heatmaps.redraw()
    assert plot.scale.high == seen[-1]


def test_scales_of_each_quantity():
    h, gate, cell = scale_for("h"), scale_for("f"), scale_for("c", 4.0)
    assert (h.low, h.high, gate.low, gate.high, cell.low, cell.high) == (-1, 1, 0, 1, -4, 4)
    assert not gate.diverging and h.diverging and not scale_for("g").marked
    lut = cell.lut(0.95)  # marks where |tanh(c)| >= 0.95, i.e. |c| >= atanh(0.95)
    inside, beyond = math.atanh(0.95) - 0.05, math.atanh(0.95) + 0.05
    colours = cell.colour(np.array([inside, beyond], np.float32), lut)
    assert tuple(colours[1, :3]) == SATURATED_POSITIVE and tuple(colours[0, :3]) != SATURATED_POSITIVE
    assert [cell_range(x) for x in (0.3, 1.0, 1.01, 3.9, 4.0, 12.5, 80)] == [1, 1, 1.2, 4, 4, 15, 80]


def test_maxabs_downsampling_of_a_gate_keeps_its_values():
    values = np.array([[0.1, 0.9], [0.7, 0.2]], np.float32)
    np.testing.assert_array_equal(maxabs_reduce(values, 2, 0), np.float32([[0.7, 0.9]]))


def _spec_file(tmp_path, spec: ModelSpec) -> Path:
    path = tmp_path / "model.toml"
    path.write_text(spec.to_toml())
    return path


def test_an_input_file_of_another_width_is_adopted_and_undo_restores(qtbot, make_window, tmp_path, small_spec):
    window = make_window(small_spec)
    csv = tmp_path / "wide.csv"
    np.savetxt(csv, np.random.default_rng(0).normal(size=(9, 5)), delimiter=",")
    original = window.session.draft
    assert window.files.open_file(csv)
    assert window.panel.features.value() == 5 and window.panel.timesteps.value() == 9 and window.session.valid
    assert "5 features (was 3)" in window.status_message.text() and "Ctrl+Z" in window.status_message.text()
    qtbot.waitUntil(lambda: window.state.trace is not None and window.state.trace.inputs.shape == (9, 5),
                    timeout=20_000)
    assert "5 features" in window.status_message.text()  # the new run does not wipe the note
    window.undo_action.trigger()
    assert window.session.draft == original and window.panel.features.value() == 3


def test_an_input_file_of_another_width_is_refused_with_trained_weights(qtbot, make_window, data_dir, tmp_path):
    window = make_window()
    weights = data_dir / "torch_gru_bidir.pt"  # reads 4 features
    assert window.files.open_file(weights)
    before = window.session.draft
    csv = tmp_path / "wide.csv"
    np.savetxt(csv, np.zeros((6, 5)), delimiter=",")
    assert not window.files.open_file(csv)
    assert window.session.draft == before
    cli = subprocess.run([sys.executable, str(ROOT / "main.py"), "run", str(weights), "--input", str(csv), "--out",
                          str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT)
    assert cli.returncode == 2
    assert cli.stderr.strip() == f"rnnviz: error: {window.status_message.text()}"
    assert "5 columns" in cli.stderr and "reads 4" in cli.stderr
    good = tmp_path / "fits.csv"
    np.savetxt(good, np.zeros((6, 4)), delimiter=",")
    assert window.files.open_file(good) and window.session.valid
