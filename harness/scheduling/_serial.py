"""The serial fast path of :class:`~harness.scheduling.SeededEventLoop`.

A :class:`~harness.scheduling.SerialStrategy` (one offering ``enqueue`` and ``pick``, as pct
does) runs one callback per iteration. Instead of rebuilding the ready batch every step, the loop
keeps the queue across iterations (:class:`~._queue.ReadyQueue`) and hands each newly ready
callback to the strategy once. The handles the loop makes report their cancellation so that a
cancelled callback leaves the queue at once; other handles (I/O readers, handles appended by
foreign code) are checked at every step.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from ._errors import StrategyError
from ._queue import ReadyQueue, TrackedHandle, TrackedTimerHandle
from ._strategies import FifoStrategy, SerialStrategy, Strategy, handle_task

__all__ = ["SerialPath"]

_TRACKED = (TrackedHandle, TrackedTimerHandle)


class SerialPath:
    """Mixin of the seeded loop: the serial queue, its handles and its one-step iteration.

    The loop sets ``_queue``, ``_serial``, ``_strategy``, ``_chooser``, ``_steps``,
    ``_next_key``, ``_untracked`` and ``_system_keys``, and provides ``_run_handle`` and
    ``_record``.
    """

    _queue: ReadyQueue | None
    _serial: SerialStrategy | None
    _strategy: Strategy
    _chooser: Strategy
    _steps: int
    _next_key: int
    _untracked: list[int]
    _system_keys: deque[int]

    def _run_handle(self, handle: asyncio.Handle) -> None: ...

    def _record(self, size: int, order: Any) -> None: ...

    def _run_serial(self, queue: ReadyQueue) -> None:
        # The one-at-a-time iteration without rebuilding the batch: the queue holds what the
        # batch would (the live callbacks, in queue order), and the rank of the picked one is
        # the index choose() would have returned.
        base: Any = self
        ready = base._ready
        strategy: Any = self._serial
        handle: Any
        try:
            while ready:
                handle = ready.popleft()
                if handle._cancelled:
                    continue
                self._next_key += 1
                key = self._next_key
                if type(handle) in _TRACKED and not handle._key:
                    handle._key = key
                else:
                    self._untracked.append(key)
                queue.append(key, handle)
                if handle_task(handle) is None:
                    self._system_keys.append(key)
                strategy.enqueue(key, handle)
            if self._untracked:
                self._sweep_untracked(queue)
            count = len(queue)
            if not count:
                return
            key = strategy.pick(count, self._steps)
            if key not in queue:
                raise StrategyError(
                    f"strategy={self._strategy.name!r} picked key={key!r}, which is not queued "
                    f"({count} ready callback(s)). Expected the key of a queued, live callback."
                )
            self._check_serial_order(queue, key)
        except BaseException:
            self._leave_serial(queue)
            raise
        handle = queue.handles[key]
        index = queue.remove(key)
        if type(handle) in _TRACKED:
            handle._key = 0
        if count > 1:
            self._record(count, (index,))
        self._run_handle(handle)

    def _check_serial_order(self, queue: ReadyQueue, key: int) -> None:
        # The rule of _ordering: a callback bound to no task runs before anything queued after
        # it. A serial strategy cannot be corrected without losing its own view of the queue,
        # so breaking the rule is a strategy error (pct picks those callbacks first).
        system = self._system_keys
        while system and system[0] not in queue:
            system.popleft()
        if system and system[0] < key:
            ahead = queue.handles[system[0]]
            raise StrategyError(
                f"strategy={self._strategy.name!r} picked key={key!r} while the callback "
                f"{ahead!r} (key {system[0]}, bound to no task) is queued ahead of it. Expected "
                "callbacks bound to no task to run first, in queue order: asyncio relies on "
                "their order (docs/scheduling.md, Real I/O)."
            )
        if system and system[0] == key:
            system.popleft()

    def _sweep_untracked(self, queue: ReadyQueue) -> None:
        kept = []
        for key in self._untracked:
            handle = queue.handles.get(key)
            if handle is None:
                continue
            if handle._cancelled:  # type: ignore[attr-defined]
                queue.remove(key)
            else:
                kept.append(key)
        self._untracked = kept

    def _leave_serial(self, queue: ReadyQueue) -> None:
        # The strategy failed: put the live callbacks back in queue order and go on in fifo.
        base: Any = self
        live = [handle for handle in queue.handles.values() if not handle._cancelled]  # type: ignore[attr-defined]
        base._ready.extendleft(reversed(live))
        queue.clear()
        self._untracked.clear()
        self._system_keys.clear()
        self._queue = None
        self._serial = None
        self._chooser = FifoStrategy()
