"""File-backed state arrays, for runs whose recorded states would not fit the memory budget.

A spool is one temporary file mapped into memory and cut into float32 arrays. The file is deleted as
soon as it is mapped (the mapping keeps its blocks until the arrays are gone), so no spool is ever
left behind, whatever ends the process: an error, Ctrl+C, SIGTERM or even SIGKILL. Its blocks are
reserved up front (``posix_fallocate``), so a full disk is an error before the run, not a SIGBUS in
the middle of it.

Pages of the mapping that the process has touched count towards its resident memory until they are
dropped with :func:`release`; the data stays in the file (and the kernel's page cache), and reading
the rows again brings them back. The engine drops pages as blocks are handed over and the exporters
after each chunk they write, so a run of any length streams through a bounded amount of memory.
"""

from __future__ import annotations

import mmap
import os
import shutil
import tempfile
from typing import Iterator, Sequence

import numpy as np
from numpy.lib.array_utils import byte_bounds

from rnnviz.errors import RnnvizError

PREFIX = "rnnviz-spool-"
ALIGN = 4096  # every array starts on its own page, so that dropping one never touches another's rows


class _SpoolMap(mmap.mmap):
    """A shared mapping of a spool file: the only memory :func:`release` ever drops pages of (on a private
    or anonymous mapping, dropping pages would discard their contents)."""


def spool_folder() -> str:
    """Where spools are made: the system's temporary folder (``TMPDIR``)."""
    return tempfile.gettempdir()


def spooled_arrays(shapes: Sequence[tuple[int, ...]], folder: str | None = None) -> list[np.ndarray]:
    """Zero float32 arrays of ``shapes``, backed by one deleted file in ``folder``."""
    offsets, size = [], 0
    for shape in shapes:
        offsets.append(size)
        size += -(-4 * int(np.prod(shape)) // ALIGN) * ALIGN
    size = max(size, ALIGN)
    where = tempfile.mkdtemp(prefix=PREFIX, dir=folder or spool_folder())
    try:
        with open(os.path.join(where, "states"), "w+b") as fh:
            try:
                os.posix_fallocate(fh.fileno(), 0, size)
            except OSError as exc:
                raise RnnvizError(f"{where}: cannot reserve {size / 2**30:.1f} GiB on disk for the recorded states "
                                  f"({exc.strerror or exc}); free some space or point TMPDIR elsewhere") from None
            mapping = _SpoolMap(fh.fileno(), size)
    finally:
        shutil.rmtree(where, ignore_errors=True)
    whole = np.frombuffer(mapping, dtype=np.float32)
    return [whole[start // 4:start // 4 + int(np.prod(shape))].reshape(shape) for start, shape in zip(offsets, shapes)]


def _mapping(values: np.ndarray) -> tuple[_SpoolMap, np.ndarray] | None:
    """The spool mapping under ``values`` and the array that covers all of it, if there is one."""
    root = values
    while isinstance(root.base, np.ndarray):
        root = root.base
    owner = root.base.obj if isinstance(root.base, memoryview) else root.base  # np.frombuffer keeps a memoryview
    return (owner, root) if isinstance(owner, _SpoolMap) else None


def is_spooled(values: np.ndarray) -> bool:
    return _mapping(values) is not None


def release(values: np.ndarray) -> None:
    """Drop the resident pages under ``values`` if it lies in a spool (anything else is left alone).

    Always safe: the rows are read back from the file when next touched, and a page written meanwhile
    by another thread keeps what was written (the file, not this process's view of it, holds the data).
    """
    found = _mapping(values)
    if found is None or values.size == 0:
        return
    mapping, root = found
    low, high = byte_bounds(values)
    offset = low - byte_bounds(root)[0]
    start = offset - offset % mmap.PAGESIZE
    mapping.madvise(mmap.MADV_DONTNEED, start, offset + (high - low) - start)


def row_chunks(values: np.ndarray, rows: int) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, rows ``first … first+rows-1``) of ``values``, each chunk's pages released once the
    consumer asks for the next."""
    for start in range(0, values.shape[0], max(1, rows)):
        chunk = values[start:start + rows]
        yield start, chunk
        release(chunk)
