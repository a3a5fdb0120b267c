"""Clocks: the only source of time in the backend.

Core code never calls ``time.time()``: it asks an injected :class:`Clock`. The default,
:class:`LoopClock`, reads the running event loop's clock, so a harness that runs the backend on a
loop with a virtual clock controls time completely. :class:`ManualClock` is for tests that move
time by hand (idle-engine cleanup).
"""

from __future__ import annotations

import asyncio
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "LoopClock", "ManualClock"]


@runtime_checkable
class Clock(Protocol):
    """Anything with a ``time() -> float`` method (seconds, monotonic)."""

    def time(self) -> float: ...


class LoopClock:
    """The running event loop's clock (``asyncio.get_running_loop().time()``).

    Holds no state; it must be read from inside a running loop.
    """

    __slots__ = ()

    def time(self) -> float:
        """Return the running loop's time in seconds.

        Raises:
            RuntimeError: when no event loop is running.
        """
        return asyncio.get_running_loop().time()

    def __repr__(self) -> str:
        return "LoopClock()"


class ManualClock:
    """A clock that only moves when told to.

    Example:
        >>> clock = ManualClock(10.0)
        >>> clock.advance(5)
        >>> clock.time()
        15.0
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def time(self) -> float:
        """Return the current manual time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (must be >= 0).

        Raises:
            ValueError: for a negative ``seconds``.
        """
        if seconds < 0:
            raise ValueError(
                f"seconds={seconds!r} is negative; a clock only moves forward. Pass a value >= 0."
            )
        self._now += seconds

    def __repr__(self) -> str:
        return f"ManualClock({self._now!r})"
