"""Cheap stand-ins for a point's metrics, importable by spawned workers, so tests of the sweep machinery
(grid, journal, executors) take milliseconds per point."""

from rnnviz.sweep import METRICS


def fake_rows(spec, metrics):
    """A deterministic, distinct number per point, layer direction and metric."""
    rows = []
    for layer, layer_spec in enumerate(spec.layers, start=1):
        for direction in layer_spec.directions:
            base = spec.init.gain * 1000 + layer_spec.units + spec.init.seed / 10 + layer / 100
            rows.append({"layer": layer, "direction": direction,
                         **{m: base + METRICS.index(m) / 1000 for m in metrics}})
    return rows

