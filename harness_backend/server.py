"""The reference backend's WebSocket server.

Each connection authenticates with a JWT (see :mod:`harness_backend.auth`), is registered in the
factory's :class:`~harness_backend.connections.ConnectionRegistry` for its user while open, and
sends
``chat_message`` frames (see :mod:`harness_backend.protocol`). Every turn runs as its own task
through
``factory.user_execution_scope`` and the ``scripted`` agent; its events reach every connection of
that user and no other. Bad frames get an ``error`` frame on their own connection only, which
stays open. A connection without a valid token is closed with code 4401 and a reason.

In process::

    server = await serve("127.0.0.1", 0, secret=secret)  # 32 bytes or more
    try:
        ...  # connect to server.url
    finally:
        await server.close()

From a shell: ``python -m harness_backend.server --host 127.0.0.1 --port 0 --jwt-secret SECRET`` (or
``BACKEND_JWT_SECRET`` in the environment); it prints ``listening on ws://HOST:PORT`` when ready.
The command line itself lives in ``harness_backend/__main__.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as websockets_serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from harness_backend.agents import AgentRequest
from harness_backend.auth import (
    SUBPROTOCOL_PREFIX,
    AuthError,
    check_secret,
    token_from_headers,
    token_from_subprotocols,
    verify_token,
)
from harness_backend.connections import ConnectionRegistry
from harness_backend.errors import BackendError, EngineLimitExceeded
from harness_backend.factory import ExecutionEngineFactory
from harness_backend.protocol import (
    ChatMessage,
    OwnershipTable,
    Ping,
    ProtocolError,
    TokenBucket,
    error_frame,
    parse_message,
    pong_frame,
    validate_id,
)

__all__ = [
    "AUTH_CLOSE_CODE",
    "ServerLimits",
    "ServerStatistics",
    "WebSocketConnection",
    "BackendServer",
    "serve",
]

logger = logging.getLogger(__name__)

#: Close code for a connection refused for want of a valid token.
AUTH_CLOSE_CODE = 4401


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Per-connection protections of the server."""

    #: Largest accepted frame in bytes; a larger one closes the connection with 1009.
    max_size: int = 256 * 1024
    #: Messages per second a connection may send on average (token bucket refill).
    rate: float = 20.0
    #: Messages a connection may send at once before the rate applies.
    burst: float = 40.0
    #: How many thread ids and run ids the ownership table remembers (oldest forgotten first).
    ownership_capacity: int = 100_000

    def __post_init__(self) -> None:
        for name in ("max_size", "rate", "burst", "ownership_capacity"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 1:
                raise ValueError(
                    f"ServerLimits.{name}={value!r} must be a number >= 1; "
                    "see the field's description"
                )


@dataclass(frozen=True, slots=True)
class ServerStatistics:
    """Counters of a :class:`BackendServer`."""

    connections: int
    turns_started: int
    turns_in_flight: int
    errors_sent: int
    auth_refused: int


class WebSocketConnection:
    """One authenticated WebSocket, as a ``harness_backend.connections.Connection``.

    ``send`` raises (``websockets.exceptions.ConnectionClosed``) once the socket is closed, so
    the registry counts the delivery as failed.
    """

    def __init__(self, websocket: ServerConnection, connection_id: str, user_id: str) -> None:
        self.connection_id = connection_id
        self.user_id = user_id
        self._websocket = websocket

    async def send(self, event: dict[str, Any]) -> None:
        """Send ``event`` as one JSON text frame."""
        await self._websocket.send(json.dumps(event))

    def __repr__(self) -> str:
        return f"WebSocketConnection(connection_id={self.connection_id!r})"


class BackendServer:
    """A running WebSocket server over an :class:`ExecutionEngineFactory`.

    Build it with :func:`serve`. ``port`` and ``url`` are the real bound address; ``close()``
    cancels in-flight turns and closes every connection with 1001. Usable as an async context
    manager that closes on exit.
    """

    def __init__(
        self,
        *,
        secret: str,
        factory: ExecutionEngineFactory,
        connections: ConnectionRegistry,
        limits: ServerLimits,
        owns_factory: bool,
        agent: str = "scripted",
    ) -> None:
        check_secret(secret)
        self.factory = factory
        self.connections = connections
        self.limits = limits
        self.agent = agent
        self._secret = secret
        self._owns_factory = owns_factory
        self._ownership = OwnershipTable(limits.ownership_capacity)
        self._turns: set[asyncio.Task[None]] = set()
        self._server: Server | None = None
        self._closed = False
        self._open = 0
        self._turns_started = 0
        self._errors_sent = 0
        self._auth_refused = 0
        self.host = ""
        self.port = 0

    @property
    def url(self) -> str:
        """``ws://HOST:PORT`` of the bound socket."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"

    async def start(self, host: str, port: int) -> None:
        """Bind and start accepting connections; ``port=0`` picks a free port."""
        self._server = await websockets_serve(
            self._handle,
            host,
            port,
            max_size=self.limits.max_size,
            select_subprotocol=_select_subprotocol,
        )
        sockname = next(iter(self._server.sockets)).getsockname()
        self.host, self.port = host, int(sockname[1])

    async def close(self) -> None:
        """Cancel in-flight turns, close connections with 1001 and stop listening."""
        if self._closed:
            return
        self._closed = True
        turns = list(self._turns)
        for task in turns:
            task.cancel()
        await asyncio.gather(*turns, return_exceptions=True)
        if self._server is not None:
            self._server.close(close_connections=True)
            await self._server.wait_closed()
        if self._owns_factory:
            await self.factory.shutdown()

    async def __aenter__(self) -> BackendServer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def statistics(self) -> ServerStatistics:
        """Return the server's counters."""
        return ServerStatistics(
            connections=self._open,
            turns_started=self._turns_started,
            turns_in_flight=len(self._turns),
            errors_sent=self._errors_sent,
            auth_refused=self._auth_refused,
        )

    async def _handle(self, websocket: ServerConnection) -> None:
        try:
            user_id = self._authenticate(websocket)
        except AuthError as error:
            self._auth_refused += 1
            logger.info("refused connection from %s: %s", websocket.remote_address, error.reason)
            await websocket.close(AUTH_CLOSE_CODE, error.reason)
            return
        connection = WebSocketConnection(websocket, self.connections.next_connection_id(), user_id)
        bucket = TokenBucket(
            rate=self.limits.rate, burst=self.limits.burst, clock=asyncio.get_running_loop().time
        )
        self.connections.register(user_id, connection)
        self._open += 1
        try:
            async for raw in websocket:
                try:
                    await self._on_frame(connection, bucket, raw)
                except ConnectionClosed:
                    raise
                except Exception:
                    logger.exception("frame on %s failed", connection.connection_id)
                    await self._send_error(connection, "internal_error", "internal error")
        except ConnectionClosed:
            pass
        finally:
            self._open -= 1
            self.connections.unregister(user_id, connection)

    def _authenticate(self, websocket: ServerConnection) -> str:
        request = websocket.request
        headers = request.headers if request is not None else {}
        token = token_from_headers(headers)  # type: ignore[arg-type]
        if token is None and websocket.subprotocol is not None:
            token = token_from_subprotocols([websocket.subprotocol])
        claims = verify_token(token, self._secret)
        try:
            return validate_id("sub", claims.sub)
        except ProtocolError as error:
            raise AuthError(f"invalid claim 'sub': {error.message}") from None

    async def _on_frame(
        self, connection: WebSocketConnection, bucket: TokenBucket, raw: str | bytes
    ) -> None:
        if not bucket.take():
            await self._send_error(
                connection,
                "rate_limited",
                f"more than {self.limits.rate:g} messages/s (burst {self.limits.burst:g}); "
                "message dropped, slow down",
            )
            return
        try:
            message = parse_message(raw)
            if isinstance(message, Ping):
                await connection.send(pong_frame())
                return
            self._ownership.claim(connection.user_id, message.thread_id, message.run_id)
        except ProtocolError as error:
            await self._send_error(connection, error.code, error.message, run_id=error.run_id)
            return
        if self._closed:
            await self._send_error(
                connection, "rejected", "server is shutting down", run_id=message.run_id
            )
            return
        self._start_turn(connection, message)

    def _start_turn(self, connection: WebSocketConnection, message: ChatMessage) -> None:
        task = asyncio.get_running_loop().create_task(
            self._run_turn(connection, message), name=f"turn {message.run_id}"
        )
        self._turns_started += 1
        self._turns.add(task)
        task.add_done_callback(self._turns.discard)

    async def _run_turn(self, connection: WebSocketConnection, message: ChatMessage) -> None:
        user_id, run_id = connection.user_id, message.run_id
        try:
            context = self.factory.make_context(
                user_id,
                message.thread_id,
                run_id,
                metadata={"connection_id": connection.connection_id, "transport": "websocket"},
            )
            async with contextlib.AsyncExitStack() as stack:
                try:
                    engine = await stack.enter_async_context(
                        self.factory.user_execution_scope(context)
                    )
                except EngineLimitExceeded as error:
                    await self._send_error(connection, "rejected", str(error), run_id=run_id)
                    return
                request = AgentRequest(
                    user_id=user_id,
                    thread_id=message.thread_id,
                    run_id=run_id,
                    message=message.content,
                    plan=message.plan,
                )
                await engine.execute_agent(self.agent, request)
        except asyncio.CancelledError:
            raise
        except BackendError as error:
            logger.warning("turn %s refused: %s", run_id, error)
            await self._send_error(connection, "invalid_message", str(error), run_id=run_id)
        except Exception:
            logger.exception("turn %s of %s failed", run_id, connection.connection_id)
            await self._send_error(connection, "internal_error", "internal error", run_id=run_id)

    async def _send_error(
        self,
        connection: WebSocketConnection,
        code: str,
        message: str,
        *,
        run_id: str | None = None,
    ) -> None:
        self._errors_sent += 1
        # The connection may have closed meanwhile; nobody is left to tell.
        with contextlib.suppress(ConnectionClosed):
            await connection.send(error_frame(code, message, run_id=run_id))


def _select_subprotocol(
    websocket: ServerConnection, subprotocols: Sequence[Subprotocol]
) -> Subprotocol | None:
    # Browsers refuse a handshake whose offered subprotocol is not echoed back.
    for subprotocol in subprotocols:
        if subprotocol.startswith(SUBPROTOCOL_PREFIX):
            return subprotocol
    return None


async def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    secret: str,
    factory: ExecutionEngineFactory | None = None,
    faults: Iterable[str] = (),
    max_engines_per_user: int = 2,
    limits: ServerLimits | None = None,
) -> BackendServer:
    """Start a server and return it once it listens.

    Args:
        host, port: where to listen; ``port=0`` picks a free port (see ``server.port``).
        secret: the HS256 secret tokens are verified with.
        factory: the engine factory to run turns on; a new one (with ``faults`` and
            ``max_engines_per_user``) when omitted, shut down by ``close()``.
        faults: fault names for a new factory (see ``harness_backend.faults``).
        max_engines_per_user: the new factory's per-user engine limit.
        limits: frame size and rate limits; :class:`ServerLimits` defaults when omitted.

    Raises:
        AuthError: ``secret`` is empty or shorter than 32 bytes.
        BackendError: an unknown fault name or bad limit reached the factory.
        OSError: the address cannot be bound.
    """
    owns_factory = factory is None
    if factory is None:
        factory = ExecutionEngineFactory(
            connections=ConnectionRegistry(),
            max_engines_per_user=max_engines_per_user,
            faults=tuple(faults),
        )
    server = BackendServer(
        secret=secret,
        factory=factory,
        connections=factory.connections,
        limits=limits or ServerLimits(),
        owns_factory=owns_factory,
    )
    await server.start(host, port)
    return server


if __name__ == "__main__":
    # The command line lives in harness_backend/__main__.py; imported here only when run as a
    # script.
    from harness_backend.__main__ import main

    sys.exit(main())
