"""Where a sweep's points run: a local process pool or a Dask cluster, behind one small interface.

:meth:`Executor.imap_unordered` yields results as points finish; a caller that stops iterating (a stop
request) closes the generator, and the executor then drops the points not yet started, so stopping takes
moments rather than the rest of the sweep. Local workers never fork a process that has run torch (its
thread pools and fork do not mix): they come from a fork server, or are spawned.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
from abc import ABC, abstractmethod
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Iterator

from rnnviz.errors import RnnvizError

CONNECT_TIMEOUT_S = 10
RETRIES = 3  # how often Dask reruns a point that raised (one whose worker died: the scheduler's allowed-failures)
_END = object()


class Executor(ABC):
    """Runs one function over many items, on some set of workers, yielding results as they finish."""

    @abstractmethod
    def imap_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """``fn(item)`` for every item, in the order they finish; closing the iterator abandons the rest."""

    @abstractmethod
    def describe(self) -> str:
        """Where the points run, in words for a status line (``2 local workers``)."""

    def close(self) -> None:
        """Release the workers; the executor is not used again."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _worker_start() -> None:
    """Leave Ctrl+C to the parent: it stops the workers itself, and a KeyboardInterrupt in each of them
    would only print tracebacks."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _context() -> multiprocessing.context.BaseContext:
    """Workers forked from a fork server that has imported torch but run nothing (so no thread pool is forked):
    each starts in milliseconds instead of a fresh interpreter's seconds. Spawn where there is no fork server."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["rnnviz.sweep.point", "torch"])
    return context


class LocalExecutor(Executor):
    """A pool of ``workers`` processes on this machine (default: one per CPU), started on first use and kept
    for the next sweep until :meth:`close`."""

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise RnnvizError(f"workers: must be an integer >= 1, got {workers!r}")
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def describe(self) -> str:
        return f"{self.workers} local worker{'s' * (self.workers != 1)}"

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=_context(), initializer=_worker_start)
        return self._pool

    def imap_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        pool = self._started()
        queue = iter(items)
        pending: set[Future] = set()

        def refill() -> None:
            # Twice the workers in flight keeps every worker busy while a stop wastes at most that many points.
            while len(pending) < 2 * self.workers and (item := next(queue, _END)) is not _END:
                pending.add(pool.submit(fn, item))

        refill()
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
                refill()
        except GeneratorExit:  # the caller stopped: the points already running finish unseen, the pool stays
            for future in pending:
                future.cancel()
            raise
        except BrokenProcessPool:
            self._abandon()
            raise RnnvizError("a local worker process died (out of memory?); the finished points are saved, run "
                              "the same command again to compute the rest") from None
        except BaseException:  # Ctrl+C or a failed point: stop at once
            self._abandon()
            raise

    def _abandon(self) -> None:
        """Stop the pool now: queued points are cancelled and running ones killed (their work is redone on
        resume)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # ProcessPoolExecutor has no public way to stop running work before Python 3.14 (terminate_workers).
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join()

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __exit__(self, exc_type: object, *exc: object) -> None:
        """Leaving on an exception (Ctrl+C) kills the workers rather than waiting for their points."""
        if exc_type is None:
            self.close()
        else:
            self._abandon()


def _close_half_made(exc: BaseException, client_type: type) -> None:
    """Close the Client that failed to start (found in the traceback) while its event loop still runs:
    otherwise its finaliser tries at interpreter exit, waits 4 s and prints a traceback."""
    frame = exc.__traceback__
    while frame is not None:
        candidate = frame.tb_frame.f_locals.get("self")
        if isinstance(candidate, client_type):
            candidate.close(timeout=1)
            return
        frame = frame.tb_next


def _probe(address: str, timeout: float) -> None:
    """Open and close a plain TCP connection to a tcp:// or tls:// scheduler: a refused or unresolvable
    address then fails at once, without a Client to clean up."""
    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, location = parse_address(address)
    if scheme not in ("tcp", "tls"):
        return
    host, port = parse_host_port(location)
    if port is None:
        raise ValueError(f"missing port number in address {address!r}")
    socket.create_connection((host, port), timeout=timeout).close()


class DaskExecutor(Executor):
    """Points as tasks on a ``dask.distributed`` cluster. A worker that dies costs only its points, which the
    scheduler runs again on the others; a point that raises is tried ``retries`` more times."""

    def __init__(self, client: Any, retries: int = RETRIES, owns_client: bool = False) -> None:
        self.client = client
        self.retries = retries
        self._owns_client = owns_client

    @classmethod
    def connect(cls, address: str, timeout: float = CONNECT_TIMEOUT_S, retries: int = RETRIES) -> DaskExecutor:
        """A client of the scheduler at ``address`` (``tcp://HOST:PORT``); unreachable within ``timeout``
        seconds is the user's error."""
        from distributed import Client

        try:
            _probe(address, timeout)
            client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError, MemoryError) as exc:  # MemoryError: a non-Dask server's reply
            _close_half_made(exc, Client)
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise RnnvizError(f"--scheduler {address}: cannot reach a Dask scheduler within {timeout:g} s ({reason}); "
                              "start one with 'dask scheduler' and workers with 'dask worker ADDRESS'") from None
        return cls(client, retries, owns_client=True)

    def describe(self) -> str:
        workers = self.client.scheduler_info().get("workers", {})
        threads = sum(w.get("nthreads", 1) for w in workers.values())
        return f"Dask at {self.client.scheduler.address} ({len(workers)} workers, {threads} threads)"

    def imap_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        futures = [self.client.submit(fn, item, retries=self.retries, pure=False) for item in items]
        try:
            for future in as_completed(futures, loop=self.client.loop):
                try:
                    yield future.result()
                except KilledWorker:
                    raise RnnvizError("a point killed every Dask worker that ran it (out of memory?); the finished "
                                      "points are saved") from None
        finally:
            unfinished = [f for f in futures if not f.done()]
            if unfinished:
                self.client.cancel(unfinished)

    def close(self) -> None:
        if self._owns_client:
            self.client.close()
