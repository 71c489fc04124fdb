"""The desktop app driven like a user: widgets, keys, playback, files."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor

import rnnviz
from rnnviz.spec import InitSpec, InputSpec, LayerSpec, ModelSpec
from rnnviz.ui.views.heatmap_image import maxabs_reduce
from tests.ui.conftest import play_to_end, wait_computed

ROOT = Path(__file__).resolve().parents[2]


def set_spin(qtbot, spin, value: int) -> None:
    """Type a value into a spin box and confirm with Enter, as a user does."""
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, str(value))
    qtbot.keyClick(spin, Qt.Key.Key_Return)


def click(qtbot, widget) -> None:
    """Click a button or check box where its label is (a wide check box only reacts there)."""
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(10, widget.height() // 2))


def assert_heatmaps_equal_headless(window) -> None:
    """Every heatmap shows the headless engine's states, bit for bit (largest-magnitude downsampled
    where the stream is longer than the heatmap's columns)."""
    trace = rnnviz.run(window.session.model.spec, device="cpu")
    for stream, plot in zip(window.state.run.streams, window.heatmaps.plots):
        shown = window.heatmaps.image_data(stream.layer, stream.direction)
        full = trace.hidden(stream.layer + 1, stream.direction)
        expected = maxabs_reduce(maxabs_reduce(full, plot.fx, 0), plot.fy, 1).T
        assert shown.shape == expected.shape
        assert np.array_equal(shown, expected), f"{stream.title} differs from the headless run"


def test_build_bidirectional_gru_stack_with_widgets_and_play_to_end(qtbot, make_window):
    window = make_window(autoplay=False)
    panel = window.panel
    # layer 1: turn the demo's SimpleRNN(8) into a bidirectional GRU(6)
    panel.stack.setCurrentRow(0)
    qtbot.keyClicks(panel.layer_type, "G")
    assert window.session.draft.layers[0].type == "GRU"
    set_spin(qtbot, panel.units, 6)
    click(qtbot, panel.bidirectional)
    # layer 2: add a GRU on top, also bidirectional, 4 units
    click(qtbot, panel.add_gru)
    assert panel.stack.currentRow() == 1
    set_spin(qtbot, panel.units, 4)
    click(qtbot, panel.bidirectional)
    # input: 70 timesteps (more than one engine block), 3 features
    set_spin(qtbot, panel.timesteps, 70)
    set_spin(qtbot, panel.features, 3)
    layers = window.session.draft.layers
    assert [(l.type, l.units, l.bidirectional, l.return_sequences) for l in layers] == [
        ("GRU", 6, True, True), ("GRU", 4, True, False)]
    assert window.session.valid
    assert [r.params for r in window.session.summary.rows] == [2 * 3 * (3 * 6 + 36 + 12), 2 * 3 * (12 * 4 + 16 + 8)]
    assert panel.table.item(1, 1).text() == "(None, 8)"
    qtbot.waitUntil(lambda: window.state.run is not None and window.state.run.timesteps == 70 and window.runner.worker is not None)
    window.toolbar.speed.setCurrentIndex(window.toolbar.speed.count() - 1)
    window.toolbar._speed_chosen(window.toolbar.speed.count() - 1)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    play_to_end(qtbot, window)
    assert [s.title for s in window.state.run.streams] == [
        "Layer 1 · GRU(6) · forward", "Layer 1 · GRU(6) · backward", "Layer 2 · GRU(4) · forward",
        "Layer 2 · GRU(4) · backward"]
    assert_heatmaps_equal_headless(window)


def test_pause_step_resume(qtbot, make_window, small_spec):
    window = make_window(small_spec, autoplay=False)
    wait_computed(qtbot, window)
    assert window.runner.playback.step == 0
    qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.state.run.streams[0].revealed == 2)
    shown = window.heatmaps.image_data(0, "forward")
    assert not np.isnan(shown[:, :2]).any() and np.isnan(shown[:, 2:]).all()
    window.runner.set_speed(2)
    qtbot.keyClick(window, Qt.Key.Key_Space)  # resume
    assert window.runner.playback.playing and window.play_action.text() == "Pause"
    qtbot.waitUntil(lambda: window.state.run.streams[0].revealed >= 3)
    qtbot.keyClick(window, Qt.Key.Key_Space)  # pause
    paused_at = window.state.run.streams[0].revealed
    assert not window.runner.playback.playing and window.play_action.text() == "Play"
    qtbot.wait(300)
    assert window.state.run.streams[0].revealed == paused_at
    qtbot.keyClick(window, Qt.Key.Key_Space)
    play_to_end(qtbot, window)
    assert_heatmaps_equal_headless(window)


def test_scrubber_moves_every_cursor(qtbot, make_window):
    spec = ModelSpec(InputSpec(timesteps=20, features=2), [LayerSpec("GRU", 3, bidirectional=True)])
    window = make_window(spec)
    play_to_end(qtbot, window)
    window.toolbar.scrubber.setValue(5)
    qtbot.waitUntil(lambda: window.state.run.streams[0].revealed == 5)
    forward, backward = window.heatmaps.plots
    assert forward.cursor_t == pytest.approx(4.5) and backward.cursor_t == pytest.approx(14.5)
    assert np.isnan(window.heatmaps.image_data(0, "backward")[:, :15]).all()


def test_edit_mid_run_restarts_cleanly(qtbot, make_window):
    spec = ModelSpec(InputSpec(timesteps=20000, features=8), [LayerSpec("GRU", 64, True)] * 2)
    window = make_window(spec, autoplay=False)  # paused: the worker stops LOOKAHEAD steps ahead, mid-run
    qtbot.waitUntil(lambda: window.state.run is not None and window.state.run.computed > 0, timeout=20_000)
    first = window.runner.worker
    assert first.isRunning() and window.state.run.computed < window.state.run.total
    with qtbot.waitSignal(first.finished, timeout=10_000):  # the old run stops within a block
        set_spin(qtbot, window.panel.units, 5)
        set_spin(qtbot, window.panel.timesteps, 300)
    assert first.cancelled
    qtbot.waitUntil(lambda: window.runner.worker is not None and window.runner.worker is not first, timeout=5_000)
    play_to_end(qtbot, window, timeout=60_000)
    assert window.state.run.streams[0].units == 5 and window.state.run.timesteps == 300
    assert_heatmaps_equal_headless(window)


def test_undo_redo_every_edit(qtbot, make_window):
    window = make_window()
    panel = window.panel
    original = window.session.draft
    click(qtbot, panel.add_rnn)
    set_spin(qtbot, panel.units, 12)
    click(qtbot, panel.bidirectional)
    edited = window.session.draft
    assert len(edited.layers) == 2 and edited.layers[1].units == 12 and edited.layers[1].bidirectional
    for _ in range(3):
        qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.session.draft == original
    assert panel.stack.count() == 1
    for _ in range(3):
        qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.session.draft == edited
    assert panel.stack.count() == 2


def test_reorder_and_remove_keep_stack_valid(qtbot, make_window):
    window = make_window()
    panel = window.panel
    click(qtbot, panel.add_gru)
    assert [l.type for l in window.session.draft.layers] == ["SimpleRNN", "GRU"]
    click(qtbot, panel.move_up)
    layers = window.session.draft.layers
    assert [l.type for l in layers] == ["GRU", "SimpleRNN"]
    assert [l.return_sequences for l in layers] == [True, False]
    panel.stack.setCurrentRow(1)
    click(qtbot, panel.remove)
    assert [(l.type, l.return_sequences) for l in window.session.draft.layers] == [("GRU", False)]
    assert window.session.valid


def test_invalid_stack_is_explained_and_run_disabled(qtbot, make_window):
    window = make_window()
    panel = window.panel
    click(qtbot, panel.add_gru)
    panel.stack.setCurrentRow(0)
    click(qtbot, panel.return_sequences)  # a middle layer stops returning sequences
    assert not window.session.valid
    assert "return sequences" in panel.problem.text() and panel.problem.isVisible()
    qtbot.waitUntil(lambda: not window.play_action.isEnabled())
    panel.stack.setCurrentRow(1)
    click(qtbot, panel.remove)
    qtbot.waitUntil(lambda: window.play_action.isEnabled())
    assert not panel.problem.isVisible()


def test_export_from_gui_equals_headless_export(qtbot, make_window, tmp_path, small_spec):
    window = make_window(small_spec)
    wait_computed(qtbot, window)
    assert window.files.export_states(tmp_path / "gui")
    spec_file = tmp_path / "model.toml"
    assert window.files.save_spec(spec_file)
    cli = subprocess.run([sys.executable, str(ROOT / "main.py"), "run", str(spec_file), "--out", str(tmp_path / "cli"),
                          "--device", "cpu"], capture_output=True, text=True, cwd=ROOT)
    assert cli.returncode == 0, cli.stderr
    gui_files = sorted(p.name for p in (tmp_path / "gui").iterdir())
    assert gui_files == sorted(p.name for p in (tmp_path / "cli").iterdir())
    assert "layer1_forward.csv" in gui_files
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "gui", tmp_path / "cli", gui_files, shallow=False)
    assert mismatch == [] and errors == []


def test_open_files_and_errors_in_window(qtbot, make_window, data_dir, tmp_path):
    window = make_window()
    assert window.files.open_file(data_dir / "keras_bidir_gru_stack.keras")
    assert [l.units for l in window.session.draft.layers] == [6, 4, 5]
    assert window.session.summary.rows[0].name == "bi_encoder"
    assert window.files.open_file(data_dir / "keras_bidir_gru_stack_input.npy")
    wait_computed(qtbot, window)
    expected = np.load(data_dir / "keras_bidir_gru_stack_states.npz")
    np.testing.assert_allclose(window.state.trace.hidden(1, "backward"), expected["layer1_backward"], atol=1e-6)
    bad = tmp_path / "broken.toml"
    bad.write_text("[input\n")
    assert not window.files.open_file(bad)
    assert "broken.toml" in window.status_message.text()
    assert not window.files.open_file(data_dir / "torch_malicious.pt")
    assert "refused" in window.status_message.text()
    assert window.files.recent_files()[0].endswith("keras_bidir_gru_stack_input.npy")


def test_worker_error_is_shown_and_app_keeps_working(qtbot, make_window, small_spec):
    window = make_window(small_spec)
    wait_computed(qtbot, window)
    window.runner.set_device("cuda")  # not present on a CPU machine: the worker reports it
    if "cuda" in window.panel.device.currentText():
        pytest.skip("this machine has CUDA")
    qtbot.waitUntil(lambda: "run failed" in window.status_message.text(), timeout=10_000)
    assert "cuda" in window.status_message.text()
    window.runner.set_device("cpu")
    wait_computed(qtbot, window)


def test_close_during_run_is_prompt(qtbot, make_window):
    spec = ModelSpec(InputSpec(timesteps=20000, features=16), [LayerSpec("GRU", 128, True)] * 3)
    window = make_window(spec, autoplay=True)
    window.runner.set_speed(None)
    qtbot.waitUntil(lambda: window.state.run is not None and window.state.run.computed > 0, timeout=20_000)
    worker = window.runner.worker
    assert worker.isRunning()
    window.close()
    assert worker.isFinished() and worker.cancelled


def test_window_grab_is_not_blank_and_shows_colour_bar(qtbot, make_window, tmp_path):
    window = make_window(ModelSpec(), autoplay=True)
    play_to_end(qtbot, window)
    path = tmp_path / "shot.png"
    assert window.files.export_image(path) and path.stat().st_size > 1000
    image = window.grab().toImage()
    colours = {image.pixelColor(x, y).rgb() for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 20
    bar = window.heatmaps.render_bar(0, "forward")
    bar_colours = {QColor(bar.pixel(x, y)).name() for x in range(bar.width()) for y in range(bar.height())}
    assert "#ffd600" in bar_colours or any(c.startswith("#ff") and c[3:5] in ("d5", "d6", "d7") for c in bar_colours)
    heat = window.heatmaps.image_data(0, "forward")
    assert not np.isnan(heat).any() and (np.abs(heat) >= 0.95).mean() > 0.5  # the tutorial demo saturates


def test_maxabs_reduce_keeps_extremes_with_sign():
    values = np.array([[0.1, -0.2], [-0.99, 0.3], [0.5, 0.4], [0.2, -0.7], [0.0, 0.1]], np.float32)
    reduced = maxabs_reduce(values, 2, 0)
    np.testing.assert_array_equal(reduced, np.float32([[-0.99, 0.3], [0.5, -0.7], [0.0, 0.1]]))
    np.testing.assert_array_equal(maxabs_reduce(values, 2, 1), np.float32([[-0.2], [-0.99], [0.5], [-0.7], [0.1]]))
    assert maxabs_reduce(values, 1, 0) is values


def test_no_display_prints_one_line_and_exits_2():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, str(ROOT / "main.py")], capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=60)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "no display" in result.stderr
    assert "run" in result.stderr


def test_hover_and_click_a_unit_shows_its_trace_and_gates(qtbot, make_window):
    spec = ModelSpec(InputSpec(timesteps=16, features=2), [LayerSpec("GRU", 4)])
    window = make_window(spec)
    play_to_end(qtbot, window)
    plot = window.heatmaps.plots[0]
    box = plot.plot.getViewBox()
    scene_pos = box.mapViewToScene(QPointF(5, 2))
    view_pos = window.heatmaps.graphics.mapFromScene(scene_pos)
    with qtbot.waitSignal(window.heatmaps.hovered) as hovered:
        qtbot.mouseMove(window.heatmaps.graphics.viewport(), view_pos)
    value = window.state.trace.hidden(1, "forward")[5, 2]
    assert hovered.args[0] == f"Layer 1 · forward · t = 5 · unit 2 · h = {value:+.6f}"
    qtbot.mouseClick(window.heatmaps.graphics.viewport(), Qt.MouseButton.LeftButton, pos=view_pos)
    trace_plot = window.views["unit-trace"]
    assert set(trace_plot.curves) == {"h", "z", "r"}
    x, y = trace_plot.curves["h"].getData()
    np.testing.assert_array_equal(y, window.state.trace.hidden(1, "forward")[:, 2])
    np.testing.assert_array_equal(trace_plot.curves["z"].getData()[1], window.state.trace.gates(1, "forward")["z"][:, 2])
    title = trace_plot.plot.getPlotItem().titleLabel.text
    assert "L1 GRU forward · unit 2" in title and "z gate" in title and "r gate" in title


def test_saturation_key_names_every_stream(qtbot, make_window):
    spec = ModelSpec(InputSpec(timesteps=16, features=2), [LayerSpec("GRU", 4, True), LayerSpec("SimpleRNN", 3)])
    window = make_window(spec)
    qtbot.waitUntil(lambda: window.state.run is not None)  # the first run starts after the first paint
    key = window.views["saturation"].key.text()
    assert [name in key for name in ("L1 forward", "L1 backward", "L2 forward")] == [True] * 3
    assert key.count("<span") == 3


def test_dropping_files_opens_them(qtbot, make_window, data_dir):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDropEvent

    window = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(data_dir / "torch_gru_bidir.pt"))])
    event = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    layers = window.session.draft.layers
    assert [(l.type, l.units, l.bidirectional) for l in layers] == [("GRU", 6, True)] * 3
    assert window.session.draft.weights.endswith("torch_gru_bidir.pt")


def test_gain_slider_and_scheme_by_keyboard(qtbot, make_window):
    window = make_window()
    panel = window.panel
    qtbot.keyClicks(panel.scheme, "n")  # normal
    assert window.session.draft.init.scheme == "normal" and panel.gain.isEnabled()
    panel.gain.setFocus()
    qtbot.keyClick(panel.gain, Qt.Key.Key_PageUp)  # a page step: +0.10
    assert window.session.draft.init.gain == pytest.approx(1.1)
    assert panel.gain_label.text() == "1.10"


def test_layout_and_recent_files_persist(qtbot, make_window, settings, data_dir):
    window = make_window()
    window.files.open_file(data_dir / "torch_rnn.pt")
    window.docks["unit-trace"].hide()
    window.close()
    again = make_window()
    assert again.files.recent_files()[0].endswith("torch_rnn.pt")
    assert not again.docks["unit-trace"].isVisible()
    assert [a.text() for a in again.recent_menu.actions()][0] == "torch_rnn.pt"


def test_ctrl_q_quits(qtbot, make_window):
    window = make_window()
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert not window.isVisible()


def test_panel_shows_every_field_of_an_opened_spec(qtbot, make_window, assets_dir):
    window = make_window()
    assert window.files.open_file(assets_dir / "demo_gru.toml")
    panel = window.panel
    assert panel.stack.count() == 3 and panel.stack.item(0).text().startswith("1. Bidirectional GRU(32)")
    assert (panel.timesteps.value(), panel.features.value(), panel.source.currentText()) == (120, 6, "sine")
    assert (panel.input_seed.value(), panel.scheme.currentText(), panel.init_seed.value()) == (1, "normal", 1)
    assert panel.gain_label.text() == "2.50" and panel.gain.isEnabled()
    assert panel.totals.text().startswith("Total params: 30,432")


def test_moving_a_row_in_the_list_reorders_the_stack(qtbot, make_window):
    from PySide6.QtCore import QModelIndex

    window = make_window()
    panel = window.panel
    click(qtbot, panel.add_gru)
    set_spin(qtbot, panel.units, 3)
    panel.stack.model().moveRow(QModelIndex(), 1, QModelIndex(), 0)  # what a drag and drop does
    qtbot.waitUntil(lambda: window.session.draft.layers[0].type == "GRU")
    assert [(l.type, l.units, l.return_sequences) for l in window.session.draft.layers] == [
        ("GRU", 3, True), ("SimpleRNN", 8, False)]
    assert panel.stack.item(0).text().startswith("1. GRU(3)")


def test_a_paused_run_still_delivers_its_last_blocks_and_trace(qtbot, make_window):
    spec = ModelSpec(InputSpec(timesteps=300, features=3), [LayerSpec("GRU", 4, True)])
    window = make_window(spec, autoplay=False)  # paused at step 0, the whole run is within LOOKAHEAD
    wait_computed(qtbot, window)
    assert all(s.received == 300 for s in window.state.run.streams)
    assert window.export_action.isEnabled()


def test_an_idle_window_stops_its_frame_timer_and_a_control_wakes_it(qtbot, make_window, small_spec):
    window = make_window(small_spec)
    play_to_end(qtbot, window)
    qtbot.waitUntil(lambda: not window.runner.frame_timer.isActive())  # nothing moves: no CPU spent on frames
    assert window.rate_label.text() == "computed" and window.fps_label.text() == "idle"
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert window.runner.frame_timer.isActive()
    qtbot.waitUntil(lambda: window.toolbar.scrubber.value() == 0 and window.state.run.streams[0].revealed == 0)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.state.run.streams[0].revealed == 1)
    qtbot.waitUntil(lambda: not window.runner.frame_timer.isActive())


def test_a_very_deep_stack_shows_a_bounded_number_of_heatmaps(qtbot, make_window, tmp_path):
    from rnnviz.ui.run_data import MAX_SHOWN_STREAMS

    layers = [LayerSpec("SimpleRNN", 2, True, True)] * 39 + [LayerSpec("SimpleRNN", 2, True)]
    window = make_window(ModelSpec(InputSpec(timesteps=6, features=2), layers))
    wait_computed(qtbot, window)
    assert len(window.heatmaps.plots) == len(window.views["saturation"].lines) == MAX_SHOWN_STREAMS
    assert "the first 32 of 80 layer directions (up to layer 16)" in window.heatmaps.note.text
    assert window.files.export_states(tmp_path) and len(list(tmp_path.glob("*.csv"))) >= 80  # every state exported


def test_panel_fields_show_large_values_of_a_spec_unclamped(qtbot, make_window):
    from rnnviz.spec import MAX_SEED

    spec = ModelSpec(InputSpec(timesteps=3, features=5000, source="normal", seed=MAX_SEED),
                     [LayerSpec("SimpleRNN", 2)], InitSpec("keras", seed=MAX_SEED - 1))
    window = make_window(spec)
    panel = window.panel
    assert (panel.features.value(), panel.input_seed.value(), panel.init_seed.value()) == (5000, MAX_SEED, MAX_SEED - 1)
    draft = window.session.draft  # showing them changed nothing
    assert (draft.input, draft.init) == (spec.input, spec.init)
