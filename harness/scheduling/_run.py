"""Run one coroutine to completion on a fresh seeded loop and return its schedule."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

from harness.model import ScheduleRecord

from ._loop import DEFAULT_IO_GRACE, SeededEventLoop
from ._strategies import Strategy, make_strategy

__all__ = ["run"]

T = TypeVar("T")


def run(
    main: Coroutine[Any, Any, T],
    *,
    strategy: str | Strategy = "fifo",
    seed: int = 0,
    virtual_time: bool = True,
    strategy_options: Mapping[str, Any] | None = None,
    io_grace: float = DEFAULT_IO_GRACE,
) -> tuple[T, ScheduleRecord]:
    """Run ``main`` on a new :class:`SeededEventLoop`; return its result and the schedule.

    A strategy given by name is built by :func:`make_strategy` with ``strategy_options`` (e.g.
    ``{"steps": 40}`` for ``pct``) and draws from ``random.Random(seed)``, so the same
    (``main``, ``seed``, ``strategy``) runs the same way every time. A :class:`Strategy` object
    is used as is and ``seed`` is only recorded. ``io_grace`` is the loop's wait for awaited
    real I/O before virtual time moves (docs/scheduling.md, Real I/O). Leftover tasks are
    cancelled and the loop is closed, as :func:`asyncio.run` does.

    Raises:
        UsageError: an unknown strategy name.
        DeadlockError: tasks wait on something nothing can ever provide.
        Exception: whatever ``main`` raises, with a note giving the schedule so far.

    Example:
        >>> async def nap() -> float:
        ...     await asyncio.sleep(30)
        ...     return asyncio.get_running_loop().time()
        >>> run(nap(), strategy="random", seed=3)[0]
        30.0
    """
    if isinstance(strategy, str):
        try:
            strategy = make_strategy(strategy, random.Random(seed), **(strategy_options or {}))
        except BaseException:
            main.close()
            raise
    chosen: Strategy = strategy
    loops: list[SeededEventLoop] = []

    def loop_factory() -> SeededEventLoop:
        loop = SeededEventLoop(chosen, seed=seed, virtual_time=virtual_time, io_grace=io_grace)
        loops.append(loop)
        return loop

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        try:
            result = runner.run(main)
        except BaseException as exc:
            if loops:
                record = loops[0].schedule_record()
                exc.add_note(
                    f"schedule: strategy={record.strategy!r} seed={record.seed!r} "
                    f"steps={record.steps} digest={record.digest}"
                )
            raise
        return result, loops[0].schedule_record()
