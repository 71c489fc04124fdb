"""rnnviz: watch SimpleRNN, GRU and LSTM stacks and their dynamics, in a desktop app or from scripts.

The package imports no Qt; the desktop app lives in :mod:`rnnviz.ui`.

>>> import rnnviz
>>> spec = rnnviz.ModelSpec(input=rnnviz.InputSpec(timesteps=10, features=4),
...                         layers=[rnnviz.LayerSpec("SimpleRNN", 8)])
>>> trace = rnnviz.run(spec, device="cpu")
>>> trace.hidden(1, "forward").shape
(10, 8)
"""

from rnnviz.analysis import analyze
from rnnviz.errors import RnnvizError
from rnnviz.headless import prepare, run, summary
from rnnviz.spec import InitSpec, InputSpec, LayerSpec, ModelSpec, load_spec
from rnnviz.trace import Trace

__version__ = "0.1.0"

__all__ = ["InitSpec", "InputSpec", "LayerSpec", "ModelSpec", "RnnvizError", "Trace", "analyze", "load_spec", "prepare",
           "run", "summary", "__version__"]
