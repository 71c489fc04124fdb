"""Start-up work off the GUI thread: import torch and the analysis modules, find the devices present,
warm up the kernels."""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QObject, Signal, Slot


class DeviceProbe(QObject):
    """Imports torch off the GUI thread, reports the devices present, and runs a tiny recurrent
    forward pass so that the first real run does not pay for torch's kernel set-up."""

    found = Signal(list)
    warmed = Signal()  # torch is imported and its recurrent kernels have run once

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.warmed.connect(self._freeze_startup_objects)

    def start(self) -> None:
        threading.Thread(target=self._probe, name="rnnviz-device-probe", daemon=True).start()

    def _probe(self) -> None:
        try:
            from rnnviz.engine.device import available_devices

            devices = available_devices()
        except Exception:  # noqa: BLE001 - without torch the worker reports the real error
            devices = ["cpu"]
        self.found.emit(devices)
        try:
            import torch

            with torch.inference_mode():
                for module in (torch.nn.GRU(2, 2), torch.nn.RNN(2, 2), torch.nn.LSTM(2, 2)):
                    module(torch.zeros(3, 2))
            _import_analysis()
        except Exception:  # noqa: BLE001 - a warm-up only; a real run reports its own errors
            pass
        self.warmed.emit()

    @Slot()
    def _freeze_startup_objects(self) -> None:
        """Exempt everything imported so far (torch, Qt, pyqtgraph: hundreds of thousands of objects)
        from the cyclic garbage collector. Otherwise each full collection walks them all, which stops
        every thread, the GUI's included, for 60-100 ms in the middle of a run."""
        gc.freeze()


def _import_analysis() -> None:
    """Import the analyses the app runs after each run, and call LAPACK once, while the window is idle.
    Otherwise the analysis worker does it when the first run finishes, and compiling and executing
    modules holds the GIL in long stretches just as the window draws the run's last frames (seen in
    bench/gui.py's longest stall, beside the copy that :func:`rnnviz.analysis.perturb._twice` fixed)."""
    import torch

    import rnnviz.analysis.fixed_points  # noqa: F401
    import rnnviz.analysis.gradients  # noqa: F401
    import rnnviz.analysis.jacobian  # noqa: F401
    import rnnviz.analysis.lyapunov  # noqa: F401
    import rnnviz.analysis.pca  # noqa: F401
    import rnnviz.analysis.perturb  # noqa: F401
    import rnnviz.analysis.streams  # noqa: F401

    square = torch.eye(2, dtype=torch.float32)
    torch.linalg.eigvals(square)
    torch.linalg.eigvalsh(square)
    torch.linalg.qr(square)
