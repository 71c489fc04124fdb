"""Reading and writing trained weights: Keras 3 ``.keras`` files and torch ``state_dict`` files.

:func:`load_weights_file` lives here rather than beside :class:`~rnnviz.model.Model`, so that the
readers can build models without the model module depending back on them.
"""

from __future__ import annotations

import functools
from pathlib import Path

from rnnviz.errors import WeightsError
from rnnviz.model import Model
from rnnviz.weights.keras_file import load_keras
from rnnviz.weights.torch_file import load_state_dict


def load_weights_file(path: str | Path) -> Model:
    """Read the architecture and weights of a trained ``.keras`` file or torch ``state_dict``.

    The returned spec's input has the saved shape (10 timesteps where the file leaves time open) and
    ``uniform`` values, and its ``weights`` names the file, so that the spec repeats the run.
    """
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"{path}: no such file")
    if not path.is_file():
        raise WeightsError(f"{path}: not a file")
    stat = path.stat()
    return _read_weights(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _read_weights(path: str, _mtime_ns: int, _size: int) -> Model:
    """Parse a weights file once per version of it: the app prepares the model again after every
    edit, and a file that is rewritten gets a new modification time (and so a new cache key).
    The arrays are shared between callers, who only read them."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix == ".keras":
        return load_keras(file)
    if suffix in (".pt", ".pth"):
        return load_state_dict(file)
    raise WeightsError(f"{file}: unsupported weights format {suffix or '(none)'!r}; use .keras, .pt or .pth")
