"""One authenticated WebSocket with a bounded outbox: sending never waits on a slow client.

:meth:`WebSocketConnection.send` queues the frame and returns at once; one writer task per
connection sends the queue in order. A client that stops reading makes the queue grow: past
``max_unsent_bytes`` waiting, or when one frame cannot be sent within ``send_timeout`` seconds,
the connection is dropped with close code 4408 and its queue is freed. So what one connection
holds is bounded, and a delivery to one user's tabs never waits on a tab that stopped reading.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from harness_backend.errors import DeliveryError
from harness_backend.server_limits import SLOW_CLIENT_CLOSE_CODE

__all__ = ["ConnectionDropped", "WebSocketConnection"]

logger = logging.getLogger(__name__)


class ConnectionDropped(DeliveryError):
    """The connection is closed or was dropped; the frame was not queued.

    Causes: the client closed it, or the server dropped it (close code 4408: the client
    stopped reading; 4429: a budget was exceeded). Nothing to fix on the server side: the
    client reconnects.
    """


class WebSocketConnection:
    """One authenticated WebSocket, as a ``harness_backend.connections.Connection``.

    Args:
        websocket: the open server connection.
        connection_id: this connection's id in the registry.
        user_id: the authenticated user.
        max_unsent_bytes: bytes of queued frames past which the connection is dropped (4408).
        send_timeout: seconds one frame may take to be sent before the connection is dropped.
        on_drop: called with the close code when the connection is dropped.

    ``send`` raises :class:`ConnectionDropped` once the connection is closed or dropped, so
    the registry counts the delivery as failed.
    """

    def __init__(
        self,
        websocket: ServerConnection,
        connection_id: str,
        user_id: str,
        *,
        max_unsent_bytes: int = 2 * 1024 * 1024,
        send_timeout: float = 10.0,
        on_drop: Callable[[int], None] | None = None,
    ) -> None:
        self.connection_id = connection_id
        self.user_id = user_id
        self.max_unsent_bytes = max_unsent_bytes
        self.send_timeout = send_timeout
        self._on_drop = on_drop
        #: The close code the server dropped this connection with, or None.
        self.dropped_with: int | None = None
        self._websocket = websocket
        self._queue: deque[str] = deque()
        self._unsent = 0
        self._ready = asyncio.Event()
        self._closing: asyncio.Task[None] | None = None
        self._close_after_flush: tuple[int, str] | None = None
        self._writer = asyncio.get_running_loop().create_task(
            self._write(), name=f"writer {connection_id}"
        )

    @property
    def unsent_bytes(self) -> int:
        """Bytes of frames queued and not yet handed to the socket."""
        return self._unsent

    @property
    def open(self) -> bool:
        """False once the connection was dropped or its writer stopped."""
        return self.dropped_with is None and not self._writer.done()

    async def send(self, event: dict[str, Any]) -> None:
        """Queue ``event`` as one JSON text frame; drop the connection if the queue is full.

        Raises:
            ConnectionDropped: the connection is closed, or this frame overflowed its queue.
        """
        if not self.open:
            raise ConnectionDropped(f"{self.connection_id} is closed")
        text = json.dumps(event)
        if self._unsent + len(text) > self.max_unsent_bytes:
            self.drop(
                SLOW_CLIENT_CLOSE_CODE,
                f"client not reading: over {self.max_unsent_bytes} bytes unsent",
            )
            raise ConnectionDropped(f"{self.connection_id} stopped reading; dropped")
        self._queue.append(text)
        self._unsent += len(text)
        self._ready.set()

    def drop(self, code: int, reason: str, *, flush: bool = False) -> None:
        """Stop accepting frames and close the connection with ``code`` (in the background).

        With ``flush``, frames already queued are sent first (the client is reading, it is
        only over a budget); otherwise they are freed at once (the client stopped reading).
        The socket is aborted if the closing handshake takes longer than ``send_timeout``.
        """
        if self._closing is not None:
            return
        if self.dropped_with is None:
            self.dropped_with = code
            logger.info("dropping %s (%s): %s", self.connection_id, code, reason)
            if self._on_drop is not None:
                self._on_drop(code)
        if flush and self._queue and not self._writer.done():
            self._close_after_flush = (code, reason)
            return
        self._queue.clear()
        self._unsent = 0
        self._writer.cancel()
        self._closing = asyncio.get_running_loop().create_task(
            self._close(code, reason[:120]), name=f"close {self.connection_id}"
        )

    async def _close(self, code: int, reason: str) -> None:
        # A client that stopped reading never answers the close frame: past send_timeout the
        # socket is aborted, so nothing of the connection outlives the bound.
        try:
            async with asyncio.timeout(self.send_timeout):
                await self._websocket.close(code, reason)
        except TimeoutError:
            self._websocket.transport.abort()

    async def aclose(self) -> None:
        """Stop the writer and wait for a pending close; frames still queued are dropped."""
        self._writer.cancel()
        pending = [self._writer] + ([self._closing] if self._closing is not None else [])
        # return_exceptions: the writer ends cancelled and a close may find the socket gone;
        # a cancellation of the caller itself still propagates.
        await asyncio.gather(*pending, return_exceptions=True)

    async def _write(self) -> None:
        try:
            while True:
                await self._ready.wait()
                while self._queue:
                    text = self._queue[0]
                    try:
                        async with asyncio.timeout(self.send_timeout):
                            await self._websocket.send(text)
                    except TimeoutError:
                        self.drop(
                            SLOW_CLIENT_CLOSE_CODE,
                            f"client not reading: a frame waited over {self.send_timeout:g}s",
                        )
                        return
                    if self._queue:
                        self._queue.popleft()
                        self._unsent -= len(text)
                if self._close_after_flush is not None:
                    self.drop(*self._close_after_flush)
                    return
                self._ready.clear()
        except ConnectionClosed:
            self._queue.clear()
            self._unsent = 0

    def __repr__(self) -> str:
        return f"WebSocketConnection(connection_id={self.connection_id!r})"
