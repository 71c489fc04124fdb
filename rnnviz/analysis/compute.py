"""Every requested quantity over every layer-direction of a run, as the tables :func:`rnnviz.analyze` returns."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from rnnviz.analysis.tables import per_step
from rnnviz.analysis.streams import Stream, layer_inputs, streams
from rnnviz.engine.cells import LayerWeights
from rnnviz.trace import Trace

# The order in which the pieces start (their results are recorded in the order asked).
START_ORDER = ("fixed_points", "perturbation", "gradient_flow", "lyapunov", "pca", "gates", "jacobian")


def _fp_constant(trace: Trace, layer: int, fp_input: str | tuple[float, ...]) -> np.ndarray:
    width = layer_inputs(trace, layer).shape[1]
    if fp_input == "zero":
        return np.zeros(width)
    if fp_input == "mean":
        return layer_inputs(trace, layer).mean(axis=0, dtype=np.float64)
    return np.asarray(fp_input, np.float64)


def compute(trace: Trace, weights: list[LayerWeights] | tuple[LayerWeights, ...], params: Any,
            progress: Callable[[int, int], None] | None = None) -> tuple[dict, dict, dict]:
    """(tables, arrays, info) for the quantities in ``params.only`` (see :class:`rnnviz.analysis.Parameters`).

    Every stream's quantities (a stream's Jacobian norms in chunks of steps) are independent pieces,
    measured on every core (:mod:`rnnviz.analysis.parallel`) and recorded in order, so the tables do
    not depend on how many cores ran them.
    """
    from rnnviz.analysis.jacobian import CHUNK
    from rnnviz.analysis.parallel import map_ordered

    every = streams(trace, weights)
    rows: dict[str, list[dict[str, Any]]] = {}
    arrays: dict[str, np.ndarray] = {}
    info: dict[str, Any] = {"computed": list(params.only), "parameters": {}, "layers": []}
    info["layers"] = [{"layer": s.layer, "direction": s.direction, "type": s.cell.type, "units": s.units,
                       "state_size": s.state_size, "state": "[h, c]" if s.cell.type == "LSTM" else "h"}
                      for s in every]
    pieces: list[tuple[str, Stream | None, range]] = []
    for name in params.only:
        if name == "perturbation":
            pieces.append((name, None, range(0)))
        elif name == "jacobian":
            pieces.extend((name, s, range(a, min(a + CHUNK, s.steps))) for s in every for a in range(0, s.steps, CHUNK))
        else:
            pieces.extend((name, s, range(s.steps)) for s in every)
    run_total = len(trace.spec.layers) * trace.timesteps
    done = 0

    def advance() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(run_total + run_total * done // len(pieces), 2 * run_total)

    order = _start_order(pieces)
    measured = map_ordered(lambda i: _measure(*pieces[i], trace, weights, params), order, done=advance)
    results = [result for _, result in sorted(zip(order, measured), key=lambda pair: pair[0])]
    jacobians: dict[tuple[int, str], list[dict[str, np.ndarray]]] = {}
    for (name, s, steps), result in zip(pieces, results):
        if name == "jacobian":
            jacobians.setdefault((s.layer, s.direction), []).append(result)
            if steps.stop == s.steps:  # the stream's last chunk
                parts = jacobians.pop((s.layer, s.direction))
                rows.setdefault("jacobian", []).extend(
                    per_step(s, {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}))
        else:
            _record(name, s, result, params, rows, arrays, info)
    return rows, arrays, info


def _start_order(pieces: list[tuple[str, Stream | None, range]]) -> list[int]:
    """The order in which the pieces start: the long sequential ones first (in the order asked, the
    single perturbation piece ran alone on one core at the end), each followed by a Jacobian chunk, so
    that the loops of small operations (which hold the GIL between them) mostly run beside the
    Jacobians' large batched products, which release it, rather than beside each other."""
    chunks = [i for i, piece in enumerate(pieces) if piece[0] == "jacobian"]
    loops = sorted((i for i, piece in enumerate(pieces) if piece[0] != "jacobian"),
                   key=lambda i: START_ORDER.index(pieces[i][0]))
    order = [i for pair in zip(loops, chunks) for i in pair]
    shorter = min(len(loops), len(chunks))
    return order + loops[shorter:] + chunks[shorter:]


def _index(info: dict, s: Stream) -> int:
    return next(i for i, entry in enumerate(info["layers"])
                if (entry["layer"], entry["direction"]) == (s.layer, s.direction))


def _measure(name: str, s: Stream | None, steps: range, trace: Trace, weights, params: Any) -> Any:
    """The numbers of one piece; pure, so that pieces can run on any thread in any order."""
    if name == "jacobian":
        from rnnviz.analysis.jacobian import jacobian_stats

        return jacobian_stats(s, steps.start, steps.stop)
    if name == "gradient_flow":
        from rnnviz.analysis.gradients import gradient_flow

        return gradient_flow(s)
    if name == "lyapunov":
        from rnnviz.analysis.lyapunov import lyapunov_spectrum

        return lyapunov_spectrum(s, params.lyapunov, params.burn_in)
    if name == "gates":
        from rnnviz.analysis.gates import gate_saturation

        return gate_saturation(trace, s.layer, s.direction)
    if name == "pca":
        from rnnviz.analysis.pca import pca

        return pca(s.states[:, :s.units])
    if name == "perturbation":
        from rnnviz.analysis.perturb import perturb

        return perturb(trace, weights, params.perturb_at, params.epsilon, params.perturb_layer,
                       params.perturb_direction)
    if name == "fixed_points":
        import rnnviz.analysis.fixed_points as fp

        if s.layer not in params.fp_layers:
            return None
        return fp.find_fixed_points(s.cell, _fp_constant(trace, s.layer, params.fp_input), s.states)
    raise ValueError(name)


def _record(name: str, s: Stream | None, result: Any, params: Any, rows: dict, arrays: dict, info: dict) -> None:
    """Add one piece's rows (and arrays, and what ``analysis.json`` says of it)."""
    if name == "perturbation":
        _perturbation(result, params, rows, info)
        return
    where = {"layer": s.layer, "direction": s.direction}
    if name == "gradient_flow":
        rows.setdefault("gradient_flow", []).extend(per_step(s, result))
    elif name == "lyapunov":
        from rnnviz.analysis.lyapunov import exponent_count

        rows.setdefault("lyapunov", []).extend({**where, "k": k, "exponent": float(e)}
                                               for k, e in enumerate(result, start=1))
        info["parameters"]["lyapunov"] = {"k": params.lyapunov, "burn_in": params.burn_in, "units": "nats per step",
                                          "method": "QR re-orthonormalisation (Benettin), every step"}
        info["layers"][_index(info, s)]["lyapunov_k"] = exponent_count(s, params.lyapunov)
    elif name == "gates":
        for gate, stats in result.items():
            rows.setdefault("gates", []).extend(
                {**where, "gate": gate, "unit": u, "left": float(stats["left"][u]), "right": float(stats["right"][u]),
                 "mean": float(stats["mean"][u])} for u in range(len(stats["mean"])))
    elif name == "pca":
        rows.setdefault("pca", []).extend(per_step(s, {f"pc{i + 1}": result["scores"][:, i] for i in range(3)}))
        rows.setdefault("pca_variance", []).extend(
            {**where, "component": i, "explained_variance_ratio": float(r)}
            for i, r in enumerate(result["explained_variance_ratio"], start=1))
    elif name == "fixed_points":
        _fixed_points(s, result, params, rows, arrays, info)


def _fixed_points(s: Stream, found: Any, params: Any, rows: dict, arrays: dict, info: dict) -> None:
    import rnnviz.analysis.fixed_points as fp

    table = rows.setdefault("fixed_points", [])
    if found is None:  # a layer not asked for
        return
    key = f"layer{s.layer}_{s.direction}"
    arrays[f"{key}_states"] = found.states
    arrays[f"{key}_eigenvalues"] = found.eigenvalues
    table.extend({"layer": s.layer, "direction": s.direction, "id": i, "q": float(found.q[i]),
                  "stable": bool(found.stable[i]), "max_abs_eig": float(found.max_abs_eig[i]),
                  "unstable_modes": int(found.unstable_modes[i])} for i in range(len(found.states)))
    info["parameters"]["fixed_points"] = {
        "input": params.fp_input if isinstance(params.fp_input, str) else list(params.fp_input),
        "layers": list(params.fp_layers), "q": "0.5 * sum((F(h) - h)**2) over the state's components",
        "n_inits": fp.N_INITS, "noise": fp.NOISE, "tol_q": fp.TOL_Q, "tol_dq": fp.TOL_DQ,
        "tol_unique": fp.TOL_UNIQUE, "max_iters": fp.MAX_ITERS, "settle_steps": fp.SETTLE_STEPS,
        "stable": "every |eigenvalue| of the Jacobian < 1"}


def _perturbation(divergences: list, params: Any, rows: dict, info: dict) -> None:
    table = rows.setdefault("perturbation", [])
    horizons = []
    for result in divergences:
        order = np.argsort(result.times, kind="stable")
        table.extend({"layer": result.layer, "direction": result.direction, "t": int(result.times[i]),
                      "steps_since_fork": int(i), "distance": float(result.distance[i]),
                      "distance_h": float(result.distance_h[i])} for i in order.tolist())
        horizons.append({"layer": result.layer, "direction": result.direction,
                         "first_t": int(result.times[0]) if len(result.times) else None,
                         "memory_horizon": result.memory_horizon, "divergence_time": result.divergence_time})
    info["parameters"]["perturbation"] = {"at": params.perturb_at, "epsilon": params.epsilon,
                                          "layer": params.perturb_layer, "direction": params.perturb_direction,
                                          "seed": 0, "forgotten_below": params.epsilon / 100, "diverged_above": 0.1}
    info["perturbation"] = horizons
