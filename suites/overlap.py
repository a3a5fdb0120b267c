"""Independent, mostly waiting runs of one test module, started together, read one per test.

Some modules run several independent scenarios (or Locust runs) whose time is mostly real-time
waiting: planned tool delays, listening tabs, child processes starting. One by one, each test
waits alone. :class:`Overlap` starts them together on a small thread pool (each run in its own
thread, so each with its own event loop, or waiting on its own subprocesses) and each test reads
its own run by key: the run's result, or the very exception the run raised, with the traceback
of the thread that ran it. A failed run fails only the test that reads it.

Only independent runs may overlap: different users and tokens (or different servers), and no
check that depends on being alone on the machine (server-wide counters, budgets measured in
time, "the victim is not slowed"). Those tests stay sequential.

:func:`selected` lists the tests of one function pytest will run in a module, so that
``pytest path::test[name]`` starts only that test's run. Under pytest-xdist each worker starts
the runs of every selected test of a module it runs a test of: if the scheduler splits a module
between workers, some runs happen twice (once on each), which costs time but changes no result.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Generic, TypeVar

import pytest

__all__ = ["MAX_AT_ONCE", "Overlap", "selected"]

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
R = TypeVar("R")

#: At most this many runs at once: they share the machine with the test worker itself and,
#: under ``pytest -n``, with other workers.
MAX_AT_ONCE = 12


class Overlap(Generic[K, T]):
    """Runs started together, each kept under its key with its result or its exception.

    Use it from a module-scoped fixture: ``with Overlap(4) as runs: yield runs``; a test calls
    ``runs.start(jobs)`` (the jobs of every selected test; those already started are left
    alone), ``runs.wait()`` and then ``runs.result(key)`` for its own. Leaving the block waits
    for every run.
    """

    def __init__(self, at_once: int = MAX_AT_ONCE) -> None:
        if not 1 <= at_once <= MAX_AT_ONCE:
            raise ValueError(f"Overlap(at_once={at_once}): use 1 to {MAX_AT_ONCE} runs at once")
        self._pool = ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="overlap")
        self._runs: dict[K, Future[T]] = {}
        self._started: set[K] = set()

    def start(self, jobs: Iterable[tuple[K, Callable[[], T]]]) -> None:
        """Start every job whose key was never started (in the given order)."""
        for key, job in jobs:
            if key not in self._started:
                self._started.add(key)
                self._runs[key] = self._pool.submit(job)

    def started(self, key: K) -> bool:
        """Whether a run of ``key`` was started (read or not)."""
        return key in self._started

    def wait(self) -> None:
        """Wait until every run started so far has ended (whether it returned or raised).

        Call it from the test that started the runs, before its checks: while a test runs,
        pytest leaves the process's environment alone, and between tests it does not (it sets
        ``PYTEST_CURRENT_TEST``): a run still going in another thread could then read
        ``os.environ`` as it changes (the WebSocket client does, for proxies) and fail with a
        ``KeyError`` that is no finding of its own.
        """
        wait(self._runs.values())

    def result(self, key: K) -> T:
        """Wait for the run of ``key``; its result, or re-raise the exception it raised.

        A run is read once: the pool forgets it, so the results of tests already done are not
        kept alive (and walked by the garbage collector) while later runs go on.
        """
        try:
            run = self._runs.pop(key)
        except KeyError:
            started = ", ".join(map(repr, self._runs)) or "none"
            raise LookupError(
                f"no run of {key!r} to read (unread runs: {started}): call start() with its "
                "job first, and read each run once"
            ) from None
        return run.result()

    def result_of(self, key: K, kind: type[R]) -> R:
        """:meth:`result`, checked to be a ``kind``: for a pool whose runs give different types."""
        result = self.result(key)
        if not isinstance(result, kind):
            raise TypeError(f"the run of {key!r} gave a {type(result).__name__}, not a {kind}")
        return result

    def __enter__(self) -> Overlap[K, T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._pool.shutdown(wait=True)


def selected(request: pytest.FixtureRequest, function: str) -> list[pytest.Function]:
    """The tests of ``function`` in the requesting test's module that pytest selected, in
    collection order (after ``-k``, node ids and deselection)."""
    return [
        item
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and item.module is request.module
        and item.originalname == function
    ]
