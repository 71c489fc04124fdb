"""Writing a trace to disk: CSV (wide, plus tidy on request) or one .npz archive.

Every file is first written under a temporary name in the target folder and then moved into place,
so an interrupted or failed export never leaves a half-written file. Values are printed with nine
significant digits, which round-trips every float32 exactly.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import zipfile
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import IO, Iterator, Protocol

import numpy as np

from rnnviz.errors import RnnvizError
from rnnviz.spec import ModelSpec
from rnnviz.spool import row_chunks
from rnnviz.summary import Summary

FLOAT = "%.9g"
CHUNK_VALUES = 2**20  # values turned into Python floats at a time: tolist() of a whole table took 8 times its size


class ExportedTrace(Protocol):
    """What the writers read of a :class:`rnnviz.trace.Trace`; named by its shape, not imported, because
    the trace imports this module to offer ``to_csv`` and ``to_npz``."""

    spec: ModelSpec
    inputs: np.ndarray

    def streams(self) -> Iterator[tuple[int, str, np.ndarray]]: ...

    def gate_streams(self) -> Iterator[tuple[int, str, str, np.ndarray]]: ...

    def saturation(self) -> list[tuple[int, str, np.ndarray, np.ndarray]]: ...

    def summary(self) -> Summary: ...


def _row_chunks(values: np.ndarray) -> Iterator[tuple[int, list]]:
    """(first row, rows as lists) of a 2-D array, about ``CHUNK_VALUES`` values at a time; a spooled
    array's pages are dropped after each chunk, so that exporting streams through memory."""
    for start, rows in row_chunks(values, CHUNK_VALUES // max(1, values.shape[1])):
        yield start, rows.tolist()


def prepare_out_dir(out_dir: Path) -> None:
    """Create ``out_dir`` (and its parents) for writing, or fail with one line saying why."""
    if out_dir.exists() and not out_dir.is_dir():
        raise RnnvizError(f"{out_dir}: exists and is not a directory; choose an output directory")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RnnvizError(f"{out_dir}: cannot create the output directory ({exc.strerror or exc})") from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise RnnvizError(f"{out_dir}: the output directory is not writable")


def check_out_dir(out_dir: Path) -> None:
    """Fail before a long run, creating nothing, if ``out_dir`` cannot become the output directory."""
    if out_dir.exists() and not out_dir.is_dir():
        raise RnnvizError(f"{out_dir}: exists and is not a directory; choose an output directory")
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise RnnvizError(f"{out_dir}: cannot create the output directory ({existing} is not a directory)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RnnvizError(f"{out_dir}: the output directory is not writable")


def open_temp(path: Path) -> tuple[int, str]:
    """Create a new temporary file beside ``path``, with the permissions a plain ``open`` would give it
    (``tempfile.mkstemp`` makes it private, and the exported files would stay so)."""
    for _ in range(100):
        tmp = os.path.join(path.parent, f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


@contextmanager
def atomic_write(path: Path, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success move it onto ``path``, on failure delete it.

    Only a regular file is replaced: moving a file onto ``/dev/null`` (run as root) replaces the device.
    """
    if path.is_dir():
        raise RnnvizError(f"{path}: is a directory; cannot write a file there")
    if path.exists() and not path.is_file():
        raise RnnvizError(f"{path}: exists and is not a regular file (a device, FIFO or socket); refusing to "
                          "replace it")
    try:
        fd, tmp = open_temp(path)
    except OSError as exc:
        raise RnnvizError(f"{path}: cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, mode, **({"newline": "", "encoding": "utf-8"} if "b" not in mode else {})) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise RnnvizError(f"{path}: cannot write ({exc.strerror or exc})") from None
        raise


def _write_table(fh: IO, header: list[str], values: np.ndarray, index: bool = True) -> None:
    fh.write(",".join(header) + "\n")
    row = ",".join([FLOAT] * values.shape[1])
    if index:
        row = "%d," + row
        for start, lines in _row_chunks(values):
            fh.writelines((row % (t, *line)) + "\n" for t, line in enumerate(lines, start))
    else:
        for _, lines in _row_chunks(values):
            fh.writelines((row % tuple(line)) + "\n" for line in lines)


def exported_spec_toml(trace: ExportedTrace, inputs_file: str) -> str:
    """The spec that repeats this run. Inputs read from a file or given as an array point at the
    exported copy ``inputs_file`` (exact values), so the folder is self-contained."""
    spec = trace.spec
    if spec.input.source == "file":
        spec = replace(spec, input=replace(spec.input, path=inputs_file))
    return spec.to_toml()


def _write_common(trace: ExportedTrace, out_dir: Path, inputs_file: str) -> list[Path]:
    written = []
    with atomic_write(out_dir / "summary.json") as fh:
        json.dump(trace.summary().to_dict(), fh, indent=2)
        fh.write("\n")
    written.append(out_dir / "summary.json")
    with atomic_write(out_dir / "spec.toml") as fh:
        fh.write(exported_spec_toml(trace, inputs_file))
    written.append(out_dir / "spec.toml")
    return written


def write_csv(trace: ExportedTrace, out_dir: Path, tidy: bool = False) -> list[Path]:
    """``layer{i}_{direction}.csv`` (``t,h0,h1,…``), one ``layer{i}_{direction}_{gate}.csv`` per gate or cell
    state (``t,{gate}0,…``), ``inputs.csv``, ``saturation.csv``, ``summary.json``, ``spec.toml`` and, with
    ``tidy``, the long ``hidden_states.csv`` (``layer,direction,t,unit,value``) and, if the stack has gates,
    ``gate_states.csv`` (``layer,direction,gate,t,unit,value``)."""
    prepare_out_dir(out_dir)
    written = []
    tables = [(f"layer{layer}_{direction}", "h", states) for layer, direction, states in trace.streams()]
    tables += [(f"layer{layer}_{direction}_{gate}", gate, values)
               for layer, direction, gate, values in trace.gate_streams()]
    for stem, column, values in tables:
        path = out_dir / f"{stem}.csv"
        with atomic_write(path) as fh:
            _write_table(fh, ["t"] + [f"{column}{u}" for u in range(values.shape[1])], values)
        written.append(path)
    with atomic_write(out_dir / "inputs.csv") as fh:
        _write_table(fh, [f"x{f}" for f in range(trace.inputs.shape[1])], trace.inputs, index=False)
    written.append(out_dir / "inputs.csv")
    with atomic_write(out_dir / "saturation.csv") as fh:
        fh.write("layer,direction,t,saturated_fraction,mean_tanh_gain\n")
        for layer, direction, fraction, gain in trace.saturation():
            fh.writelines(f"{layer},{direction},{t},{FLOAT % f},{FLOAT % g}\n"
                          for t, (f, g) in enumerate(zip(fraction.tolist(), gain.tolist())))
    written.append(out_dir / "saturation.csv")
    if tidy:
        long_tables = [("hidden_states.csv", "layer,direction,t,unit,value",
                        [(f"{layer},{direction},", states) for layer, direction, states in trace.streams()])]
        gates = [(f"{layer},{direction},{gate},", values) for layer, direction, gate, values in trace.gate_streams()]
        if gates:
            long_tables.append(("gate_states.csv", "layer,direction,gate,t,unit,value", gates))
        for name, header, parts in long_tables:
            with atomic_write(out_dir / name) as fh:
                fh.write(header + "\n")
                for prefix, values in parts:
                    _write_long(fh, prefix, values)
            written.append(out_dir / name)
    return written + _write_common(trace, out_dir, "inputs.csv")


def _write_long(fh: IO, prefix: str, values: np.ndarray) -> None:
    """One ``{prefix}{t},{unit},{value}`` line per value of a (timesteps, units) array."""
    for start, lines in _row_chunks(values):
        for t, line in enumerate(lines, start):
            fh.writelines(f"{prefix}{t},{u},{FLOAT % v}\n" for u, v in enumerate(line))


def _savez(fh: IO, arrays: dict[str, np.ndarray]) -> None:
    """What ``np.savez`` writes (an uncompressed zip of ``.npy`` members), each array written a few MiB at a
    time from its own memory: ``np.savez`` copies it in 16 MiB pieces through ``tobytes``, and reads a
    spooled array whole into memory."""
    with zipfile.ZipFile(fh, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, values in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array_header_1_0(member, np.lib.format.header_data_from_array_1_0(values))
                for _, rows in row_chunks(values, CHUNK_VALUES // max(1, values.shape[1])):
                    member.write(memoryview(np.ascontiguousarray(rows)).cast("B"))


def write_npz(trace: ExportedTrace, out_dir: Path) -> list[Path]:
    """One ``hidden_states.npz`` with ``inputs``, ``layer{i}_{direction}`` and the gates and cell states as
    ``layer{i}_{direction}_{gate}`` (GRU ``z,r,hh``, LSTM ``i,f,g,o,c``); plus ``summary.json``, ``spec.toml``
    and, where the spec reads its input from a file, ``inputs.npy`` for it to read."""
    prepare_out_dir(out_dir)
    arrays = {"inputs": trace.inputs}
    arrays.update((f"layer{layer}_{direction}", states) for layer, direction, states in trace.streams())
    arrays.update((f"layer{layer}_{direction}_{gate}", values)
                  for layer, direction, gate, values in trace.gate_streams())
    path = out_dir / "hidden_states.npz"
    with atomic_write(path, "wb") as fh:
        _savez(fh, arrays)
    written = [path]
    if trace.spec.input.source == "file":
        with atomic_write(out_dir / "inputs.npy", "wb") as fh:
            np.save(fh, trace.inputs)
        written.append(out_dir / "inputs.npy")
    return written + _write_common(trace, out_dir, "inputs.npy")
