"""A sweep's results on disk: an append-only journal of finished points, and the tables rebuilt from it.

The journal (``journal.jsonl``) is the truth: a header line naming the sweep's fingerprint, then one JSON
line per finished point, each flushed and fsynced before the next is recorded. A crash can at worst leave
a torn last line, which is dropped on reading, so a resumed sweep neither loses nor repeats a point.
``results.csv``, ``results.parquet`` and ``sweep.json`` are rebuilt from it, each atomically, at the end of
a run and when one is interrupted.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from rnnviz.errors import RnnvizError
from rnnviz.export import atomic_write
from rnnviz.sweep.point import PointResult, Row

JOURNAL = "journal.jsonl"
RESULTS_CSV = "results.csv"
RESULTS_PARQUET = "results.parquet"
INFO = "sweep.json"
FORMAT = 1


def _parse(line: bytes) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return None


def read_journal(out_dir: Path) -> tuple[dict[str, Any] | None, dict[int, dict[str, Any]], int]:
    """(header, finished points by index, byte length of the intact part) of ``out_dir``'s journal; no
    header when there is none. A torn last line, from a crash mid-write, is not part of the intact part."""
    path = out_dir / JOURNAL
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, {}, 0
    except OSError as exc:
        raise RnnvizError(f"{path}: cannot read the sweep journal ({exc.strerror or exc})") from None
    if not raw:  # created, and killed before its header was written
        return None, {}, 0
    lines = raw.split(b"\n")
    header = _parse(lines[0]) if len(lines) > 1 else None
    if not isinstance(header, dict) or header.get("format") != FORMAT or "fingerprint" not in header:
        raise RnnvizError(f"{path}: not an rnnviz sweep journal; choose another --out directory")
    finished: dict[int, dict[str, Any]] = {}
    intact = len(lines[0]) + 1
    for number, line in enumerate(lines[1:-1], start=2):  # the piece after the last newline is torn or empty
        record = _parse(line)
        if not (isinstance(record, dict) and isinstance(record.get("point"), int) and isinstance(record.get("rows"), list)):
            raise RnnvizError(f"{path}: line {number} is not a finished point; the journal was edited or damaged")
        finished.setdefault(record["point"], record)
        intact += len(line) + 1
    return header, finished, intact


def _other_sweep(out_dir: Path) -> RnnvizError:
    return RnnvizError(f"{out_dir / JOURNAL}: holds the results of a different sweep (another grid, spec or "
                       "metrics); choose another --out directory or delete this one")


def check_journal(out_dir: Path, fingerprint: str) -> int:
    """How many points ``out_dir`` already holds for this sweep; a journal of another sweep is refused."""
    header, finished, _ = read_journal(out_dir)
    if header is not None and header["fingerprint"] != fingerprint:
        raise _other_sweep(out_dir)
    return len(finished)


class Journal:
    """The open journal of one run: locked against a second run on the same folder, appended point by point."""

    def __init__(self, out_dir: Path, fingerprint: str, total: int) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / JOURNAL
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise RnnvizError(f"{out_dir}: another sweep is writing its results there right now") from None
        try:
            header, self.finished, intact = read_journal(out_dir)
        except RnnvizError:
            self.close()
            raise
        if header is not None and header["fingerprint"] != fingerprint:
            self.close()
            raise _other_sweep(out_dir)
        os.ftruncate(self._fd, intact)  # drops a torn last line
        os.lseek(self._fd, intact, os.SEEK_SET)
        if header is None:
            self._write({"format": FORMAT, "fingerprint": fingerprint, "points": total})

    def _write(self, record: Mapping[str, Any]) -> None:
        os.write(self._fd, (json.dumps(record) + "\n").encode())
        os.fsync(self._fd)

    def append(self, result: PointResult, values: Mapping[str, Any]) -> None:
        """Record a finished point durably; a point already recorded is not recorded again."""
        if result.index in self.finished:
            return
        record = {"point": result.index, "values": dict(values), "seconds": result.seconds, "rows": result.rows}
        self._write(record)
        self.finished[result.index] = record

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # also releases the lock
            self._fd = -1


def tidy_rows(finished: Mapping[int, Mapping[str, Any]]) -> list[Row]:
    """One row per point and layer direction, in point order: ``point``, the grid values, then the row's own
    columns (``layer``, ``direction``, metrics)."""
    return [{"point": index, **finished[index]["values"], **row}
            for index in sorted(finished) for row in finished[index]["rows"]]


def _arrow_column(values: list[Any]) -> Any:
    import pyarrow as pa

    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a grid key mixing strings and numbers
        return pa.array([str(v) for v in values])


def write_info(out_dir: Path, info: Mapping[str, Any]) -> Path:
    with atomic_write(out_dir / INFO) as fh:
        json.dump(info, fh, indent=2)
        fh.write("\n")
    return out_dir / INFO


def write_results(out_dir: Path, columns: list[str], rows: list[Row], info: Mapping[str, Any]) -> list[Path]:
    """Write results.csv, results.parquet and sweep.json atomically (each complete, or absent/unchanged)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with atomic_write(out_dir / RESULTS_CSV) as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([row.get(column, "") for column in columns] for row in rows)
    table = pa.table({column: _arrow_column([row.get(column) for row in rows]) for column in columns}) if rows \
        else pa.table({column: pa.array([], pa.null()) for column in columns})
    with atomic_write(out_dir / RESULTS_PARQUET, "wb") as fh:
        pq.write_table(table, fh)
    return [out_dir / RESULTS_CSV, out_dir / RESULTS_PARQUET, write_info(out_dir, info)]


def read_results(out_dir: str | Path) -> list[Row]:
    """The tidy rows of a sweep folder, during a run or after it (from the journal, else results.parquet)."""
    out_dir = Path(out_dir)
    if (out_dir / JOURNAL).exists():
        return tidy_rows(read_journal(out_dir)[1])
    if (out_dir / RESULTS_PARQUET).exists():
        import pyarrow.parquet as pq

        return pq.read_table(out_dir / RESULTS_PARQUET).to_pylist()
    raise RnnvizError(f"{out_dir}: holds no sweep results (no {JOURNAL} or {RESULTS_PARQUET})")


def point_seconds(finished: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    seconds = [record["seconds"] for record in finished]
    if not seconds:
        return {"total": 0.0}
    return {"total": sum(seconds), "mean": sum(seconds) / len(seconds), "min": min(seconds), "max": max(seconds)}
