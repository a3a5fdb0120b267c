"""The reference backend's WebSocket server.

Each connection authenticates with a JWT (see :mod:`harness_backend.auth`), is registered in the
factory's :class:`~harness_backend.connections.ConnectionRegistry` for its user while open, and
sends ``chat_message`` frames (see :mod:`harness_backend.protocol`). Every turn runs as its own
task through ``factory.user_execution_scope`` and the ``scripted`` agent; its events reach every
connection of that user and no other. Bad frames get an ``error`` frame on their own connection
only, which stays open. A connection without a valid token is closed with code 4401 and a reason.

One user cannot starve, stall or lock out the others: every bound of
:class:`~harness_backend.server_limits.ServerLimits` (frame size and rate, connections and turns
per user, unsent bytes per connection, plan numbers, owned threads) is enforced here, with the
close codes listed in :mod:`harness_backend.server_limits`. When a user's last connection drops,
all its turns in flight are cancelled, so a long tool delay cannot lock the user out.

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
import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType

from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as websockets_serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from harness_backend.auth import (
    SUBPROTOCOL_PREFIX,
    AuthError,
    TokenPolicy,
    check_secret,
    token_from_headers,
    token_from_subprotocols,
    verify_token,
)
from harness_backend.budgets import ConnectionBudget, UserBudget
from harness_backend.connections import ConnectionRegistry
from harness_backend.factory import ExecutionEngineFactory
from harness_backend.ownership import OwnershipTable
from harness_backend.protocol import (
    ChatMessage,
    Ping,
    ProtocolError,
    error_frame,
    parse_message,
    pong_frame,
    validate_id,
)
from harness_backend.server_limits import (
    AUTH_CLOSE_CODE,
    BUDGET_CLOSE_CODE,
    SLOW_CLIENT_CLOSE_CODE,
    ServerLimits,
)
from harness_backend.turn_runner import check_turn_budget, run_turn
from harness_backend.websocket_connection import ConnectionDropped, WebSocketConnection

__all__ = [
    "AUTH_CLOSE_CODE",
    "BUDGET_CLOSE_CODE",
    "SLOW_CLIENT_CLOSE_CODE",
    "ServerLimits",
    "ServerStatistics",
    "WebSocketConnection",
    "BackendServer",
    "serve",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServerStatistics:
    """Counters of a :class:`BackendServer`."""

    connections: int
    turns_started: int
    turns_in_flight: int
    errors_sent: int
    auth_refused: int
    #: Frames dropped by the rate limits (each connection's and each user's).
    frames_dropped: int = 0
    #: Connections closed by the server for a budget (4429) or for not reading (4408).
    connections_dropped: int = 0
    #: Turns cancelled because the last connection of their user went away.
    turns_cancelled: int = 0


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
        token_policy: TokenPolicy | None = None,
    ) -> None:
        check_secret(secret)
        self.factory = factory
        self.connections = connections
        self.limits = limits
        self.agent = agent
        self.token_policy = token_policy or TokenPolicy()
        self._secret = secret
        self._owns_factory = owns_factory
        self.ownership = OwnershipTable(limits.threads_per_user, runs_per_user=limits.runs_per_user)
        self._turns: set[asyncio.Task[None]] = set()
        self._budgets: dict[str, UserBudget] = {}
        self._server: Server | None = None
        self._closed = False
        self._open = 0
        self._turns_started = 0
        self._errors_sent = 0
        self._auth_refused = 0
        self._frames_dropped = 0
        self._connections_dropped = 0
        self._turns_cancelled = 0
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
            frames_dropped=self._frames_dropped,
            connections_dropped=self._connections_dropped,
            turns_cancelled=self._turns_cancelled,
        )

    def _budget_for(self, user_id: str) -> UserBudget:
        budget = self._budgets.get(user_id)
        if budget is None:
            clock = asyncio.get_running_loop().time
            budget = self._budgets[user_id] = UserBudget(self.limits, clock)
        return budget

    def _count_drop(self, code: int) -> None:
        self._connections_dropped += 1

    def _forget_if_idle(self, user_id: str) -> None:
        budget = self._budgets.get(user_id)
        if budget is not None and budget.idle:
            del self._budgets[user_id]

    async def _handle(self, websocket: ServerConnection) -> None:
        try:
            user_id = self._authenticate(websocket)
        except AuthError as error:
            self._auth_refused += 1
            logger.info("refused connection from %s: %s", websocket.remote_address, error.reason)
            await websocket.close(AUTH_CLOSE_CODE, error.reason)
            return
        user = self._budget_for(user_id)
        if user.connections >= self.limits.connections_per_user:
            self._connections_dropped += 1
            self._forget_if_idle(user_id)
            await websocket.close(
                BUDGET_CLOSE_CODE,
                f"too many connections: this user has {user.connections} open, "
                f"the most is {self.limits.connections_per_user}",
            )
            return
        connection = WebSocketConnection(
            websocket,
            self.connections.next_connection_id(),
            user_id,
            max_unsent_bytes=self.limits.max_unsent_bytes,
            send_timeout=self.limits.send_timeout,
            on_drop=self._count_drop,
        )
        budget = ConnectionBudget(self.limits, user, asyncio.get_running_loop().time)
        self.connections.register(user_id, connection)
        user.connections += 1
        self._open += 1
        try:
            async for raw in websocket:
                if not connection.open:
                    # Dropped: discard what the client still sends, so the frames it sent
                    # before our close frame cannot stall the closing handshake.
                    continue
                try:
                    await self._on_frame(connection, budget, raw)
                except ConnectionClosed:
                    raise
                except ConnectionDropped:
                    continue  # dropped while answering: drain until the close completes
                except Exception:
                    logger.exception("frame on %s failed", connection.connection_id)
                    await self._send_error(connection, "internal_error", "internal error")
        except ConnectionClosed:
            pass
        finally:
            self._open -= 1
            user.connections -= 1
            self.connections.unregister(user_id, connection)
            if not self.connections.connections_for(user_id):
                # Nobody is left to see the user's turns (whichever tab started them): stop
                # them, so their engines are released and a long tool delay cannot lock the
                # user out.
                self._turns_cancelled += sum(not task.done() for task in user.tasks)
                for task in list(user.tasks):
                    task.cancel()
            await connection.aclose()
            self._forget_if_idle(user_id)

    def _authenticate(self, websocket: ServerConnection) -> str:
        request = websocket.request
        headers = request.headers if request is not None else {}
        token = token_from_headers(headers)  # type: ignore[arg-type]
        if token is None and websocket.subprotocol is not None:
            token = token_from_subprotocols([websocket.subprotocol])
        claims = verify_token(token, self._secret, policy=self.token_policy)
        try:
            return validate_id("sub", claims.sub)
        except ProtocolError as error:
            raise AuthError(f"invalid claim 'sub': {error.message}") from None

    async def _on_frame(
        self,
        connection: WebSocketConnection,
        budget: ConnectionBudget,
        raw: str | bytes,
    ) -> None:
        admission = budget.admit()
        if not admission.accepted:
            self._frames_dropped += 1
            if admission.disconnect:
                connection.drop(
                    BUDGET_CLOSE_CODE,
                    f"flooding: {budget.dropped} frames over the rate limit",
                    flush=True,
                )
            elif admission.notify:
                await self._send_error(
                    connection,
                    "rate_limited",
                    f"more than {self.limits.rate:g} frames/s on this connection (burst "
                    f"{self.limits.burst:g}) or {self.limits.user_rate:g} frames/s for this "
                    f"user (burst {self.limits.user_burst:g}); frames are dropped, one notice "
                    "a second at most; keep it up and the connection is closed with 4429",
                )
            return
        try:
            message = parse_message(raw, self.limits.plan)
            if isinstance(message, Ping):
                await connection.send(pong_frame())
                return
            check_turn_budget(self.limits, budget, message)
            self.ownership.claim(connection.user_id, message.thread_id, message.run_id)
        except ProtocolError as error:
            await self._send_error(connection, error.code, error.message, run_id=error.run_id)
            return
        if self._closed:
            await self._send_error(
                connection, "rejected", "server is shutting down", run_id=message.run_id
            )
            return
        self._start_turn(connection, budget, message)

    def _start_turn(
        self, connection: WebSocketConnection, budget: ConnectionBudget, message: ChatMessage
    ) -> None:
        turn = run_turn(self.factory, self.agent, connection, message, self._send_error)
        task = asyncio.get_running_loop().create_task(turn, name=f"turn {message.run_id}")
        self._turns_started += 1
        budget.turns += 1
        budget.user.turns += 1
        self._turns.add(task)
        budget.user.tasks.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._turns.discard(done)
            budget.user.tasks.discard(done)
            budget.turns -= 1
            budget.user.turns -= 1
            self._forget_if_idle(connection.user_id)

        task.add_done_callback(finished)

    async def _send_error(
        self,
        connection: WebSocketConnection,
        code: str,
        message: str,
        *,
        run_id: str | None = None,
    ) -> None:
        self._errors_sent += 1
        # The connection may have closed or been dropped meanwhile; nobody is left to tell.
        with contextlib.suppress(ConnectionClosed, ConnectionDropped):
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
    token_policy: TokenPolicy | None = None,
) -> BackendServer:
    """Start a server and return it once it listens.

    Args:
        host, port: where to listen; ``port=0`` picks a free port (see ``server.port``).
        secret: the HS256 secret tokens are verified with.
        factory: the engine factory to run turns on; a new one (with ``faults`` and
            ``max_engines_per_user``) when omitted, shut down by ``close()``.
        faults: fault names for a new factory (see ``harness_backend.faults``).
        max_engines_per_user: the new factory's per-user engine limit.
        limits: every bound of the server; :class:`ServerLimits` defaults when omitted.
        token_policy: token leeway and maximum lifetime; :class:`TokenPolicy` defaults.

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
        token_policy=token_policy,
    )
    await server.start(host, port)
    return server


if __name__ == "__main__":
    # The command line lives in harness_backend/__main__.py; imported only when run as a script.
    from harness_backend.__main__ import main

    sys.exit(main())
