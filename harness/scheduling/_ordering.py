"""What a strategy may reorder: task steps only; every other callback keeps asyncio's order.

asyncio's own machinery relies on the order in which it queues callbacks. When a socket connects,
the connect future's done-callbacks run in registration order: ``_sock_write_done`` removes the
writer, then the task resumes and builds a transport on the socket. Resume the task first and
``remove_writer`` finds a transport on the fd (``RuntimeError: File descriptor N is used by
transport``), the writer stays registered and the loop spins on a writable fd. Reader and writer
callbacks, ``call_soon_threadsafe`` calls from executor threads and transport internals have
the same kind of order built in.

So the rule every strategy runs under: the strategy chooses the order of **task steps** (a
``Task``'s step or wake-up, :func:`handle_task`); a callback bound to no task runs in queue
order, and never after a task step that was queued behind it. A task step may be delayed past
callbacks queued after it, never advanced past one queued before it: that keeps asyncio's
invariants (which only ever need "this callback runs before the task resumes") while every
interleaving of tasks stays reachable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from ._strategies import handle_task

__all__ = ["in_asyncio_order"]


def in_asyncio_order(batch: Sequence[asyncio.Handle], order: Sequence[int]) -> list[int]:
    """The indices of ``batch`` to run now: ``order`` with every non-task callback pulled forward.

    Before each chosen index runs, every callback bound to no task that is queued ahead of it
    (and, for a non-task callback, itself) runs first, in queue order. Indices run once. The
    result starts with what ``order`` asks for, so a strategy that keeps the queue order (fifo)
    gets exactly that order back.

    Example:
        >>> # batch: [step of task A, _sock_write_done, step of task B]; strategy picks B first
        >>> in_asyncio_order(batch, [2, 0, 1])  # doctest: +SKIP
        [1, 2, 0]
    """
    size = len(batch)
    if order == range(size) or list(order) == list(range(size)):
        return list(order)
    system = [index for index, handle in enumerate(batch) if handle_task(handle) is None]
    if not system:
        return list(order)
    ran = [False] * size
    result: list[int] = []
    pointer = 0
    for index in order:
        if ran[index]:
            continue  # a non-task callback already pulled forward
        is_task = handle_task(batch[index]) is not None
        while pointer < len(system) and (
            system[pointer] < index or (not is_task and system[pointer] == index)
        ):
            ahead = system[pointer]
            pointer += 1
            if not ran[ahead]:
                ran[ahead] = True
                result.append(ahead)
        if not ran[index]:
            ran[index] = True
            result.append(index)
    return result
