"""The ready queue a :class:`SeededEventLoop` keeps for a one-at-a-time (serial) strategy.

A serial strategy runs one callback per loop iteration and leaves the rest queued. Rebuilding
the whole ready batch every iteration costs O(ready) per step; instead the loop keeps the queue
here, across iterations: append at the tail, remove any entry, and tell the queue position of
an entry among the live ones, each in O(log n) (a Fenwick tree over positions).

Handles the loop makes itself (:class:`TrackedHandle`, :class:`TrackedTimerHandle`) report
their own cancellation, so a cancelled callback leaves the queue at once, as it would leave the
next batch of the stock loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["ReadyQueue", "TrackedHandle", "TrackedTimerHandle"]

#: Smallest capacity of the position tree.
_MIN_CAPACITY = 1024


class _CancelTracking:
    """Mixin: tell the loop when the handle is cancelled while queued, so the queue drops it."""

    __slots__ = ()

    def cancel(self) -> None:
        """Cancel as the handle class does, then drop the callback from the loop's queue."""
        handle: Any = self
        if not handle._cancelled:
            super().cancel()  # type: ignore[misc]
            handle._loop._queued_handle_cancelled(self)


class TrackedHandle(_CancelTracking, asyncio.Handle):
    """A :class:`asyncio.Handle` that tells its loop when it is cancelled while queued."""

    __slots__ = ("_key",)
    #: The handle's key in the loop's queue while it is queued, else 0.
    _key: int


class TrackedTimerHandle(_CancelTracking, asyncio.TimerHandle):
    """A :class:`asyncio.TimerHandle` that tells its loop when it is cancelled while queued."""

    __slots__ = ("_key",)
    #: The handle's key in the loop's queue while it is queued, else 0.
    _key: int


class ReadyQueue:
    """Queued callbacks by key, in queue order, with their rank among the queued ones.

    Keys are ints given by the caller in increasing order (the order of the queue); each key
    holds a position in a Fenwick tree of 0/1 counts. When the positions run out, the queued
    entries are renumbered ``1..n`` into a tree with room for at least ``3n`` more.
    """

    __slots__ = ("_capacity", "_next", "_positions", "_tree", "handles")

    def __init__(self) -> None:
        self._capacity = _MIN_CAPACITY
        self._tree = [0] * (_MIN_CAPACITY + 1)
        self._next = 1
        self._positions: dict[int, int] = {}
        #: key -> handle, in queue order.
        self.handles: dict[int, asyncio.Handle] = {}

    def __len__(self) -> int:
        return len(self.handles)

    def __contains__(self, key: object) -> bool:
        return key in self.handles

    def append(self, key: int, handle: asyncio.Handle) -> None:
        """Queue ``handle`` under ``key`` (greater than every key queued so far)."""
        if self._next > self._capacity:
            self._renumber()
        position = self._next
        self._next = position + 1
        self._positions[key] = position
        self.handles[key] = handle
        tree, capacity = self._tree, self._capacity
        while position <= capacity:
            tree[position] += 1
            position += position & -position

    def remove(self, key: int) -> int:
        """Dequeue ``key``; return how many queued entries were ahead of it."""
        position = self._positions.pop(key)
        del self.handles[key]
        tree = self._tree
        rank = 0
        index = position - 1
        while index:
            rank += tree[index]
            index &= index - 1
        capacity = self._capacity
        while position <= capacity:
            tree[position] -= 1
            position += position & -position
        return rank

    def rank(self, key: int) -> int:
        """How many queued entries are ahead of ``key``."""
        tree = self._tree
        rank = 0
        index = self._positions[key] - 1
        while index:
            rank += tree[index]
            index &= index - 1
        return rank

    def clear(self) -> None:
        """Forget every entry."""
        self._capacity = _MIN_CAPACITY
        self._tree = [0] * (_MIN_CAPACITY + 1)
        self._next = 1
        self._positions = {}
        self.handles = {}

    def _renumber(self) -> None:
        live = len(self.handles)
        capacity = max(_MIN_CAPACITY, 4 * live)
        tree = [0] * (capacity + 1)
        positions: dict[int, int] = {}
        for position, key in enumerate(self.handles, 1):
            positions[key] = position
            tree[position] = 1
        for index in range(1, capacity + 1):
            parent = index + (index & -index)
            if parent <= capacity:
                tree[parent] += tree[index]
        self._capacity, self._tree, self._positions = capacity, tree, positions
        self._next = live + 1
