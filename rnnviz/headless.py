"""Headless use: turn what the user gave (spec, files, arrays) into a run, and drain it.

:func:`prepare` is shared by the command line, the Python API and the desktop app, so that all three
build the very same :class:`~rnnviz.engine.stepper.Stepper` for the same inputs.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from rnnviz.engine.cells import init_weights
from rnnviz.engine.stepper import Stepper
from rnnviz.inputs import read_input, resolve_inputs, text_shape
from rnnviz.errors import SpecError
from rnnviz.model import SPEC_SUFFIXES, Model, check_matches, is_weights_file
from rnnviz.spec import ModelSpec, load_spec
from rnnviz.summary import Summary, keras_names, summary as _summary
from rnnviz.trace import Trace, check_memory
from rnnviz.weights import load_weights_file

ARRAY_INPUT = "inputs.csv"  # what a spec records for inputs given as an array: the exported copy


def load_model_source(source: ModelSpec | str | Path) -> tuple[ModelSpec, Model | None]:
    """A spec, and the trained model when ``source`` is (or names) a weights file."""
    if isinstance(source, ModelSpec):
        spec = source
    elif is_weights_file(source):
        loaded = load_weights_file(source)
        return loaded.spec, loaded
    elif Path(source).suffix.lower() not in SPEC_SUFFIXES:
        raise SpecError(f"{source}: unsupported model file type {Path(source).suffix or '(none)'!r}; use a spec "
                        "(.toml, .json) or trained weights (.keras, .pt, .pth)")
    else:
        spec = load_spec(source)
    if spec.weights is None:
        return spec, None
    loaded = load_weights_file(spec.weights)
    return spec, loaded


def prepare(source: ModelSpec | str | Path, inputs: np.ndarray | str | Path | None = None,
            weights: str | Path | None = None) -> tuple[Model, np.ndarray]:
    """Everything a run needs: the resolved spec, weights, layer names, and the input array.

    Parameters
    ----------
    source
        A :class:`ModelSpec`, or the path of a spec (``.toml``/``.json``) or of trained weights
        (``.keras``/``.pt``/``.pth``).
    inputs
        Overrides the spec's input: an array (timesteps, features) or a ``.csv``/``.npy`` path. Its rows set the
        timesteps; its columns must be the features the trained weights or the spec fix (an InputError
        naming it otherwise), and only a spec that leaves features out takes its width.
    weights
        Trained weights to use instead of the spec's initialisation; the architecture must match.
    """
    spec, loaded = load_model_source(source)
    if weights is not None:
        loaded = load_weights_file(weights)
        spec = replace(spec, weights=str(Path(weights).resolve()))
    if loaded is not None:  # first, so that a spec that contradicts its weights is named as such
        check_matches(spec, loaded, spec.weights or "weights")
    values, input_origin = None, "inputs"
    if isinstance(inputs, (str, Path)):
        values, input_origin = read_input(inputs), str(inputs)
        spec = replace(spec, input=replace(spec.input, source="file", path=str(Path(inputs).resolve()),
                                           timesteps=None))
    elif inputs is not None:
        values = inputs
        spec = replace(spec, input=replace(spec.input, source="file", path=ARRAY_INPUT, timesteps=None))
    origin = None if isinstance(source, ModelSpec) else str(source)
    check_memory(spec, origin)  # a huge spec fails from the estimate, before its input is generated ...
    spec, array = resolve_inputs(spec, values, input_origin, None if loaded is None else loaded.spec.input.features)
    check_memory(spec, origin)  # ... or its weights are drawn
    if loaded is None:
        return Model(spec, tuple(init_weights(spec)), tuple(keras_names(spec.layers))), array
    return Model(spec, loaded.weights, loaded.names, loaded.model_name), array


def stepper(model: Model, inputs: np.ndarray, device: str = "auto",
            thread_init: Callable[[], None] | None = None) -> Stepper:
    return Stepper(model.spec, model.weights, inputs, device=device, names=model.names,
                   model_name=model.model_name, thread_init=thread_init)


def run(source: ModelSpec | str | Path, inputs: np.ndarray | str | Path | None = None,
        weights: str | Path | None = None, device: str = "auto",
        progress: Callable[[int, int], None] | None = None) -> Trace:
    """Compute every hidden state of a model; see :func:`prepare` for the arguments.

    ``progress(done, total)`` is called after each block of steps.
    """
    model, array = prepare(source, inputs, weights)
    steps = stepper(model, array, device)
    for block in steps:
        if progress is not None:
            progress(block.done, block.total)
    return steps.trace


def summary(source: ModelSpec | str | Path) -> Summary:
    """Keras' summary of a spec or weights file; a file-backed input is read for its shape."""
    spec, loaded = load_model_source(source)
    if spec.input.source == "text" and (spec.input.timesteps is None or spec.input.features is None):
        spec = replace(spec, input=spec.input.with_shape(*text_shape(spec.input.text)))  # no need to build it
    elif spec.input.timesteps is None or spec.input.features is None:
        spec, _ = resolve_inputs(spec)
    if loaded is not None:
        return _summary(spec, loaded.names, loaded.model_name)
    return _summary(spec)

