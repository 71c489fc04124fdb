"""Independent analysis pieces (a stream's quantity, a chunk of its steps) on every core at once.

Each piece runs in a pool thread whose torch uses one intra-op thread, so the pieces share the cores
without oversubscribing them. This matters: LAPACK's dense eigendecomposition of a 128x128 Jacobian
took 9x longer with torch's default two threads than with one when another process held a core
(MKL's threads spin while they wait for each other). A piece's numbers depend only on the piece, not
on how many run beside it, so any number of workers gives the same tables.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _one_torch_thread() -> None:
    import torch

    torch.set_num_threads(1)


def map_ordered(work: Callable[[Item], Result], items: Iterable[Item], workers: int | None = None,
                done: Callable[[], None] | None = None) -> list[Result]:
    """``[work(item) for item in items]``, computed on ``workers`` threads (default: every core); ``done``
    is called in the caller's thread as each result is collected, in order. The caller's torch thread
    count is what it was before (setting it in a pool thread also changes the default of later threads)."""
    import torch

    items = list(items)
    saved = torch.get_num_threads()
    results: list[Result] = []
    pool = ThreadPoolExecutor(max(1, min(workers or cores(), len(items))), initializer=_one_torch_thread)
    try:
        for result in pool.map(work, items):
            results.append(result)
            if done is not None:
                done()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on an error, the pieces not yet started never start
        torch.set_num_threads(saved)
    return results
