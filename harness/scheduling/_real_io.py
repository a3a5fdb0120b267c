"""Is real I/O on its way? What the seeded loop asks before it moves its virtual clock.

When no callback is ready, the virtual clock would jump to the next timer. That is only honest
when nothing outside the loop can still deliver: a reply from a server, a thread's result, a
child process's output. :func:`pending_io` looks at what the loop watches and answers with
one of three levels:

- :data:`AWAITED`: something is certainly on its way or awaited: an executor job or a child
  process is running, a writer is registered (data waits to be sent, or a connect is in
  progress), a ``loop.sock_*`` call waits, or a stream reader on a client connection to another
  process has a waiter (a coroutine awaits the reply).
- :data:`UNSURE`: a reader is registered whose protocol the loop cannot see into (a client
  connection to another process through a protocol other than asyncio streams, a pipe, an
  ``add_reader`` callback): data may or may not come.
- :data:`IDLE`: only the loop's own self-pipe, listening sockets, connections accepted by this
  loop's servers (they wait for requests, not replies), connections whose peer is a server of
  this loop (anything in flight between two sockets of one loop is already readable, so the
  selector would have said so), and stream connections nobody reads from (a pool's idle
  connections).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

__all__ = ["AWAITED", "IDLE", "UNSURE", "pending_io"]

IDLE, UNSURE, AWAITED = 0, 1, 2


def pending_io(loop: Any, busy_sources: Iterable[bool]) -> int:
    """The strongest level of real I/O that may still reach ``loop`` (a selector loop).

    Args:
        loop: the loop, whose selector map, self-pipe and servers are read.
        busy_sources: one flag per other source that is certainly pending (executor jobs,
            child processes); any true flag makes the answer :data:`AWAITED`.
    """
    if any(busy_sources):
        return AWAITED
    own = loop._ssock.fileno() if loop._ssock is not None else -1
    keys = [key for key in loop._selector.get_map().values() if key.fd != own]
    if not keys:
        return IDLE
    listening = _listening_addresses(loop, keys)
    level = IDLE
    for key in keys:
        reader, writer = key.data
        if writer is not None and not writer._cancelled:
            return AWAITED
        if reader is not None and not reader._cancelled:
            level = max(level, _reader_level(loop, reader, listening))
            if level == AWAITED:
                return level
    return level


def _listening_addresses(loop: Any, keys: Iterable[Any]) -> set[Any]:
    addresses = set()
    for key in keys:
        reader = key.data[0]
        if reader is None or reader._cancelled:
            continue
        callback = reader._callback
        accepting = callback.__name__ == "_accept_connection"
        if accepting and getattr(callback, "__self__", None) is loop:
            try:
                addresses.add(_address(reader._args[1].getsockname()))
            except (OSError, IndexError, AttributeError):
                continue
    return addresses


def _address(address: Any) -> Any:
    # IPv6 addresses carry flow info and scope id; (host, port) names the listener.
    return tuple(address[:2]) if isinstance(address, tuple) else address


def _reader_level(loop: Any, reader: asyncio.Handle, listening: set[Any]) -> int:
    callback = reader._callback  # type: ignore[attr-defined]
    owner = getattr(callback, "__self__", None)
    if owner is loop:
        # The loop's own readers: servers accepting (idle), or a sock_recv/sock_accept call.
        return IDLE if callback.__name__ in ("_accept_connection", "_read_from_self") else AWAITED
    if not isinstance(owner, asyncio.BaseTransport):
        return UNSURE
    if getattr(owner, "_server", None) is not None:
        return IDLE  # accepted by a server of this loop: it waits for requests
    peer = owner.get_extra_info("peername")
    if peer and _address(peer) in listening:
        return IDLE
    waiting = _stream_waiting(owner.get_protocol())
    if waiting is None:
        return UNSURE
    return AWAITED if waiting else IDLE


def _stream_waiting(protocol: Any) -> bool | None:
    """Whether a coroutine awaits data on an asyncio stream; None when the protocol is opaque."""
    protocol = getattr(protocol, "_app_protocol", protocol)  # under TLS, the stream's protocol
    if not isinstance(protocol, asyncio.StreamReaderProtocol):
        return None
    stream = protocol._stream_reader  # type: ignore[attr-defined]
    if stream is None:
        return False
    waiter = stream._waiter
    return waiter is not None and not waiter.done()
