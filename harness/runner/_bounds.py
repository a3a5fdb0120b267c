"""Bounds on every call into an adapter: nothing a target does can hang the harness unnoticed.

- Async calls (``start``, ``stop``, ``open_session``, ``close``) are awaited under
  ``call_timeout`` loop seconds (:func:`bounded_call`); ``run_turn`` under the scenario's
  ``turn_timeout``.
- Sync calls (``roots``, ``events``, ``limits``, ``shared_roots``, the constructor) cannot be
  cancelled. In the main thread they run under a real-time alarm (``SIGALRM``) that interrupts
  them after ``call_timeout`` seconds; elsewhere (no alarm available) they are timed and a call
  that took longer is reported, never hidden (:func:`sync_call`).
- Every step of an adapter coroutine is timed in real seconds (:class:`StepTimer`): a step that
  held the event loop past ``block_limit`` (``time.sleep`` or blocking I/O in ``run_turn``)
  stalled every other user and is reported as loop lag. The harness's own work during a step
  (its event hook walks live roots) is subtracted, so only the adapter is blamed.

Real seconds here measure only what a misbehaving adapter does; a correct target stays far
below every bound, so same seed still means same trace.
"""

from __future__ import annotations

import asyncio
import importlib
import math
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from harness.errors import AdapterCallTimeout

__all__ = [
    "DEFAULT_BLOCK_LIMIT",
    "DEFAULT_CALL_TIMEOUT",
    "DEFAULT_CONNECT_RATE",
    "AdapterCallTimeout",
    "Bounds",
    "StepTimer",
    "bounded_call",
    "sync_call",
]

T = TypeVar("T")

#: Seconds an async adapter call (start, stop, open_session, close) may take.
DEFAULT_CALL_TIMEOUT = 30.0
#: Real seconds one step of an adapter coroutine, or one sync call, may hold the loop.
DEFAULT_BLOCK_LIMIT = 2.0
#: Sessions a remote run opens per second at most (``--connect-rate``).
DEFAULT_CONNECT_RATE = 200.0


@dataclass(frozen=True, slots=True)
class Bounds:
    """How long the harness waits for an adapter (``--call-timeout``, ``--block-limit``) and
    how fast it opens sessions of a remote target (``--connect-rate``)."""

    #: Loop seconds for start, stop, open_session and close; real seconds for sync calls.
    call_timeout: float = DEFAULT_CALL_TIMEOUT
    #: Real seconds one adapter step may block the event loop before it is reported.
    block_limit: float = DEFAULT_BLOCK_LIMIT
    #: Remote targets: at most this many ``open_session`` calls start per second, like a load
    #: tool's spawn rate, so a burst of users does not overflow the server's accept queue. The
    #: wait for a slot is not part of ``call_timeout``. In-process targets are not paced.
    connect_rate: float = DEFAULT_CONNECT_RATE

    def __post_init__(self) -> None:
        for name in ("call_timeout", "block_limit", "connect_rate"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"Bounds.{name}={value!r} must be a finite number > 0")


async def bounded_call(
    call: str, awaitable: Awaitable[T], bound: float, *, own_task: bool = True
) -> T:
    """Await ``awaitable`` for at most ``bound`` loop seconds.

    Args:
        own_task: run it in a task of its own (``asyncio.wait_for``), or in the caller's task
            (``asyncio.timeout``). Which one is part of the schedule the seeded loop replays:
            keep each call's choice stable, or the same seed gives another interleaving.

    Raises:
        AdapterCallTimeout: it did not finish; the message names ``call`` and the bound.
    """
    try:
        if own_task:
            return await asyncio.wait_for(awaitable, bound)
        async with asyncio.timeout(bound):
            return await awaitable
    except TimeoutError:
        raise AdapterCallTimeout(
            f"{call} did not return within {bound:g}s (--call-timeout {bound:g}). "
            "Fix the adapter so the call returns, or raise --call-timeout if it is just slow."
        ) from None


#: ``signal.signal`` without its enum conversion of the handler it returns: for a function
#: handler (ours, when it is restored) that conversion raises and catches a ValueError, about
#: 4 us per call, and every walk's ``roots()`` makes two. CPython's ``_signal.signal``, which
#: ``signal.signal`` wraps, does the same work; the public one stands in where it is missing.
_set_handler: Callable[[int, Any], Any] = getattr(
    importlib.import_module("_signal") if "_signal" in sys.builtin_module_names else signal,
    "signal",
    signal.signal,
)


class _Alarm(BaseException):
    """Raised by the SIGALRM handler inside an overrunning sync call (never escapes)."""


def _alarm_usable() -> bool:
    """The alarm is ours to use: main thread, and no one else's alarm pending (pytest-timeout's
    signal method, say, which ours would cancel)."""
    return (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )


def sync_call(call: str, function: Callable[[], T], bound: float) -> T:
    """Call a sync adapter method under ``bound`` real seconds.

    In the main thread a real-time alarm interrupts the call at the bound; elsewhere the call
    runs to its end and is reported if it took longer.

    Raises:
        AdapterCallTimeout: the call ran past ``bound`` (interrupted or measured).
    """
    fix = (
        "A sync adapter call holds the event loop for every user: make it return at once "
        f"(it should only read state), or raise --call-timeout ({bound:g}s)."
    )
    if not _alarm_usable():
        started = time.perf_counter()
        value = function()
        took = time.perf_counter() - started
        if took > bound:
            raise AdapterCallTimeout(
                f"{call} took {took:.1f}s, past its bound of {bound:g}s. {fix}"
            )
        return value

    def on_alarm(signum: int, frame: Any) -> None:
        raise _Alarm

    previous = _set_handler(signal.SIGALRM, on_alarm)
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, bound)
            try:
                return function()
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _Alarm:
            raise AdapterCallTimeout(
                f"{call} did not return within {bound:g}s and was interrupted. {fix}"
            ) from None
    finally:
        _set_handler(signal.SIGALRM, previous)


class StepTimer:
    """Times every step of adapter coroutines; remembers the longest block past the limit.

    Args:
        block_limit: real seconds a step may take.

    ``harness_seconds`` is advanced by the harness's own callbacks that run inside an adapter
    step (the event hook); that time is not the adapter's.
    """

    def __init__(self, block_limit: float) -> None:
        self.block_limit = block_limit
        self.harness_seconds = 0.0
        #: (call, real seconds) of each step that held the loop past the limit.
        self.blocks: list[tuple[str, float]] = []

    def wrap(self, call: str, coroutine: Awaitable[T]) -> Awaitable[T]:
        """``coroutine``, timed step by step; blocks past the limit go to :attr:`blocks`."""
        return _Timed(self, call, coroutine)

    def _step(self, call: str, took: float) -> None:
        if took > self.block_limit:
            self.blocks.append((call, took))


class _Timed:
    __slots__ = ("_call", "_inner", "_timer")

    def __init__(self, timer: StepTimer, call: str, inner: Awaitable[Any]) -> None:
        self._timer, self._call, self._inner = timer, call, inner

    def __await__(self) -> Generator[Any, Any, Any]:
        iterator = self._inner.__await__()
        timer = self._timer
        send: Any = None
        error: BaseException | None = None
        while True:
            started, hooks = time.perf_counter(), timer.harness_seconds
            try:
                yielded = iterator.throw(error) if error is not None else iterator.send(send)
            except StopIteration as stop:
                timer._step(self._call, _took(timer, started, hooks))
                return stop.value
            except BaseException:
                timer._step(self._call, _took(timer, started, hooks))
                raise
            timer._step(self._call, _took(timer, started, hooks))
            try:
                send, error = (yield yielded), None
            except BaseException as exc:  # cancellation travels into the adapter
                send, error = None, exc


def _took(timer: StepTimer, started: float, hooks: float) -> float:
    return time.perf_counter() - started - (timer.harness_seconds - hooks)
