"""The errors a :class:`~harness.scheduling.SeededEventLoop` raises."""

from __future__ import annotations

from harness.errors import HarnessError

__all__ = ["DeadlockError", "StrategyError"]


class DeadlockError(HarnessError):
    """Nothing can ever run again, yet tasks are pending.

    Raised by a :class:`SeededEventLoop` with a virtual clock when no callback is ready, no timer
    is scheduled, no executor job is running and no file descriptor but the loop's own is watched.
    Causes: a future nobody resolves, an event nobody sets, a lock never released, a queue nobody
    feeds. Fix: the message lists the pending tasks; resolve what they await, add a timeout
    (``asyncio.timeout``), or use ``virtual_time=False`` if a thread outside the loop's executor
    will wake it with ``call_soon_threadsafe``.
    """

    def __init__(self, message: str, pending: tuple[str, ...]) -> None:
        super().__init__(message)
        #: Names of the tasks still pending, sorted.
        self.pending = pending


class StrategyError(HarnessError):
    """A strategy's ``choose`` returned something the loop cannot run.

    Fix: return distinct indices into the ready batch, at least one.
    """
